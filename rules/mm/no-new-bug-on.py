"""No new BUG_ON(); VM_BUG_ON()/VM_WARN_ON() conditions must have no side effects.

**What it checks.** Calls added by the patch to `BUG()`, `BUG_ON()` and their
variants (`*_BUG_ON*`), and the conditions of `VM_BUG_ON*()` / `VM_WARN*()`.
A call that was already in the same function before the patch, that the
patch removes elsewhere (code moved, e.g. a function split in two), or that
sits in a new function that takes over from code the patch removes with a call
of the same macro in the same file (a reworked helper), is not new and is not
reported.

**Why.** "Do not crash the kernel unless it is absolutely unavoidable -- use
WARN_ON_ONCE() plus recovery code (if feasible) instead of BUG() or variants"
(checkpatch AVOID_BUG; Documentation/process/deprecated.rst). mm reviewers ask
for `WARN_ON_ONCE()` plus an error return, or `VM_WARN_ON_ONCE*()` for
debug-only assertions. Worse: without CONFIG_DEBUG_VM every `VM_BUG_ON*()` and
`VM_WARN*()` expands to `BUILD_BUG_ON_INVALID(cond)`, so the condition is not
evaluated at all and a side effect inside it (a trylock, a get, a set)
silently disappears in production kernels.

**Example.**

    /* bad */
    BUG_ON(!folio_test_anon(folio));
    VM_BUG_ON(!folio_trylock(folio));

    /* good */
    if (WARN_ON_ONCE(!folio_test_anon(folio)))
            return -EINVAL;
    if (!folio_trylock(folio))
            return -EAGAIN;
    VM_WARN_ON_ONCE_FOLIO(!folio_test_locked(folio), folio);

**How to fix.** Handle the impossible case: `if (WARN_ON_ONCE(cond)) return
-EINVAL;` (or the function's error value). For debug-only assertions use
`VM_WARN_ON_ONCE*()`. Move side effects out of `VM_*` conditions.
"""
import re

from reviewkit.rules import Rule

RULE = Rule(id="mm/no-new-bug-on", severity="warning", scope="function",
            summary="no new BUG_ON(); VM_BUG_ON/VM_WARN conditions must be side-effect free",
            needs=("BUG", "VM_WARN"))

# checkpatch's AVOID_BUG pattern, as a name test
_BUG = re.compile(r"^(?!AA_|BUILD_|DCCP_|IDA_|KVM_|RWLOCK_|snd_|SPIN_)(?:[a-zA-Z_]*_)?BUG(?:_ON)?(?:_[A-Z_]+)?$")
_VM_ASSERT = re.compile(r"^VM_(?:BUG|WARN)\w*$")
# A call has a side effect when one of its name's words says so (folio_trylock, get_page,
# SetPageDirty, atomic_dec_and_test), unless the name is a predicate (is_*, *_test_*, Page*).
_EFFECT_WORDS = {"trylock", "lock", "unlock", "get", "put", "set", "clear", "inc", "dec", "add", "sub", "alloc",
                 "free", "grab", "pin", "unpin", "xchg", "cmpxchg", "del", "insert", "remove"}
_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_PREDICATE = re.compile(r"^(is_|test_|folio_test_|Page(?!Set|Clear|TestSet|TestClear)[A-Z])")


def _has_side_effect(name):
    if _PREDICATE.match(name):
        return False
    return any(w.lower() in _EFFECT_WORDS for w in _WORDS.findall(name))
_LINE_CALL = re.compile(r"\b([A-Za-z_]\w*)\s*\(")


def _side_effect_calls(ctx, call):
    args = call.child_by_field_name("arguments")
    if args is None or not args.named_children:
        return []
    cond = args.named_children[0]  # the condition; later arguments are the page/folio/vma to dump
    return [ctx.call_name(c) for c in ctx.calls(cond) if _has_side_effect(ctx.call_name(c))]


def _verdict(name, effects):
    if _VM_ASSERT.match(name):
        if effects:
            return ("error", f"{name}() condition calls {', '.join(effects)}(): without CONFIG_DEBUG_VM the "
                             "condition is not evaluated, so that side effect vanishes in production",
                    "do the call outside the assertion and assert on its result")
        if "BUG" in name:
            return ("note", f"{name}(): mm prefers VM_WARN_ON_ONCE*() for debug-only assertions",
                    f"use {name.replace('BUG', 'WARN', 1).replace('WARN_ON', 'WARN_ON_ONCE', 1)}()")
        return None
    if _BUG.match(name):
        return ("warning", f"{name}() crashes the kernel: do not, for a condition that can be recovered from",
                "use `if (WARN_ON_ONCE(cond)) return <error>;` and handle the case")
    return None


def _replaces_one(ctx, name):
    """A new function that takes over from one the patch removes (a rework: the patch removes a
    call of the same macro in the same file) keeps the assertion; it is not a new one."""
    if ctx.function.status != "added":
        return False
    pattern = re.compile(r"\b" + re.escape(name) + r"\s*\(")
    return any(pattern.search(ln.text) for f in ctx.patch.files if f.path == ctx.function.path
               for h in f.hunks for ln in h.lines if ln.kind == "-")


def check(ctx):
    if ctx.node is None:  # no parse of this function (no tree, or not shown whole): read the lines
        yield from _check_lines(ctx)
        return
    before = set()
    if ctx.side == "after" and ctx.function.before is not None:
        old = ctx.function.before
        before = {" ".join(ctx.text(c, old).split()) for c in ctx.calls(old.node)}
    for call in ctx.calls():
        name = ctx.call_name(call)
        if not (_BUG.match(name) or _VM_ASSERT.match(name)):
            continue
        first_line = " ".join(ctx.text(call).split("\n")[0].split())
        moved = ctx.side == "after" and (any(first_line in r for r in ctx.removed_in_patch())
                                         or _replaces_one(ctx, name))
        if " ".join(ctx.text(call).split()) in before or moved:
            continue  # unchanged, or moved from elsewhere in the patch: not new
        verdict = _verdict(name, _side_effect_calls(ctx, call))
        if verdict:
            severity, message, suggestion = verdict
            yield ctx.finding(call, message, severity=severity, suggestion=suggestion)


def _check_lines(ctx):
    moved = ctx.removed_in_patch() if ctx.side == "after" else frozenset()
    for line, text in ctx.changed_line_texts():
        if " ".join(text.split()) in moved:
            continue
        for m in _LINE_CALL.finditer(text):
            name = m.group(1)
            if not (_BUG.match(name) or _VM_ASSERT.match(name)):
                continue
            if ctx.side == "after" and _replaces_one(ctx, name):
                continue
            inner = text[m.end():]
            effects = [n for n in _LINE_CALL.findall(inner) if _has_side_effect(n)]
            verdict = _verdict(name, effects)
            if verdict:
                severity, message, suggestion = verdict
                yield ctx.finding(line, message, severity=severity, suggestion=suggestion, confidence="low")
