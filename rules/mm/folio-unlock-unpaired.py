"""A folio is unlocked only on paths where it was locked.

**What it checks.** For each `folio_unlock(f)` (or `unlock_page()`), the paths that reach it
from where the function got `f` unlocked: a lookup or allocation that returns an unlocked folio
(`swap_cache_get_folio()`, `filemap_get_folio()`, `__filemap_get_folio()` without `FGP_LOCK`,
`vm_normal_folio()`, `folio_alloc*()`, `vma_alloc_folio()`, `read_mapping_folio()`, ...; not a
conversion such as `page_folio()`: the page may come locked). If one of those paths reaches the
unlock without passing a lock of `f` (`folio_lock()`, `folio_trylock()` and its tests,
`folio_lock_killable()`, `lock_page()`, `filemap_add_folio()`, ...), a new value for `f` (`f =
NULL;`), or a test of a lock flag, and without finding `f` NULL and then non-NULL (`if (!folio)
goto failed; ... failed: if (folio) folio_unlock(folio);`), the unlock can run on a folio this
function never locked. Paths are read from the control-flow layer, so a `goto failed;` taken
before the `folio_lock()` is seen.

**Why.** Unlocking a folio someone else holds locked breaks their critical section (and
VM_BUG_ON_FOLIO(!folio_test_locked(folio)) under CONFIG_DEBUG_VM). 6.12.78 fixed exactly this
in shmem_swapin_folio(): the new `shmem_split_large_entry()` failure jumped to the common
`failed:` exit, which does `folio_unlock(folio); folio_put(folio);`, before the folio had been
locked ("mm: shmem: avoid unpaired folio_unlock() in shmem_swapin_folio()": drop the
reference and set `folio = NULL` first).

**Example.**

    /* bad */
    folio = swap_cache_get_folio(swap, NULL, 0);
    if (split_large_entry(...) < 0)
            goto failed;           /* not locked yet */
    folio_lock(folio);
    ...
    failed:
    if (folio) {
            folio_unlock(folio);
            folio_put(folio);
    }

    /* good */
    if (split_large_entry(...) < 0) {
            folio_put(folio);
            folio = NULL;
            goto failed;
    }

**How to fix.** On the early path drop what you hold yourself (`folio_put()`) and clear
the pointer before jumping to the shared exit, or give that path its own label.
"""
from reviewkit.code.cfg import cfg_of
from reviewkit.rules import Rule
from reviewkit.rules.lib import entries as E
from reviewkit.rules.lib import pte as P


UNLOCK = frozenset({"folio_unlock", "unlock_page"})
LOCK = frozenset({"folio_lock", "folio_trylock", "folio_lock_killable", "__folio_lock", "lock_page",
                  "trylock_page", "__folio_set_locked", "__SetPageLocked", "folio_lock_or_retry",
                  "folio_lock_anon_vma_read", "migration_entry_wait_on_locked", "__folio_lock_killable",
                  "filemap_add_folio", "add_to_page_cache_lru"})  # these two lock the folio they add
# lookups and allocations (not conversions such as page_folio(): the page may come locked)
UNLOCKED_SOURCES = frozenset({"swap_cache_get_folio", "filemap_get_folio", "__filemap_get_folio",
                              "vm_normal_folio", "folio_alloc", "vma_alloc_folio", "folio_alloc_mpol",
                              "read_mapping_folio", "filemap_alloc_folio", "pfn_swap_entry_folio"})


RULE = Rule(id="mm/folio-unlock-unpaired", severity="warning", scope="function",
            summary="folio_unlock() only on paths where this function locked the folio",
            needs=UNLOCK)


def _sources(fn_body, name):
    """Assignments of `name` from a call that returns an unlocked folio."""
    for node, value in P.assignments(fn_body, name):
        call = P.unwrap(value)
        if call is None or call.type != "call_expression" or P.call_name(call) not in UNLOCKED_SOURCES:
            continue
        if P.call_name(call) == "__filemap_get_folio" and "FGP_LOCK" in P.text(call):
            continue
        yield node


def _stops(name):
    """Statements and condition atoms a path must not pass: a lock of `name`, a new value for it,
    a test of a lock flag (`if (locked)`)."""
    def stop(ast) -> bool:
        for c in P.calls(ast, LOCK):
            if any(a == name or a.endswith(f"({name})") for a in (P.norm(P.text(x)) for x in P.args(c))):
                return True
        if any(n for n, _v in P.assignments(ast, name)):
            return True
        return "lock" in P.text(ast).lower() and ast.type != "expression_statement"
    return stop


def check(ctx):
    if ctx.node is None or ctx.function is None or ctx.function.kind != "function" or P.partial_view(ctx):
        return
    fn_body = P.body(ctx.node)
    g = cfg_of(fn_body) if fn_body is not None else None
    if g is None:
        return
    for unlock in ctx.calls(names=UNLOCK):
        name = P.arg_text(unlock, 0) or ""
        if name.startswith("page_folio(") or name.startswith("&"):
            continue
        for source in _sources(fn_body, name):
            if source.end_byte <= unlock.start_byte and g.reaches(source, unlock, stop=_stops(name), nonnull=name):
                line = source.start_point[0] + 1
                yield ctx.finding(
                    E.anchor(unlock),
                    f"{ctx.call_name(unlock)}(`{name}`) can run on a folio this function never locked: "
                    f"a path from line {line} (`{' '.join(ctx.text(source).split())[:60]}`, an unlocked "
                    f"folio) reaches it without a folio_lock()",
                    suggestion=f"on that path drop the reference and clear the pointer (`folio_put({name}); "
                               f"{name} = NULL;`) before the shared exit, or lock it first")
                break
