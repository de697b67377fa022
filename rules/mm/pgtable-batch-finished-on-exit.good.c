// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/pgtable-batch-finished-on-exit: errors leave the loop by break. */
#include <linux/mm.h>

static int demo_map_kernel_range(unsigned long addr, unsigned long end, pgprot_t prot)
{
	unsigned long start = addr, next;
	pgtbl_mod_mask mask = 0;
	pgd_t *pgd = pgd_offset_k(addr);
	int err = 0;

	if (WARN_ON_ONCE(addr >= end))
		return -EINVAL; /* ok: mm/pgtable-batch-finished-on-exit */
	do {
		next = pgd_addr_end(addr, end);
		if (WARN_ON_ONCE(pgd_leaf(*pgd))) {
			err = -EINVAL;
			break;
		}
		err = demo_map_p4d_range(pgd, addr, next, prot, &mask);
		if (err)
			break;
	} while (pgd++, addr = next, addr != end);

	if (mask & ARCH_PAGE_TABLE_SYNC_MASK)
		arch_sync_kernel_mappings(start, end);
	return err; /* ok: mm/pgtable-batch-finished-on-exit */
}

static int demo_set_ptes(pte_t *pte, unsigned long addr, unsigned long end, pte_t entry)
{
	int err = 0;

	for (; addr != end; addr += PAGE_SIZE)
		if (!demo_range_ok(addr))
			return -EINVAL; /* ok: mm/pgtable-batch-finished-on-exit */
	arch_enter_lazy_mmu_mode();
	for (; addr != end; pte++, addr += PAGE_SIZE) {
		if (!pte_none(ptep_get(pte))) {
			err = -EBUSY;
			break;
		}
		set_pte_at(&init_mm, addr, pte, entry);
	}
	arch_leave_lazy_mmu_mode();
	return err;
}
