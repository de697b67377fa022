"""Lockless page-table walkers: reject special ptes, take the reference, re-read the entry, back off.

**What it checks.** A function that reads a page-table entry without the
page-table lock (`ptep_get_lockless()`, `pmdp_get_lockless()`, 5.x
`gup_get_pte()`, or a GUP-fast leaf handed `pmd_t orig, pmd_t *pmdp`) and
takes a speculative reference on the page it points to (`try_grab_folio_fast()`,
`try_grab_folio()`, `try_grab_compound_head()`, `try_grab_page()`,
`folio_try_get()`, `get_page_unless_zero()`, ...). For each such grab:

1. a pte read with `ptep_get_lockless()` must be tested with `pte_special()`
   before the grab (the devmap branch usually sits in the same if/else chain);
2. after the grab and before the page is handed out (`pages[*nr] = page`,
   `(*nr)++`, `*nr += refs`) an `if` must re-read the entry through the same
   pointer and compare it with the value the page came from
   (`pte_val(pte) != pte_val(ptep_get(ptep))`, `!pte_same(pte, ...)`,
   `pmd_val(orig) != pmd_val(*pmdp)`);
3. that `if` must drop the reference (a release call in it, or after the label
   it jumps to); which release is right is mm/gup-pin-release-pairing's job;
4. a pte walker that was handed its pmd (`pmd_t pmd, pmd_t *pmdp`) must
   re-check the pmd too.

Functions that take the page-table lock are not lockless and are skipped, so
are hugetlb entries (`huge_ptep_get()`: "hugepages are never special"). With only
a hunk of the function, a step is judged only when the hunk shows the whole
stretch it concerns (from the read to the grab, from the grab to the hand-out).

**Why.** mm-rules.md R6: GUP-fast runs with interrupts off but without page
table locks, so the unmap side relies on the order "(1) clear pte, then (2)
check whether page is pinned"; a walker that does not re-read the pte after
taking its reference can return a page that was already unmapped, or whose
pin the unmapper did not see. Alistair Popple (S0) lists the sequence "1.
Read PTE 2. Pin page 3. Check PTE 4. if PTE changed -> unpin and fallback";
Jason Gunthorpe (S3) on pte_special vs GUP-fast: a special pte has no
refcounted struct page to take, and ZONE_DEVICE pages returned without their
pgmap reference race with page recycling. The pmd re-check closes the race
with THP collapse freeing the page table.

**Example.**

    /* bad */
    pte = ptep_get_lockless(ptep);
    folio = try_grab_folio_fast(pte_page(pte), 1, flags);
    if (!folio)
            goto out;
    pages[(*nr)++] = pte_page(pte);

    /* good */
    pte = ptep_get_lockless(ptep);
    if (!pte_access_permitted(pte, flags & FOLL_WRITE) || pte_special(pte))
            goto out;
    folio = try_grab_folio_fast(pte_page(pte), 1, flags);
    if (!folio)
            goto out;
    if (unlikely(pmd_val(pmd) != pmd_val(*pmdp)) ||
        unlikely(pte_val(pte) != pte_val(ptep_get(ptep)))) {
            gup_put_folio(folio, 1, flags);
            goto out;
    }
    pages[(*nr)++] = pte_page(pte);

**How to fix.** Bail out on `pte_special()` before touching the page; after
the grab re-read the entry through its pointer and compare it with the value
the page came from; on a mismatch drop the reference with the release that
matches the grab (`gup_put_folio(folio, refs, flags)`) and fall back to the
slow path.
"""
from reviewkit.code.cfg import cfg_of
from reviewkit.rules import Rule
from reviewkit.rules.lib import gup
from reviewkit.rules.lib import pte as P


_SPECIAL_TESTS = ("pte_special", "vm_normal_page", "vm_normal_folio", "pte_devmap")
_VAL = {"pte": "pte_val", "pmd": "pmd_val", "pud": "pud_val", "p4d": "p4d_val", "pgd": "pgd_val"}
_REREAD = {"pte": "ptep_get({p})", "pmd": "*{p}", "pud": "*{p}", "p4d": "*{p}", "pgd": "*{p}"}


RULE = Rule(id="mm/gupfast-recheck-after-ref", severity="error", scope="function",
            summary="lockless walkers: reject pte_special, take the ref, re-read the pte/pmd, drop it on change",
            needs=gup.SPECULATIVE_GRABS)


def check(ctx):
    if ctx.node is None or ctx.fn.kind == "macro":
        return  # the steps are about order inside a function: nothing to say from single lines
    if gup.takes_ptl(ctx.node):
        return  # under the page-table lock the entry cannot change behind our back
    values = gup.lockless_values(ctx.node)
    if not values:
        return
    for grab in gup.calls_in(ctx.node):
        if gup.call_name(grab) not in gup.SPECULATIVE_GRABS or not gup.arguments(grab):
            continue
        value = _source_value(ctx.node, values, grab)
        if value is not None and value.level != "hugetlb":
            yield from _check_grab(ctx, values, value, grab)


def _source_value(fn_node, values, grab):
    """The latest lockless value before the grab that its page argument is computed from."""
    used = gup.identifiers(gup.arguments(grab)[0])
    best = None
    for v in values:
        if v.pos <= grab.start_byte and gup.derived(fn_node, v.value, v.pos) & used:
            if best is None or v.pos > best.pos:
                best = v
    return best


def _check_grab(ctx, values, value, grab):
    """One finding per grab, listing every step it misses (they share the grab's line)."""
    problems = list(_problems(ctx, value, grab))
    if problems:
        name = gup.call_name(grab)
        message = f"{name}() on a page read locklessly from `{value.value}`: " + "; ".join(m for m, _ in problems)
        yield ctx.finding(grab, message, suggestion="; ".join(s for _, s in problems))


def _problems(ctx, value, grab):
    if value.level == "pte" and value.read != "parameter" and not _special_rejected(grab):
        yield ("no pte_special() rejection before the reference: a special pte has no refcounted struct page "
               "(and a ZONE_DEVICE page needs its pgmap reference), so GUP-fast races with the page being "
               "recycled",
               f"bail out before the grab: `if (pte_special({value.value})) goto out;` (take the dev_pagemap "
               "reference in a pte_devmap() branch first)")
    end = _handout(ctx, grab)
    if end is None:
        return  # the hunk does not show where the page is handed out: nothing more to conclude
    g = cfg_of(grab)
    checks = [i for i in P.nodes_of_type(ctx.node, "if_statement")
              if grab.end_byte <= i.start_byte < end and g.reaches(grab, i)]
    recheck = next((i for i in checks if _rechecks(i, value)), None)
    if recheck is None:
        yield _missing_recheck(ctx, grab, value)
        return
    body = recheck.child_by_field_name("consequence")
    if body is not None and not gup.releases_on_path(body, ctx.node):
        yield (f"the re-check on line {recheck.start_point[0] + 1} backs off without dropping the reference: the "
               "page leaks (and stays pinned under FOLL_PIN)",
               f"drop it in that branch: `{_release_text(ctx, grab)}`")
    pmd = _handed_pmd(ctx.node, value)
    if pmd is not None and not any(_rechecks(i, pmd) for i in checks):
        yield (f"the pte is re-checked but not the pmd `{pmd.value}` the walk came through: a concurrent THP "
               "collapse can free the page table between the pmd read and the grab",
               f"compare both: `if (unlikely(pmd_val({pmd.value}) != pmd_val(*{pmd.pointer})) || "
               f"unlikely(pte_val({value.value}) != pte_val(ptep_get({value.pointer})))) "
               f"{{ {_release_text(ctx, grab)}; goto out; }}`")


def _special_rejected(grab):
    """Every path to the grab asks pte_special() (or vm_normal_page(), or takes a devmap pgmap)."""
    return cfg_of(grab).called_before(grab, _SPECIAL_TESTS)


def _handout(ctx, grab):
    """Byte where the grabbed page is handed out (the first publish after the grab). For a whole
    function without one: its end. For a fragment without one: None (the hunk stops too early)."""
    published = gup.publishes(ctx.node, grab.end_byte)
    if published:
        return published[0].start_byte
    return ctx.node.end_byte if gup.whole(ctx) else None


def _rechecks(if_node, value):
    cond = if_node.child_by_field_name("condition")
    if cond is None or not gup.compares_entry(cond, value.value):
        return False
    return not value.pointer or gup.rereads(cond, value.pointer)


def _handed_pmd(fn_node, value):
    """For a pte walker: the `pmd_t pmd, pmd_t *pmdp` parameters it was reached through."""
    if value.level != "pte" or fn_node.type != "function_definition":
        return None
    params = gup.parameters(fn_node)
    val = next((n for t, n, p in params if t == "pmd_t" and not p), None)
    ptr = next((n for t, n, p in params if t == "pmd_t" and p), None)
    if val and ptr:
        return gup.Lockless(val, ptr, "pmd", "parameter", 0)
    return None


def _missing_recheck(ctx, grab, value):
    val = _VAL.get(value.level, "pte_val")
    reread = _REREAD.get(value.level, "*{p}").format(p=value.pointer or "ptep")
    return ("the entry is not read again and compared after the reference is taken, before the page is handed "
            "out: a concurrent unmap may already have cleared it and checked for pins (\"1. Read PTE 2. Pin "
            "page 3. Check PTE 4. if PTE changed -> unpin and fallback\")",
            f"after the grab: `if (unlikely({val}({value.value}) != {val}({reread}))) "
            f"{{ {_release_text(ctx, grab)}; goto out; }}`")


def _release_text(ctx, grab):
    """The release that matches the grab, written with its own variables."""
    args = [" ".join(ctx.text(a).split()) for a in gup.arguments(grab)]
    assigned = gup.assigned_key(grab)
    target = assigned if assigned and assigned not in ("ret", "err", "rc", "error") else args[0]
    name = gup.call_name(grab)
    if name in gup.GRAB:
        refs = args[1] if name != "try_grab_page" and len(args) > 2 else "1"
        return f"gup_put_folio({target}, {refs}, {args[-1]})"
    return f"folio_put({target})" if "folio" in name else f"put_page({target})"
