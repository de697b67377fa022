// SPDX-License-Identifier: GPL-2.0
/* Fixture tree for mm/lock-order, written for reviewkit: a short lock-order comment in the
 * format mm/rmap.c uses (not kernel text). */

/*
 * Lock ordering in mm:
 *
 * mm->mmap_lock
 *   folio_lock
 *     mapping->i_mmap_rwsem
 *       anon_vma->rwsem
 *         mm->page_table_lock or pte_lock
 */
