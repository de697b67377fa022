"""Control flow of one C function, built from its tree-sitter node: what rules ask instead of
matching neighbouring text.

`function_cfg(fn_node)` (cached per node) builds a graph whose nodes are the function's simple
statements, the atoms of its conditions and, between a test and where it leads, one *assume*
node per outcome (`pte_present(pte)` true / false, a `case` value). Conditions are split at
`&&`, `||` and `!` (short circuit), `likely()`/`unlikely()` are seen through, and `x == NULL`
reads as the atom `x` false. So a statement is guarded by a condition exactly when that
condition's assume node dominates it: the `else` of `if (pte_present(pte))`, the code after
`if (!pte_present(pte)) continue;` and the then-arm of `if (a && pte_present(p))` are all guarded,
the else of `if (a && b)` is guarded by neither.

Edges from `return`/`break`/`continue`/`goto` (and calls that never return: BUG(), panic()) are
jumps; edges that close a cycle (end of a loop body, `continue`, `goto retry`) are back edges, and
the path queries follow forward edges only ("within one iteration"). Kernel iterator macros
(`list_for_each_entry(...) {`) are loops (the normaliser turns them into `while`); `#if`/`#ifdef`
inside a body with an `#else` is a branch either way may take (a `config` test), one without is
read as compiled in (a check under `#ifdef CONFIG_ARCH_ENABLE_THP_MIGRATION` guards what follows).

Queries take tree-sitter nodes of the function (any node: it is placed at the statement or
condition atom that holds it):

- `guards(node)`: the conditions that hold whenever `node` runs, nearest first (`Guard`);
- `guarded_by(node, "pte_present", var="ptent")`: True / False / None;
- `reaches(a, b, avoiding=names)`: can control go from `a` on to `b` (without a call to one of
  `names` in between); `on_every_path(a, b, names)` is its negation;
- `same_path(a, b)`: one run of the function (one loop iteration) can see both;
- `exits_before(arm, node)`, `falls_out(stmt)`: does an arm leave by a jump before the common tail;
- `after_chain(if_node)`: where control goes when every condition of an if/else-if chain is false;
- `loops_around(node)`: the loops (their tree-sitter nodes) holding `node`, innermost first.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

import tree_sitter

from .changes import FRAGMENT
from . import memo

Node = tree_sitter.Node

#: calls that never return: a statement made of one of them leaves the function
NORETURN = frozenset({"BUG", "panic", "do_exit", "unreachable", "__builtin_unreachable", "make_task_dead",
                      "kthread_exit", "__noreturn_fail"})
_JUMP_TYPES = frozenset({"return_statement", "break_statement", "continue_statement", "goto_statement"})
_LOOP_TYPES = frozenset({"while_statement", "for_statement", "do_statement"})
_PREPROC = frozenset({"preproc_if", "preproc_ifdef", "preproc_elif", "preproc_elifdef", "preproc_else"})
_PREPROC_HEAD = frozenset({"condition", "name"})
_SKIP = frozenset({"comment", ";", "{", "}"})
_HINTS = frozenset({"likely", "unlikely", "READ_ONCE", "data_race"})


def _text(node: Optional[Node]) -> str:
    return node.text.decode("utf-8", "replace") if node is not None else ""


def _squash(s: str) -> str:
    return "".join(s.split())


def _callee(node: Optional[Node]) -> str:
    if node is None or node.type != "call_expression":
        return ""
    fn = node.child_by_field_name("function")
    return _text(fn) if fn is not None and fn.type == "identifier" else ""


def _args(call: Node) -> list[Node]:
    a = call.child_by_field_name("arguments")
    return [c for c in a.named_children if c.type != "comment"] if a is not None else []


def _strip(expr: Node) -> Node:
    """Parentheses, casts and likely()/unlikely() seen through."""
    while expr is not None:
        if expr.type == "parenthesized_expression" and expr.named_children:
            expr = expr.named_children[-1]
        elif expr.type == "cast_expression" and expr.child_by_field_name("value") is not None:
            expr = expr.child_by_field_name("value")
        elif _callee(expr) in _HINTS and len(_args(expr)) == 1:
            expr = _args(expr)[0]
        else:
            return expr
    return expr


@dataclass(frozen=True)
class Guard:
    """A condition that holds on the way to a node: `expr` (a condition atom, or the switch
    value / `#if` line) was found `value` (True/False, or a case label's text, or "default")."""
    expr: Node
    value: object
    kind: str = "test"          # test | case | config | branch (a whole if condition)

    @property
    def call(self) -> str:
        """The called name when the atom is a call (`pte_present(pte)` -> "pte_present"), also
        when its value is assigned on the way (`!(pte = pte_offset_map(..))`)."""
        return _callee(self._value())

    def _value(self) -> Node:
        inner = _strip(self.expr)
        if inner.type == "assignment_expression" and inner.child_by_field_name("right") is not None:
            return _strip(inner.child_by_field_name("right"))
        return inner

    @property
    def args(self) -> list[str]:
        """Whitespace-free text of the atom's call arguments."""
        inner = self._value()
        return [_squash(_text(a)) for a in _args(inner)] if _callee(inner) else []

    @property
    def subject(self) -> str:
        """What the atom tests when it is a value, not a call: `pte` in `if (!pte)`, and the
        assigned name in `if (!(pte = pte_offset_map(..)))`."""
        inner = _strip(self.expr)
        if inner.type == "assignment_expression":
            return _squash(_text(inner.child_by_field_name("left")))
        return _squash(_text(inner)) if inner.type in ("identifier", "field_expression") else ""

    @property
    def text(self) -> str:
        return _text(self.expr)

    def mentions(self, var: str) -> bool:
        """Does the atom mention `var` (whitespace-free text, e.g. `vmf->orig_pte`) as a whole name?"""
        want = _squash(var)
        stack = [self.expr]
        while stack:
            n = stack.pop()
            if n.type in ("identifier", "field_expression") and _squash(_text(n)) == want:
                return True
            stack.extend(n.named_children)
        return False


@dataclass
class _N:
    kind: str                   # entry | exit | stmt | test | assume | case | config | branch | label | join
    ast: Optional[Node] = None
    value: object = None
    succ: list = field(default_factory=list)     # [(index, jump: bool)]


class CFG:
    def __init__(self, fn_node: Node):
        self.fn_node = fn_node
        self.nodes: list[_N] = []
        self._at: dict[int, int] = {}             # tree-sitter node id -> graph node
        self._labels: dict[str, int] = {}
        self._else_target: dict[int, int] = {}     # if_statement id -> where its false outcome goes
        self._loop_exit: dict[int, int] = {}       # loop head -> the statement after the loop
        self._loops: list[tuple[Node, int]] = []   # (loop node, head)
        self.entry = self._new("entry")
        self.exit = self._new("exit")
        body = fn_node.child_by_field_name("body") if fn_node.type == "function_definition" else fn_node
        first = self._stmt(body, self.exit, {}) if body is not None else self.exit
        self._edge(self.entry, first)
        if _is_fragment(fn_node):
            self._open_ends()
        self._back: set[tuple[int, int]] = set()
        self._find_back_edges()
        self._idom = self._dominators()
        self._reach_cache: dict[int, set] = {}
        self._node_calls: dict[int, tuple] = {}
        self._all_calls: Optional[list] = None

    # --- building (backwards: each statement is built knowing where it continues) ----------

    def _new(self, kind: str, ast: Optional[Node] = None, value: object = None) -> int:
        self.nodes.append(_N(kind, ast, value))
        return len(self.nodes) - 1

    def _edge(self, a: int, b: int, jump: bool = False) -> None:
        self.nodes[a].succ.append((b, jump))

    def _place(self, ast: Node, idx: int) -> int:
        self._at.setdefault(ast.id, idx)
        return idx

    def _simple(self, ast: Node, nxt: int, jump_to: Optional[int] = None) -> int:
        i = self._new("stmt", ast)
        if jump_to is not None:
            self._edge(i, jump_to, jump=True)
        else:
            self._edge(i, nxt)
        return self._place(ast, i)

    def _label(self, name: str) -> int:
        if name not in self._labels:
            self._labels[name] = self._new("label", value=name)
        return self._labels[name]

    def _seq(self, stmts: Iterable[Node], nxt: int, ctx: dict) -> int:
        for s in reversed([s for s in stmts if s.type not in _SKIP and s.is_named]):
            nxt = self._stmt(s, nxt, ctx)
        return nxt

    def _stmt(self, s: Node, nxt: int, ctx: dict) -> int:
        t = s.type
        if t == "compound_statement":
            return self._place(s, self._seq(s.named_children, nxt, ctx))
        if t == "if_statement":
            cons = s.child_by_field_name("consequence")
            alt = s.child_by_field_name("alternative")
            then_i = self._stmt(cons, nxt, ctx) if cons is not None else nxt
            else_i = self._seq(alt.named_children, nxt, ctx) if alt is not None else nxt
            cond = s.child_by_field_name("condition")
            # one node per arm: it dominates the arm, with the whole condition and its value
            then_b, else_b = self._new("branch", cond, True), self._new("branch", cond, False)
            self._edge(then_b, then_i)
            self._edge(else_b, else_i)
            self._else_target[s.id] = else_b
            return self._place(s, self._cond(cond, then_b, else_b))
        if t in ("while_statement", "for_statement"):
            head = self._new("join", s)
            self._loops.append((s, head))
            self._loop_exit[head] = nxt
            step = head
            if t == "for_statement":
                update = s.child_by_field_name("update")
                if update is not None:
                    step = self._simple(update, head)
            body = s.child_by_field_name("body")
            inner = dict(ctx, brk=nxt, cont=step)
            body_i = self._stmt(body, step, inner) if body is not None else step
            cond = s.child_by_field_name("condition")
            self._edge(head, self._cond(cond, body_i, nxt) if cond is not None else body_i)
            init = s.child_by_field_name("initializer") if t == "for_statement" else None
            return self._place(s, self._simple(init, head) if init is not None else head)
        if t == "do_statement":
            head = self._new("join", s)
            self._loops.append((s, head))
            self._loop_exit[head] = nxt
            cond = s.child_by_field_name("condition")
            test = self._cond(cond, head, nxt) if cond is not None else nxt
            body = s.child_by_field_name("body")
            body_i = self._stmt(body, test, dict(ctx, brk=nxt, cont=test)) if body is not None else test
            self._edge(head, body_i)
            return self._place(s, head)
        if t == "switch_statement":
            return self._place(s, self._switch(s, nxt, ctx))
        if t == "labeled_statement":
            lab = s.child_by_field_name("label")
            li = self._label(_text(lab))
            self.nodes[li].ast = s
            inner = [c for c in s.named_children if c.type not in ("statement_identifier", "comment")]
            self._edge(li, self._seq(inner, nxt, ctx))
            return self._place(s, li)
        if t == "return_statement":
            return self._simple(s, nxt, self.exit)
        if t == "break_statement":
            return self._simple(s, nxt, ctx.get("brk", self.exit))
        if t == "continue_statement":
            return self._simple(s, nxt, ctx.get("cont", self.exit))
        if t == "goto_statement":
            return self._simple(s, nxt, self._label(_text(s.child_by_field_name("label"))))
        if t in _PREPROC:
            return self._place(s, self._preproc(s, nxt, ctx))
        if t == "expression_statement" and s.named_children and _callee(s.named_children[0]) in NORETURN:
            return self._simple(s, nxt, self.exit)
        return self._simple(s, nxt)

    def _preproc(self, s: Node, nxt: int, ctx: dict) -> int:
        """`#if X ... #else ... #endif` inside a body: either arm may be compiled in."""
        alt = s.child_by_field_name("alternative")
        if s.type == "preproc_else":
            return self._seq([c for c in s.named_children], nxt, ctx)
        body = [c for c in s.named_children
                if not (alt is not None and c.id == alt.id) and c.id not in
                {x.id for x in (s.child_by_field_name(f) for f in _PREPROC_HEAD) if x is not None}]
        then_i = self._seq(body, nxt, ctx)
        if alt is None:
            return then_i   # `#ifdef CONFIG_X ... #endif`: read as compiled in (what it tests holds there)
        else_i = self._stmt(alt, nxt, ctx)
        test = self._new("test", s)
        for value, target in ((True, then_i), (False, else_i)):
            a = self._new("config", s, value)
            self._edge(a, target)
            self._edge(test, a)
        return test

    def _switch(self, s: Node, nxt: int, ctx: dict) -> int:
        value = s.child_by_field_name("condition")
        test = self._new("test", value if value is not None else s)
        if value is not None:
            self._place(value, test)
        body = s.child_by_field_name("body")
        cases = [c for c in (body.named_children if body is not None else []) if c.type == "case_statement"]
        inner = dict(ctx, brk=nxt)
        follow = nxt
        entries = []
        for case in reversed(cases):  # fall through from each case into the next one
            label = case.child_by_field_name("value")
            stmts = [c for c in case.named_children if label is None or c.id != label.id]
            follow = self._seq(stmts, follow, inner)
            entries.append((case, label, follow))
        has_default = False
        for case, label, target in reversed(entries):
            has_default |= label is None
            a = self._new("case", value if value is not None else s, _text(label) if label is not None else "default")
            self._place(case, a)
            self._edge(a, target)
            self._edge(test, a)
        if not has_default:
            a = self._new("case", value if value is not None else s, "default")
            self._edge(a, nxt)
            self._edge(test, a)
        return test

    def _cond(self, expr: Node, then_i: int, else_i: int) -> int:
        """A condition split at &&, || and ! into atoms, each a test with two assume nodes."""
        e = _strip(expr)
        if e.type == "binary_expression":
            op = _text(e.child_by_field_name("operator"))
            left, right = e.child_by_field_name("left"), e.child_by_field_name("right")
            if op == "&&":
                return self._place(e, self._cond(left, self._cond(right, then_i, else_i), else_i))
            if op == "||":
                return self._place(e, self._cond(left, then_i, self._cond(right, then_i, else_i)))
            if op in ("==", "!=") and _text(_strip(right)) in ("NULL", "0"):
                yes, no = (else_i, then_i) if op == "==" else (then_i, else_i)
                return self._place(e, self._cond(left, yes, no))
        if e.type == "unary_expression" and _text(e.child_by_field_name("operator")) == "!":
            return self._place(e, self._cond(e.child_by_field_name("argument"), else_i, then_i))
        test = self._new("test", e)
        self._place(expr, test)
        for value, target in ((True, then_i), (False, else_i)):
            a = self._new("assume", e, value)
            self._edge(a, target)
            self._edge(test, a)
        return self._place(e, test)

    def _open_ends(self) -> None:
        """A hunk fragment shows code whose labels and callers it does not: a statement nothing
        leads to (after a leading `goto out;`) may be entered from outside, not dead."""
        preds = self._preds()
        for i, n in enumerate(self.nodes):
            if i not in (self.entry, self.exit) and not preds[i] and n.kind in ("stmt", "test", "label"):
                self._edge(self.entry, i)

    # --- analyses ---------------------------------------------------------------------------

    def _find_back_edges(self) -> None:
        """Edges to a node still on the depth-first stack close a cycle."""
        state = [0] * len(self.nodes)       # 0 new, 1 on stack, 2 done
        self._order: list[int] = []          # reverse postorder, filled below
        post = []
        stack = [(self.entry, iter(self.nodes[self.entry].succ))]
        state[self.entry] = 1
        while stack:
            n, it = stack[-1]
            for s, _jump in it:
                if state[s] == 1:
                    self._back.add((n, s))
                elif state[s] == 0:
                    state[s] = 1
                    stack.append((s, iter(self.nodes[s].succ)))
                    break
            else:
                stack.pop()
                state[n] = 2
                post.append(n)
        self._order = post[::-1]

    def _preds(self) -> list[list[int]]:
        preds: list[list[int]] = [[] for _ in self.nodes]
        for i, n in enumerate(self.nodes):
            for s, _j in n.succ:
                preds[s].append(i)
        return preds

    def _dominators(self) -> dict[int, int]:
        """Immediate dominators (Cooper, Harvey, Kennedy), over the nodes reachable from entry."""
        rpo = {n: i for i, n in enumerate(self._order)}
        preds = self._preds()
        idom = {self.entry: self.entry}

        def meet(a: int, b: int) -> int:
            while a != b:
                while rpo[a] > rpo[b]:
                    a = idom[a]
                while rpo[b] > rpo[a]:
                    b = idom[b]
            return a

        changed = True
        while changed:
            changed = False
            for n in self._order[1:]:
                done = [p for p in preds[n] if p in idom and p in rpo]
                if not done:
                    continue
                new = done[0]
                for p in done[1:]:
                    new = meet(p, new)
                if idom.get(n) != new:
                    idom[n] = new
                    changed = True
        return idom

    # --- placing tree-sitter nodes ----------------------------------------------------------

    def index_of(self, node: Node) -> Optional[int]:
        """The graph node holding a tree-sitter node (its statement or condition atom)."""
        n: Optional[Node] = node
        while n is not None:
            i = self._at.get(n.id)
            if i is not None:
                return i
            if n.id == self.fn_node.id:
                return None
            n = n.parent
        return None

    def reachable(self, node: Node) -> bool:
        i = self.index_of(node)
        return i is not None and i in self._idom

    def dominators(self, node: Node) -> list[int]:
        i = self.index_of(node)
        out = []
        while i is not None and i in self._idom:
            out.append(i)
            if i == self.entry:
                break
            i = self._idom[i]
        return out

    def blocks(self) -> list[list[int]]:
        """Basic blocks: maximal runs of graph nodes entered only at their head and left only at
        their tail, in reverse postorder (node indices; `self.nodes[i].ast` is the statement)."""
        preds = self._preds()
        heads = [n for n in self._order if n == self.entry or len(preds[n]) != 1
                 or len(self.nodes[preds[n][0]].succ) != 1]
        out = []
        for h in heads:
            run, n = [h], h
            while len(self.nodes[n].succ) == 1:
                nxt = self.nodes[n].succ[0][0]
                if nxt in heads or nxt in run:
                    break
                run.append(nxt)
                n = nxt
            out.append(run)
        return out

    # --- queries ------------------------------------------------------------------------------

    def guards(self, node: Node) -> list[Guard]:
        """Conditions that hold whenever `node` runs, nearest first."""
        return [g for g in self.all_guards(node) if g.kind != "branch"]

    def all_guards(self, node: Node) -> list[Guard]:
        """guards() and, for each if whose arm holds `node` (or that it follows after an arm
        that left), the whole condition: Guard(kind="branch", value=True for the then-arm).
        `if (a && b) ... else X`: X has the branch guard `a && b` false, and no atom guard."""
        out = []
        for i in self.dominators(node):
            n = self.nodes[i]
            if n.kind in ("assume", "case", "config", "branch"):
                out.append(Guard(n.ast, n.value, "test" if n.kind == "assume" else n.kind))
        return out

    def guarded_by(self, node: Node, call: str, var: Optional[str] = None,
                   arg: Optional[int] = None) -> Optional[bool]:
        """True when `node` runs only if `call(...)` (mentioning `var`, or with `var` as argument
        `arg`) was true, False when only if it was false, None when neither is known."""
        for g in self.guards(node):
            if g.kind != "test" or g.call != call:
                continue
            if var is not None:
                if arg is not None:
                    a = g.args
                    if not (0 <= arg < len(a) and a[arg] == _squash(var)):
                        continue
                elif not g.mentions(var):
                    continue
            return bool(g.value)
        return None

    def _next(self, n: int) -> list[int]:
        """Successors within one iteration: a back edge to a loop's head leads on to the loop's
        exit instead (this iteration was the last), other back edges lead nowhere."""
        out = []
        for s, _j in self.nodes[n].succ:
            if (n, s) not in self._back:
                out.append(s)
            elif s in self._loop_exit:
                out.append(self._loop_exit[s])
        return out

    def _forward(self, start: int) -> set[int]:
        """Nodes reachable from `start` over forward edges (one loop iteration)."""
        got = self._reach_cache.get(start)
        if got is None:
            got = set()
            stack = self._next(start)
            while stack:
                n = stack.pop()
                if n in got:
                    continue
                got.add(n)
                stack.extend(self._next(n))
            self._reach_cache[start] = got
        return got

    def _has_call(self, i: int, names: frozenset, after: int = -1, before: Optional[int] = None) -> bool:
        for name, start, end in self._calls_at(i):
            if name in names and start >= after and (before is None or end <= before):
                return True
        return False

    def _fn_calls(self) -> list:
        if self._all_calls is None:
            self._all_calls = sorted((c.start_byte, c.end_byte, name) for c, name in memo.named_calls(self.fn_node))
        return self._all_calls

    def _calls_at(self, i: int) -> tuple:
        """(name, start, end) of the calls a graph node's statement or condition atom makes, found
        once per node: path queries ask at every node they pass."""
        got = self._node_calls.get(i)
        if got is None:
            nd = self.nodes[i]
            if nd.ast is None or nd.kind in ("assume", "case", "config", "join", "label", "branch"):
                got = ()
            else:  # the function's calls (found once) that lie inside this node's text
                lo, hi = nd.ast.start_byte, nd.ast.end_byte
                calls = self._fn_calls()
                k = bisect.bisect_left(calls, (lo,))
                out = []
                while k < len(calls) and calls[k][0] < hi:
                    if calls[k][1] <= hi:
                        out.append((calls[k][2], calls[k][0], calls[k][1]))
                    k += 1
                got = tuple(out)
            self._node_calls[i] = got
        return got

    def reaches(self, a: Node, b: Node, avoiding: Iterable[str] = (),
                stop: Optional[Callable[[Node], bool]] = None, nonnull: Optional[str] = None) -> bool:
        """Can control go from `a` on to `b` (forward edges only), with no call to one of
        `avoiding` in between, and through no statement or condition atom for which `stop(ast)`
        holds (e.g. a NULL test of a pointer)?  With `nonnull="folio"`, a path that found
        `folio` NULL (`if (!folio)`) cannot then find it non-NULL (`if (folio)`)."""
        ia, ib = self.index_of(a), self.index_of(b)
        if ia is None or ib is None:
            return False
        names = frozenset(avoiding)
        if ia == ib and a.end_byte <= b.start_byte:
            return not (names and self._has_call(ia, names, a.end_byte, b.start_byte))
        if names and self._has_call(ia, names, after=a.end_byte):
            return False
        seen = set()
        stack = [(n, False) for n in self._next(ia)]
        while stack:
            n, null = stack.pop()
            if (n, null) in seen:
                continue
            seen.add((n, null))
            nd = self.nodes[n]
            if n == ib:
                if not (names and self._has_call(ib, names, before=b.start_byte)):
                    return True
                continue
            if names and self._has_call(n, names):
                continue
            if stop is not None and nd.kind in ("stmt", "test") and stop(nd.ast):
                continue
            if nonnull is not None and nd.kind == "assume" and Guard(nd.ast, nd.value).subject == nonnull:
                if null and nd.value:
                    continue   # found NULL on this path, now non-NULL: not a real path
                null = null or not nd.value
            stack.extend((s, null) for s in self._next(n))
        return False

    def called_before(self, node: Node, names: Iterable[str]) -> bool:
        """Does every path from the function's entry to `node` call (or test) one of `names`?"""
        wanted = frozenset(names)
        ib = self.index_of(node)
        if ib is not None and self._has_call(ib, wanted, before=node.start_byte):
            return True
        return self._every_path(node, lambda n: n != self.entry and self._has_call(n, wanted))

    def always_passes(self, node: Node, holds: Callable[[Guard], bool]) -> bool:
        """Does every path from the entry to `node` pass a condition outcome for which
        `holds(guard)` is true?  Unlike guards() this sees disjunctions: the then-arm of
        `if (pmd_trans_huge(x) || pmd_devmap(x))` passes one of the two on every path."""
        def hit(n: int) -> bool:
            nd = self.nodes[n]
            return nd.kind in ("assume", "case") and holds(Guard(nd.ast, nd.value,
                                                                 "test" if nd.kind == "assume" else "case"))
        return self._every_path(node, hit)

    def _every_path(self, node: Node, hit: Callable[[int], bool]) -> bool:
        """Does every forward path from the entry to `node` pass a graph node for which hit() holds?"""
        ib = self.index_of(node)
        if ib is None or ib not in self._idom:
            return False
        seen, stack = set(), [self.entry]
        while stack:
            n = stack.pop()
            if n in seen:
                continue
            seen.add(n)
            if n == ib:
                return False
            if not hit(n):
                stack.extend(self._next(n))
        return True

    def on_every_path(self, a: Node, b: Node, names: Iterable[str]) -> bool:
        """Does every path from `a` to `b` call one of `names` in between? (True when `b` is
        not reached from `a` at all.)"""
        return not self.reaches(a, b, names)

    def same_path(self, a: Node, b: Node) -> bool:
        """Can one run through the function (one loop iteration) see both nodes?"""
        ia, ib = self.index_of(a), self.index_of(b)
        if ia is None or ib is None:
            return True
        if ia == ib:
            return True
        return ib in self._forward(ia) or ia in self._forward(ib)

    def falls_out(self, stmt: Node) -> bool:
        """Can control leave `stmt` at its end (not by return/break/continue/goto)?"""
        inside = self._inside(stmt)
        start = self.index_of(stmt)
        if start is None or start not in inside:
            return start is not None and start != self.exit   # an empty block falls through
        seen = set()
        stack = [start]
        while stack:
            n = stack.pop()
            if n in seen:
                continue
            seen.add(n)
            for s, jump in self.nodes[n].succ:
                if s in inside:
                    stack.append(s)
                elif not jump:
                    return True
        return False

    def _inside(self, stmt: Node) -> set[int]:
        return {i for i, n in enumerate(self.nodes)
                if n.ast is not None and stmt.start_byte <= n.ast.start_byte and n.ast.end_byte <= stmt.end_byte}

    def calls_from(self, stmt: Node, names: Iterable[str]) -> list[Node]:
        """Calls to `names` that a run starting at `stmt` can make before it falls out of `stmt`'s
        end: inside it, or wherever its return/break/continue/goto lead (`goto out_put;`)."""
        wanted = frozenset(names)
        inside = self._inside(stmt)
        start = self.index_of(stmt)
        out: list[Node] = []
        seen: set[int] = set()
        stack = [(start, True)] if start is not None and start in inside else []
        while stack:
            n, within = stack.pop()
            if (n, within) in seen:
                continue
            seen.add((n, within))
            if self._has_call(n, wanted):
                out.extend(c for c in _calls(self.nodes[n].ast) if _callee(c) in wanted)
            for s in self._next(n):
                jump = any(t == s and j for t, j in self.nodes[n].succ)
                if not within or s in inside:
                    stack.append((s, within))
                elif jump:
                    stack.append((s, False))
        return sorted({c.id: c for c in out}.values(), key=lambda c: c.start_byte)

    def exits_before(self, arm: Node, node: Node) -> bool:
        """Does every path from the start of `arm` leave (return/continue/break/goto) before `node`?"""
        return not self.reaches_from_start(arm, node)

    def reaches_from_start(self, stmt: Node, node: Node) -> bool:
        i = self.index_of(stmt)
        j = self.index_of(node)
        if i is None or j is None:
            return False
        return i == j or j in self._forward(i)

    def after_chain(self, if_node: Node) -> Optional[Node]:
        """Where control goes when every condition of the if/else-if chain at `if_node` is
        false: the first statement after it on that path, the loop statement when that is the
        next iteration, None at the function's end or when the chain ends in a plain `else`."""
        node = if_node
        while True:
            alt = node.child_by_field_name("alternative")
            inner = alt.named_children[0] if alt is not None and alt.named_children else None
            if inner is None:
                break
            if inner.type != "if_statement":
                return None
            node = inner
        i = self._else_target.get(node.id)
        seen = set()
        while i is not None and i not in seen:
            seen.add(i)
            nd = self.nodes[i]
            if nd.kind == "join" and nd.ast is not None and nd.ast.type in _LOOP_TYPES and _within(if_node, nd.ast):
                return nd.ast         # the next iteration of the loop holding the chain
            if nd.kind in ("stmt", "label", "test") and nd.ast is not None:
                loop = nd.ast.parent
                if loop is not None and loop.type == "for_statement" and _within(if_node, loop) and \
                        loop.child_by_field_name("update") == nd.ast:
                    return loop       # a for loop's step: the next iteration
                return nd.ast
            if i == self.exit or not nd.succ:
                return None
            i = nd.succ[0][0]
        return None

    def loops_around(self, node: Node) -> list[Node]:
        """Loop statements (while/for/do, iterator macros) holding `node`, innermost first."""
        return sorted((s for s, _h in self._loops if _within(node, s) and s.id != node.id),
                      key=lambda s: s.start_byte, reverse=True)

    def is_jump(self, node: Node) -> bool:
        """Is the statement holding `node` a return/break/continue/goto (or a noreturn call)?"""
        i = self.index_of(node)
        return i is not None and any(j for _s, j in self.nodes[i].succ)


def _is_fragment(fn_node: Node) -> bool:
    decl = fn_node.child_by_field_name("declarator") if fn_node.type == "function_definition" else None
    return decl is not None and FRAGMENT.encode() in decl.text


def _calls(node: Node) -> list[Node]:
    return [c for c, _name in memo.named_calls(node)]


def _within(node: Node, outer: Node) -> bool:
    return outer.start_byte <= node.start_byte and node.end_byte <= outer.end_byte


def function_cfg(fn_node: Node) -> CFG:
    """The control-flow graph of a function (or a compound statement / hunk fragment), shared
    (reviewkit.code.memo): rules ask many questions of one function."""
    return memo.per_node("cfg", fn_node, CFG)


def cfg_of(node: Node) -> Optional[CFG]:
    """The graph of the function holding `node`."""
    n: Optional[Node] = node
    while n is not None and n.type != "function_definition":
        n = n.parent
    return function_cfg(n) if n is not None else None
