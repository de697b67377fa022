"""Page-table helpers for the mm rules that reason about ptes (mm-rules.md R3, R4, R9, R13, R14).

Facts are read from tree-sitter-c nodes of one function, compared by text;
control flow (which branch, which guard, what is reached after what) comes
from the function's graph (reviewkit.code.cfg). Names of the kernel
primitives come from mm-rules.md §4.I and were checked against 6.1.192 and
6.12.117.

Nodes are read through `node.text` (the normalised bytes tree-sitter saw):
identifiers and call names are the same there as in the real source.
"""
from __future__ import annotations

import re
from collections import OrderedDict
from typing import Callable, Iterable, Iterator, Optional

import tree_sitter

from ...code import memo
from ...code.cfg import cfg_of
from ..context import query

Node = tree_sitter.Node

# --- primitives (mm-rules.md §4.I) -------------------------------------------------------

#: Calls that clear a user pte (or a batch of them); the pte pointer is argument 2 of each.
CLEAR_PTE = frozenset({
    "ptep_get_and_clear", "ptep_get_and_clear_full", "get_and_clear_full_ptes", "clear_full_ptes",
    "pte_clear", "ptep_clear", "ptep_clear_flush", "huge_ptep_get_and_clear", "huge_ptep_clear_flush",
    "huge_pte_clear", "clear_not_present_full_ptes", "pte_clear_not_present_full",
    "ptep_clear_flush_notify", "ptep_get_and_clear_notify",  # 6.1 *_notify variants
})
#: Clears that by their name only ever see a non-present pte.
CLEAR_NOT_PRESENT = frozenset({"clear_not_present_full_ptes", "pte_clear_not_present_full"})
#: Clears that flush the TLB themselves.
CLEAR_AND_FLUSH = frozenset({"ptep_clear_flush", "huge_ptep_clear_flush", "ptep_clear_flush_notify"})
#: Calls that take write permission away from present ptes (pointer = argument 2).
WRPROTECT_PTE = frozenset({"ptep_set_wrprotect", "wrprotect_ptes", "huge_ptep_set_wrprotect"})
#: Stores of a pte value: name -> (pointer argument, value argument).
STORE_PTE = {
    "set_pte_at": (2, 3), "set_ptes": (2, 3), "set_huge_pte_at": (2, 3), "set_pte": (0, 1),
    "set_pte_at_notify": (2, 3), "ptep_modify_prot_commit": (2, 4), "set_pmd_at": (2, 3),
}
#: TLB flushes and mmu_gather recordings that guarantee one.
FLUSH = frozenset({
    "flush_tlb_range", "flush_tlb_page", "flush_tlb_mm", "flush_tlb_mm_range", "flush_tlb_fix_spurious_fault",
    "flush_hugetlb_tlb_range", "tlb_remove_tlb_entry", "tlb_remove_tlb_entries", "tlb_remove_huge_tlb_entry",
    "__tlb_remove_folio_pages", "__tlb_remove_page", "tlb_remove_page", "tlb_remove_page_size",
    "tlb_flush_pte_range", "tlb_flush_pmd_range", "tlb_flush_mmu", "tlb_flush_mmu_tlbonly", "tlb_finish_mmu",
    "set_tlb_ubc_flush_pending", "flush_tlb_batched_pending_range", "huge_pmd_unshare_flush",
    "pmdp_collapse_flush", "pmdp_huge_clear_flush", "pmdp_invalidate",  # flush the whole pmd range
})
#: pte value changes that leave a translation as permissive as it was: writing the value back after
#: them removes nothing (no flush, no notifier needed)
HARMLESS_CHANGES = frozenset({"pte_mkold", "pte_mkyoung", "pte_mkdirty", "huge_pte_mkdirty", "pte_mkwrite",
                              "huge_pte_mkwrite", "pte_mksoft_dirty", "pmd_mkold", "pmd_mkyoung", "pmd_mkdirty"})
#: Calls that take a reference the caller then owns (so its later put does not free the page).
PAGE_GET = frozenset({"folio_get", "folio_try_get", "get_page", "try_get_page", "folio_ref_inc",
                      "get_page_unless_zero", "folio_try_get_rcu", "folio_ref_add"})
#: Calls that drop a page-table lock.
PTL_RELEASE = frozenset({"pte_unmap_unlock", "spin_unlock", "double_pt_unlock", "page_vma_mapped_walk_done"})
#: Calls that take a page-table lock (spin_lock only when its argument names a ptl).
PTL_ACQUIRE = frozenset({"pte_offset_map_lock", "__pte_offset_map_lock", "pte_alloc_map_lock", "get_locked_pte",
                         "pmd_lock", "pud_lock", "huge_pte_lock", "pmd_trans_huge_lock", "pud_trans_huge_lock",
                         "double_pt_lock", "spin_lock", "spin_lock_nested"})
#: Calls that may free (or let go of) the page a cleared pte mapped.
PAGE_FREE = frozenset({"folio_put", "put_page", "folio_put_refs", "free_page", "__free_page", "free_pages",
                       "__free_pages", "folios_put", "release_pages", "free_unref_page", "put_folio"})

# pte-level tests whose truth means "this pte is not present" (when not negated)
_NOT_PRESENT_PTE_TESTS = frozenset({
    "is_swap_pte", "pte_none", "pte_none_mostly", "is_pte_marker", "pte_marker_uffd_wp", "pte_is_marker",
    "is_swap_pmd", "huge_pte_none", "huge_pte_none_mostly", "pte_swp_uffd_wp_any", "is_hugetlb_entry_migration",
    "is_hugetlb_entry_hwpoisoned",
})
# Tests on a decoded entry: whatever their polarity, the pte they came from is not present.
_ENTRY_TEST = re.compile(r"^(is_\w+_entry|non_swap_entry|is_\w+_swp_entry|softleaf_is_\w+|softleaf_has_pfn"
                         r"|pte_marker_entry_uffd_wp|is_\w+_migration_entry)$")
# Reading a value with a swap-pte accessor means the value is a swap pte.
_SWAP_PTE_ACCESSOR = re.compile(r"^(pte_swp_\w+|pte_to_swp_entry|softleaf_from_pte|is_swap_pte)$")
_EXITS = frozenset({"continue_statement", "return_statement", "break_statement", "goto_statement"})
_WS = re.compile(r"\s+")


# --- generic node helpers ------------------------------------------------------------------

def norm(text: str) -> str:
    """Text with all whitespace removed: `vmf -> pte` and `vmf->pte` compare equal."""
    return _WS.sub("", text)


def text(node: Optional[Node]) -> str:
    return node.text.decode("utf-8", "replace") if node is not None else ""


def walk(node: Node) -> Iterator[Node]:
    """The node and all its descendants, in source order."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.children))


_CALL_QUERY = "(call_expression function: (identifier)) @n"
_ASSIGN_QUERY = "[(assignment_expression) (init_declarator)] @n"
_NAME_QUERY = "[(identifier) (field_expression)] @n"


def _nodes(node: Node, pattern: str) -> list[Node]:
    """Nodes a query finds under `node`, in source order; shared (reviewkit.code.memo), because
    rules ask the same function body many questions."""
    return list(memo.per_node(f"pte:{pattern}", node, lambda n: tuple(sorted(
        tree_sitter.QueryCursor(query(pattern)).captures(n).get("n", []), key=lambda c: c.start_byte))))


def calls(node: Node, names: Optional[Iterable[str]] = None) -> list[Node]:
    """call_expression nodes under `node` whose callee is a plain name (optionally one of `names`)."""
    found = _nodes(node, _CALL_QUERY)
    if names is None:
        return list(found)
    wanted = set(names)
    return [c for c in found if call_name(c) in wanted]


def call_name(call: Node) -> str:
    fn = call.child_by_field_name("function")
    return text(fn) if fn is not None and fn.type == "identifier" else ""


def args(call: Node) -> list[Node]:
    a = call.child_by_field_name("arguments")
    return [c for c in a.named_children if c.type != "comment"] if a is not None else []


def arg_text(call: Node, i: int) -> Optional[str]:
    a = args(call)
    return norm(text(a[i])) if 0 <= i < len(a) else None


def ancestors(node: Node, stop: Optional[Node] = None) -> Iterator[Node]:
    """Parents of `node`, nearest first, up to (not including) `stop`."""
    n = node.parent
    while n is not None and (stop is None or n.id != stop.id):
        yield n
        n = n.parent


def inside(node: Node, outer: Node) -> bool:
    return outer.start_byte <= node.start_byte and node.end_byte <= outer.end_byte


def body(fn_node: Node) -> Optional[Node]:
    return fn_node.child_by_field_name("body")


def unwrap(node: Node) -> Node:
    """Strip parentheses and casts: `(pte_t *)(x)` -> `x`."""
    while node is not None and node.type in ("parenthesized_expression", "cast_expression"):
        inner = node.child_by_field_name("value") if node.type == "cast_expression" else None
        node = inner if inner is not None else (node.named_children[-1] if node.named_children else None)
    return node


def negated(node: Node, within: Node) -> bool:
    """Is `node` under an odd number of `!` between it and `within`?"""
    count = 0
    for a in ancestors(node, within):
        if a.type == "unary_expression" and text(a).lstrip().startswith("!"):
            count += 1
    return count % 2 == 1


def assigned_to(call: Node) -> list[str]:
    """Normalised text of what the call's value is stored into: `a = b = f()` -> [b, a];
    `pte_t *p = f()` -> [p]; `vmf->pte = f()` -> [vmf->pte]. Parentheses and casts are seen through."""
    out = []
    node = call
    while node.parent is not None and node.parent.type in ("parenthesized_expression", "cast_expression"):
        node = node.parent
    parent = node.parent
    while parent is not None:
        if parent.type == "assignment_expression" and parent.child_by_field_name("right") == node:
            if text(parent.child_by_field_name("operator")) not in ("", "="):
                break
            out.append(norm(text(parent.child_by_field_name("left"))))
        elif parent.type == "init_declarator" and parent.child_by_field_name("value") == node:
            out.append(norm(text(declared_name(parent.child_by_field_name("declarator")))))
            break
        else:
            break
        node = parent
        parent = node.parent
    return out


def declared_name(decl: Optional[Node]) -> Optional[Node]:
    while decl is not None and decl.type in ("pointer_declarator", "array_declarator", "parenthesized_declarator"):
        decl = decl.child_by_field_name("declarator") or (decl.named_children[0] if decl.named_children else None)
    return decl


def assignments(scope: Node, name: str) -> list[tuple[Node, Node]]:
    """(assignment-or-declarator node, value node) for every plain `name = value` in `scope`."""
    out = []
    for n in _nodes(scope, _ASSIGN_QUERY):
        if n.type == "assignment_expression":
            if text(n.child_by_field_name("operator")) == "=" and norm(text(n.child_by_field_name("left"))) == name:
                out.append((n, n.child_by_field_name("right")))
        elif norm(text(declared_name(n.child_by_field_name("declarator")))) == name:
            value = n.child_by_field_name("value")
            if value is not None:
                out.append((n, value))
    return out


def occurrences(scope: Node, name: str) -> list[Node]:
    """identifier / field_expression nodes whose normalised text is `name`, in order (outermost only)."""
    out = []
    for n in _nodes(scope, _NAME_QUERY):
        if norm(text(n)) == name:
            if out and inside(n, out[-1]):
                continue
            out.append(n)
    return out


def _graph(node: Node):
    return cfg_of(node)


def same_path(a: Node, b: Node, stop: Node = None) -> bool:
    """Can one run through the function (one loop iteration) see both nodes?  False when they
    are in different branches or cases, or one is only reached after the other has left."""
    g = _graph(a)
    return g is None or g.same_path(a, b)


def falls_through_to(a: Node, b: Node, stop: Node = None) -> bool:
    """Can control go from `a` on to the later node `b` (not across a return/continue/goto)?"""
    g = _graph(a)
    return g is None or g.reaches(a, b)


def conditions_between(node: Node, outer: Node) -> list:
    """Guards (reviewkit.code.cfg.Guard) that hold at `node` but not at `outer`: what `node`
    depends on beyond `outer`."""
    g = _graph(node)
    if g is None:
        return []
    known = {(x.expr.id, str(x.value)) for x in g.guards(outer)}
    return [x for x in g.guards(node) if (x.expr.id, str(x.value)) not in known]


def condition(if_node: Node) -> Optional[Node]:
    return if_node.child_by_field_name("condition")


def guarded_by(node: Node, stop: Node, test: Callable[[Node, bool], bool]) -> bool:
    """Does `node` run only under a condition for which test(condition, value) holds?  Asked of
    each atom (the parts of a condition between &&, || and !: `if (!pte_present(x) && y)` gives
    `pte_present(x)` with value False to its then-arm) and of each whole if condition around it."""
    g = _graph(node)
    return g is not None and any(x.kind in ("test", "branch") and test(x.expr, bool(x.value))
                                 for x in g.all_guards(node))


# --- pte facts -----------------------------------------------------------------------------

def pte_pointer(call: Node) -> Optional[str]:
    """The pte pointer a clear / wrprotect / store primitive works on (normalised text)."""
    name = call_name(call)
    if name in STORE_PTE:
        return arg_text(call, STORE_PTE[name][0])
    return arg_text(call, 2)


def stored_value(call: Node) -> Optional[str]:
    name = call_name(call)
    return arg_text(call, STORE_PTE[name][1]) if name in STORE_PTE else None


def is_kernel_mapping(call: Node) -> bool:
    """A primitive on `&init_mm` works on kernel page tables, not user ptes."""
    first = arg_text(call, 0)
    return first is not None and "init_mm" in first


def _says_not_present(atom: Node, value: bool) -> bool:
    """Does this condition atom having this value mean the pte tested is not present?"""
    name = call_name(unwrap(atom))
    if _ENTRY_TEST.match(name) or (not name and any(_ENTRY_TEST.match(call_name(c)) for c in calls(atom))):
        return True  # an entry was decoded from the pte: it is a swap/non-present pte either way
    return (value and name in _NOT_PRESENT_PTE_TESTS) or (not value and name == "pte_present")


def known_not_present(node: Node, fn_body: Node) -> bool:
    """Is `node` in a branch where the pte being handled is known not present (swap, migration,
    marker, none)?  Such ptes are never in a TLB and never a uffd-wp present mapping."""
    return guarded_by(node, fn_body, _says_not_present)


def read_as_swap_pte(fn_body: Node, value: str, clear: Node) -> bool:
    """Is `value` (what `clear` returned) read with a swap-pte accessor on every path after it, i.e. under
    no further if?  (6.12 move_swap_pte: `orig_src_pte = ptep_get_and_clear(...)` then, only under an
    #ifdef, `pte_swp_mksoft_dirty(orig_src_pte)`.)"""
    for c in calls(fn_body):
        if c.start_byte <= clear.end_byte or not _SWAP_PTE_ACCESSOR.match(call_name(c)):
            continue
        if arg_text(c, 0) == value and not conditions_between(c, clear):
            return True
    return False


def partial_view(ctx) -> bool:
    """Is the rule looking at a hunk fragment (the visible lines of a function the patch does not show
    whole, parsed as a stand-in function) rather than a whole function?  Order inside a fragment is
    real, but what lies outside it (enclosing conditions, later statements, callers) is unknown."""
    fn = ctx.fn
    return fn is not None and getattr(fn, "kind", "function") == "fragment"


# --- in-file call graph (for rules that ask "who calls this function here?") ----------------

def file_functions(parsed_file) -> dict:
    """name -> cparse.Function for the functions of a parsed file (first definition wins)."""
    out = {}
    for f in getattr(parsed_file, "functions", []) or []:
        if f.kind == "function" and f.node is not None and f.name not in out:
            out[f.name] = f
    return out


_file_index: "OrderedDict[tuple, tuple]" = OrderedDict()


def _per_file(parsed_file, what: str, build: Callable) -> dict:
    """build(parsed_file), once per parsed file (the last few kept)."""
    key = (id(parsed_file), what)
    hit = _file_index.get(key)
    if hit is not None and hit[0] is parsed_file:
        return hit[1]
    value = build(parsed_file)
    _file_index[key] = (parsed_file, value)
    if len(_file_index) > 16:
        _file_index.popitem(last=False)
    return value


def _mentions(parsed_file) -> dict:
    """identifier -> [(function, node)] for the identifiers inside the file's functions."""
    def build(pf):
        mentions: dict = {}
        for f in file_functions(pf).values():
            for n in _nodes(f.node, "(identifier) @n"):
                mentions.setdefault(text(n), []).append((f, n))
        return mentions
    return _per_file(parsed_file, "mentions", build)


def _ops(parsed_file) -> dict:
    """callback name -> [variables of ops structs initialised with it] (a pass over the file's
    initialisers only: a walk's callbacks need no index of every identifier)."""
    def build(pf):
        ops: dict = {}
        tree = getattr(pf, "tree", None)
        for n in (_nodes(tree.root_node, "(init_declarator value: (initializer_list)) @n") if tree is not None else ()):
            var = declared_name(n.child_by_field_name("declarator"))
            for pair in n.child_by_field_name("value").named_children:
                if pair.type == "initializer_pair" and var is not None:
                    ops.setdefault(norm(text(pair.child_by_field_name("value"))), []).append(text(var))
        return ops
    return _per_file(parsed_file, "ops", build)


def references(parsed_file, name: str) -> list[tuple[object, Node]]:
    """(function, node) for every mention of `name` inside another function of the file: a call
    `name(...)`, or the name used as a value (a callback in an ops struct is found by `ops_structs_naming`)."""
    mentions = _mentions(parsed_file)
    return [(f, n) for f, n in mentions.get(name, []) if f.name != name]


def ops_callbacks(parsed_file, var: str) -> list[str]:
    """What the ops struct `var` of the file is initialised with (`.pte_entry = foo` -> foo)."""
    ops = _ops(parsed_file)
    return [cb for cb, owners in ops.items() if var in owners]


def nodes_of_type(node: Node, node_type: str) -> list[Node]:
    """All nodes of one type under `node`, in source order (e.g. every return_statement)."""
    return _nodes(node, f"({node_type}) @n")


def ops_structs_naming(parsed_file, name: str) -> list[str]:
    """Variables of the file initialised with `.field = name` (e.g. a `struct mm_walk_ops`)."""
    ops = _ops(parsed_file)
    return list(dict.fromkeys(ops.get(name, [])))


def callers_in_file(parsed_file, name: str) -> list[tuple[object, Node]]:
    """(function, call-or-reference node) of the functions of the file that call `name`, directly or
    by passing an ops struct that names it as a callback."""
    if parsed_file is None:
        return []
    out = references(parsed_file, name)
    for var in ops_structs_naming(parsed_file, name):
        out.extend(references(parsed_file, var))
    return out


def in_file_ancestors(parsed_file, name: str, limit: int = 12) -> list:
    """Functions of the file from which `name` is reached (callers, their callers, ...), nearest first."""
    seen = {name}
    order = []
    frontier = [name]
    while frontier and len(order) < 64:
        nxt = []
        for n in frontier:
            for f, _node in callers_in_file(parsed_file, n):
                if f.name not in seen:
                    seen.add(f.name)
                    order.append(f)
                    nxt.append(f.name)
        frontier = nxt
        limit -= 1
        if limit <= 0:
            break
    return order


def called_only_where(parsed_file, name: str, site_ok: Callable[[Node, Node], bool], depth: int = 3) -> bool:
    """Does every in-file call site of `name` satisfy site_ok(call_node, caller_body), or sit in a caller
    for which this holds in turn (up to `depth` levels)?  False when the file shows no caller."""
    refs = callers_in_file(parsed_file, name) if parsed_file is not None else []
    if not refs:
        return False
    for f, node in refs:
        b = body(f.node)
        if b is None:
            return False
        if site_ok(node, b):
            continue
        if depth <= 0 or not called_only_where(parsed_file, f.name, site_ok, depth - 1):
            return False
    return True


def restored_in_place(fn_body: Node, clear: Node, until: Optional[int] = None) -> bool:
    """Is the cleared entry written back with its old value (only aged or dirtied meanwhile) before byte
    `until`?  `entry = huge_ptep_get_and_clear(..); entry = pte_mkold(entry); set_huge_pte_at(.., entry)`
    (6.12 damon_hugetlb_mkold), or `pmdp_invalidate(vma, addr, pmd); orig = pmd_mkold(orig);
    set_pmd_at(mm, addr, pmd, orig)` (6.1 madvise_cold_or_pageout_pte_range), removes no translation."""
    kept = assigned_to(clear)
    ptr = pte_pointer(clear)
    for store in calls(fn_body, STORE_PTE):
        if store.start_byte <= clear.end_byte or (until is not None and store.start_byte >= until):
            continue
        value = stored_value(store)
        if pte_pointer(store) != ptr or not same_path(store, clear, fn_body):
            continue
        if kept and value != kept[0]:
            continue
        changes = [v for n, v in assignments(fn_body, value) if clear.end_byte < n.start_byte < store.start_byte]
        if not kept and not changes:
            continue  # a value from elsewhere, unchanged: cannot tell it is the old one
        return all(v.type == "call_expression" and call_name(v) in HARMLESS_CHANGES for v in changes)
    return False
