// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/vma-lookup-may-fail: every lookup tested before use. */
#include <linux/mm.h>

static long demo_isolate_all(struct mm_struct *mm, struct list_head *pagelist)
{
	struct vm_area_struct *vma;
	long nr;

	mmap_read_lock(mm);
	vma = find_vma(mm, 0); /* ok: mm/vma-lookup-may-fail */
	if (unlikely(!vma)) {
		mmap_read_unlock(mm);
		return 0;
	}
	nr = demo_queue_range(mm, vma->vm_start, mm->task_size, pagelist);
	mmap_read_unlock(mm);
	return nr;
}

static bool demo_is_stack(struct mm_struct *mm, unsigned long addr)
{
	struct vm_area_struct *vma = vma_lookup(mm, addr); /* ok: mm/vma-lookup-may-fail */

	return vma && (vma->vm_flags & VM_GROWSDOWN);
}

static int demo_first_above(struct mm_struct *mm, unsigned long addr, unsigned long *start)
{
	struct vm_area_struct *vma = find_vma(mm, addr); /* ok: mm/vma-lookup-may-fail */

	if (!vma || vma->vm_start > addr)
		return -EFAULT;
	*start = vma->vm_start;
	return 0;
}
