"""User pte changes are bracketed by mmu_notifier_invalidate_range_start/end, started outside the PTL.

**What it checks.** Four shapes, on tree-sitter nodes of the function:

1. `mmu_notifier_invalidate_range_start()` called while a page-table lock
   taken earlier in the function is still held (`pte_offset_map_lock`,
   `pmd_lock`, `spin_lock(ptl)`, ... with no unlock in between on that path).
   `_start` may sleep; under a spinlock use `_start_nonblock()` or move it out.
   Reported as an error.
2. A function that opens a range with `_start(&range)` and closes it itself
   with `_end(&range)` must not `return` in between: every return after the
   start needs an `_end` before it on its path (a `goto` to an exit label that
   ends the range is fine; a failed `_start_nonblock()` needs no end; a
   function that only starts, like a page walk's `pre_vma` callback whose
   `post_vma` ends, is not checked).
3. A function with its own bracket that removes or write-protects a user pte
   (`ptep_get_and_clear*`, `ptep_clear_flush`, `pte_clear`,
   `ptep_set_wrprotect`, `ptep_modify_prot_start`, `pmdp_*clear*`, ...)
   before the first `_start` or after the last `_end` on its path.
4. A page walk (`walk_page_range()`, `walk_page_vma()`, ...) whose ops
   callbacks in the file (or what they call there) remove or write-protect
   user ptes, with no bracket around it: not in the walking function, not in
   the ops struct's own callbacks (`pre_vma`/`post_vma`, as 6.12
   mapping_dirty_helpers.c does), not in a function of the file that reaches
   the walker, and, for a non-static walker when a tree is given, not in its
   callers per the tree's index. A walker (or a function on its way in) that
   is handed out through another ops struct (vm_ops, a driver's ops) has
   callers the file does not show and is not reported; neither is a single
   pte change inside a helper (its bracket is usually in a caller elsewhere).

Ptes known not to be present (swap, markers, none) and kernel page tables
(`&init_mm`) are ignored: no secondary MMU can map them.

**Why.** mm-rules.md R14: KVM, IOMMU SVA and HMM/GPU drivers mirror CPU page
tables through mmu notifiers. An operation that removes or downgrades user
ptes must invalidate the secondary mappings: `mmu_notifier_range_init()`
(`_init_owner()` for MIGRATE/EXCLUSIVE, so the initiating driver can skip its
own invalidation, as the device-exclusive series (seed S0) did: "Replace
mmu_notifier_range_init_migrate/exclusive with mmu_notifier_range_init_owner"),
`_start()` before the first pte change, `_end()` after the last, on every exit
path, outside the PTL since `_start()` may sleep. A device that keeps its old
mapping keeps reading and writing a page the CPU no longer maps.

**Example.**

    /* bad */
    return walk_page_range(vma->vm_mm, start, end, &wp_walk_ops, NULL);

    /* good */
    mmu_notifier_range_init(&range, MMU_NOTIFY_PROTECTION_PAGE, 0, vma->vm_mm, start, end);
    mmu_notifier_invalidate_range_start(&range);
    ret = walk_page_range(vma->vm_mm, start, end, &wp_walk_ops, NULL);
    mmu_notifier_invalidate_range_end(&range);

**How to fix.** Initialise a range covering every pte the operation may
change, start it before taking the PTL and before the first change, end it
after the last change on every return path (a common `out:` label helps).
"""
import re

from reviewkit.code.cfg import cfg_of
from reviewkit.rules import Rule
from reviewkit.rules.lib import pte as P


START = frozenset({"mmu_notifier_invalidate_range_start", "mmu_notifier_invalidate_range_start_nonblock"})
WALKS = frozenset({"walk_page_range", "walk_page_vma", "walk_page_range_vma", "walk_page_mapping"})
END = frozenset({"mmu_notifier_invalidate_range_end", "mmu_notifier_invalidate_range_only_end"})
# helpers that bracket their own pte changes (mm-rules.md R14)
SELF_NOTIFYING = frozenset({
    "zap_page_range_single", "zap_page_range", "zap_vma_ptes", "unmap_vmas", "unmap_mapping_range",
    "unmap_mapping_folio", "unmap_mapping_pages", "change_protection", "try_to_unmap", "try_to_migrate",
    "migrate_vma_setup", "make_device_exclusive_range", "make_device_exclusive", "unmap_hugepage_range",
})
# (ptep_modify_prot_start/commit is left out: the fault path uses it to upgrade, which needs no notifier)
MODIFIERS = (P.CLEAR_PTE - P.CLEAR_NOT_PRESENT) | P.WRPROTECT_PTE | frozenset({
    "pmdp_huge_clear_flush", "pmdp_huge_get_and_clear", "pmdp_huge_get_and_clear_full",
    "pmdp_invalidate", "pmdp_invalidate_ad", "pmdp_collapse_flush", "pmdp_set_wrprotect",
})
_PRIMITIVE = re.compile(r"^_*(ptep|huge_ptep|pmdp|pudp)_")


RULE = Rule(id="mm/mmu-notifier-bracket", severity="warning", scope="function",
            summary="user pte changes are bracketed by mmu_notifier_invalidate_range_start/end, started outside the PTL",
            needs=START | WALKS)


# --- 1. _start under the PTL -------------------------------------------------------------------

def _ptl_held(fn_body, node):
    """A page-table lock taken before `node` on a path that reaches it without releasing it (or None)."""
    g = cfg_of(node)
    return next((acq for acq in reversed(P.calls(fn_body, P.PTL_ACQUIRE)) if _is_ptl_call(acq)
                 and g.reaches(acq, node, stop=_releases_ptl)), None)


def _releases_ptl(ast) -> bool:
    return any(_is_ptl_call(c) for c in P.calls(ast, P.PTL_RELEASE))


def _is_ptl_call(call) -> bool:
    name = P.call_name(call)
    return not name.startswith("spin_") or "ptl" in (P.arg_text(call, 0) or "")


def _check_start_under_ptl(ctx, fn_body):
    for start in ctx.calls(names={"mmu_notifier_invalidate_range_start"}):
        lock = _ptl_held(fn_body, start)
        if lock is not None:
            yield ctx.finding(
                start, f"mmu_notifier_invalidate_range_start() may sleep, but the page-table lock taken by "
                       f"{P.call_name(lock)}() on line {lock.start_point[0] + 1} is still held here",
                severity="error",
                suggestion="start the range before taking the PTL (and end it after dropping it); where "
                           "sleeping is impossible use mmu_notifier_invalidate_range_start_nonblock()")


# --- 2. a return between _start and _end --------------------------------------------------------

def _in_nonblock_failure(ret, fn_body) -> bool:
    return P.guarded_by(ret, fn_body, lambda cond, in_then: in_then and bool(
        P.calls(cond, {"mmu_notifier_invalidate_range_start_nonblock"})))


def _check_unbalanced(ctx, fn_body):
    ends = P.calls(fn_body, END)
    for start in P.calls(fn_body, START):
        rng = P.arg_text(start, 0)
        mine = [e for e in ends if P.arg_text(e, 0) == rng]
        if not mine:
            continue  # ended elsewhere (a post_vma callback): not this function's to balance
        g = cfg_of(start)
        for ret in P.nodes_of_type(fn_body, "return_statement"):
            if not g.reaches(start, ret, avoiding=END) or _in_nonblock_failure(ret, fn_body) \
                    or not any(e.start_byte > ret.end_byte for e in mine):
                continue  # ended first, or a return past the bracket
            yield ctx.finding(
                ret, f"this return leaves the notifier range `{rng}` started on line {start.start_point[0] + 1} "
                     f"open: subscribers never get invalidate_range_end(), so KVM and HMM keep treating the "
                     f"range as being invalidated and their faults on it retry forever",
                suggestion=f"call mmu_notifier_invalidate_range_end({rng}) before returning, or jump to the exit "
                           f"label that does")


# --- 3. a pte change outside the function's own bracket -----------------------------------------

def _user_modifiers(ctx, fn_body) -> list:
    return [m for m in ctx.calls(names=MODIFIERS) if not P.is_kernel_mapping(m)
            and not P.known_not_present(m, fn_body) and not P.restored_in_place(fn_body, m)]


def _check_outside(ctx, fn_body, modifiers):
    starts = P.calls(fn_body, START)
    ends = P.calls(fn_body, END)
    if not starts or not ends:
        return
    g = cfg_of(fn_body)
    for m in modifiers:
        before = not any(g.reaches(s, m) for s in starts)
        after = not any(g.reaches(m, e) for e in ends)
        if before or after:
            where = "before the notifier range starts" if before else "after the notifier range ended"
            yield ctx.finding(
                m, f"{ctx.call_name(m)}() changes a user pte {where}: secondary MMUs (KVM, IOMMU, device "
                   f"drivers) are not invalidated for it",
                suggestion="move the change between mmu_notifier_invalidate_range_start() and _end(), "
                           "or widen the range")


# --- 4. a new page-walk operation that changes ptes with no bracket ------------------------------


def _brackets(fn_node) -> bool:
    names = {P.call_name(c) for c in P.calls(fn_node)}
    return bool(names & (START | SELF_NOTIFYING))


def _is_static(fn_node) -> bool:
    return any(c.type == "storage_class_specifier" and P.text(c) == "static" for c in fn_node.children)


def _callees_in_file(pf, names: list[str], depth: int = 3) -> list:
    """The named functions of the file and what they call in it, `depth` levels down."""
    functions = P.file_functions(pf)
    seen, order, frontier = set(), [], [n for n in names if n in functions]
    for _ in range(depth + 1):
        nxt = []
        for n in frontier:
            if n in seen:
                continue
            seen.add(n)
            order.append(functions[n])
            nxt.extend(P.call_name(c) for c in P.calls(functions[n].node) if P.call_name(c) in functions)
        frontier = nxt
    return order


def _changes_user_ptes(fn) -> bool:
    b = P.body(fn.node)
    return b is not None and any(not P.is_kernel_mapping(m) and not P.known_not_present(m, b)
                                 and not P.restored_in_place(b, m) for m in P.calls(b, MODIFIERS))


def _tree_callers_bracket(ctx, name: str, depth: int = 6) -> bool:
    """Does any caller in the tree (to `depth` levels, direct calls only) open a notifier range?"""
    if ctx.tree is None or getattr(ctx.tree, "kind", "none") == "none":
        return False
    index = ctx.index
    frontier, seen = [name], {name}
    for _ in range(depth):
        nxt = []
        for n in frontier:
            for info in index.callers(n):
                if set(info.calls) & (START | SELF_NOTIFYING):
                    return True
                if info.name not in seen:
                    seen.add(info.name)
                    nxt.append(info.name)
        frontier = nxt
    return False


def _registered(pf, name: str) -> bool:
    """Is the function handed out through an ops struct that is not a page walk's (vm_ops, a driver's
    ops)?  Then its real caller is outside the file and unknown here."""
    for var in P.ops_structs_naming(pf, name):
        refs = P.references(pf, var)
        if not refs or any(not _walk_argument(node) for _f, node in refs):
            return True
    return False


def _walk_argument(node) -> bool:
    return any(a.type == "call_expression" and P.call_name(a) in WALKS for a in P.ancestors(node))


def _covered_from_outside(ctx) -> bool:
    """A bracket in an in-file caller of this function, or (for a non-static one) in the tree; an entry
    point registered in some ops struct counts as covered, since its callers are not known."""
    pf = ctx.parsed_file
    chain = P.in_file_ancestors(pf, ctx.function.name)
    if any(_brackets(f.node) for f in chain):
        return True
    if any(_registered(pf, name) for name in [ctx.function.name] + [f.name for f in chain]):
        return True
    tops = [f for f in chain if not P.callers_in_file(pf, f.name)] or [P.file_functions(pf).get(ctx.function.name)]
    return any(t is not None and not _is_static(t.node) and _tree_callers_bracket(ctx, t.name) for t in tops)


def _check_walks(ctx, fn_body):
    pf = ctx.parsed_file
    if pf is None or ctx.side != "after" or _brackets(ctx.node):
        return
    for walk in ctx.calls(names=WALKS):
        ops = [P.norm(P.text(a)).lstrip("&") for a in P.args(walk)]
        callbacks = [cb for o in ops for cb in P.ops_callbacks(pf, o)]
        reached = _callees_in_file(pf, callbacks)
        if not reached or any(_brackets(f.node) for f in reached):
            continue  # nothing of the walk is visible, or a pre_vma/post_vma callback brackets it
        changing = [f.name for f in reached if _changes_user_ptes(f)]
        if not changing or _covered_from_outside(ctx):
            continue
        yield ctx.finding(
            walk, f"this page walk changes user ptes ({', '.join(changing)}) but no mmu notifier range covers it: "
                  f"neither {ctx.function.name}() nor its callers call mmu_notifier_invalidate_range_start()/_end(), "
                  f"so KVM, IOMMU and device page tables keep the old mapping",
            suggestion="mmu_notifier_range_init(&range, MMU_NOTIFY_PROTECTION_PAGE (or CLEAR), 0, mm, start, end); "
                       "mmu_notifier_invalidate_range_start(&range); <the walk>; "
                       "mmu_notifier_invalidate_range_end(&range);")


def check(ctx):
    if ctx.node is None or ctx.function is None:
        yield from _check_lines(ctx)
        return
    if ctx.function.kind == "macro" or _PRIMITIVE.match(ctx.function.name) or \
            (ctx.function.path or "").startswith(("arch/", "mm/debug_vm_pgtable")):
        return
    fn_body = P.body(ctx.node)
    if fn_body is None:
        return
    yield from _check_start_under_ptl(ctx, fn_body)
    yield from _check_unbalanced(ctx, fn_body)
    if P.partial_view(ctx):
        return  # a hunk fragment shows the order of what it holds, not the whole bracket
    yield from _check_outside(ctx, fn_body, _user_modifiers(ctx, fn_body))
    yield from _check_walks(ctx, fn_body)


# --- no parse: changed lines only ------------------------------------------------------------

_LOCK_LINE = re.compile(r"\b(pte_offset_map_lock|pte_alloc_map_lock|pmd_lock|huge_pte_lock)\s*\(|"
                        r"\bspin_lock(?:_nested)?\s*\(\s*[^)]*ptl")
_UNLOCK_LINE = re.compile(r"\b(pte_unmap_unlock|spin_unlock|double_pt_unlock)\s*\(")
_START_LINE = re.compile(r"\bmmu_notifier_invalidate_range_start\s*\(")


def _check_lines(ctx):
    """Without a parse: a PTL taken and the range started on one run of added lines, no unlock between."""
    lines = dict(ctx.changed_line_texts())
    for n, text in sorted(lines.items()):
        if not _LOCK_LINE.search(text):
            continue
        k = n + 1
        while k in lines and not _UNLOCK_LINE.search(lines[k]):
            if _START_LINE.search(lines[k]):
                yield ctx.finding(k, f"mmu_notifier_invalidate_range_start() may sleep, but the page-table lock "
                                     f"taken on line {n} is still held here",
                                  severity="error", confidence="low",
                                  suggestion="start the range before taking the PTL, or use "
                                             "mmu_notifier_invalidate_range_start_nonblock()")
                break
            k += 1
