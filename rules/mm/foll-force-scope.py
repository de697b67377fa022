"""FOLL_FORCE is for debugger-style access (ptrace, /proc/pid/mem), not for drivers.

**What it checks.** Every place a changed function *sets* `FOLL_FORCE` (in a
flags expression passed to a call, assigned, `|=`-ed, returned or put in an
initializer). Testing or clearing it (`flags & FOLL_FORCE`, `&= ~FOLL_FORCE`)
is not a use, and neither are comments or strings. A use is:

- an **error** when the same flags also carry `FOLL_LONGTERM`, or go to
  `pin_user_pages*()` (a pin is never a ptrace access) — anywhere;
- an **error** under `drivers/ fs/ net/ sound/ lib/ io_uring/ block/ virt/`
  (except `fs/proc/base.c`);
- a **warning** elsewhere, unless the file is one of the known debugger-style
  users (mm-rules.md §4.E: the GUP core in mm/, `kernel/ptrace.c`,
  `kernel/events/uprobes.c`, `fs/proc/base.c`, the arch ptrace and
  single-step code, `arch/arm64/kernel/mte.c`, `security/tomoyo/domain.c`).

Without the whole function, the changed lines are read one by one (low
confidence): `FOLL_FORCE` outside comments and strings, not after `&`, `~`, `!`
or `==`.

**Why.** mm-rules.md R11: `FOLL_FORCE` makes GUP ignore VMA permissions — it
writes into read-only private mappings through COW and reads PROT_NONE ones —
and exists for ptrace. Drivers used `FOLL_FORCE | FOLL_WRITE | FOLL_LONGTERM`
to "break COW" so that a read-only long-term pin stays coherent; since David
Hildenbrand's series (S2, "mm/gup: remove FOLL_FORCE usage from drivers
(reliable R/O long-term pinning)", merged for 6.2) R/O long-term pins in COW
mappings are reliable through FAULT_FLAG_UNSHARE, and the cover letter notes
that using FOLL_WRITE only to break COW "would, for example, mark the page
softdirty or trigger uffd-wp, even though, there actually isn't going to be any
write access". Linus: "FOLL_FORCE finally relegated to purely ptrace
accesses"; Christoph Hellwig proposed renaming it FOLL_PTRACE to avoid
"accidentally readding it".

**Example.**

    /* bad */
    return pin_user_pages_fast(start, n, FOLL_WRITE | FOLL_FORCE | FOLL_LONGTERM, pages);

    /* good */
    unsigned int gup_flags = FOLL_LONGTERM;

    if (dev_writes)
            gup_flags |= FOLL_WRITE;
    return pin_user_pages_fast(start, n, gup_flags, pages);

**How to fix.** Drop `FOLL_FORCE`. Ask for `FOLL_WRITE` only when the device
(or the kernel) writes to the pages; a read-only `FOLL_LONGTERM` pin no longer
needs a forced write fault to stay coherent. If the code really is a debugger
interface, go through `access_process_vm()` / `ptrace_access_vm()`.
"""
import re

from reviewkit.rules import Rule
from reviewkit.rules.lib import gup

RULE = Rule(id="mm/foll-force-scope", severity="error", scope="function",
            summary="FOLL_FORCE only for debugger-style access: error in drivers and with pins, warning elsewhere",
            needs=("FOLL_FORCE",))

# mm-rules.md §4.E (6.12.117), plus what 6.1.192 still has (ia64, um); include/ defines and tests the flag
ALLOWED = frozenset({
    "mm/gup.c", "mm/util.c", "mm/memory.c", "mm/hugetlb.c", "mm/huge_memory.c",
    "kernel/ptrace.c", "kernel/events/uprobes.c", "fs/proc/base.c", "arch/x86/kernel/step.c",
    "arch/mips/math-emu/dsemul.c", "arch/arm64/kernel/mte.c", "security/tomoyo/domain.c",
    "include/linux/mm.h", "include/linux/mm_types.h",
})
# arch/<arch>/kernel/ptrace*.c, arch/powerpc/kernel/ptrace/ptrace32.c, arch/x86/um/ptrace_64.c, ...
_ARCH_PTRACE = re.compile(r"^arch/[^/]+/(?:.+/)?ptrace[^/]*\.c$")
ERROR_DIRS = ("drivers/", "fs/", "net/", "sound/", "lib/", "io_uring/", "block/", "virt/")
PIN_CALLS = gup.PIN_ACQUIRE
# a FOLL_FORCE that is tested, cleared or compared on a line, not set
_TESTED = re.compile(r"(?:[&~!]|[=!]=)\s*\(?\s*(?:FOLL_\w+\s*\|\s*)*FOLL_FORCE\b")
_WORD = re.compile(r"\bFOLL_FORCE\b")


def allowed(path):
    return path in ALLOWED or bool(_ARCH_PTRACE.match(path))


def check(ctx):
    path = ctx.function.path
    if path.startswith(("tools/", "Documentation/")):
        return  # user-space tests ask GUP for FOLL_FORCE on purpose
    if ctx.node is None or ctx.fn.kind == "macro":
        yield from _check_lines(ctx, path)
        return
    renamed = _renamed_lines(ctx)
    for ident in _identifiers(ctx.node, "FOLL_FORCE"):
        use = _set_use(ident)
        if use is None or ident.start_point[0] + 1 in renamed:
            continue
        pinned = _with_pin(ctx, use)
        if allowed(path) and not pinned:
            continue
        yield _finding(ctx, ident, path, pinned)


def _identifiers(node, name):
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        if n.type == "identifier" and n.text == name.encode():
            out.append(n)
        stack.extend(n.children)
    out.sort(key=lambda n: n.start_byte)
    return out


def _set_use(ident):
    """Where the flag is set: the node that receives the flags expression (a call, an assignment,
    a declaration, a return, an initializer), or None when it is tested or cleared."""
    child, parent = ident, ident.parent
    while parent is not None:
        t = parent.type
        if t == "parenthesized_expression" or (t == "binary_expression" and _op(parent) == "|"):
            pass
        elif t == "conditional_expression":
            if child == parent.child_by_field_name("condition"):
                return None
        elif t == "argument_list":
            return parent.parent
        elif t == "assignment_expression":
            ok = child == parent.child_by_field_name("right") and _op(parent) in ("=", "|=")
            return parent if ok else None
        elif t in ("init_declarator", "return_statement", "initializer_pair", "initializer_list"):
            return parent
        else:
            return None  # &, ~, !, ==, a condition, a case label: the flag is read, not set
        child, parent = parent, parent.parent
    return None


def _op(node):
    op = node.child_by_field_name("operator")
    return op.type if op is not None else ""


def _with_pin(ctx, use):
    """Do these flags also pin or ask for FOLL_LONGTERM (directly, or through the variable they are
    stored in)?"""
    if use.type == "call_expression":
        return gup.call_name(use) in PIN_CALLS or "FOLL_LONGTERM" in _flags_of(use)
    if "FOLL_LONGTERM" in gup.identifiers(use):
        return True
    var = _stored_in(use)
    if not var:
        return False
    if any(t == var and "FOLL_LONGTERM" in gup.identifiers(v) for t, v, _ in gup.assignments(ctx.node)):
        return True
    if _or_assigned(ctx.node, var, "FOLL_LONGTERM"):
        return True
    return any(gup.call_name(c) in PIN_CALLS and any(var in gup.identifiers(a) for a in gup.arguments(c))
               for c in gup.calls_in(ctx.node))


def _flags_of(call):
    """FOLL_* names of the call's argument that holds FOLL_FORCE."""
    for arg in gup.arguments(call):
        names = gup.identifiers(arg)
        if "FOLL_FORCE" in names:
            return names
    return set()


def _or_assigned(fn_node, var, flag):
    """`var |= <... flag ...>` anywhere in the function."""
    stack = [fn_node]
    while stack:
        n = stack.pop()
        if n.type == "assignment_expression" and _op(n) == "|=" and \
                gup.key_of(n.child_by_field_name("left")) == var and \
                flag in gup.identifiers(n.child_by_field_name("right")):
            return True
        stack.extend(n.children)
    return False


def _stored_in(use):
    if use.type == "assignment_expression":
        return gup.key_of(use.child_by_field_name("left"))
    if use.type == "init_declarator":
        return gup.declarator_name(use.child_by_field_name("declarator"))
    return None


def _finding(ctx, where, path, pinned, confidence=None):
    severity = "error" if pinned or _driver_like(path) else "warning"
    if pinned:
        why = ("FOLL_FORCE together with a pin / FOLL_LONGTERM is the old \"break COW\" idiom: since 6.2 a "
               "read-only long-term pin in a COW mapping is reliable without it (FAULT_FLAG_UNSHARE), and "
               "forcing overrides the VMA's permissions for no debugger")
    else:
        why = (f"FOLL_FORCE in {path}, which is not a debugger interface: it makes GUP ignore the VMA's "
               "permissions (writes into read-only private mappings through COW, reads PROT_NONE ones) and is "
               "meant for ptrace-style access only "
               "(\"FOLL_FORCE finally relegated to purely ptrace accesses\")")
    fix = ("drop FOLL_FORCE; pass FOLL_WRITE only if the pages are written (`gup_flags = FOLL_LONGTERM; "
           "if (writable) gup_flags |= FOLL_WRITE;`) — a FOLL_WRITE only to break COW would mark the pages "
           "soft-dirty or trigger uffd-wp")
    return ctx.finding(where, why, severity=severity, suggestion=fix, confidence=confidence)


def _renamed_lines(ctx):
    """Removed lines whose only change is a rename of the flag (FOLL_FORCE -> FOLL_PTRACE, as
    proposed in S2): the use is still there, so it is not resolved."""
    if ctx.side != "before" or ctx.patch is None:
        return set()
    added = ctx.added_in_patch()
    return {line for line, text in ctx.changed_line_texts()
            if " ".join(_WORD.sub("FOLL_PTRACE", text).split()) in added}


def _driver_like(path):
    return path.startswith(ERROR_DIRS) and path != "fs/proc/base.c"


def _check_lines(ctx, path):
    renamed = _renamed_lines(ctx)
    for line, text in ctx.changed_line_texts():
        code = gup.code_part(text)
        if not _WORD.search(code) or _TESTED.search(code) or line in renamed:
            continue
        pinned = "FOLL_LONGTERM" in code or any(f"{p}(" in code for p in PIN_CALLS)
        if allowed(path) and not pinned:
            continue
        yield _finding(ctx, line, path, pinned, confidence="low")
