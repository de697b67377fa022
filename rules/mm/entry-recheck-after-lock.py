"""A page-table entry read before taking its lock is read again before it is re-tested under the lock.

**What it checks.** A function copies an entry out of a page table without the
lock (`pmd = pmdp_get_lockless(pmdp)`, `pud = pudp_get(pudp)`, `pte =
ptep_get(ptep)`, `*pmdp`), takes that table's lock (`pmd_lock(mm, pmdp)`,
`pud_lock(mm, pudp)`, `huge_pte_lock(h, mm, ptep)`), and then tests the copy
again (`if (!pmd_leaf(pmd))`) with no fresh read of the entry in between
(`pmd = pmdp_get(pmdp)`, `pmd_same(pmd, *pmdp)`). That re-test proves nothing:
it repeats the lockless test on the same stale value. The test is reported.

**Why.** The usual pattern checks an entry locklessly to choose a path, takes
the lock, and re-validates, because the entry can change in between (a THP
split or zap, a pud refault, a migration entry installed). Re-validating the
stale copy lets the locked path act on an entry that is no longer a leaf, or
no longer present. `follow_pfnmap_start()` in 6.12 did exactly this for both
the pud and the pmd (`if (!unlikely(pmd_leaf(pmd)))` right after
`pmd_lock()`), fixed in stable 6.12.81 ("mm/memory: fix PMD/PUD checks in
follow_pfnmap_start()").

**Example.**

    /* bad */
    pmd = pmdp_get_lockless(pmdp);
    if (pmd_leaf(pmd)) {
            lock = pmd_lock(mm, pmdp);
            if (!pmd_leaf(pmd)) {   /* the same stale copy */
                    spin_unlock(lock);
                    goto retry;
            }

    /* good */
            lock = pmd_lock(mm, pmdp);
            pmd = pmdp_get(pmdp);
            if (unlikely(!pmd_present(pmd) || !pmd_leaf(pmd))) {

**How to fix.** Read the entry again under the lock (`pmdp_get()`,
`pudp_get()`, `ptep_get()`), or compare the copy with it (`pmd_same()`).
"""
import re

from reviewkit.code.cfg import cfg_of
from reviewkit.rules import Rule
from reviewkit.rules.lib import pte as P


READS = frozenset({"pmdp_get_lockless", "pmdp_get", "pudp_get", "ptep_get", "ptep_get_lockless", "READ_ONCE"})
LOCKS = {"pmd_lock": 1, "pud_lock": 1, "huge_pte_lock": 2}   # lock call -> the table pointer argument
UNLOCKS = frozenset({"spin_unlock", "pte_unmap_unlock"})
_DEREF = re.compile(r"^\*\s*(\w+)$")


RULE = Rule(id="mm/entry-recheck-after-lock", severity="warning", scope="function",
            summary="an entry copied before its table lock is re-read before it is re-tested under the lock",
            needs=LOCKS)


def _copies(ctx):
    """(copy name, table pointer, read call) for `pmd = pmdp_get_lockless(pmdp)` and `pmd = *pmdp`."""
    for name_node in ctx.captures("(assignment_expression) @a").get("a", []) + \
            ctx.captures("(init_declarator) @a").get("a", []):
        value = name_node.child_by_field_name("right" if name_node.type == "assignment_expression" else "value")
        if value is None:
            continue
        m = _DEREF.match(P.norm(P.text(value)))
        ptr = m.group(1) if m else None
        if value.type == "call_expression" and ctx.call_name(value) in READS:
            arg = P.arg_text(value, 0) or ""
            ptr = arg.lstrip("*").strip() if ctx.call_name(value) == "READ_ONCE" else arg
        if ptr:
            for name in P.assigned_to(value):
                yield name, ptr, value


def check(ctx):
    if ctx.node is None or not ctx.whole:
        return
    g = cfg_of(ctx.node)
    copies = list(_copies(ctx))
    for lock in ctx.calls(names=LOCKS):
        table = P.arg_text(lock, LOCKS[ctx.call_name(lock)])
        for name, ptr, read in copies:
            if ptr != table or not g.reaches(read, lock):
                continue
            test = _first_test(ctx, g, lock, name)
            if test is not None and not _reread(ctx, name, lock, test):
                yield ctx.finding(test, f"`{name}` was read before {ctx.call_name(lock)}() and is tested again "
                                  "under the lock without being re-read: the test repeats the lockless one on "
                                  "a stale value", suggestion=f"re-read it under the lock first "
                                  f"(`{name} = {'pudp_get' if 'pud' in name else 'pmdp_get' if 'pmd' in name else 'ptep_get'}({table});`)")


def _reread(ctx, name, lock, test):
    """Is the copy assigned again (`pmd = *pmdp`, `pmd = pmdp_get(pmdp)`) or compared with the table
    (`pmd_same()`) between the lock and the test?"""
    between = lambda n: lock.end_byte <= n.start_byte < test.start_byte  # noqa: E731
    return any(between(n) for n, _ in P.assignments(ctx.node, name)) or \
        any(between(c) and ctx.call_name(c).endswith("_same") for c in ctx.calls())


def _first_test(ctx, g, lock, name):
    """The first condition under the lock (reached from it with no unlock) that tests `name` with a call."""
    for stmt in ctx.captures("[(if_statement) (while_statement)] @s").get("s", []):
        cond = stmt.child_by_field_name("condition")
        if cond is None or stmt.start_byte < lock.end_byte or not g.reaches(lock, stmt, avoiding=UNLOCKS):
            continue
        if any(P.arg_text(c, 0) == name for c in ctx.calls(cond)):
            return cond
    return None
