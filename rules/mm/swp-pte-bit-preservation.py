"""A non-present pte rebuilt from a fresh swap entry keeps the old pte's soft-dirty and uffd-wp bits.

**What it checks.** Every `swp_entry_to_pte(E)` / `softleaf_to_pte(E)` /
`swp_entry_to_pmd(E)` whose entry `E` comes from a `make_*_entry()`
constructor (inline, or the last assignments of `E` before it) and whose
result is stored (`set_pte_at`, `set_ptes`, `set_huge_pte_at`, `set_pmd_at`).
Between the construction and the store, the new pte must get
`pte_swp_mksoft_dirty()` and `pte_swp_mkuffd_wp()` (`pmd_swp_mk*` for a pmd),
each either unconditionally or under a test of the old bit
(`pte_swp_soft_dirty(old)`, `pte_soft_dirty(old)`, `pte_swp_uffd_wp(old)`,
`pte_uffd_wp(old)`, or a variable set from one). A flag-driven tail such as
mprotect's `if (uffd_wp) newpte = pte_swp_mkuffd_wp(newpte);` is a new
protection, not the old bit, and does not count.

Which bits, per entry kind (mm-rules.md §4.D, 6.12.117):

| entry built | soft-dirty | uffd-wp |
|---|---|---|
| migration (readable, readable-exclusive) | required | required |
| writable migration, or built in an `is_writable_migration_entry()` arm | required | not possible: a uffd-wp pte is never writable |
| device-private | dropped by design ("We do not preserve soft-dirty information ...", `copy_nonpresent_pte`) | required |
| device-exclusive | required | required |
| hwpoison, pte markers, poisoned / guard / swapin-error entries | intentional reset | intentional reset |

hugetlb (`set_huge_pte_at` only) has no soft-dirty. A construction with no
old pte in the function (no `pte_to_swp_entry()` decode, no cleared pte
value: e.g. `migrate_vma_insert_page()` filling a none pte) is a brand-new
entry and is not checked. Anon-exclusive is carried by the entry type for
migration entries (`make_readable_exclusive_migration_entry`); it is asked
for when a genuine swap entry (`page_swap_entry()`) replaces a present pte in
a function that tracks exclusivity (`anon_exclusive`, `PageAnonExclusive`):
`if (anon_exclusive) swp_pte = pte_swp_mkexclusive(swp_pte);`, as
`try_to_unmap_one()` does.

**Why.** mm-rules.md R3: soft-dirty, uffd-wp and anon-exclusive live in the
arch pte outside the `swp_entry_t` payload; `pte_to_swp_entry()` strips them
and `swp_entry_to_pte()` never recreates them. Dropping uffd-wp silently
un-protects memory: Peter Xu (seed S1), "missing of the uffd-wp bit anywhere
can directly cause data corruption in the userspace". Dropping soft-dirty
breaks CRIU's dirty tracking. The device-exclusive series (seed S0) shows the
idiom in its `copy_nonpresent_pte()` downgrade: `pte = swp_entry_to_pte(entry);
if (pte_swp_soft_dirty(*src_pte)) pte = pte_swp_mksoft_dirty(pte); if
(pte_swp_uffd_wp(*src_pte)) pte = pte_swp_mkuffd_wp(pte);`.

**Example.**

    /* bad */
    entry = make_readable_migration_entry(swp_offset(entry));
    newpte = swp_entry_to_pte(entry);
    set_pte_at(mm, addr, ptep, newpte);

    /* good */
    entry = make_readable_migration_entry(swp_offset(entry));
    newpte = swp_entry_to_pte(entry);
    if (pte_swp_soft_dirty(oldpte))
            newpte = pte_swp_mksoft_dirty(newpte);
    if (pte_swp_uffd_wp(oldpte))
            newpte = pte_swp_mkuffd_wp(newpte);
    set_pte_at(mm, addr, ptep, newpte);

**How to fix.** Copy the bits from the pte the entry came from, between the
construction and the store: `pte_swp_soft_dirty()` / `pte_swp_uffd_wp()` when
the old pte was a swap pte, `pte_soft_dirty()` / `pte_uffd_wp()` when it was
present (`try_to_unmap_one()` and `try_to_migrate_one()` in 6.12 do both).
"""
import re

from reviewkit.code.cfg import cfg_of
from reviewkit.rules import Rule
from reviewkit.rules.lib import entries as E
from reviewkit.rules.lib import pte as P


SD, UFFD, EXCL = "soft-dirty", "uffd-wp", "exclusive"
# construction -> {bit: the call that puts that bit on the new pte}
_FAMILIES = {
    "swp_entry_to_pte": {SD: "pte_swp_mksoft_dirty", UFFD: "pte_swp_mkuffd_wp", EXCL: "pte_swp_mkexclusive"},
    "softleaf_to_pte": {SD: "pte_swp_mksoft_dirty", UFFD: "pte_swp_mkuffd_wp", EXCL: "pte_swp_mkexclusive"},
    "swp_entry_to_pmd": {SD: "pmd_swp_mksoft_dirty", UFFD: "pmd_swp_mkuffd_wp"},
}
_STORES = frozenset({"set_pte_at", "set_ptes", "set_huge_pte_at", "set_pte", "set_pmd_at"})
# tests that read the old bit (present or swap form; pmd forms for pmd rebuilds)
_TESTS = {
    SD: frozenset({"pte_swp_soft_dirty", "pte_soft_dirty", "pmd_swp_soft_dirty", "pmd_soft_dirty"}),
    UFFD: frozenset({"pte_swp_uffd_wp", "pte_uffd_wp", "pte_swp_uffd_wp_any", "pmd_swp_uffd_wp", "pmd_uffd_wp",
                     "huge_pte_uffd_wp", "userfaultfd_pte_wp", "pte_marker_uffd_wp"}),
}
# where an old pte comes from: a decoded entry, or the value a clear returned
_DECODE = frozenset({"pte_to_swp_entry", "softleaf_from_pte", "pmd_to_swp_entry", "softleaf_from_pmd"})
_OLD_VALUE = P.CLEAR_PTE | frozenset({"pmdp_invalidate", "pmdp_invalidate_ad", "pmdp_huge_get_and_clear",
                                       "pmdp_huge_clear_flush", "pmdp_huge_get_and_clear_full"})
_EXEMPT_KINDS = ("hwpoison", "marker", "poisoned", "guard", "swapin_error")
_CTOR = re.compile(r"^make_(\w*?)_?(?:swp_)?entry(_young|_dirty)?$")
_SWAP_SLOT = frozenset({"page_swap_entry", "folio_swap_entry"})  # a genuine swap entry (swap-out)
_EXCLUSIVITY = re.compile(r"anon_exclusive|AnonExclusive|swp_exclusive")


RULE = Rule(id="mm/swp-pte-bit-preservation", severity="error", scope="function",
            summary="a rebuilt non-present pte keeps soft-dirty / uffd-wp of the pte it replaces",
            needs=_FAMILIES)


def entry_kind(ctor: str):
    """(kind, writable) of a make_*_entry() constructor name; kind None for modifiers/unknown names."""
    if ctor in _SWAP_SLOT:
        return "swap", False
    m = _CTOR.match(ctor)
    if not m or m.group(2):
        return None, False  # make_migration_entry_young/dirty keep the kind of their argument
    words = m.group(1)
    writable = "writable" in words
    for kind in ("device_exclusive", "device_private", "migration", "hwpoison", "pte_marker", "poisoned", "guard",
                 "swapin_error"):
        if kind in words:
            return ("marker" if kind == "pte_marker" else kind), writable
    return None, False


def required_bits(kinds: set, all_writable: bool, hugetlb: bool, writable_arm: bool, swap_out: bool) -> list:
    """The bits the rebuilt pte must carry, given the kinds of entry that may reach it."""
    bits = []
    if kinds & {"migration", "device_exclusive", "swap"} and not hugetlb:
        bits.append(SD)
    if kinds & {"device_private", "device_exclusive", "swap"} or (
            "migration" in kinds and not all_writable and not writable_arm):
        bits.append(UFFD)
    if "swap" in kinds and swap_out:
        bits.append(EXCL)  # anon swap-out records PageAnonExclusive in the swap pte
    return bits


# --- where the entry came from ---------------------------------------------------------------

def _constructors(fn_body, construct, previous_end: int) -> list:
    """make_*_entry() calls that may have built the entry this construction converts."""
    arg = P.args(construct)
    if not arg:
        return []
    e = P.unwrap(arg[0])
    if e is not None and e.type == "call_expression":
        return [e] if P.call_name(e).startswith("make_") or P.call_name(e) in _SWAP_SLOT else []
    if e is None or e.type not in ("identifier", "field_expression"):
        return []
    name = P.norm(P.text(e))
    out = []
    for node, value in P.assignments(fn_body, name):
        if previous_end <= node.start_byte < construct.start_byte and P.same_path(node, construct, fn_body):
            v = P.unwrap(value)
            if v is not None and v.type == "call_expression" and (
                    P.call_name(v).startswith("make_") or P.call_name(v) in _SWAP_SLOT):
                out.append(v)
    return out


def _old_pte(fn_body, construct, ctors: list):
    """(text of the old pte, 'swap'|'present') the entry was rebuilt from, or None for a brand-new entry."""
    ctor_text = " ".join(P.norm(P.text(c)) for c in ctors)
    decodes = [d for d in P.calls(fn_body, _DECODE) if d.start_byte < construct.start_byte
               and P.same_path(d, construct, fn_body)]
    for d in decodes:  # prefer the decode whose entry flows into the constructor
        if any(re.search(r"\b" + re.escape(n) + r"\b", ctor_text) for n in P.assigned_to(d)):
            return P.arg_text(d, 0), "swap"
    cleared = [c for c in P.calls(fn_body, _OLD_VALUE) if c.start_byte < construct.start_byte
               and P.same_path(c, construct, fn_body) and P.assigned_to(c)]
    if cleared:
        return P.assigned_to(cleared[-1])[0], "present"
    if decodes:
        return P.arg_text(decodes[-1], 0), "swap"
    for c in ctors:  # make_*_entry(swp_offset(entry)): rebuilt from an older entry, whatever we can see
        for off in P.calls(c, {"swp_offset", "swp_offset_pfn"}):
            return f"the pte {P.arg_text(off, 0)} was decoded from", "swap"
    return None


# --- what the rebuilt pte gets --------------------------------------------------------------

def _bit_tested_in(cond, bit: str, fn_body) -> bool:
    """Does the condition read the old bit (directly, or through a variable set from a test)?"""
    if P.calls(cond, _TESTS[bit]):
        return True
    for ident in (n for n in P.walk(cond) if n.type == "identifier"):
        for _node, value in P.assignments(fn_body, P.text(ident)):
            if P.calls(value, _TESTS[bit]) or (value.type == "call_expression" and P.call_name(value) in _TESTS[bit]):
                return True
    return False


def carried(fn_body, construct, store, var, setter: str, bit: str) -> bool:
    """Is the bit put on the rebuilt pte between its construction and its store, unconditionally or
    under a test of the old bit, on a path that can reach the store?"""
    for a in P.ancestors(construct, fn_body):  # pte_swp_mkuffd_wp(swp_entry_to_pte(...))
        if a.type == "call_expression" and P.call_name(a) == setter:
            return True
    if var is None:
        return False
    for mk in P.calls(fn_body, {setter}):
        if not (construct.end_byte <= mk.start_byte < store.start_byte) or P.arg_text(mk, 0) != var:
            continue
        if not (P.same_path(mk, construct, fn_body) and P.same_path(mk, store, fn_body)):
            continue
        extra = [g for g in P.conditions_between(mk, construct) if g.kind == "test"]
        if not extra or bit == EXCL or any(_bit_tested_in(g.expr, bit, fn_body) for g in extra):
            return True
    return False


def _store_of(fn_body, construct, var):
    """The first store of the rebuilt pte after its construction, on the same path."""
    for a in P.ancestors(construct, fn_body):  # stored inline: set_pte_at(.., swp_entry_to_pte(..))
        if a.type == "call_expression" and P.call_name(a) in _STORES:
            return a, [a]
    if var is None:
        return None, []
    g = cfg_of(construct)
    stores = [s for s in P.calls(fn_body, _STORES) if s.start_byte > construct.end_byte
              and P.stored_value(s) == var and g.reaches(construct, s, stop=_gives_new_value(var))]
    return (stores[0], stores) if stores else (None, [])


def _gives_new_value(var):
    """A statement that gives `var` an unrelated value (a new construction, say), not a bit change."""
    def stop(ast) -> bool:
        return any(P.arg_text(value, 0) != var and not P.text(value).startswith(("pte_swp_", "pmd_swp_", "pte_mk",
                                                                                 "pmd_mk"))
                   for _node, value in P.assignments(ast, var))
    return stop


def _knows_exclusivity(fn_body) -> bool:
    """The function tracks PageAnonExclusive (5.19+ kernels; older ones have no exclusive swap bit)."""
    return bool(_EXCLUSIVITY.search(P.text(fn_body.parent or fn_body)))  # parameters included


def _in_writable_migration_arm(construct, fn_body) -> bool:
    return E.known(construct, None, {"is_writable_migration_entry"})


def _check_construct(ctx, fn_body, construct, previous_end: int):
    setters = _FAMILIES[ctx.call_name(construct)]
    ctors = _constructors(fn_body, construct, previous_end)
    kinds_w = [entry_kind(P.call_name(c)) for c in ctors]
    kinds = {k for k, _w in kinds_w if k}
    if not kinds or kinds <= set(_EXEMPT_KINDS):
        return None  # not a make_*_entry() rebuild, or an intentional reset
    old = _old_pte(fn_body, construct, ctors)
    if old is None:
        return None  # nothing to carry: a brand-new entry
    names = P.assigned_to(construct)
    var = names[0] if names else None
    store, stores = _store_of(fn_body, construct, var)
    if store is None:
        return None  # returned or handed on: whoever stores it carries the bits
    hugetlb = all(P.call_name(s) == "set_huge_pte_at" for s in stores)
    all_writable = all(w for k, w in kinds_w if k == "migration")
    swap_out = old[1] == "present" and _knows_exclusivity(fn_body)
    bits = required_bits(kinds - set(_EXEMPT_KINDS), all_writable, hugetlb,
                         _in_writable_migration_arm(construct, fn_body), swap_out)
    missing = [b for b in bits if not carried(fn_body, construct, store, var, setters[b], b)]
    if not missing:
        return None
    return _finding(ctx, construct, store, var, ctors, old, missing, setters)


def _finding(ctx, construct, store, var, ctors, old, missing, setters):
    old_text, form = old
    ctor = P.call_name(ctors[-1])
    what = f"`{var}`" if var else "the pte"
    line = store.start_point[0] + 1
    losses = {UFFD: "its uffd-wp write protection", SD: "soft-dirty tracking",
              EXCL: "the anon-exclusive state of the page"}
    replaced = old_text if old_text.startswith("the pte ") else f"`{old_text}`"
    message = (f"{what} is rebuilt from a fresh entry ({ctor}()) and stored by {P.call_name(store)}() on line "
               f"{line} without the {' and '.join(missing)} bit{'s' if len(missing) > 1 else ''} of the pte it "
               f"replaces ({replaced}): {ctx.call_name(construct)}() never carries those bits, so the mapping "
               f"silently loses {' and '.join(losses[b] for b in missing)}")
    v = var or "pte"
    tests = {SD: "pte_swp_soft_dirty" if form == "swap" else "pte_soft_dirty",
             UFFD: "pte_swp_uffd_wp" if form == "swap" else "pte_uffd_wp"}
    if setters[SD].startswith("pmd_"):
        tests = {b: t.replace("pte_", "pmd_", 1) for b, t in tests.items()}
    src = "old_pte" if old_text.startswith("the pte ") else old_text
    lines = " ".join((f"if (anon_exclusive) {v} = {setters[b]}({v});" if b == EXCL else
                      f"if ({tests[b]}({src})) {v} = {setters[b]}({v});") for b in missing)
    return ctx.finding(construct, message, suggestion=f"before the store: {lines}")


def check(ctx):
    if ctx.node is None:
        yield from _check_lines(ctx)
        return
    fn_body = P.body(ctx.node)
    if fn_body is None:
        return
    previous_end = 0
    for construct in ctx.calls(names=_FAMILIES):
        found = _check_construct(ctx, fn_body, construct, previous_end)
        previous_end = construct.end_byte
        if found is not None:
            yield found


# --- no parse: changed lines only ------------------------------------------------------------

_INLINE = re.compile(r"\b(set_pte_at|set_ptes|set_huge_pte_at)\s*\(.*\b(swp_entry_to_pte|softleaf_to_pte)\s*\(\s*"
                     r"(make_\w+)\s*\(\s*swp_offset(?:_pfn)?\s*\(\s*(\w+)")


def _check_lines(ctx):
    """Without a parse, one shape is certain on a single line: an entry rebuilt from an old entry
    (`swp_offset(old)`) converted and stored in the same expression, with no room for the bits."""
    for n, line in ctx.changed_line_texts():
        m = _INLINE.search(line)
        if not m:
            continue
        kind, writable = entry_kind(m.group(3))
        if kind is None or kind in _EXEMPT_KINDS:
            continue
        bits = required_bits({kind}, writable, m.group(1) == "set_huge_pte_at", False, False)
        if bits:
            yield ctx.finding(n, f"a pte rebuilt from a fresh entry ({m.group(3)}()) is stored by {m.group(1)}() "
                                 f"without the {' and '.join(bits)} bits of the pte it replaces: "
                                 f"{m.group(2)}() never carries them",
                              suggestion="build the pte into a variable, copy the bits from the old pte "
                                         "(pte_swp_soft_dirty / pte_swp_uffd_wp), then store it",
                              confidence="low")
