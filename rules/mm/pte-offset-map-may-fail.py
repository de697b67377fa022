"""pte_offset_map*() / pte_alloc_map_lock() results must be NULL-checked before use.

**What it checks.** A pointer returned by `pte_offset_map()`,
`pte_offset_map_lock()`, `pte_offset_map_nolock()` (6.12),
`pte_offset_map_ro_nolock()` / `pte_offset_map_rw_nolock()` (mainline),
`pte_alloc_map()` or `pte_alloc_map_lock()` that is dereferenced or passed on
(`ptep_get(pte)`, `set_pte_at(.., pte, ..)`, `pte_unmap_unlock(pte, ptl)`,
`*pte`, `pte[i]`) before a NULL test (`if (!pte)`, `pte == NULL`,
`if (pte) {..}`, `pte && ..`, `VM_BUG_ON(!pte)`). Copies (`start_pte = pte`)
and chained assignments (`start_pte = pte = pte_offset_map_lock(..)`) are
followed; a pointer returned to the caller is the caller's to check.

Which kernel: with a tree, the rule reads `include/linux/mm.h` /
`include/linux/pgtable.h` (or the patch's own version of them). When they
declare `__pte_offset_map()` (6.5 and later) every call above can fail. When
`pte_offset_map_lock()` is still the 6.1-style macro around
`pte_offset_kernel()`, only `pte_alloc_map*()` can fail (page-table
allocation, -ENOMEM) and only those are checked. Without a tree the rule
assumes mainline semantics and says so in the message, except for a patch
mailed before v6.5 was released (2023-08-27): it was written for a kernel
whose `pte_offset_map()` could not fail, so only the allocating calls are
checked there.

**Why.** mm-rules.md R9: since 6.5 `__pte_offset_map()` returns NULL when the
pmd no longer points to a page table (it was freed, or replaced by a huge pmd,
e.g. by khugepaged's `retract_page_tables()`), and `pte_offset_map_lock()`
then returns NULL *without* taking the lock. Every walker in 6.12 handles it:
`zap_pte_range()` returns `addr`, `change_pte_range()` returns `-EAGAIN`,
page walkers set `walk->action = ACTION_AGAIN`. A missed check is a NULL
dereference under a race that is rare in testing and real in production.

**Example.**

    /* bad */
    pte_t *pte = pte_offset_map_lock(mm, pmd, addr, &ptl);
    int present = pte_present(ptep_get(pte));

    /* good */
    pte_t *pte = pte_offset_map_lock(mm, pmd, addr, &ptl);
    if (!pte)
            return -EAGAIN;
    present = pte_present(ptep_get(pte));

**How to fix.** Test the pointer right after the call and back off: return
`-EAGAIN` (or the address reached) to let the caller retry, or set
`walk->action = ACTION_AGAIN` in a page-walk callback. On that path the PTL
is not held: do not `pte_unmap_unlock()`.
"""
import re
from datetime import datetime, timezone

from reviewkit.code.cfg import cfg_of
from reviewkit.rules import Rule
from reviewkit.rules.lib import pte as P


MAP = frozenset({"pte_offset_map", "pte_offset_map_lock", "pte_offset_map_nolock", "pte_offset_map_ro_nolock",
                 "pte_offset_map_rw_nolock", "__pte_offset_map", "__pte_offset_map_lock"})
ALLOC = frozenset({"pte_alloc_map", "pte_alloc_map_lock"})  # NULL on -ENOMEM on every version
_BOOL_WRAPPERS = frozenset({"likely", "unlikely", "IS_ERR_OR_NULL", "WARN_ON", "WARN_ON_ONCE", "VM_BUG_ON",
                            "VM_WARN_ON", "VM_WARN_ON_ONCE", "BUG_ON"})
_HEADERS = ("include/linux/mm.h", "include/linux/pgtable.h")
# v6.5, the first release whose pte_offset_map() can fail, was tagged on this day
FAILING_API_RELEASED = datetime(2023, 8, 27, tzinfo=timezone.utc)
_semantics_cache: dict = {}


RULE = Rule(id="mm/pte-offset-map-may-fail", severity="error", scope="function",
            summary="pte_offset_map*() / pte_alloc_map_lock() results must be NULL-checked (NULL since 6.5)",
            needs=MAP | ALLOC)


# --- which kernel ----------------------------------------------------------------------------

def _header_texts(ctx) -> list[str]:
    """The two headers as this patch leaves them (its own post-image first, else the tree)."""
    texts = {}
    images = ctx.analysis.images.get(ctx.patch.message.msgid) if ctx.patch is not None else None
    for f in (images.files if images else ()):
        if f.new_path in _HEADERS and f.after and f.source == "tree":
            texts[f.new_path] = f.after
    tree = ctx.tree
    for path in _HEADERS:
        if path not in texts and tree is not None:
            data = tree.read_text(path)
            if data:
                texts[path] = data
    return [texts[p] for p in _HEADERS if p in texts]


def map_may_fail(ctx):
    """True: the tree has the failing API (6.5+); False: 6.1-style macros; None: no way to tell (the
    message then says mainline semantics are assumed)."""
    key = (id(ctx.tree), ctx.patch.message.msgid if ctx.patch else None)
    hit = _semantics_cache.get(key)
    if hit is not None and hit[0] is ctx.tree:  # the tree is kept with the verdict: its id stays its own
        return hit[1]
    texts = _header_texts(ctx)
    if any("__pte_offset_map(" in t or "__pte_offset_map_lock(" in t for t in texts):
        verdict = True
    elif any(re.search(r"#define\s+pte_offset_map_lock\s*\(", t) for t in texts):
        verdict = False
    else:
        verdict = None
    _semantics_cache[key] = (ctx.tree, verdict)
    if len(_semantics_cache) > 64:
        _semantics_cache.pop(next(iter(_semantics_cache)))
    return verdict


def _written_before_failing_api(ctx) -> bool:
    """A patch mailed before v6.5 may target a kernel whose pte_offset_map() cannot fail."""
    date = ctx.patch.message.date if ctx.patch is not None else None
    if date is None:
        return False
    if date.tzinfo is None:
        date = date.replace(tzinfo=timezone.utc)
    return date < FAILING_API_RELEASED


def _checked_names(ctx) -> frozenset:
    verdict = map_may_fail(ctx)
    if verdict is False or (verdict is None and _written_before_failing_api(ctx)):
        # a 6.1-style tree, or no tree and a patch mailed when pte_offset_map() could not fail:
        # its authors and reviewers were right not to test it; only allocation can fail
        return ALLOC
    return MAP | ALLOC


def _why(ctx, name: str) -> str:
    alloc = "it cannot allocate the page table (-ENOMEM)" if name in ALLOC else ""
    verdict = map_may_fail(ctx)
    if verdict is False:
        return f"{name}() returns NULL when {alloc} (on every kernel version)"
    race = "the pmd no longer points to a page table (freed or collapsed under us, e.g. by khugepaged)"
    reasons = " or when ".join(r for r in (alloc, race) if r)
    basis = ("this tree's include/linux/mm.h declares __pte_offset_map()" if verdict
             else "no kernel tree to read, so assuming mainline semantics (6.5+)")
    if verdict is None and _written_before_failing_api(ctx):
        basis += (f"; this patch is dated {ctx.patch.message.date:%Y-%m-%d}, before v6.5: if it targets an older "
                  f"kernel, {name}() cannot fail there (give --tree to decide)")
    return f"{name}() returns NULL when {reasons} ({basis})"


def _confidence(ctx, name: str):
    """Low when the verdict rests on an assumption the patch's date makes doubtful."""
    if name not in ALLOC and map_may_fail(ctx) is None and _written_before_failing_api(ctx):
        return "low"
    return None


def _suggestion(var: str, name: str) -> str:
    unlock = " On that path the PTL is not taken: do not pte_unmap_unlock()." if "lock" in name else ""
    return (f"test it right after the call and back off, e.g. `if (!{var}) return -EAGAIN;` "
            f"(or `walk->action = ACTION_AGAIN; return 0;` in a page-walk callback).{unlock}")


# --- tree-sitter check ---------------------------------------------------------------------

def _climb(node):
    """From an expression up through parentheses, casts and `x = <expr>` wrappers."""
    while node.parent is not None and (
            node.parent.type in ("parenthesized_expression", "cast_expression")
            or (node.parent.type == "assignment_expression" and node.parent.child_by_field_name("right") == node)):
        node = node.parent
    return node


def _is_test(expr) -> bool:
    """Is this pointer expression tested for NULL where it stands?"""
    node = _climb(expr)
    parent = node.parent
    if parent is None:
        return False
    if parent.type == "unary_expression" and P.text(parent).lstrip().startswith("!"):
        return True
    if parent.type == "binary_expression":
        op = P.text(parent.child_by_field_name("operator"))
        if op in ("&&", "||"):
            return True
        if op in ("==", "!="):
            other = parent.child_by_field_name("right") if parent.child_by_field_name("left") == node \
                else parent.child_by_field_name("left")
            return other is not None and (other.type == "null" or P.text(other).strip() in ("NULL", "0"))
    if parent.type in ("if_statement", "while_statement", "do_statement", "for_statement"):
        return parent.child_by_field_name("condition") == node
    if parent.type == "conditional_expression":
        return parent.child_by_field_name("condition") == node
    if parent.type == "argument_list" and parent.parent is not None:
        return P.call_name(parent.parent) in _BOOL_WRAPPERS
    return False


def _returned(expr) -> bool:
    node = _climb(expr)
    return node.parent is not None and node.parent.type == "return_statement"


def _is_assignment_target(occ) -> bool:
    parent = occ.parent
    return parent is not None and parent.type == "assignment_expression" and parent.child_by_field_name("left") == occ


def _copy_target(occ):
    """`q = p;`: the name p is copied into (None when occ is not a plain copy)."""
    node = _climb(occ)
    if node is occ:
        return None
    parent = occ.parent
    while parent is not None and parent.type in ("parenthesized_expression", "cast_expression"):
        parent = parent.parent
    if parent is not None and parent.type == "assignment_expression":
        return P.norm(P.text(parent.child_by_field_name("left")))
    return None


def first_unchecked_use(fn_body, names: set, call):
    """The first use of one of `names` after `call` that a path from the call reaches without a
    NULL test of them (`if (!pte)`, `VM_BUG_ON(!pte)`, `pte && ...`) on the way, or None."""
    g = cfg_of(call)
    found = {n: P.occurrences(fn_body, n) for n in names}

    def tested(ast, before=None):
        return any(_is_test(o) and (before is None or o.end_byte <= before) for n in found
                   for o in P.occurrences(ast, n))

    pos = _climb(call).end_byte
    while True:
        later = [o for occs in found.values() for o in occs if o.start_byte >= pos]
        if not later:
            return None
        occ = min(later, key=lambda o: o.start_byte)
        pos = occ.end_byte
        if _is_test(occ) or tested(_statement(occ), occ.start_byte) or not g.reaches(call, occ, stop=tested):
            continue  # the test itself, a use only after one, or on another path
        if _is_assignment_target(occ) or _returned(occ):
            return None  # overwritten, or handed to the caller: nothing more to say here
        copy = _copy_target(occ)
        if copy:
            found.setdefault(copy, P.occurrences(fn_body, copy))
            continue  # `start_pte = pte;`: follow both names
        return occ


def _check_call(ctx, call, fn_body):
    name = ctx.call_name(call)
    if _is_test(call) or _returned(call):
        return None
    names = P.assigned_to(call)
    if not names:
        parent = _climb(call).parent
        if parent is not None and parent.type in ("argument_list", "pointer_expression", "subscript_expression",
                                                  "field_expression"):
            return ctx.finding(call, f"the result of {name}() is used directly, without a NULL check: "
                                     f"{_why(ctx, name)}", suggestion=_suggestion("pte", name),
                               confidence=_confidence(ctx, name))
        return None
    use = first_unchecked_use(fn_body, set(names), call)
    if use is None:
        return None
    var = names[0]
    line = use.start_point[0] + 1
    stmt = _statement(call)
    return ctx.finding(stmt, f"`{var}` from {name}() is used on line {line} (`{_short(ctx, use)}`) without a "
                             f"NULL check: {_why(ctx, name)}", suggestion=_suggestion(var, name),
                       confidence=_confidence(ctx, name))


def _statement(node):
    for a in [node] + list(P.ancestors(node)):
        if a.type in ("expression_statement", "declaration"):
            return a
    return node


def _short(ctx, use) -> str:
    """The first line of the statement (or loop header) the use sits in."""
    stmt = next((a for a in [use] + list(P.ancestors(use))
                 if a.type.endswith("statement") or a.type == "declaration"), use)
    line = ctx.text(stmt).strip().split("\n")[0].strip()
    return line if len(line) <= 60 else line[:57] + "..."


def check(ctx):
    if ctx.function is not None and (ctx.function.name in MAP | ALLOC or ctx.function.kind == "macro"):
        return  # the definitions themselves
    # a hunk fragment is fine here: the use and the test must both lie between the call and the
    # first mention, and those lines are all visible
    if ctx.node is None:
        yield from _check_lines(ctx)
        return
    fn_body = P.body(ctx.node)
    if fn_body is None:
        return
    for call in ctx.calls(names=_checked_names(ctx)):
        found = _check_call(ctx, call, fn_body)
        if found is not None:
            yield found


# --- no parse: changed lines only ------------------------------------------------------------

_ASSIGN = re.compile(r"([A-Za-z_][\w\->.]*)\s*=\s*(\w+)\s*\(")
_DIRECT = re.compile(r"\b(ptep_get|pte_present|pte_none|set_pte_at|set_ptes|ptep_\w+)\s*\(\s*(\w+)\s*\(")


def _check_lines(ctx):
    """Without a parse, only what a run of added lines shows for certain: the pointer's first
    mention after the call, on the lines right after it, is a use and not a test."""
    wanted = _checked_names(ctx)
    lines = dict(ctx.changed_line_texts())
    for n, line in sorted(lines.items()):
        m = _DIRECT.search(line)
        if m and m.group(2) in wanted:
            yield ctx.finding(n, f"the result of {m.group(2)}() is used directly, without a NULL check: "
                                 f"{_why(ctx, m.group(2))}", suggestion=_suggestion("pte", m.group(2)),
                              confidence="low")
            continue
        m = _ASSIGN.search(line)
        if not m or m.group(2) not in wanted:
            continue
        var = m.group(1).replace(" ", "")
        verdict = _first_mention(lines, n, var)
        if verdict is not None:
            yield ctx.finding(n, f"`{var}` from {m.group(2)}() is used on line {verdict} without a NULL check: "
                                 f"{_why(ctx, m.group(2))}", suggestion=_suggestion(var, m.group(2)),
                              confidence="low")


def _first_mention(lines: dict, start: int, var: str):
    """Line of the first use of `var` on the added lines right after `start`, None if a test comes
    first or the run of added lines ends (unknown lines in between)."""
    word = re.compile(r"(?<![\w>.])" + re.escape(var) + r"(?!\w)")
    test = re.compile(r"!\s*" + re.escape(var) + r"\b|\b" + re.escape(var) + r"\s*[!=]=\s*NULL"
                      r"|\(\s*(?:likely|unlikely)?\(?\s*" + re.escape(var) + r"\s*\)|" + re.escape(var) + r"\s*&&")
    n = start
    ended = ";" in lines[start]
    while True:
        n += 1
        if n not in lines:
            return None
        text = lines[n]
        if not ended:
            ended = ";" in text
            continue  # still the call's arguments
        if not word.search(text):
            continue
        return None if test.search(text) or re.search(r"\breturn\b", text) else n
