// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/pgtable-batch-finished-on-exit: errors return from inside the walk. */
#include <linux/mm.h>

static int demo_map_kernel_range(unsigned long addr, unsigned long end, pgprot_t prot)
{
	unsigned long start = addr, next;
	pgtbl_mod_mask mask = 0;
	pgd_t *pgd = pgd_offset_k(addr);
	int err;

	do {
		next = pgd_addr_end(addr, end);
		if (WARN_ON_ONCE(pgd_leaf(*pgd)))
			return -EINVAL; /* ruleid: mm/pgtable-batch-finished-on-exit */
		err = demo_map_p4d_range(pgd, addr, next, prot, &mask);
		if (err)
			return err; /* ruleid: mm/pgtable-batch-finished-on-exit */
	} while (pgd++, addr = next, addr != end);

	if (mask & ARCH_PAGE_TABLE_SYNC_MASK)
		arch_sync_kernel_mappings(start, end);
	return 0;
}

static int demo_set_ptes(pte_t *pte, unsigned long addr, unsigned long end, pte_t entry)
{
	arch_enter_lazy_mmu_mode();
	for (; addr != end; pte++, addr += PAGE_SIZE) {
		if (!pte_none(ptep_get(pte)))
			return -EBUSY; /* ruleid: mm/pgtable-batch-finished-on-exit */
		set_pte_at(&init_mm, addr, pte, entry);
	}
	arch_leave_lazy_mmu_mode();
	return 0;
}
