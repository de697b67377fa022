"""GUP reference bookkeeping for the GUP rules (mm-rules.md §3 R5, R6, R11, R16; registry §4.F).

Plain tree-sitter walks over one function, or over the fragment of it that a
hunk shows:

- `acquisitions()`: which references a function takes and how: FOLL_PIN
  (pin_user_pages*()), FOLL_GET (get_user_pages*(), get_page(), ...), or "as
  the flags say" (try_grab_*(..., flags));
- `releases()`: which calls drop them and how;
- `reaching_ref()`: the reference a release drops (the last acquisition or
  alias of the same variable before it, in source order);
- `flag_guard()`: whether a call sits under `if (flags & FOLL_PIN)` /
  `if (flags & FOLL_GET)` (or their else branch);
- `lockless_values()`, `derived()`, `publishes()`: what a GUP-fast style
  walker reads without locks, what it computes from it, and where it hands a
  page to its caller.

Order is byte order inside the function (mm-rules.md §1 "General mechanics" 4):
good enough for these straight-line patterns, no CFG.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

import tree_sitter

from ...code import memo
from ...code.cfg import cfg_of

Node = tree_sitter.Node

# --- registries (mm-rules.md R5 table; 5.x, 6.1 and 6.12 names together) -------------------------

PIN_ACQUIRE = frozenset({
    "pin_user_pages", "pin_user_pages_fast", "pin_user_pages_fast_only", "pin_user_pages_remote",
    "pin_user_pages_unlocked", "pin_user_pages_locked", "memfd_pin_folios",
})
GET_ACQUIRE = frozenset({
    "get_user_pages", "get_user_pages_fast", "get_user_pages_fast_only", "get_user_pages_remote",
    "get_user_pages_unlocked", "get_user_pages_locked", "iov_iter_get_pages", "iov_iter_get_pages2",
    "iov_iter_get_pages_alloc", "iov_iter_get_pages_alloc2",
})
# internal grabs: the reference is a pin or a plain get depending on the flags (last argument)
GRAB = frozenset({"try_grab_page", "try_grab_folio", "try_grab_folio_fast", "try_grab_compound_head"})
# plain references taken on a page/folio the code already has
PLAIN_GET = frozenset({
    "get_page", "folio_get", "folio_try_get", "folio_try_get_rcu", "get_page_unless_zero", "try_get_page",
    "page_cache_get_speculative", "try_get_compound_head", "folio_ref_inc",
})
PIN_RELEASE = frozenset({
    "unpin_user_page", "unpin_user_pages", "unpin_user_pages_dirty_lock", "unpin_user_page_range_dirty_lock",
    "unpin_folio", "unpin_folios", "unpin_user_folio",
})
GET_RELEASE = frozenset({"put_page", "folio_put", "folio_put_refs", "release_pages"})
# release with the grab's flags (last argument)
FLAG_RELEASE = frozenset({"gup_put_folio", "put_compound_head"})
ANY_RELEASE = PIN_RELEASE | GET_RELEASE | FLAG_RELEASE
# helpers that pick the right release themselves (bio_release_page: BIO_PAGE_PINNED; the
# undo_dev_pagemap helpers: `flags & FOLL_PIN`) — never a mismatch, and a release for R6
FLAG_AWARE_RELEASE = frozenset({"undo_dev_pagemap", "gup_fast_undo_dev_pagemap", "bio_release_page",
                                "bio_release_pages"})

# GUP-fast walkers of mm/gup.c (5.6+ names, 6.1, 6.12): every reference they hold was taken
# with the caller's gup flags, so a plain put there is never the right release.
GUP_FAST_WALKERS = frozenset({
    "gup_pte_range", "gup_huge_pmd", "gup_huge_pud", "gup_huge_pgd", "gup_hugepte", "__gup_device_huge",
    "gup_fast_pte_range", "gup_fast_pmd_leaf", "gup_fast_pud_leaf", "gup_fast_pgd_leaf", "gup_fast_hugepte",
    "gup_fast_devmap_leaf",
})

PT_TYPES = ("pte_t", "pmd_t", "pud_t", "p4d_t", "pgd_t")
# reads of a page-table entry without its lock (mm-rules.md §4.H) -> level
LOCKLESS_READS = {"ptep_get_lockless": "pte", "gup_get_pte": "pte", "pmdp_get_lockless": "pmd",
                  "pudp_get_lockless": "pud", "huge_ptep_get": "hugetlb"}
# re-reads through the pointer (any of these, or `*ptr`)
REREADS = frozenset({"ptep_get", "pmdp_get", "pudp_get", "p4dp_get", "pgdp_get", "READ_ONCE",
                     "ptep_get_lockless", "pmdp_get_lockless", "huge_ptep_get", "gup_get_pte"})
SPECULATIVE_GRABS = GRAB | frozenset({"folio_try_get", "folio_try_get_rcu", "get_page_unless_zero",
                                      "page_cache_get_speculative", "try_get_compound_head"})
# taking the page-table lock: such a function is not a lockless walker
PTL_TAKERS = frozenset({"pte_offset_map_lock", "__pte_offset_map_lock", "pte_alloc_map_lock", "pmd_lock",
                        "pud_lock", "huge_pte_lock", "pmd_trans_huge_lock", "pud_trans_huge_lock",
                        "get_locked_pte", "page_vma_mapped_walk", "folio_walk_start", "spin_lock",
                        "spin_trylock"})
# calls that return their page/folio argument's page or folio: look through them for the variable
_LOOK_THROUGH = frozenset({"page_folio", "compound_head", "folio_page", "nth_page", "pfn_folio"})


@dataclass(frozen=True)
class Ref:
    """A reference a function holds in a variable (or an array or field of pages)."""
    key: str      # "pages", "umem->page_list", "folio"
    mode: str     # pin | get | flags | extra (a plain get on a page the code already had a reference to)
    flags: str    # text of the flags argument for mode "flags" ("" otherwise)
    api: str      # the call that took it
    node: Node    # that call
    pos: int      # where the variable got it (the call, or an aliasing assignment)
    origin: str = ""  # for an alias (`page = pages[i]`): the variable it was copied from


@dataclass(frozen=True)
class Release:
    key: str
    kind: str     # pin | get | flags
    flags: str
    name: str
    node: Node


# --- small node helpers ------------------------------------------------------------------------

def call_name(call: Node) -> str:
    fn = call.child_by_field_name("function")
    return fn.text.decode("utf-8", "replace") if fn is not None and fn.type == "identifier" else ""


def arguments(call: Node) -> list:
    args = call.child_by_field_name("arguments")
    return [a for a in args.named_children if a.type != "comment"] if args is not None else []


def calls_in(node: Node) -> list:
    """call_expression nodes under node (itself included), in source order (shared: every GUP rule
    asks this of the same function)."""
    return list(memo.calls(node))


def identifiers(node: Node) -> set:
    out, stack = set(), [node]
    while stack:
        n = stack.pop()
        if n.type == "identifier":
            out.add(n.text.decode("utf-8", "replace"))
        stack.extend(n.children)
    return out


def norm(text: str) -> str:
    return "".join(text.split())


def key_of(node: Optional[Node]) -> Optional[str]:
    """The variable an expression names a page (or pages) through: `pages[i]`, `&pages[0]`,
    `pages + i`, `page_folio(page)`, `&folio->page`, `(struct page *)p` -> pages/page/folio/p."""
    while node is not None:
        t = node.type
        if t == "identifier":
            return node.text.decode("utf-8", "replace")
        if t == "field_expression":
            field = node.child_by_field_name("field")
            if field is not None and field.text == b"page":  # &folio->page is the folio
                node = node.child_by_field_name("argument")
                continue
            return norm(node.text.decode("utf-8", "replace"))
        if t == "parenthesized_expression":
            node = node.named_children[0] if node.named_children else None
        elif t == "cast_expression":
            node = node.child_by_field_name("value")
        elif t in ("pointer_expression", "subscript_expression"):
            node = node.child_by_field_name("argument")
        elif t == "binary_expression" and _operator(node) == "+":
            node = node.child_by_field_name("left")
        elif t == "call_expression" and call_name(node) in _LOOK_THROUGH and arguments(node):
            node = arguments(node)[0]
        else:
            return None
    return None


def _operator(node: Node) -> str:
    op = node.child_by_field_name("operator")
    return op.type if op is not None else ""


def assigned_key(call: Node) -> Optional[str]:
    """`x = call(...)` / `T *x = call(...)` -> x."""
    parent = call.parent
    while parent is not None and parent.type == "parenthesized_expression":
        parent = parent.parent
    if parent is None:
        return None
    if parent.type == "assignment_expression" and parent.child_by_field_name("right") is not None \
            and parent.child_by_field_name("right").start_byte <= call.start_byte:
        return key_of(parent.child_by_field_name("left"))
    if parent.type == "init_declarator":
        return declarator_name(parent.child_by_field_name("declarator"))
    return None


def declarator_name(decl: Optional[Node]) -> Optional[str]:
    while decl is not None and decl.type != "identifier":
        decl = decl.child_by_field_name("declarator")
    return decl.text.decode("utf-8", "replace") if decl is not None else None


def flag_mode(flags: Node) -> str:
    """A flags expression that names FOLL_PIN (or FOLL_GET) outright fixes the mode."""
    names = identifiers(flags)
    if "FOLL_PIN" in names:
        return "pin"
    if "FOLL_GET" in names:
        return "get"
    return "flags"


def masked(flags: str) -> str:
    """`flags` or `(a | b)`: ready to write `<it> & FOLL_PIN` in a suggestion."""
    return flags if flags.replace("_", "").isalnum() else f"({flags})"


def has_foll_flag(node: Node) -> bool:
    return any(n.startswith("FOLL_") for n in identifiers(node))


# --- references and releases -------------------------------------------------------------------

def acquisitions(fn_node: Node) -> list:
    """Every reference taken in the function, plus plain aliases of them (`page = pages[i]`)."""
    refs = []
    for call in calls_in(fn_node):
        refs.extend(_refs_of_call(call))
    return _with_aliases(fn_node, refs)


def _refs_of_call(call: Node) -> list:
    name, args = call_name(call), arguments(call)
    if not args:
        return []
    if name in PIN_ACQUIRE or name in GET_ACQUIRE:
        mode = "pin" if name in PIN_ACQUIRE else "get"
        keys = {key_of(a) for a in args if not has_foll_flag(a)}
        return [Ref(k, mode, "", name, call, call.start_byte) for k in keys if k]
    if name in GRAB:
        flags = args[-1]
        mode = flag_mode(flags)
        text = norm(flags.text.decode("utf-8", "replace")) if mode == "flags" else ""
        keys = {key_of(args[0]), assigned_key(call)}
        return [Ref(k, mode, text, name, call, call.start_byte) for k in keys if k]
    if name in PLAIN_GET:
        # an extra reference on a page that came from somewhere: says nothing on its own about
        # what the page already holds (a pin converted to a plain reference, say)
        k = key_of(args[0])
        return [Ref(k, "extra", "", name, call, call.start_byte)] if k else []
    return []


def assignments(fn_node: Node) -> list:
    """(target key, value node, position) of every `x = v` and `T x = v` in the function."""
    return list(memo.per_node("gup.assignments", fn_node, _assignments))


def _assignments(fn_node: Node) -> tuple:
    # right-to-left preorder (the order of the stack walk this replaced: aliases resolve in it)
    found = sorted(memo.query_nodes(fn_node, "[(assignment_expression) (init_declarator)] @a", "a"),
                   key=lambda n: (-n.end_byte, n.start_byte))
    out = []
    for n in found:
        if n.type == "assignment_expression" and n.child_by_field_name("operator") is not None \
                and n.child_by_field_name("operator").type == "=":
            left, right = n.child_by_field_name("left"), n.child_by_field_name("right")
            if left is not None and right is not None and left.type in ("identifier", "field_expression"):
                out.append((key_of(left), right, n.start_byte))
        elif n.type == "init_declarator" and n.child_by_field_name("value") is not None:
            out.append((declarator_name(n.child_by_field_name("declarator")), n.child_by_field_name("value"),
                        n.start_byte))
    return tuple(a for a in out if a[0])


def _with_aliases(fn_node: Node, refs: list) -> list:
    """`page = pages[i]` after pages got a reference: page holds the same kind of reference.
    `folio = page_folio(page)` ties the two both ways: a grab of folio is a grab of page's folio."""
    out = list(refs)
    copies = [(t, key_of(v), pos, _is_link(v)) for t, v, pos in assignments(fn_node) if key_of(v)]
    changed = True
    while changed:
        changed = False
        for target, source, pos, link in copies:
            for a, b in ((source, target), (target, source)) if link else ((source, target),):
                for src in [r for r in out if r.key == a and (r.pos < pos or a == target)]:
                    at = max(pos, src.pos)
                    if not any(r.key == b and r.pos == at for r in out):
                        out.append(Ref(b, src.mode, src.flags, src.api, src.node, at, src.origin or a))
                        changed = True
    return out


def _is_link(value: Node) -> bool:
    """page_folio(page), compound_head(page), ...: another name for the same folio."""
    while value.type == "parenthesized_expression" and value.named_children:
        value = value.named_children[0]
    return value.type == "call_expression" and call_name(value) in _LOOK_THROUGH


def releases(fn_node: Node) -> list:
    out = []
    for call in calls_in(fn_node):
        name, args = call_name(call), arguments(call)
        if not args or name not in ANY_RELEASE:
            continue
        if name in FLAG_RELEASE:
            kind = flag_mode(args[-1]) if len(args) > 1 else "flags"
            flags = norm(args[-1].text.decode("utf-8", "replace")) if kind == "flags" else ""
        else:
            kind, flags = ("pin" if name in PIN_RELEASE else "get"), ""
        key = key_of(args[0])
        if key:
            out.append(Release(key, kind, flags, name, call))
    return out


def reaching_ref(fn_node: Node, refs: list, rel: Release) -> Optional[Ref]:
    """The reference `rel` drops: the last acquisition/alias of its variable before it, unless the
    variable was overwritten with something else on the way (then it is not that reference)."""
    before = [r for r in refs if r.key == rel.key and r.pos < rel.node.start_byte]
    if not before:
        return None
    last = max(before, key=lambda r: r.pos)
    ref_positions = {r.pos for r in refs if r.key == rel.key}
    for target, value, pos in assignments(fn_node):
        if target == rel.key and last.pos < pos < rel.node.start_byte and pos not in ref_positions \
                and not _inside(pos, last.node) and not _leaves_before(value, rel.node):
            return None
    return last


def _leaves_before(node: Node, later: Node) -> bool:
    """Does every path from `node` leave before `later` (`if (err) { page = ERR_PTR(err); goto out; }`)?"""
    g = cfg_of(node)
    return g is not None and not g.reaches(node, later)


def _inside(pos: int, node: Node) -> bool:
    n = node
    while n is not None and n.type not in ("expression_statement", "declaration"):
        n = n.parent
    n = n or node
    return n.start_byte <= pos < n.end_byte


def modes_of(refs: list, key: str) -> set:
    """The distinct ways the function takes references into `key` (aliases follow their source)."""
    return {(r.mode, r.flags) for r in refs if r.key == key}


# --- guards ------------------------------------------------------------------------------------

def flag_guard(node: Node, top: Node = None) -> Optional[str]:
    """"pin" when node only runs with FOLL_PIN set (`if (flags & FOLL_PIN)` or the else of
    `if (flags & FOLL_GET)`), "get" for the opposite, None when nothing says."""
    child, parent = node, node.parent
    while parent is not None and parent.type not in ("expression_statement", "declaration", "function_definition"):
        if parent.type == "conditional_expression" and child != parent.child_by_field_name("condition"):
            sense = _condition_flag(parent.child_by_field_name("condition"),
                                    child == parent.child_by_field_name("consequence"))
            if sense is not None:
                return sense  # `flags & FOLL_PIN ? unpin_user_page(p) : put_page(p)`
        child, parent = parent, parent.parent
    g = cfg_of(node)
    for guard in (g.guards(node) if g is not None else []):
        sense = _condition_flag(guard.expr, bool(guard.value)) if guard.kind == "test" else None
        if sense is not None:
            return sense
    return None


def _condition_flag(atom: Node, value: bool) -> Optional[str]:
    """The mode a condition atom `x & FOLL_PIN` / `x & FOLL_GET` selects when it is `value`."""
    if atom.type == "binary_expression" and _operator(atom) == "&":
        names = identifiers(atom)
        for flag, mode, other in (("FOLL_PIN", "pin", "get"), ("FOLL_GET", "get", "pin")):
            if flag in names:
                return mode if value else other
    return None


# --- lockless page-table walkers (R6, R16) -----------------------------------------------------

@dataclass(frozen=True)
class Lockless:
    """A page-table value read without the page-table lock, and the pointer it was read through."""
    value: str          # pte / orig
    pointer: str        # ptep / pmdp ("" when unknown)
    level: str          # pte | pmd | pud | p4d | pgd | hugetlb
    read: str           # the read call, or "parameter"
    pos: int            # where the value becomes known (0: a parameter)


def parameters(fn_node: Node) -> list:
    """(type text, name, is_pointer) of a function_definition's parameters."""
    decl = fn_node.child_by_field_name("declarator")
    while decl is not None and decl.type != "function_declarator":
        decl = decl.child_by_field_name("declarator")
    plist = decl.child_by_field_name("parameters") if decl is not None else None
    out = []
    for p in (plist.named_children if plist is not None else ()):
        if p.type != "parameter_declaration":
            continue
        t = p.child_by_field_name("type")
        d = p.child_by_field_name("declarator")
        name = declarator_name(d)
        if t is not None and name:
            out.append((t.text.decode("utf-8", "replace"), name, d.type == "pointer_declarator"))
    return out


def takes_ptl(fn_node: Node) -> bool:
    return any(call_name(c) in PTL_TAKERS for c in calls_in(fn_node))


def lockless_values(fn_node: Node) -> list:
    """Values read with ptep_get_lockless() & co., and page-table values handed in as a
    parameter next to the pointer they were read from (`pmd_t orig, pmd_t *pmdp`): the
    GUP-fast leaf functions' shape."""
    out = []
    for target, value, pos in assignments(fn_node):
        if value.type == "call_expression" and call_name(value) in LOCKLESS_READS:
            args = arguments(value)
            pointer = (key_of(args[0]) or "") if args else ""
            out.append(Lockless(target, pointer, LOCKLESS_READS[call_name(value)], call_name(value), pos))
    if fn_node.type == "function_definition":
        params = parameters(fn_node)
        for typ, name, is_ptr in params:
            if typ in PT_TYPES and not is_ptr:
                ptr = next((n for t, n, p in params if t == typ and p), None)
                if ptr:
                    out.append(Lockless(name, ptr, typ[:-2], "parameter", 0))
    return out


def derived(fn_node: Node, start: str, after: int) -> set:
    """Variables computed from `start` after byte `after` (page = pte_page(pte); folio = ...)."""
    names = {start}
    assigns = [(t, identifiers(v), pos) for t, v, pos in assignments(fn_node) if pos >= after]
    changed = True
    while changed:
        changed = False
        for target, used, _pos in assigns:
            if target not in names and used & names:
                names.add(target)
                changed = True
    return names


def publishes(fn_node: Node, after: int) -> list:
    """Where a walker hands pages over after byte `after`: `pages[...] = x`, `(*nr)++`, `*nr += n`."""
    out, stack = [], [fn_node]
    while stack:
        n = stack.pop()
        if n.start_byte >= after:
            if n.type == "assignment_expression":
                left = n.child_by_field_name("left")
                if left is not None and (left.type == "subscript_expression" or
                                         (left.type == "pointer_expression" and left.text.startswith(b"*"))):
                    out.append(n)
            elif n.type == "update_expression" and b"*" in n.text:
                out.append(n)
        stack.extend(n.children)
    out.sort(key=lambda n: n.start_byte)
    return out


def rereads(cond: Node, pointer: str) -> bool:
    """Does the condition read the entry again through `pointer` (`*ptep`, ptep_get(ptep), ...)?"""
    stack = [cond]
    while stack:
        n = stack.pop()
        if n.type == "pointer_expression" and n.text.startswith(b"*") and \
                key_of(n.child_by_field_name("argument")) == pointer:
            return True
        if n.type == "call_expression" and call_name(n) in REREADS and \
                any(key_of(a) == pointer for a in arguments(n)):
            return True
        stack.extend(n.children)
    return False


def compares_entry(cond: Node, value: str) -> bool:
    """A comparison of the kept value: pte_val(v) != ..., !pte_same(v, ...), pmd_val(orig) != ..."""
    for c in calls_in(cond):
        name = call_name(c)
        if name.endswith(("_val", "_same")) and any(key_of(a) == value for a in arguments(c)):
            return True
    return value in identifiers(cond) and any(n.type == "binary_expression" and _operator(n) in ("!=", "==")
                                               for n in _walk(cond))


def _walk(node: Node) -> Iterable[Node]:
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(n.children)


def releases_on_path(branch: Node, fn_node: Node) -> bool:
    """Does a branch drop a reference: a release call in it, or where its goto/return leads?"""
    g = cfg_of(branch)
    if g is None:
        return bool({call_name(c) for c in calls_in(branch)} & (ANY_RELEASE | FLAG_AWARE_RELEASE))
    return bool(g.calls_from(branch, ANY_RELEASE | FLAG_AWARE_RELEASE))


# --- the function a rule sees ------------------------------------------------------------------

def whole(ctx) -> bool:
    """Is ctx.node the whole function (not a hunk's fragment, not a macro)?"""
    return ctx.node is not None and ctx.fn is not None and ctx.fn.kind == "function"


def fragment(ctx) -> bool:
    return ctx.node is not None and ctx.fn is not None and ctx.fn.kind == "fragment"


def code_part(line: str) -> str:
    """A source line without its comments and string literals (for the line-level fallbacks)."""
    out, i, n = [], 0, len(line)
    stripped = line.lstrip()
    if stripped.startswith(("*", "/*", "//", "#")):
        return ""
    while i < n:
        if line.startswith("/*", i):
            end = line.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif line.startswith("//", i):
            break
        elif line[i] == '"':
            end = line.find('"', i + 1)
            i = n if end < 0 else end + 1
        else:
            out.append(line[i])
            i += 1
    return "".join(out)
