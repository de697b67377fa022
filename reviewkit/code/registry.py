"""Swap / soft-leaf entry registries derived from a kernel tree (mm-rules.md §4.A-4.C).

Which non-present entry kinds exist, which helpers test or build which kinds,
and which functions dispatch on them all change between kernel versions
(6.1 has SWP_SWAPIN_ERROR, 6.12 a POISONED marker, mainline `softleaf_*`).
So nothing here is a fixed list: `build_registry(tree)` reads the tree.

What is read, and how:

* Kinds: `#define SWP_*` in `include/linux/swap.h` / `swapops.h` whose value
  mentions `MAX_SWAPFILES` (shift and `_NUM` helpers dropped), with the
  `CONFIG_*` of the `#if` around them; marker bits `PTE_MARKER_* = BIT(n)`
  (the mask dropped); on mainline-style trees the `enum softleaf_type`
  enumerators and the SWP_* -> SOFTLEAF_* map from the switch in
  `softleaf_type()` of `include/linux/leafops.h`.
* Predicates (name -> set of kinds): functions in the entry headers (plus
  `userfaultfd_k.h`, `asm-generic/hugetlb.h`, `mm/internal.h` and the hugetlb
  wrappers in `mm/hugetlb.c`) whose return value is a kind test: `swp_type(e)
  == SWP_X`, `>= MAX_SWAPFILES`, a marker-bit `&`, a switch on
  `softleaf_type()`, other predicates combined with `!`, `&&`, `||`, or
  `if (<test>) return true;`.  Resolved to a fixed point, so wrappers of
  wrappers resolve too.  Kinds are the SWP_* names, the marker bits
  (PTE_MARKER_*) and three pseudo-kinds: `SWAPFILE` (genuine swap, type <
  MAX_SWAPFILES), `NONE` (pte_none) and `PRESENT` (pte_present); a set
  holding every marker bit is shown as `SWP_PTE_MARKER`.
* Helpers (also in `predicates`, with the kinds they require): functions that
  assert a predicate on their entry (`VM_BUG_ON(!is_pfn_swap_entry(e))`,
  `VM_WARN_ON(non_swap_entry(e))`) or call such a header helper
  (`pfn_swap_entry_to_page` -> `swp_offset_pfn`), and the swap-count API of
  `swap.h` taking a `swp_entry_t` (by name: `__swap_count`, `swp_swapcount`,
  `swap_duplicate`, `free_swap_and_cache*` -- a name pattern, because their
  bodies live in mm/swapfile.c and say nothing about kinds).
* Constructors: header functions returning an entry/pte built by
  `swp_entry(SWP_X, ...)` or by another constructor (marker-bit arguments
  narrow the kind); `swp_entry(swp_type(e), ...)` keeps the kind of its input
  (recorded as the kinds of the `#ifdef CONFIG_*` group it sits in).
* Decoders: header functions returning `swp_entry_t`/`softleaf_t` from a
  `pte_t`/`pmd_t`/`pud_t` value, and macros aliasing one (`softleaf_from_pte`).
* Dispatch sites: functions in the scanned folders that call a decoder (or a
  PMD-level / hugetlb-level predicate, which decodes internally: PMD and
  hugetlb code has no decode step of its own) and at least one predicate.
  Pte-level shortcuts (`is_pte_marker`, `pte_marker_uffd_wp`, ...) do not
  count as decoding: with `pte_shortcuts=True` they do, which also finds
  single-kind guards such as mremap's `move_ptes`.
* Site roles (copy/zap/protect/fault/rmap_walk/move/report) and kind families
  (migration, device_private, ...) come from name patterns, not from the code.

Without a tree, `default_registry()` gives the static 6.12-era table in
`registry_fallback.py` (no dispatch sites).

Use::

    reg = build_registry(tree)             # or registry_for(tree_or_None)
    reg.kinds, reg.markers                 # §4.A: Kind(name, family, config, path, line), Marker(...)
    reg.predicates["is_migration_entry"]   # §4.B: frozenset of kinds; reg.family_of(name)
    reg.constructors, reg.decoders, reg.encoders, reg.helpers, reg.level_decoders
    reg.dispatch_sites                     # §4.C: DispatchSite(path, function, line, predicates, families, role)
    reg.version_hints                      # version, naming (swp_entry/softleaf), swapin-error type, ...
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Optional

import tree_sitter

from .cparse import LANGUAGE, ParsedFile, make_parser, parse_source

# ---------------------------------------------------------------- constants

#: Where the kind registry lives (read in this order).
ENTRY_HEADERS = ("include/linux/swap.h", "include/linux/swapops.h", "include/linux/leafops.h")
#: Further files whose predicate-shaped functions are kind predicates.
PREDICATE_SOURCES = ENTRY_HEADERS + ("include/linux/userfaultfd_k.h", "include/asm-generic/hugetlb.h",
                                     "mm/internal.h", "mm/hugetlb.c")
DEFAULT_FOLDERS = ("mm", "fs/proc", "include/linux", "arch/s390/mm")

SWAPFILE, NONE, PRESENT = "SWAPFILE", "NONE", "PRESENT"
FAMILIES = ("migration", "device_private", "device_exclusive", "hwpoison", "marker", "swapin_error",
            "pfn_generic", "swapfile")
_PFN_FAMILIES = frozenset({"migration", "device_private", "device_exclusive", "hwpoison"})

# Family of a SWP_*/SOFTLEAF_* name: first matching pattern wins (device-exclusive before device).
_KIND_FAMILY = (
    (re.compile(r"MIGRATION"), "migration"),
    (re.compile(r"DEVICE_EXCLUSIVE"), "device_exclusive"),
    (re.compile(r"DEVICE"), "device_private"),
    (re.compile(r"HWPOISON"), "hwpoison"),
    (re.compile(r"MARKER"), "marker"),
    (re.compile(r"SWAPIN_ERROR"), "swapin_error"),
)
# Role of a dispatch site from its name (mm-rules §4.C "Families"); first match wins.
_ROLES = (
    ("move", re.compile(r"^move_|_move_|mremap")),
    ("copy", re.compile(r"copy_")),
    ("rmap_walk", re.compile(r"page_vma_mapped|^check_pte$|^map_pte$|^try_to_|remove_migration")),
    ("zap", re.compile(r"zap|madvise_free|unmap")),
    ("protect", re.compile(r"change_|protect|make_uffd_wp|soft_dirty")),
    ("fault", re.compile(r"fault|do_swap_page|handle_pte_marker|swapin|entry_wait")),
    ("report", re.compile(r"smaps|pagemap|hmm_|mincore|walk|queue_|mc_handle|mctgt|check_hwpoisoned|"
                          r"collect|category|readahead")),
)
# The swap-count API in swap.h (bodies in mm/swapfile.c say nothing about kinds): a name pattern.
_SWAP_COUNT_API = re.compile(r"^(?:__swap_count|swp_swapcount|swap_duplicate|free_swap_and_cache(?:_nr)?)$")
# Arch page-table primitives: not defined in the scanned headers, so named here.
_NONE_TESTS = frozenset({"pte_none", "pmd_none", "pud_none", "huge_pte_none"})
_PRESENT_TESTS = frozenset({"pte_present", "pmd_present", "pud_present"})
_PASS_THROUGH = frozenset({"likely", "unlikely"})
_ASSERT = re.compile(r"^(?:VM_)?(?:BUG|WARN)_ON(?:_ONCE)?$")
_ENTRY_TYPES = frozenset({"swp_entry_t", "softleaf_t"})
_TABLE_TYPES = frozenset({"pte_t", "pmd_t", "pud_t"})
_BIT = re.compile(r"^\(?\s*BIT\(\s*(\d+)\s*\)\s*\)?$")
_CONFIG = re.compile(r"\bCONFIG_\w+")
_CALL_QUERY = tree_sitter.Query(LANGUAGE, "(call_expression function: (identifier) @callee)")


# ---------------------------------------------------------------- public types

@dataclass(frozen=True)
class Kind:
    name: str                      # SWP_MIGRATION_READ ...
    family: str
    config: Optional[str]          # "CONFIG_MIGRATION" when #if'd, else None
    path: str
    line: int


@dataclass(frozen=True)
class Marker:
    name: str                      # PTE_MARKER_UFFD_WP
    bit: int
    config: Optional[str]
    path: str
    line: int


@dataclass(frozen=True)
class DispatchSite:
    path: str
    function: str
    line: int                      # first line of the definition
    end_line: int
    predicates: tuple[str, ...]    # sorted predicate/helper names called
    decoders: tuple[str, ...]      # sorted decode calls that made it a site
    kinds: frozenset               # kinds the predicates test (compressed)
    families: tuple[str, ...]      # sorted families of those predicates
    role: Optional[str]            # copy/zap/protect/fault/rmap_walk/move/report (name pattern)
    health: float                  # cparse parse health of the function


@dataclass
class Registry:
    """Everything §4.A-4.C describes, for one tree (or the fallback table)."""

    kinds: dict[str, Kind] = field(default_factory=dict)             # source order
    markers: dict[str, Marker] = field(default_factory=dict)
    softleaf_types: tuple[str, ...] = ()                             # mainline enum softleaf_type
    softleaf_map: dict[str, str] = field(default_factory=dict)       # SWP_* -> SOFTLEAF_*
    predicates: dict[str, frozenset] = field(default_factory=dict)   # tests and helpers -> kinds
    helpers: frozenset = frozenset()                                 # predicates that require, not test
    constructors: dict[str, frozenset] = field(default_factory=dict)
    decoders: frozenset = frozenset()                                # entry from a pte/pmd value
    encoders: frozenset = frozenset()                                # pte/pmd from an entry
    level_decoders: frozenset = frozenset()                          # predicates that also count as decoding
    dispatch_sites: list[DispatchSite] = field(default_factory=list)
    version_hints: dict = field(default_factory=dict)
    marker_mask: Optional[str] = "PTE_MARKER_MASK"
    locations: dict[str, tuple[str, int]] = field(default_factory=dict)  # name -> first definition

    def family_of(self, name: str) -> frozenset:
        """Families a predicate/helper stands for (empty when unknown)."""
        kinds = self.predicates.get(name)
        return frozenset() if kinds is None else _families(kinds, self)

    def kinds_in(self, family: str) -> frozenset:
        """Kinds of one family ('marker' also holds the marker bits; 'swapfile' is SWAPFILE)."""
        if family == "swapfile":
            return frozenset({SWAPFILE})
        names = [k.name for k in self.kinds.values() if k.family == family]
        return frozenset(names) | (frozenset(self.markers) if family == "marker" else frozenset())

    def sites_testing(self, family: str) -> list[DispatchSite]:
        return [s for s in self.dispatch_sites if family in s.families]

    def extractor_block(self) -> str:
        """The §4.A 'Extractor' lines: TYPES in source order, MARKERS as BIT(n)."""
        markers = " ".join(f"{m.name}=BIT({m.bit})" for m in self.markers.values())
        return f"TYPES: {' '.join(self.kinds)}\nMARKERS: {markers}"


# ---------------------------------------------------------------- small tree helpers

def _text(node: Optional[tree_sitter.Node]) -> str:
    return "" if node is None else node.text.decode("utf-8", "replace")


def _walk(node: tree_sitter.Node, stop: tuple = ()) -> Iterator[tree_sitter.Node]:
    """Pre-order walk; does not descend into node types in `stop` (they are still yielded)."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        if n.type not in stop or n is node:
            stack.extend(reversed(n.children))


def _configs(node: tree_sitter.Node) -> Optional[str]:
    """The CONFIG_* conditions of the #if blocks around a node ('!' in #else arms), or None."""
    conds = []
    parent = node.parent
    while parent is not None:
        if parent.type in ("preproc_ifdef", "preproc_if", "preproc_elif"):
            head = parent.child_by_field_name("name") or parent.child_by_field_name("condition")
            names = _CONFIG.findall(_text(head))
            if names:
                alt = parent.child_by_field_name("alternative")
                in_alt = alt is not None and alt.start_byte <= node.start_byte < alt.end_byte
                negate = in_alt != (parent.children[0].type == "#ifndef")
                cond = " && ".join(names)
                conds.append(f"!({cond})" if negate and len(names) > 1 else ("!" if negate else "") + cond)
        parent = parent.parent
    return " && ".join(reversed(conds)) or None


@dataclass
class _Fn:
    """A function definition (or function-like macro) seen through its signature."""
    name: str
    path: str
    line: int
    node: tree_sitter.Node
    returns: str                   # return type text ('' for macros)
    returns_pointer: bool
    params: list[tuple[str, bool]]  # (type text, is pointer)
    config: Optional[str]
    macro_value: Optional[str] = None

    @property
    def body(self) -> Optional[tree_sitter.Node]:
        return self.node.child_by_field_name("body")

    def takes(self, types: frozenset) -> bool:
        return any(t in types and not ptr for t, ptr in self.params)

    @property
    def returns_entry(self) -> bool:
        return not self.returns_pointer and self.returns in (_ENTRY_TYPES | _TABLE_TYPES)

    @property
    def returns_scalar(self) -> bool:
        return not self.returns_pointer and self.returns not in (_ENTRY_TYPES | _TABLE_TYPES | {"void"})


def _signature(node: tree_sitter.Node) -> tuple[str, bool, list[tuple[str, bool]]]:
    rtype = _text(node.child_by_field_name("type"))
    decl = node.child_by_field_name("declarator")
    pointer = False
    while decl is not None and decl.type != "function_declarator":
        pointer = pointer or decl.type == "pointer_declarator"
        decl = decl.child_by_field_name("declarator")
    params: list[tuple[str, bool]] = []
    plist = decl.child_by_field_name("parameters") if decl is not None else None
    for p in (plist.named_children if plist is not None else ()):
        if p.type == "parameter_declaration":
            d = p.child_by_field_name("declarator")
            params.append((_text(p.child_by_field_name("type")), d is not None and d.type == "pointer_declarator"))
    return re.sub(r"^enum\s+", "enum ", rtype), pointer, params


def _functions(pf: ParsedFile) -> list[_Fn]:
    out = []
    for fn in pf.functions:
        if fn.node is None:
            continue
        if fn.kind == "macro":
            value = _text(fn.node.child_by_field_name("value")).strip()
            out.append(_Fn(fn.name, pf.path, fn.start_line, fn.node, "", False, [], _configs(fn.node), value))
        else:
            rtype, pointer, params = _signature(fn.node)
            out.append(_Fn(fn.name, pf.path, fn.start_line, fn.node, rtype, pointer, params, _configs(fn.node)))
    return out


# ---------------------------------------------------------------- 4.A kinds and markers

def _kind_family(name: str) -> str:
    for pattern, family in _KIND_FAMILY:
        if pattern.search(name):
            return family
    return name.split("_", 1)[-1].lower()


def _defines(pf: ParsedFile) -> Iterator[tuple[str, str, int, Optional[str]]]:
    for node in _walk(pf.tree.root_node, stop=("function_definition",)):
        if node.type == "preproc_def":
            name = _text(node.child_by_field_name("name"))
            value = " ".join(_text(node.child_by_field_name("value")).replace("\\\n", " ").split())
            yield name, value, node.start_point[0] + 1, _configs(node)


def extract_kinds(files: Iterable[ParsedFile]) -> tuple[dict[str, Kind], dict[str, Marker], Optional[str]]:
    """SWP_* types relative to MAX_SWAPFILES, PTE_MARKER_* bits, and the marker mask's name."""
    kinds: dict[str, Kind] = {}
    markers: dict[str, Marker] = {}
    mask = None
    for pf in files:
        for name, value, line, config in _defines(pf):
            if (name.startswith("SWP_") and re.search(r"\bMAX_SWAPFILES(?:_SHIFT)?\b", value)
                    and not re.search(r"_(?:SHIFT|NUM|BITS|MASK)$", name)):
                kinds.setdefault(name, Kind(name, _kind_family(name), config, pf.path, line))
            elif name.startswith("PTE_MARKER_"):
                bit = _BIT.match(value)
                if bit:
                    markers.setdefault(name, Marker(name, int(bit.group(1)), config, pf.path, line))
                elif name.endswith("_MASK"):
                    mask = name  # every marker bit (BIT(n) - 1, or the one bit in 6.1)
    return kinds, markers, mask


def extract_softleaf_types(pf: ParsedFile) -> tuple[str, ...]:
    """The enumerators of `enum softleaf_type` (mainline leafops.h), in order."""
    for node in _walk(pf.tree.root_node, stop=("function_definition",)):
        if node.type == "enum_specifier" and _text(node.child_by_field_name("name")) == "softleaf_type":
            body = node.child_by_field_name("body")
            if body is not None:
                return tuple(_text(e.child_by_field_name("name")) for e in body.named_children
                             if e.type == "enumerator")
    return ()


# ---------------------------------------------------------------- kind sets

class _Kinds:
    """The universe of kind atoms of one tree, and the set algebra over it."""

    def __init__(self, kinds: dict[str, Kind], markers: dict[str, Marker], mask: Optional[str],
                 softleaf_map: dict[str, str]):
        self.types = frozenset(kinds)
        self.marker_type = next((k for k in kinds if _kind_family(k) == "marker"), "SWP_PTE_MARKER")
        # the marker type itself stays an atom: "a marker with none of the known bits"
        self.marker_atoms = frozenset(markers) | {self.marker_type}
        self.special = self.types | self.marker_atoms
        self.all = self.special | {SWAPFILE, NONE, PRESENT}
        self.mask = mask
        self.markers = frozenset(markers)
        self.softleaf = {v: k for k, v in softleaf_map.items()}  # SOFTLEAF_* -> SWP_*

    def expand(self, kinds: Iterable[str]) -> frozenset:
        out = set()
        for k in kinds:
            out |= self.marker_atoms if k == self.marker_type else {k}
        return frozenset(out)

    def compress(self, kinds: frozenset) -> frozenset:
        if self.marker_atoms <= kinds:
            return frozenset(kinds - self.marker_atoms) | {self.marker_type}
        return frozenset(kinds - {self.marker_type}) if kinds & self.markers else kinds

    def constant(self, name: str) -> Optional[frozenset]:
        """The kinds a type constant names (SWP_X, SOFTLEAF_X), or None."""
        if name in self.types:
            return self.expand([name])
        if name.startswith("SOFTLEAF_"):
            if name in self.softleaf:
                return self.expand([self.softleaf[name]])
            if name.endswith("_SWAP"):
                return frozenset({SWAPFILE})
            if name.endswith("_NONE"):
                return frozenset({NONE})
        return None


@dataclass
class _Context:
    u: _Kinds
    known: dict[str, frozenset]     # predicates (and helpers) resolved so far, expanded sets


def _eval(node: Optional[tree_sitter.Node], ctx: _Context) -> Optional[frozenset]:
    """Kinds for which a C expression is true; None when it says nothing about kinds."""
    if node is None:
        return None
    t = node.type
    if t in ("parenthesized_expression", "expression_statement"):
        inner = [c for c in node.named_children if c.type != "comment"]
        return _eval(inner[0], ctx) if len(inner) == 1 else None
    if t == "call_expression":
        return _eval_call(node, ctx)
    if t == "unary_expression" and _text(node.child_by_field_name("operator")) == "!":
        inner = _eval(node.child_by_field_name("argument"), ctx)
        return None if inner is None else ctx.u.all - inner
    if t == "binary_expression":
        return _eval_binary(node, ctx)
    return None


def _eval_call(node: tree_sitter.Node, ctx: _Context) -> Optional[frozenset]:
    name = _text(node.child_by_field_name("function"))
    args = node.child_by_field_name("arguments")
    if name in _PASS_THROUGH and args is not None and args.named_children:
        return _eval(args.named_children[0], ctx)
    if name in _NONE_TESTS:
        return frozenset({NONE})
    if name in _PRESENT_TESTS:
        return frozenset({PRESENT})
    return ctx.known.get(name)


def _eval_binary(node: tree_sitter.Node, ctx: _Context) -> Optional[frozenset]:
    op = _text(node.child_by_field_name("operator"))
    left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
    if op in ("&&", "||"):
        a, b = _eval(left, ctx), _eval(right, ctx)
        if a is None or b is None:
            return a if b is None else b  # the unknown side does not narrow (&&) or add (||)
        return a & b if op == "&&" else a | b
    if op == "&":
        for side in (left, right):
            name = _text(side).strip("() ")
            if name in ctx.u.markers:
                return frozenset({name})
            if name and name == ctx.u.mask:
                return ctx.u.marker_atoms
        return None
    if op in ("==", "!=", ">=", "<", ">", "<="):
        return _eval_compare(op, _text(left).strip(), _text(right).strip(), ctx)
    return None


def _eval_compare(op: str, left: str, right: str, ctx: _Context) -> Optional[frozenset]:
    u = ctx.u
    if right == "MAX_SWAPFILES" or left == "MAX_SWAPFILES":
        at_or_above = (op in (">=", ">")) if right == "MAX_SWAPFILES" else (op in ("<=", "<"))
        return u.special if at_or_above else frozenset({SWAPFILE})
    kinds = u.constant(right) or u.constant(left)
    if kinds is None or op not in ("==", "!="):
        return None
    return kinds if op == "==" else u.all - kinds


# ---------------------------------------------------------------- 4.B predicates

_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0", "NULL"})


def _returns(body: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    for n in _walk(body, stop=("function_definition",)):
        if n.type == "return_statement":
            yield n


def _return_value(ret: tree_sitter.Node) -> Optional[tree_sitter.Node]:
    named = [c for c in ret.named_children if c.type != "comment"]
    return named[0] if named else None


def _path_condition(ret: tree_sitter.Node, ctx: _Context) -> Optional[frozenset]:
    """Kinds under which `return true` is reached: the innermost if arm or switch case around it."""
    child, node = ret, ret.parent
    while node is not None and node.type != "function_definition":
        if node.type == "if_statement":
            cond = _eval(node.child_by_field_name("condition"), ctx)
            if cond is None:
                return None
            alt = node.child_by_field_name("alternative")
            return ctx.u.all - cond if alt is not None and alt.start_byte <= child.start_byte else cond
        if node.type == "case_statement":
            return _case_labels(node, ctx)
        child, node = node, node.parent
    return None


def _case_labels(case: tree_sitter.Node, ctx: _Context) -> Optional[frozenset]:
    """Kinds of a case label plus the empty cases falling through into it."""
    labels: set = set()
    sibling = case
    while sibling is not None and sibling.type == "case_statement":
        value = sibling.child_by_field_name("value")
        kinds = ctx.u.constant(_text(value)) if value is not None else None
        if kinds is None:
            return None
        labels |= kinds
        sibling = sibling.prev_named_sibling
        if sibling is not None and (sibling.type != "case_statement" or _case_has_statements(sibling)):
            break
    return frozenset(labels)


def _case_has_statements(case: tree_sitter.Node) -> bool:
    return any(c.is_named and c != case.child_by_field_name("value") and c.type != "comment"
               for c in case.children)


def function_kinds(fn: _Fn, ctx: _Context) -> Optional[frozenset]:
    """Kinds for which a predicate-shaped function returns true (union over its returns)."""
    if fn.macro_value is not None or fn.body is None:
        return None
    found = None
    for ret in _returns(fn.body):
        value = _return_value(ret)
        text = _text(value).strip("() ")
        if value is None or text in _FALSE:
            continue
        kinds = _path_condition(ret, ctx) if text in _TRUE else _eval(value, ctx)
        if kinds is not None:
            found = kinds if found is None else found | kinds
    return found


def _contract(fn: _Fn, ctx: _Context) -> Optional[frozenset]:
    """Kinds a helper requires: `ASSERT(!pred(x))` -> pred, `ASSERT(pred(x))` -> not pred; intersected."""
    if fn.body is None:
        return None
    need = None
    for node in _walk(fn.body):
        if node.type != "call_expression" or not _ASSERT.match(_text(node.child_by_field_name("function"))):
            continue
        args = node.child_by_field_name("arguments")
        arg = args.named_children[0] if args is not None and args.named_children else None
        negated = arg is not None and arg.type == "unary_expression" and \
            _text(arg.child_by_field_name("operator")) == "!"
        # only a bare (negated) predicate call states a contract; conjunctions do not
        target = arg.child_by_field_name("argument") if negated else arg
        if target is None or target.type != "call_expression":
            continue
        kinds = ctx.known.get(_text(target.child_by_field_name("function")))
        if kinds is None:
            continue
        wanted = kinds if negated else ctx.u.all - kinds
        need = wanted if need is None else need & wanted
    return need


def _callees(node: tree_sitter.Node) -> list[str]:
    caps = tree_sitter.QueryCursor(_CALL_QUERY).captures(node).get("callee", [])
    return [_text(n) for n in sorted(caps, key=lambda n: n.start_byte)]


def _macro_alias(fn: _Fn) -> Optional[str]:
    """`#define softleaf_from_pte(pte) pte_to_swp_entry(pte)`: the function it renames."""
    m = re.fullmatch(r"\(?\s*(\w+)\s*\([^()]*\)\s*\)?", fn.macro_value or "")
    return m.group(1) if m else None


# ---------------------------------------------------------------- 4.B constructors

def _constructor_kinds(fn: _Fn, ctx: _Context, constructors: dict[str, frozenset],
                       config_kinds: dict[str, frozenset]) -> Optional[frozenset]:
    """Kinds an entry-returning header function builds, or None when it builds none."""
    if fn.body is None or not fn.returns_entry:
        return None
    built = None
    for node in _walk(fn.body):
        if node.type != "call_expression":
            continue
        name = _text(node.child_by_field_name("function"))
        args = node.child_by_field_name("arguments")
        first = args.named_children[0] if args is not None and args.named_children else None
        kinds = None
        if name == "swp_entry" and first is not None:
            kinds = _constant_kinds(first, ctx.u)
            if kinds is None and first.type == "call_expression" and \
                    _text(first.child_by_field_name("function")) == "swp_type":
                kinds = _kinds_of_config(fn.config, config_kinds)  # keeps its input's kind
        elif name in constructors:
            kinds = constructors[name]
            bits = {_text(a) for a in (args.named_children if args is not None else ())} & ctx.u.markers
            if bits and kinds & ctx.u.marker_atoms:
                kinds = frozenset(bits)
        if kinds is not None:
            built = kinds if built is None else built | kinds
    return built


def _constant_kinds(node: tree_sitter.Node, u: _Kinds) -> Optional[frozenset]:
    """SWP_X, or `write ? SWP_DEVICE_WRITE : SWP_DEVICE_READ` (5.12-era constructors)."""
    if node.type == "conditional_expression":
        arms = [_constant_kinds(node.child_by_field_name(f), u) for f in ("consequence", "alternative")]
        return None if None in arms else arms[0] | arms[1]
    if node.type == "parenthesized_expression" and node.named_child_count == 1:
        return _constant_kinds(node.named_children[0], u)
    return u.constant(_text(node))


# ---------------------------------------------------------------- families

def _families(kinds: frozenset, reg_or_u) -> frozenset:
    """Families a kind set stands for: one family, 'swapfile' (all special kinds, or genuine swap),
    'pfn_generic' (exactly the pfn-carrying kinds), else each family it touches."""
    u = reg_or_u if isinstance(reg_or_u, _Kinds) else _universe_of(reg_or_u)
    ex = u.expand(kinds) - {NONE, PRESENT}
    fams = {_atom_family(k, u) for k in ex}
    if len(fams) <= 1:
        return frozenset(fams)
    if u.special <= ex:
        return frozenset({"swapfile"})
    pfn = frozenset(k for k in u.types if _kind_family(k) in _PFN_FAMILIES)
    if ex == pfn:
        return frozenset({"pfn_generic"})
    return frozenset(fams)


def _atom_family(atom: str, u: _Kinds) -> str:
    if atom == SWAPFILE:
        return "swapfile"
    if atom in u.marker_atoms:
        return "marker"
    return _kind_family(atom)


def _universe_of(reg: Registry) -> _Kinds:
    return _Kinds(reg.kinds, reg.markers, reg.marker_mask, reg.softleaf_map)


def role_of(function: str) -> Optional[str]:
    """copy/zap/protect/fault/rmap_walk/move/report, from the function's name (a heuristic)."""
    for role, pattern in _ROLES:
        if pattern.search(function):
            return role
    return None


# ---------------------------------------------------------------- derivation driver

class _Parsed:
    """Parse each file once per build: the header pass and the site scan share it."""

    def __init__(self, tree):
        self.tree = tree
        self.parser = make_parser()
        self.files: dict[str, Optional[ParsedFile]] = {}

    def get(self, path: str, data: Optional[bytes] = None) -> Optional[ParsedFile]:
        if path not in self.files:
            data = self.tree.read(path) if data is None else data
            self.files[path] = None if data is None else parse_source(path, data, self.parser)
        return self.files[path]


@dataclass
class _Roles:
    """One round's view of what each header function is."""
    known: dict[str, frozenset]              # predicates and helpers -> expanded kinds
    helpers: dict[str, frozenset] = field(default_factory=dict)
    constructors: dict[str, frozenset] = field(default_factory=dict)
    decoders: set = field(default_factory=set)

    def key(self):
        return self.known, self.helpers, self.constructors, self.decoders


def _derive_roles(fns: list[_Fn], u: _Kinds, seed: dict[str, frozenset], reg: Registry) -> None:
    """Predicates, helpers, constructors, decoders.  Each round recomputes everything from the
    previous round's answers (so a guess made before a callee was known never sticks) until
    nothing changes: wrappers of wrappers resolve."""
    config_kinds = _config_kinds(reg)
    base_decoders = {f.name for f in fns if f.path in ENTRY_HEADERS and f.macro_value is None
                     and f.returns_entry and f.returns in _ENTRY_TYPES and f.takes(_TABLE_TYPES)}
    prev = _Roles(dict(seed), decoders=set(base_decoders))
    for _ in range(12):
        cur = _Roles(dict(seed), decoders=set(base_decoders))
        ctx = _Context(u, prev.known)
        for fn in fns:
            _classify(fn, ctx, prev, cur, config_kinds, seed)
        if cur.key() == prev.key():
            break
        prev = cur
    reg.decoders = frozenset(cur.decoders)
    reg.encoders = frozenset(f.name for f in fns if f.path in ENTRY_HEADERS and f.macro_value is None
                             and f.returns in _TABLE_TYPES and not f.returns_pointer and f.takes(_ENTRY_TYPES)
                             and f.name not in cur.constructors)
    reg.helpers = frozenset(cur.helpers) | frozenset(seed)
    reg.predicates = {n: u.compress(k) for n, k in sorted(cur.known.items())}
    reg.constructors = {n: u.compress(k) for n, k in sorted(cur.constructors.items())}


def _merge(table: dict, name: str, kinds: frozenset) -> None:
    # a function defined in both arms of an #ifdef: the stub adds nothing, the real one its kinds
    table[name] = table.get(name, frozenset()) | kinds


def _classify(fn: _Fn, ctx: _Context, prev: _Roles, cur: _Roles, config_kinds: dict, seed: dict) -> None:
    if fn.name in seed:
        return  # 6.1's "#define free_swap_and_cache(e) is_pfn_swap_entry(e)" stub must not retype it
    in_header = fn.path in ENTRY_HEADERS
    if fn.macro_value is not None:
        _classify_alias(fn, prev, cur, in_header)
        return
    if fn.name in cur.decoders:
        return
    if in_header:
        built = _constructor_kinds(fn, ctx, prev.constructors, config_kinds)
        if built is not None:
            _merge(cur.constructors, fn.name, built)
            return
    takes_entry = fn.takes(_ENTRY_TYPES) or fn.takes(_TABLE_TYPES)
    if fn.returns_scalar and takes_entry:
        kinds = function_kinds(fn, ctx)
        if kinds is not None and kinds - {NONE, PRESENT}:
            _merge(cur.known, fn.name, kinds)
            return
    if fn.path.endswith(".h") and takes_entry:
        need = _contract(fn, ctx)
        if need is None and in_header and fn.body is not None:
            # a header accessor built on a helper inherits its contract (pfn_swap_entry_to_page)
            called = [prev.helpers[c] for c in _callees(fn.body) if c in prev.helpers]
            need = called[0] if called else None
        if need is not None and need - {NONE, PRESENT}:
            _merge(cur.helpers, fn.name, need)
            _merge(cur.known, fn.name, need)


def _classify_alias(fn: _Fn, prev: _Roles, cur: _Roles, in_header: bool) -> None:
    target = _macro_alias(fn)
    if target is None:
        return
    if target in prev.decoders and in_header:
        cur.decoders.add(fn.name)
    elif target in prev.known:
        _merge(cur.known, fn.name, prev.known[target])
        if target in prev.helpers:
            _merge(cur.helpers, fn.name, prev.helpers[target])
    elif target in prev.constructors:
        _merge(cur.constructors, fn.name, prev.constructors[target])


def _kinds_of_config(config: Optional[str], config_kinds: dict[str, frozenset]) -> frozenset:
    """Kinds that exist under the (positive) CONFIG_* conditions of a block."""
    parts = (config or "").split(" && ")
    return frozenset().union(*(config_kinds.get(p, frozenset()) for p in parts))


def _config_kinds(reg: Registry) -> dict[str, frozenset]:
    out: dict[str, set] = {}
    for k in reg.kinds.values():
        if k.config:
            out.setdefault(k.config, set()).add(k.name)
    return {c: frozenset(v) for c, v in out.items()}


def _swap_count_api(pf: Optional[ParsedFile]) -> set[str]:
    """swap.h functions (declared or stubbed) that take a swp_entry_t and match the swap-count names."""
    if pf is None:
        return set()
    names = set()
    for node in _walk(pf.tree.root_node, stop=("function_definition", "compound_statement")):
        if node.type not in ("declaration", "function_definition"):
            continue
        _, _, params = _signature(node)
        name = _text(_function_name(node))
        if _SWAP_COUNT_API.match(name) and any(t in _ENTRY_TYPES and not p for t, p in params):
            names.add(name)
    return names


def _function_name(node: tree_sitter.Node) -> Optional[tree_sitter.Node]:
    decl = node.child_by_field_name("declarator")
    while decl is not None and decl.type != "function_declarator":
        decl = decl.child_by_field_name("declarator")
    return decl.child_by_field_name("declarator") if decl is not None else None


def _softleaf_map(fns: list[_Fn], u: _Kinds) -> dict[str, str]:
    """SWP_* -> SOFTLEAF_* from `case SWP_X: return SOFTLEAF_Y;` in softleaf_type()."""
    out = {}
    for fn in fns:
        if fn.name != "softleaf_type" or fn.body is None:
            continue
        for ret in _returns(fn.body):
            value = _text(_return_value(ret))
            case = ret.parent
            if case is not None and case.type == "case_statement" and value.startswith("SOFTLEAF_"):
                label = _text(case.child_by_field_name("value"))
                if label in u.types:
                    out[label] = value
    return out


def _version_hints(tree, reg: Registry) -> dict:
    hints: dict = {}
    makefile = tree.read_text("Makefile") or ""
    parts = [re.search(rf"^{k}\s*=\s*(\d+)", makefile, re.M) for k in ("VERSION", "PATCHLEVEL", "SUBLEVEL")]
    if all(parts):
        hints["version"] = ".".join(p.group(1) for p in parts)
    hints["leafops"] = bool(reg.softleaf_types)
    hints["softleaf_transitional"] = "softleaf_from_pte" in reg.decoders and not reg.softleaf_types
    hints["swapin_error_type"] = any(k.family == "swapin_error" for k in reg.kinds.values())
    hints["device_exclusive_types"] = sum(k.family == "device_exclusive" for k in reg.kinds.values())
    hints["marker_type_conditional"] = any(k.family == "marker" and k.config for k in reg.kinds.values())
    hints["marker_bits"] = [m.name for m in reg.markers.values()]
    hints["naming"] = "softleaf" if reg.softleaf_types else "swp_entry"
    hints["source"] = "tree"
    return hints


def build_registry(tree, folders: Iterable[str] = DEFAULT_FOLDERS, pte_shortcuts: bool = False,
                   parsed: Optional[_Parsed] = None) -> Registry:
    """Derive the §4.A-4.C registries from a SourceTree (reviewkit.source.trees.open_tree).

    Reads the entry headers, the predicate sources, the top Makefile (version)
    and the files of `folders` that mention a decoder; each file is parsed once.
    `pte_shortcuts` also counts pte-level decoding predicates as decoding (a
    wider scan); `parsed` lets two builds over the same tree share parses.
    """
    parsed = parsed or _Parsed(tree)
    reg = Registry()
    headers = [pf for pf in (parsed.get(p) for p in ENTRY_HEADERS) if pf is not None]
    reg.kinds, reg.markers, mask = extract_kinds(headers)
    reg.marker_mask = mask
    leafops = parsed.get("include/linux/leafops.h")
    reg.softleaf_types = extract_softleaf_types(leafops) if leafops is not None else ()
    fns = [f for p in PREDICATE_SOURCES if parsed.get(p) is not None for f in _functions(parsed.get(p))]
    u = _Kinds(reg.kinds, reg.markers, mask, {})
    reg.softleaf_map = _softleaf_map(fns, u)
    u = _Kinds(reg.kinds, reg.markers, mask, reg.softleaf_map)
    seed = {n: frozenset({SWAPFILE}) for n in _swap_count_api(parsed.get("include/linux/swap.h"))}
    _derive_roles(fns, u, seed, reg)
    for f in fns:  # the first definition: the real one comes before the #else stub
        if f.name in reg.predicates or f.name in reg.decoders or f.name in reg.constructors:
            reg.locations.setdefault(f.name, (f.path, f.line))
    reg.level_decoders = _level_decoders(fns, reg, pte_shortcuts)
    reg.dispatch_sites = scan_dispatch_sites(tree, reg, folders, parsed, u)
    reg.version_hints = _version_hints(tree, reg)
    return reg


def _level_decoders(fns: list[_Fn], reg: Registry, pte_shortcuts: bool) -> frozenset:
    """Predicates whose callers need no decode call of their own: they decode a pmd (or a hugetlb
    pte, for the mm/*.c wrappers) themselves.  With pte_shortcuts, pte-level ones too."""
    out = set()
    for fn in fns:
        if fn.name not in reg.predicates or fn.name in reg.helpers or fn.body is None:
            continue
        if not set(_callees(fn.body)) & reg.decoders:
            continue
        pmd_level = any(t in ("pmd_t", "pud_t") and not p for t, p in fn.params)
        if pmd_level or fn.path.endswith(".c") or pte_shortcuts:
            out.add(fn.name)
    return frozenset(out)


# ---------------------------------------------------------------- 4.C dispatch sites

def scan_dispatch_sites(tree, reg: Registry, folders: Iterable[str], parsed: _Parsed,
                        u: Optional[_Kinds] = None) -> list[DispatchSite]:
    u = u or _universe_of(reg)
    decoding = reg.decoders | reg.level_decoders
    if not decoding:
        return []
    names = [n.encode() for n in sorted(decoding)]
    wanted = re.compile(rb"\b(?:" + b"|".join(re.escape(n) for n in names) + rb")\s*\(")
    sites: list[DispatchSite] = []
    for folder in folders:
        for path in tree.walk(folder):
            data = parsed.files[path].source if parsed.files.get(path) is not None else tree.read(path)
            # plain substring checks first: a regex alternation over ~3,000 files costs 0.4 s
            if data is None or not any(n in data for n in names) or not wanted.search(data):
                continue
            pf = parsed.get(path, data)
            if pf is not None:
                sites.extend(_sites_in(pf, reg, decoding, u))
    return sites


def _sites_in(pf: ParsedFile, reg: Registry, decoding: frozenset, u: _Kinds) -> list[DispatchSite]:
    funcs = [f for f in pf.functions if f.kind == "function" and f.node is not None]
    starts = [f.start_byte for f in funcs]
    calls: dict[int, set] = {}
    for node in tree_sitter.QueryCursor(_CALL_QUERY).captures(pf.tree.root_node).get("callee", []):
        i = _bisect(starts, node.start_byte)
        if i >= 0 and node.end_byte <= funcs[i].end_byte:
            calls.setdefault(i, set()).add(_text(node))
    out = []
    for i, names in sorted(calls.items()):
        decoders = names & decoding
        predicates = {n for n in names if n in reg.predicates}
        fn = funcs[i]
        if not decoders or not predicates or _boot_only(pf, fn):
            continue
        kinds = frozenset().union(*(u.expand(reg.predicates[p]) for p in predicates))
        families = frozenset().union(*(_families(reg.predicates[p], u) for p in predicates))
        out.append(DispatchSite(pf.path, fn.name, fn.start_line, fn.end_line, tuple(sorted(predicates)),
                                tuple(sorted(decoders)), u.compress(kinds), tuple(sorted(families)),
                                role_of(fn.name), fn.health))
    return out


def _boot_only(pf: ParsedFile, fn) -> bool:
    """__init/__exit code (debug_vm_pgtable's self-tests) runs over synthetic entries, not user
    page tables: it round-trips entries, it does not dispatch on them."""
    head = pf.source[fn.start_byte:fn.start_byte + 300].split(b"(", 1)[0]
    return re.search(rb"\b__(?:init|exit)\b", head) is not None


def _bisect(starts: list[int], pos: int) -> int:
    lo, hi = 0, len(starts)
    while lo < hi:
        mid = (lo + hi) // 2
        if starts[mid] <= pos:
            lo = mid + 1
        else:
            hi = mid
    return lo - 1


# ---------------------------------------------------------------- fallback

# The registry as a function of the files build_registry reads; bump when Registry's fields change.
REGISTRY_CACHE_VERSION = 1


def registry_key(tree, folders: Iterable[str], pte_shortcuts: bool = False) -> bytes:
    """A content hash of every file build_registry(tree, folders) may read."""
    h = hashlib.sha1(repr((tuple(folders), pte_shortcuts)).encode())
    paths = list(dict.fromkeys([*PREDICATE_SOURCES, "include/linux/leafops.h", "Makefile",
                                *(p for folder in folders for p in tree.walk(folder))]))
    for path in paths:
        data = tree.read(path)
        h.update(path.encode("utf-8", "surrogateescape") + b"\0" +
                 (hashlib.sha1(data).digest() if data is not None else b"-"))
    return h.digest()


def cached_registry(tree, folders: Iterable[str] = DEFAULT_FOLDERS) -> Registry:
    """build_registry(tree, folders), kept on disk by the content of the files it reads: the scan of
    mm/ for dispatch sites costs ~0.5 s on a real tree, hashing those files ~0.1 s."""
    from .diskcache import DiskCache, enabled
    if not enabled():
        return build_registry(tree, folders)
    cache = DiskCache("registry", REGISTRY_CACHE_VERSION)
    key = registry_key(tree, folders)
    reg = cache.get(key)
    if reg is None:
        reg = build_registry(tree, folders)
        cache.put(key, reg)
    return reg


def registry_for(tree, folders: Iterable[str] = DEFAULT_FOLDERS) -> Registry:
    """build_registry(tree) when the tree has the swap headers, else default_registry()."""
    if tree is None or tree.read("include/linux/swapops.h") is None:
        return default_registry()
    return build_registry(tree, folders)


def default_registry() -> Registry:
    """The built-in 6.12-era table (registry_fallback.py), for runs without a source tree."""
    from . import registry_fallback as fb

    reg = Registry()
    for name, family, config in fb.KINDS:
        reg.kinds[name] = Kind(name, family, config, "include/linux/swap.h", 0)
    for name, bit in fb.MARKERS:
        reg.markers[name] = Marker(name, bit, None, "include/linux/swapops.h", 0)
    reg.predicates = {n: frozenset(k) for n, k in fb.PREDICATES.items()}
    reg.helpers = frozenset(fb.HELPERS)
    reg.constructors = {n: frozenset(k) for n, k in fb.CONSTRUCTORS.items()}
    reg.decoders = frozenset(fb.DECODERS)
    reg.encoders = frozenset(fb.ENCODERS)
    reg.level_decoders = frozenset(fb.LEVEL_DECODERS)
    reg.version_hints = dict(fb.VERSION_HINTS)
    return reg
