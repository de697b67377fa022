"""Every dispatch site handles every non-present entry kind, or routes it to a safe default.

**What it checks.** (1) When the series adds a swap-entry kind (a `SWP_*`
type in `include/linux/swap.h`, a `PTE_MARKER_*` bit), every function in the
tree that decodes entries and branches on their kind (a *dispatch site*,
derived from the tree: `pte_to_swp_entry()` plus kind predicates) and that the
series does not touch is checked: a chain of `if (is_x_entry(e)) ... else if
...` that neither handles the new kind nor ends in a safe default (`WARN*`,
`print_bad_pte`, `VM_FAULT_SIGBUS`) is reported at its head. (2) A patch that
removes a kind's arm from a dispatch site while the kind still exists. (3) A
new function that dispatches on kinds without a default and misses a kind
that carries a page (migration, device-private/-exclusive, hwpoison).

**Why.** Each kind carries different obligations (references, rss, rmap, pfn
vs swap offset, fault semantics). A site that silently falls through for a
kind it never heard of copies, zaps or faults it wrongly. Jason Gunthorpe on
the device-exclusive series: "The code should be shared because nobody is
going to remember about this corner case." The registries differ by version
(6.1's `SWP_SWAPIN_ERROR`, 6.12's POISONED marker, mainline `softleaf_*`), so
kinds, predicates and sites are read from the tree being checked.

**Example.**

    /* bad: a new SWP_DEVICE_EXCLUSIVE kind falls through here unnoticed */
    if (!non_swap_entry(entry)) {
            rss[MM_SWAPENTS]--;
    } else if (is_migration_entry(entry)) {
            rss[mm_counter(pfn_swap_entry_folio(entry))]--;
    } else if (is_device_private_entry(entry)) {
            folio_put(pfn_swap_entry_folio(entry));
    }

    /* good */
    } else if (is_device_private_entry(entry) || is_device_exclusive_entry(entry)) {
            ...
    } else {
            WARN_ON_ONCE(1);
    }

**How to fix.** Add an arm for the new kind to each reported site (or to the
shared helper they use), or end the chain with an explicit safe default
(`WARN_ON_ONCE(1)` plus conservative handling) and say in the commit message
why the remaining sites cannot see the kind.
"""
from reviewkit.code.cparse import parse_source
from reviewkit.rules import Rule
from reviewkit.rules.lib import kinds as K

RULE = Rule(id="mm/swp-entry-kind-exhaustive", severity="error", scope="tree",
            summary="a new or changed entry kind is handled (or safely defaulted) at every dispatch site")


def _series_functions(ctx):
    names = set()
    for mid in ctx.series.patches:
        for fc in ctx.analysis.functions(mid):
            names.add((fc.path, fc.name))
    return names


def check(ctx):
    before, after = ctx.registry_before, ctx.registry_after
    if before is None or after is None:
        return
    yield from _new_kinds(ctx, before, after)
    yield from _changed_functions(ctx, before, after)


def _new_kinds(ctx, before, after):
    new = K.all_kinds(after) - K.all_kinds(before)
    if not new or before is after:
        return
    full = ctx.registry("after", sites=True)
    tree = ctx.tree_after()
    touched = _series_functions(ctx)
    parsed = {}
    pfn_new = {k for k in new if K.family(after, k) in K.PFN_FAMILIES}
    where_new = [(after.kinds[k].path, after.kinds[k].line, f"{k} is added here")
                 for k in sorted(new) if k in after.kinds]
    for site in full.dispatch_sites:
        if (site.path, site.function) in touched:
            continue  # the series updates this site itself
        if site.path not in parsed:
            data = tree.read(site.path) if tree is not None else None
            parsed[site.path] = parse_source(site.path, data) if data is not None else None
        pf = parsed[site.path]
        fn = next((f for f in (pf.functions if pf else []) if f.name == site.function and f.start_line == site.line),
                  None)
        if fn is None or fn.node is None:
            continue
        reachable = {k for k in new if not (K.hugetlb_site(site.path, site.function)
                                            and K.family(after, k) in K.NOT_IN_HUGETLB)}
        for d in K.dispatches(full, fn.node):
            missing = sorted(reachable - d.covered)
            if not missing or len(missing) < len(reachable) and not (set(missing) & pfn_new):
                continue
            severity, how = _verdict(d.default, bool(set(missing) & pfn_new))
            if severity is None:
                continue
            names = ", ".join(missing)
            yield ctx.finding(
                d.head_line, f"{site.function}() dispatches on entry kinds but does not handle new {names}: "
                f"{how}", severity=severity, path=site.path, function=site.function,
                snippet=f"{fn.text_of(d.chain.head).splitlines()[0]} / {names}",
                suggestion=f"add an arm for {names} here, or end the chain with WARN_ON_ONCE(1) and a safe default",
                related=tuple(where_new), confidence="low" if fn.health < 1.0 else "high")


def _verdict(default, pfn):
    if default == "safe":
        return "note", "it reaches the chain's WARN/SIGBUS default: confirm that is the right handling"
    if default == "filter":
        return ("note" if pfn else None), "the chain only picks out kinds it cares about; confirm it may skip this one"
    if default in ("implicit", "unknown"):
        return ("error" if pfn else "warning"), ("it falls through to the code after the chain, which treats it "
                                                 "like the other kinds" if default == "implicit" else
                                                 "the final else handles it without knowing what it is")
    return "error", "no arm and no default: it is silently ignored"


def _changed_functions(ctx, before, after):
    """A patch removes a kind's arm from a dispatcher, or adds a dispatcher that misses page kinds."""
    for fc in ctx.analysis.functions(ctx.patch.message.msgid):
        new_fn, old_fn = fc.after, fc.before
        if new_fn is None or new_fn.node is None:
            continue
        now = K.dispatches(after, new_fn.node)
        covered_now = frozenset().union(*(d.covered for d in now)) if now else frozenset()
        if old_fn is not None and old_fn.node is not None:
            was = K.dispatches(before, old_fn.node)
            covered_was = frozenset().union(*(d.covered for d in was)) if was else frozenset()
            lost = sorted((covered_was - covered_now) & K.all_kinds(after))
            if lost and now:
                yield ctx.finding(now[0].head_line, f"the patch removes the handling of {', '.join(lost)} from "
                                  f"{fc.name}(), and the kind still exists", path=fc.path, function=fc.name,
                                  snippet=f"{fc.name} lost {' '.join(lost)}",
                                  suggestion="keep an arm for it, or explain why it can no longer reach this code",
                                  confidence="low" if fc.parse_health < 1.0 else "high")
        elif fc.status == "added":
            for d in now:
                if d.default in ("safe", "filter", "unknown"):
                    continue
                missing = sorted(k for k in K.all_kinds(after) - d.covered if K.family(after, k) in K.PFN_FAMILIES)
                if missing:
                    yield ctx.finding(d.head_line, f"new dispatcher {fc.name}() has no default and does not handle "
                                      f"{', '.join(missing)}, which carry a page", severity="warning",
                                      path=fc.path, function=fc.name, snippet=f"{fc.name} misses {' '.join(missing)}",
                                      suggestion="handle them, or end the chain with WARN_ON_ONCE(1)",
                                      confidence="low" if fc.parse_health < 1.0 else "high")
