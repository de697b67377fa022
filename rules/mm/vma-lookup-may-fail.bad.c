// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/vma-lookup-may-fail: a VMA lookup trusted to succeed. */
#include <linux/mm.h>

static long demo_isolate_all(struct mm_struct *mm, struct list_head *pagelist)
{
	struct vm_area_struct *vma;
	long nr;

	mmap_read_lock(mm);
	vma = find_vma(mm, 0); /* ruleid: mm/vma-lookup-may-fail */
	nr = demo_queue_range(mm, vma->vm_start, mm->task_size, pagelist);
	mmap_read_unlock(mm);
	return nr;
}

static bool demo_is_stack(struct mm_struct *mm, unsigned long addr)
{
	struct vm_area_struct *vma = vma_lookup(mm, addr); /* ruleid: mm/vma-lookup-may-fail */

	return vma->vm_flags & VM_GROWSDOWN;
}
