"""Zapping a pte of a file-backed VMA leaves a uffd-wp marker unless the whole range goes away.

**What it checks.** Two things.

1. Every clear of a user pte (`ptep_get_and_clear*`, `get_and_clear_full_ptes`,
   `clear_full_ptes`, `ptep_clear_flush`, `pte_clear`, `ptep_clear`,
   `clear_not_present_full_ptes`, `huge_ptep_get_and_clear`, ...) must be
   followed, on the same path, by one of:
   * `pte_install_uffd_wp_if_needed()` / `zap_install_uffd_wp_if_needed()`;
   * a store into a pte (`set_pte_at`, `set_ptes`, `set_huge_pte_at`):
     the cleared pte gets a replacement (a marker, a migration entry, a new
     page), or its value moves to another pte (mremap, UFFDIO_MOVE);
   or be in a context that makes the marker unnecessary or deliberate:
   * anonymous-only: under `vma_is_anonymous()`, after
     `if (!vma_is_anonymous(vma)) return ..;`, after a
     `WARN_ON*(!vma_is_anonymous(..))`, or in a device-private /
     device-exclusive arm (those only exist for anonymous memory so far);
   * uffd-wp handled on purpose: a condition around the clear (or an earlier
     `if (..) return;`) that reads uffd-wp state or the drop flag
     (`pte_marker_uffd_wp()`, `userfaultfd_wp()`, `uffd_wp_resolve`,
     `zap_drop_markers()`, `ZAP_FLAG_DROP_MARKER`, `tlb->fullmm`);
   * every caller in the file calls it only when the VMA is not (or no
     longer) registered for uffd-wp (`if (!userfaultfd_wp(vma)) return
     pte_marker_clear(vmf);`);
   * khugepaged (refuses uffd-wp VMAs) and KSM (anonymous memory only).
2. A new user of `ZAP_FLAG_DROP_MARKER` (`ZAP_FLAG_DROP_FILE_UFFD_WP` in the
   seed) is a whole-range teardown (`unmap_vmas()`, hugetlbfs truncate and
   hole punch) or holds the folio lock (`unmap_mapping_folio()`:
   `VM_BUG_ON(!folio_test_locked(folio))`). Reported as a warning.

Kernel page tables (`&init_mm`) are not user ptes and are not checked.
Without a parse of the function the rule says nothing: no single line shows
whether a marker follows.

**Why.** mm-rules.md R4. For a file-backed VMA registered for uffd-wp, the
write-protect state cannot live in the page cache; once the pte is cleared it
is gone, and the next fault maps the page writable behind the uffd user's
back. Peter Xu (seed S1): "Since the uffd-wp info cannot be stored in page
cache or swap cache, persist this wr-protect information by installing the
special uffd-wp marker pte when we're going to unmap a uffd wr-protected
pte", and "the bit should never be cleared if (1) user manually clear it using
UFFDIO_WRITEPROTECT, (2) unmapping the whole region". Dropping markers without
the page lock races with faults: "the unmap_mapping_range() in
shmem_fallocate() still requires to zap without ZAP_FLAG_DROP_FILE_UFFD_WP
because that's still racy with the page faults".

**Example.**

    /* bad */
    old = ptep_get_and_clear(vma->vm_mm, addr, ptep);
    flush_tlb_page(vma, addr);

    /* good */
    old = ptep_get_and_clear(vma->vm_mm, addr, ptep);
    flush_tlb_page(vma, addr);
    pte_install_uffd_wp_if_needed(vma, addr, ptep, old);

**How to fix.** Keep the old value and call
`pte_install_uffd_wp_if_needed(vma, addr, ptep, old)` under the PTL right
after the clear (in zap paths `zap_install_uffd_wp_if_needed()`, which honours
`ZAP_FLAG_DROP_MARKER`). If the path is anonymous-only, say so in the code:
`WARN_ON_ONCE(!vma_is_anonymous(vma))`. Set `ZAP_FLAG_DROP_MARKER` only for
whole-VMA teardown or with the folio locked.
"""
import re

from reviewkit.code.cfg import cfg_of
from reviewkit.rules import Rule
from reviewkit.rules.lib import pte as P


INSTALLERS = frozenset({"pte_install_uffd_wp_if_needed", "zap_install_uffd_wp_if_needed"})
DROP_FLAGS = frozenset({"ZAP_FLAG_DROP_MARKER", "ZAP_FLAG_DROP_FILE_UFFD_WP"})
# uffd-wp handled on purpose, or a teardown: words of a condition that say so
_DELIBERATE = re.compile(r"uffd|userfaultfd|drop_marker|DROP_MARKER|drop_file_uffd|DROP_FILE_UFFD|fullmm")
_ANON_ONLY = re.compile(r"is_device_private_entry|is_device_exclusive_entry|is_writable_device_\w+_entry"
                        r"|is_device_private_page|folio_is_device_private")
_ASSERTS = re.compile(r"^(WARN_ON\w*|VM_BUG_ON\w*|VM_WARN_ON\w*|BUG_ON)$")
_RETURNS_OLD = frozenset({"ptep_get_and_clear", "ptep_get_and_clear_full", "get_and_clear_full_ptes",
                          "ptep_clear_flush", "huge_ptep_get_and_clear", "huge_ptep_clear_flush"})
# the generic implementations of the primitives themselves (include/linux/pgtable.h)
_PRIMITIVE = re.compile(r"^_*(ptep|huge_ptep|pmdp|pudp)_")
_EXEMPT_PATHS = ("mm/khugepaged.c", "mm/ksm.c", "mm/debug_vm_pgtable.c")
_CHECKED_PREFIXES = ("mm/", "fs/", "include/linux/", "kernel/")
# functions that tear a whole range down (mm-rules.md R4 registry), and a folio-lock test
_TEARDOWN = frozenset({"unmap_vmas", "exit_mmap", "unmap_region", "vms_clear_ptes", "do_vmi_align_munmap",
                       "free_pgtables"})
_FOLIO_LOCKED = frozenset({"folio_test_locked", "PageLocked", "folio_lock", "lock_page", "folio_trylock",
                           "trylock_page"})


RULE = Rule(id="mm/uffd-wp-marker-on-file-zap", severity="error", scope="function",
            summary="clearing a uffd-wp pte of a file VMA leaves a PTE_MARKER_UFFD_WP unless the range is torn down",
            needs=P.CLEAR_PTE | DROP_FLAGS)


def _says_anon(cond, in_then: bool) -> bool:
    for c in P.calls(cond, {"vma_is_anonymous"}):
        if P.negated(c, cond) != in_then:
            return True  # then-branch of vma_is_anonymous(), or after `if (!vma_is_anonymous()) exit`
    return in_then and bool(_ANON_ONLY.search(P.text(cond)))


def _deliberate(cond, _in_then: bool) -> bool:
    return bool(_DELIBERATE.search(P.text(cond)))


def _anon_asserted(fn_body, before: int) -> bool:
    """`WARN_ON_ONCE(!vma_is_anonymous(vma))` (or a VM_BUG_ON/VM_WARN_ON of it) earlier in the function."""
    for c in P.calls(fn_body):
        if c.start_byte < before and _ASSERTS.match(P.call_name(c)):
            for inner in P.calls(c, {"vma_is_anonymous"}):
                if P.negated(inner, c):
                    return True
    return False


def _followed_by_marker_or_store(fn_body, clear) -> bool:
    g = cfg_of(clear)
    return any(g.reaches(clear, c) for c in P.calls(fn_body, INSTALLERS | set(P.STORE_PTE)))


def _callers_only_without_uffd_wp(ctx) -> bool:
    """Every in-file call site sits under a condition about uffd-wp registration or anonymity."""
    refs = P.callers_in_file(ctx.parsed_file, ctx.function.name) if ctx.parsed_file is not None else []
    if not refs:
        return False
    for f, node in refs:
        b = P.body(f.node)
        if b is None or not P.guarded_by(node, b, lambda cond, _t: bool(
                re.search(r"userfaultfd_wp|uffd|vma_is_anonymous", P.text(cond)))):
            return False
    return True


def _exempt_function(ctx) -> bool:
    path = ctx.function.path or ""
    name = ctx.function.name
    return (not path.startswith(_CHECKED_PREFIXES) or path in _EXEMPT_PATHS or _PRIMITIVE.match(name)
            or name in INSTALLERS or name in P.CLEAR_PTE or ctx.function.kind != "function")


def _check_clear(ctx, fn_body, clear):
    if P.is_kernel_mapping(clear):
        return None
    if _followed_by_marker_or_store(fn_body, clear):
        return None
    if P.guarded_by(clear, fn_body, _says_anon) or _anon_asserted(fn_body, clear.start_byte):
        return None
    if P.guarded_by(clear, fn_body, _deliberate):
        return None
    if _callers_only_without_uffd_wp(ctx):
        return None
    name = ctx.call_name(clear)
    ptr = P.pte_pointer(clear) or "ptep"
    kept = P.assigned_to(clear)
    value = kept[0] if kept else "old"
    vma = "vma"
    if kept:
        how = ""
    elif name in _RETURNS_OLD:
        how = f"keep the old value (`old = {name}(...)`) and "
    else:
        how = f"keep the old value (`old = ptep_get({ptr})` before the clear, or ptep_get_and_clear()) and "
    return ctx.finding(
        clear,
        f"{name}() clears the pte at `{ptr}` and nothing puts a uffd-wp marker back: if the VMA is file-backed "
        f"and registered for uffd-wp, the write protection of that page is lost and the next fault maps it "
        f"writable without telling the uffd monitor (only a whole-range teardown or UFFDIO_WRITEPROTECT may "
        f"drop it)",
        suggestion=(f"{how}call `pte_install_uffd_wp_if_needed({vma}, addr, {ptr}, {value});` under the PTL "
                    f"after the clear (zap paths: zap_install_uffd_wp_if_needed()); if this path is "
                    f"anonymous-only, assert it with `WARN_ON_ONCE(!vma_is_anonymous({vma}))`"))


# --- new ZAP_FLAG_DROP_MARKER users -----------------------------------------------------------

def _drop_flag_sets(fn_body) -> list:
    """Uses of the drop flag that set it (initialiser, assignment, argument), not `flags & FLAG` tests."""
    out = []
    for n in P.walk(fn_body):
        if n.type != "identifier" or P.text(n) not in DROP_FLAGS:
            continue
        parent = n.parent
        if parent is not None and parent.type == "binary_expression" and \
                P.text(parent.child_by_field_name("operator")) == "&":
            continue
        out.append(n)
    return out


def _teardown_or_locked(ctx, fn_body) -> bool:
    if P.calls(fn_body, _FOLIO_LOCKED) or ctx.function.name in _TEARDOWN:
        return True
    if (ctx.function.path or "").startswith("fs/hugetlbfs/"):
        return True  # truncate / hole punch under the hugetlb fault mutex (6.12 fs/hugetlbfs/inode.c)
    if ctx.parsed_file is not None:
        return any(f.name in _TEARDOWN for f in P.in_file_ancestors(ctx.parsed_file, ctx.function.name))
    return False


def _check_drop_flag(ctx, fn_body):
    sets = _drop_flag_sets(fn_body)
    if not sets or _teardown_or_locked(ctx, fn_body):
        return
    for n in sets:
        yield ctx.finding(
            n, f"{P.text(n)} drops uffd-wp markers, but {ctx.function.name}() neither tears the whole range down "
               f"nor holds the folio lock: a fault racing with this zap can map the page writable before it is "
               f"dropped (Peter Xu, S1: the lock-less unmap_mapping_range() in shmem_fallocate() must keep them)",
            severity="warning",
            suggestion="zap without the flag here and drop the markers where the folio is locked "
                       "(as unmap_mapping_folio() does), or only in whole-VMA teardown")


def check(ctx):
    if ctx.node is None or ctx.function is None or P.partial_view(ctx) or _exempt_function(ctx):
        return  # the marker (or a store) may follow after the lines a hunk shows: only whole functions
    fn_body = P.body(ctx.node)
    if fn_body is None:
        return
    for clear in ctx.calls(names=P.CLEAR_PTE):
        found = _check_clear(ctx, fn_body, clear)
        if found is not None:
            yield found
    yield from _check_drop_flag(ctx, fn_body)
