"""The built-in swap-entry registry used when there is no source tree (6.12-era naming).

Data only; `registry.default_registry()` turns it into a Registry.  It is what
`build_registry()` derives from Debian's 6.12.117 tree (mm-rules.md §4.A/4.B),
written out by hand so that a run without `--tree` still knows the kinds and
their helpers; tests/test_registry.py checks it against the derived one when
the tree is present.  Dispatch sites need a tree: there are none here.

Kinds are SWP_* names plus pseudo-kinds: SWAPFILE (genuine swap), NONE
(pte_none), marker bits (a set holding every bit is written SWP_PTE_MARKER).
"""

# (name, family, CONFIG_* it depends on), in include/linux/swap.h order
KINDS = (
    ("SWP_PTE_MARKER", "marker", None),
    ("SWP_DEVICE_WRITE", "device_private", "CONFIG_DEVICE_PRIVATE"),
    ("SWP_DEVICE_READ", "device_private", "CONFIG_DEVICE_PRIVATE"),
    ("SWP_DEVICE_EXCLUSIVE_WRITE", "device_exclusive", "CONFIG_DEVICE_PRIVATE"),
    ("SWP_DEVICE_EXCLUSIVE_READ", "device_exclusive", "CONFIG_DEVICE_PRIVATE"),
    ("SWP_MIGRATION_READ", "migration", "CONFIG_MIGRATION"),
    ("SWP_MIGRATION_READ_EXCLUSIVE", "migration", "CONFIG_MIGRATION"),
    ("SWP_MIGRATION_WRITE", "migration", "CONFIG_MIGRATION"),
    ("SWP_HWPOISON", "hwpoison", "CONFIG_MEMORY_FAILURE"),
)

# (name, bit) of the pte-marker bits
MARKERS = (
    ("PTE_MARKER_UFFD_WP", 0),
    ("PTE_MARKER_POISONED", 1),
)

_MIGRATION = ("SWP_MIGRATION_READ", "SWP_MIGRATION_READ_EXCLUSIVE", "SWP_MIGRATION_WRITE")
_DEVICE_PRIVATE = ("SWP_DEVICE_READ", "SWP_DEVICE_WRITE")
_DEVICE_EXCLUSIVE = ("SWP_DEVICE_EXCLUSIVE_READ", "SWP_DEVICE_EXCLUSIVE_WRITE")
_PFN = _MIGRATION + _DEVICE_PRIVATE + _DEVICE_EXCLUSIVE + ("SWP_HWPOISON",)
_SPECIAL = _PFN + ("SWP_PTE_MARKER",)

# predicate or helper -> kinds it tests (helpers: kinds it requires)
PREDICATES = {
    "non_swap_entry": _SPECIAL,
    "is_swap_pte": _SPECIAL + ("SWAPFILE",),
    "is_migration_entry": _MIGRATION,
    "is_pmd_migration_entry": _MIGRATION,
    "is_hugetlb_entry_migration": _MIGRATION,
    "is_readable_migration_entry": ("SWP_MIGRATION_READ",),
    "is_readable_exclusive_migration_entry": ("SWP_MIGRATION_READ_EXCLUSIVE",),
    "is_writable_migration_entry": ("SWP_MIGRATION_WRITE",),
    "is_device_private_entry": _DEVICE_PRIVATE,
    "is_writable_device_private_entry": ("SWP_DEVICE_WRITE",),
    "is_device_exclusive_entry": _DEVICE_EXCLUSIVE,
    "is_writable_device_exclusive_entry": ("SWP_DEVICE_EXCLUSIVE_WRITE",),
    "is_hwpoison_entry": ("SWP_HWPOISON",),
    "is_hugetlb_entry_hwpoisoned": ("SWP_HWPOISON",),
    "is_pfn_swap_entry": _PFN,
    "is_pte_marker_entry": ("SWP_PTE_MARKER",),
    "is_pte_marker": ("SWP_PTE_MARKER",),
    "pte_marker_get": ("SWP_PTE_MARKER",),
    "is_poisoned_swp_entry": ("PTE_MARKER_POISONED",),
    "pte_marker_entry_uffd_wp": ("PTE_MARKER_UFFD_WP",),
    "pte_marker_uffd_wp": ("PTE_MARKER_UFFD_WP",),
    "pte_swp_uffd_wp_any": ("PTE_MARKER_UFFD_WP",),
    "pte_none_mostly": ("NONE", "SWP_PTE_MARKER"),
    "huge_pte_none_mostly": ("NONE", "SWP_PTE_MARKER"),
    # helpers that require pfn-carrying entries
    "swp_offset_pfn": _PFN,
    "pfn_swap_entry_to_page": _PFN,
    "pfn_swap_entry_folio": _PFN,
    "softleaf_to_pfn": _PFN,          # Debian 6.12.117's transitional alias of swp_offset_pfn
    # helpers of genuine swap entries
    "swap_pte_batch": ("SWAPFILE",),
    "__swap_count": ("SWAPFILE",),
    "swp_swapcount": ("SWAPFILE",),
    "swap_duplicate": ("SWAPFILE",),
    "free_swap_and_cache": ("SWAPFILE",),
    "free_swap_and_cache_nr": ("SWAPFILE",),
}

HELPERS = ("swp_offset_pfn", "pfn_swap_entry_to_page", "pfn_swap_entry_folio", "softleaf_to_pfn",
           "swap_pte_batch", "__swap_count", "swp_swapcount", "swap_duplicate", "free_swap_and_cache",
           "free_swap_and_cache_nr")

# constructor -> kinds it builds
CONSTRUCTORS = {
    "make_readable_migration_entry": ("SWP_MIGRATION_READ",),
    "make_readable_exclusive_migration_entry": ("SWP_MIGRATION_READ_EXCLUSIVE",),
    "make_writable_migration_entry": ("SWP_MIGRATION_WRITE",),
    "make_migration_entry_young": _MIGRATION,   # keeps the kind of its input
    "make_migration_entry_dirty": _MIGRATION,
    "make_readable_device_private_entry": ("SWP_DEVICE_READ",),
    "make_writable_device_private_entry": ("SWP_DEVICE_WRITE",),
    "make_readable_device_exclusive_entry": ("SWP_DEVICE_EXCLUSIVE_READ",),
    "make_writable_device_exclusive_entry": ("SWP_DEVICE_EXCLUSIVE_WRITE",),
    "make_hwpoison_entry": ("SWP_HWPOISON",),
    "make_pte_marker_entry": ("SWP_PTE_MARKER",),
    "make_pte_marker": ("SWP_PTE_MARKER",),
    "make_poisoned_swp_entry": ("PTE_MARKER_POISONED",),
}

DECODERS = ("pte_to_swp_entry", "pmd_to_swp_entry", "softleaf_from_pte")
ENCODERS = ("swp_entry_to_pte", "swp_entry_to_pmd")
# predicates that decode a pmd / hugetlb pte themselves (their callers have no decode call)
LEVEL_DECODERS = ("is_pmd_migration_entry", "is_hugetlb_entry_migration", "is_hugetlb_entry_hwpoisoned")

VERSION_HINTS = {
    "version": None,
    "naming": "swp_entry",
    "leafops": False,
    "swapin_error_type": False,
    "device_exclusive_types": 2,
    "marker_type_conditional": False,
    "marker_bits": [name for name, _ in MARKERS],
    "source": "fallback (6.12-era table)",
}
