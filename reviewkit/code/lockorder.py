"""The lock order a kernel tree documents, read from its own comments, and the calls that take
each lock.

mm/rmap.c opens with "Lock ordering in mm:" and mm/filemap.c with "Lock ordering:": an
indented tree, each lock taken before the locks indented under it. `documented_order(tree)`
parses both from the tree being checked (nothing is copied into reviewkit) into a set of
(outer, inner) lock classes; `lock_class(name)` maps a name as the comment writes it
(`mm->mmap_lock`, `->i_mmap_rwsem`, `mm->page_table_lock or pte_lock`) to a class, and
`ACQUIRE` / `RELEASE` name the calls that take and drop each class.
"""
from __future__ import annotations

import functools
import re
from typing import Optional

ORDER_FILES = (("mm/rmap.c", "Lock ordering in mm"), ("mm/filemap.c", "Lock ordering"))

# class -> words of the comment's names that mean it (the first that matches wins)
_CLASSES = (
    ("i_rwsem", ("i_rwsem", "i_mutex")),
    ("mmap_lock", ("mmap_lock", "mmap_sem")),
    ("invalidate_lock", ("invalidate_lock",)),
    ("folio_lock", ("folio_lock", "lock_page", "page_lock")),
    ("hugetlb_fault_mutex", ("hugetlb_fault_mutex",)),
    ("hugetlb_vma_lock", ("vma_lock",)),
    ("vma_start_write", ("vma_start_write",)),
    ("i_mmap_rwsem", ("i_mmap_rwsem", "i_mmap_lock")),
    ("anon_vma_lock", ("anon_vma->rwsem", "anon_vma.lock", "anon_vma->lock")),
    ("ptl", ("page_table_lock", "pte_lock", "pte map lock")),
    ("swap_lock", ("swap_lock",)),
    ("i_pages", ("i_pages",)),
    ("lru_lock", ("lru_lock",)),
    ("private_lock", ("private_lock",)),
)

#: calls that take a lock of a class (trylocks are left out: taking one out of order cannot deadlock)
ACQUIRE = {
    "mmap_lock": ("mmap_read_lock", "mmap_write_lock", "mmap_read_lock_killable", "mmap_write_lock_killable"),
    "i_rwsem": ("inode_lock", "inode_lock_shared"),
    "invalidate_lock": ("filemap_invalidate_lock", "filemap_invalidate_lock_shared"),
    "folio_lock": ("folio_lock", "lock_page", "folio_lock_killable", "__folio_lock"),
    "hugetlb_vma_lock": ("hugetlb_vma_lock_read", "hugetlb_vma_lock_write"),
    "vma_start_write": ("vma_start_write",),
    "i_mmap_rwsem": ("i_mmap_lock_write", "i_mmap_lock_read"),
    "anon_vma_lock": ("anon_vma_lock_write", "anon_vma_lock_read", "folio_lock_anon_vma_read"),
    "ptl": ("pte_offset_map_lock", "pte_alloc_map_lock", "pmd_lock", "pud_lock", "pmd_trans_huge_lock",
            "huge_pte_lock", "get_locked_pte", "double_pt_lock"),
    "lru_lock": ("folio_lruvec_lock", "folio_lruvec_lock_irq", "folio_lruvec_lock_irqsave"),
}
_SPIN_UNLOCK = ("spin_unlock", "spin_unlock_irq", "spin_unlock_irqrestore")
RELEASE = {
    "mmap_lock": ("mmap_read_unlock", "mmap_write_unlock", "mmap_write_downgrade"),
    "i_rwsem": ("inode_unlock", "inode_unlock_shared"),
    "invalidate_lock": ("filemap_invalidate_unlock", "filemap_invalidate_unlock_shared"),
    "folio_lock": ("folio_unlock", "unlock_page"),
    "hugetlb_vma_lock": ("hugetlb_vma_unlock_read", "hugetlb_vma_unlock_write"),
    "vma_start_write": (),
    "i_mmap_rwsem": ("i_mmap_unlock_write", "i_mmap_unlock_read"),
    "anon_vma_lock": ("anon_vma_unlock_write", "anon_vma_unlock_read", "page_unlock_anon_vma_read"),
    "ptl": ("pte_unmap_unlock", "double_pt_unlock", "page_vma_mapped_walk_done") + _SPIN_UNLOCK,
    "lru_lock": ("unlock_page_lruvec", "unlock_page_lruvec_irq", "unlock_page_lruvec_irqrestore",
                 "lruvec_unlock", "lruvec_unlock_irq", "lruvec_unlock_irqrestore") + _SPIN_UNLOCK,
    "swap_lock": _SPIN_UNLOCK,
}
_SPIN = re.compile(r"^spin_lock(_irq|_irqsave|_nested)?$")


_WORD_RES = tuple((cls, re.compile("|".join(r"(?<!\w)" + re.escape(w) + r"(?!\w)" for w in words)))
                  for cls, words in _CLASSES)


def lock_class(name: str) -> Optional[str]:
    """The class of a lock as the comment names it; whole words only (`folio_lock_memcg` and
    `hugetlbfs_i_mmap_rwsem_key` are other locks)."""
    low = name.lower()
    for cls, pattern in _WORD_RES:
        if pattern.search(low):
            return cls
    return None


def call_class(name: str, first_arg: str = "") -> Optional[str]:
    """The class a call takes (spin_lock() only on a page-table lock or the lru lock)."""
    for cls, names in ACQUIRE.items():
        if name in names:
            return cls
    if _SPIN.match(name):
        if "ptl" in first_arg or "page_table_lock" in first_arg:
            return "ptl"
        if "lru_lock" in first_arg:
            return "lru_lock"
        if first_arg.endswith("swap_lock"):
            return "swap_lock"
    return None


@functools.lru_cache(maxsize=16)
def _parsed_order(text: str, heading: str) -> frozenset:
    """parse_order() once per text: each patch of a series reads the same comments again."""
    return frozenset(parse_order(text, heading))


def parse_order(text: str, heading: str) -> set[tuple[str, str]]:
    """(outer, inner) pairs from the indented comment after `heading`: each lock before every
    lock indented under it, transitively."""
    start = text.find(heading)
    if start < 0:
        return set()
    end = text.find("*/", start)
    pairs: set[tuple[str, str]] = set()
    stack: list[tuple[int, str]] = []
    open_parens = 0
    for raw in text[start:end].split("\n")[1:]:
        line = raw.strip()
        if not line.startswith("*"):
            continue
        body = line[1:]
        if not body.strip():
            stack = []   # a blank line starts the next tree
            continue
        continued = open_parens > 0   # the rest of a "(in ..., ...)" note, not a lock
        open_parens += body.count("(") - body.count(")")
        if continued:
            continue
        indent = len(body.expandtabs(8)) - len(body.expandtabs(8).lstrip())
        name = re.split(r"\t|\s{2,}|\(", body.strip())[0].strip()
        classes = [c for c in (lock_class(part) for part in name.split(",")) if c]
        while stack and stack[-1][0] >= indent:
            stack.pop()
        for cls in classes:
            for _i, outer in stack:
                if outer != cls:
                    pairs.add((outer, cls))
        for cls in classes:
            stack.append((indent, cls))
    return pairs


def documented_order(read) -> set[tuple[str, str]]:
    """The order documented by the tree, `read(path) -> text or None`."""
    pairs: set[tuple[str, str]] = set()
    for path, heading in ORDER_FILES:
        text = read(path)
        if text:
            pairs |= _parsed_order(text, heading)
    # an order documented both ways (hugetlb's own order against the general one) decides nothing
    return {p for p in pairs if (p[1], p[0]) not in pairs}
