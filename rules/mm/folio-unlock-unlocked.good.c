// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/folio-unlock-unlocked: the reference is dropped before the shared label. */
#include <linux/swap.h>

static int demo_swapin(struct inode *inode, pgoff_t index, swp_entry_t swap, struct folio **foliop)
{
	struct folio *folio;
	int error;

	folio = swap_cache_get_folio(swap, NULL, 0);
	if (!folio) {
		folio = demo_read_swap(swap);
		if (!folio) {
			error = -ENOMEM;
			goto failed;
		}
	} else if (demo_entry_is_large(inode, index)) {
		error = demo_split_entry(inode, index);
		if (error) {
			folio_put(folio);
			folio = NULL;
			goto failed;
		}
	}
	folio_lock(folio);
	if (!folio_test_uptodate(folio)) {
		error = -EIO;
		goto failed;
	}
	*foliop = folio;
	return 0;
failed:
	if (folio) {
		folio_unlock(folio); /* ok: mm/folio-unlock-unlocked */
		folio_put(folio);
	}
	return error;
}

static vm_fault_t demo_fault(struct vm_fault *vmf, struct address_space *mapping, pgoff_t index)
{
	struct file *fpin = NULL;
	struct folio *folio = filemap_get_folio(mapping, index);

	if (IS_ERR(folio))
		return VM_FAULT_SIGBUS;
	if (!lock_folio_maybe_drop_mmap(vmf, folio, &fpin))
		return VM_FAULT_RETRY;
	if (folio->mapping != mapping) {
		folio_unlock(folio); /* ok: mm/folio-unlock-unlocked */
		folio_put(folio);
		return VM_FAULT_NOPAGE;
	}
	return VM_FAULT_LOCKED;
}
