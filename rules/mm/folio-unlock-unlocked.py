"""A folio is unlocked only on paths that locked it.

**What it checks.** A folio obtained unlocked in this function — from the swap
cache or the page cache lookups that return a referenced but unlocked folio
(`swap_cache_get_folio()`, `filemap_get_folio()`, `read_swap_cache_async()`,
`swapin_readahead()`, `shmem_swapin_cluster()`) — must not reach
`folio_unlock()` on a path that did not lock it (`folio_lock*()`,
`folio_trylock()`, `lock_folio_maybe_drop_mmap()`: a call named for locking a
folio that is given it). The path search is on the control-flow graph: it stops at
a lock of the folio, at a new assignment to the variable (`folio = NULL` before
`goto failed`), and on the branch where the variable was tested NULL.

**Why.** Unlocking a folio this path does not hold clears PG_locked under
whoever does hold it (or trips `VM_BUG_ON_FOLIO(!folio_test_locked())`):
their critical section silently loses its lock, and waiters wake early. Shared
error labels (`failed: if (folio) { folio_unlock(folio); folio_put(folio); }`)
make this easy to introduce when an early error path is added before the
`folio_lock()`: 6.12's `shmem_swapin_folio()` did so for a failed
large-entry split (stable 6.12.78 "mm: shmem: avoid unpaired folio_unlock()
in shmem_swapin_folio()").

**Example.**

    /* bad */
    folio = swap_cache_get_folio(swap, NULL, 0);
    ...
    if (split_order < 0) {
            error = split_order;
            goto failed;           /* reaches folio_unlock(folio) */
    }
    folio_lock(folio);
    ...
    failed:
    if (folio) {
            folio_unlock(folio);
            folio_put(folio);
    }

    /* good */
    if (split_order < 0) {
            folio_put(folio);
            folio = NULL;
            error = split_order;
            goto failed;
    }

**How to fix.** On error paths taken before the lock, drop the reference
there and clear the variable (or jump to a label that only puts it).
"""
import re

from reviewkit.code.cfg import Guard, cfg_of
from reviewkit.rules import Rule
from reviewkit.rules.lib import pte as P

RULE = Rule(id="mm/folio-unlock-unlocked", severity="error", scope="function",
            summary="a folio looked up unlocked reaches folio_unlock() only through a folio_lock()")

UNLOCKED_GETTERS = frozenset({"swap_cache_get_folio", "filemap_get_folio", "read_swap_cache_async",
                              "swapin_readahead", "shmem_swapin_cluster"})
# folio_lock(), folio_trylock(), folio_lock_killable(), __folio_lock(), lock_folio_maybe_drop_mmap(), ...
_LOCK = re.compile(r"folio_(try)?lock|lock_folio")


def _blocks(g, i, name):
    """Does graph node `i` end the search: the folio locked, reassigned, or known NULL here?"""
    n = g.nodes[i]
    if n.ast is None:
        return False
    if n.kind == "assume":
        return Guard(n.ast, n.value).subject == name and n.value is False
    if any(_LOCK.search(P.call_name(c)) and name in [P.norm(P.text(a)) for a in P.args(c)]
           for c in P.calls(n.ast)):
        return True
    return any(1 for a in P.walk(n.ast) if a.type == "assignment_expression"
               and P.norm(P.text(a.child_by_field_name("left"))) == name)


def _unlocks(g, i, name):
    n = g.nodes[i]
    return n.ast is not None and n.kind != "assume" and \
        any(P.arg_text(c, 0) == name for c in P.calls(n.ast, {"folio_unlock"}))


def check(ctx):
    if ctx.node is None or not ctx.whole:
        return
    g = cfg_of(ctx.node)
    for call in ctx.calls(names=UNLOCKED_GETTERS):
        for name in P.assigned_to(call)[:1]:
            start = g.index_of(call)
            seen, stack = {start}, [s for s, _j in g.nodes[start].succ] if start is not None else []
            while stack:
                i = stack.pop()
                if i in seen or _blocks(g, i, name):
                    continue
                seen.add(i)
                if _unlocks(g, i, name):
                    unlock = next(c for c in P.calls(g.nodes[i].ast, {"folio_unlock"}) if P.arg_text(c, 0) == name)
                    yield ctx.finding(unlock, f"`{name}` comes unlocked from {ctx.call_name(call)}() (line "
                                      f"{ctx.lines(call)[0]}) and can reach this folio_unlock() on a path that "
                                      "never locked it", suggestion=f"on the early error path, folio_put({name}) "
                                      f"and set `{name} = NULL` before jumping to the shared label")
                    break
                stack.extend(s for s, _j in g.nodes[i].succ)
