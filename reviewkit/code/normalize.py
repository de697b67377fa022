"""Kernel-aware source normalisation that keeps every byte offset and line number.

tree-sitter-c does not know the kernel's annotations and macros, and trips on
them (ERROR nodes). Each rewrite below replaces text with text of the same
length (spaces, or a keyword padded with spaces), never touching newlines, so
node positions map 1:1 back to the real file:

- annotations (`__user`, `__rcu`, `__must_check`, `__acquires(x)`, ...) are blanked;
- iterator macros (`list_for_each_entry(pos, head, member) {`) become
  `while (pos, head, member) {`, a loop tree-sitter understands;
- `SYSCALL_DEFINEn(name, type, arg, ...)` becomes `long name(...)` with the
  argument list blanked;
- a file-level macro invocation without `;` is blanked, and a label right
  before a preprocessor line gets `;` for its `:`.
"""
from __future__ import annotations

import re

# Annotations with no arguments (mm-rules.md §1, plus a few common neighbours).
_WORDS = (
    "__user __iomem __rcu __init __exit __always_unused __maybe_unused __must_check __always_inline "
    "noinline __cold __read_mostly __force __percpu __ref __meminit __initdata __ro_after_init notrace "
    "__weak __sched __latent_entropy __randomize_layout __noreturn __visible asmlinkage __malloc __pure "
    "__initconst __refdata __meminitdata __nocfi __noinline_for_stack noinline_for_stack __kprobes "
    "__mustcheck __safe __private __bitwise __must_hold_shared __nocast __cpuidle __flatten __no_sanitize_address "
    "__packed __used __alloc_size __realloc_size __counted_by"
).split()
# Annotations that take arguments: the name and its parenthesised arguments are blanked.
_CALLS = ("__acquires", "__releases", "__must_hold", "__printf", "__scanf", "__aligned", "__section",
          "__alloc_size", "__realloc_size", "__counted_by", "__cond_acquires", "__cond_releases",
          "__assume_aligned", "__diagnose_as", "__attribute__", "__attribute", "__no_context_analysis")

_WORD_SET = frozenset(w.encode() for w in _WORDS)
_CALL_SET = frozenset(w.encode() for w in _CALLS)
# Candidate tokens only; membership is then checked in a set (a long regex alternation is slow).
_TOKEN_RE = re.compile(rb"__[A-Za-z]\w*|noinline\w*|notrace|asmlinkage")
_INIT_LIKE = re.compile(rb"__(?:init|exit|meminit|cpuinit|devinit|ref)_?\w*$")
_IDENT_CHARS = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
# A file-level macro invocation without a ";" (`_PCI_NOP_ALL(read, *)`, `subsys_initcall(f)`)
# makes tree-sitter swallow the definitions after it.
_TOPLEVEL_CALL = re.compile(rb"^([A-Za-z_]\w*)\([^;{}\n]*\)[ \t]*(?:/\*.*\*/)?[ \t]*$", re.M)
# The same, found from the newline before it: a pattern that starts with a literal is searched for
# that byte (fast); one that starts with `^` is tried at every offset (most of normalize's time).
_TOPLEVEL_CALL_NL = re.compile(rb"\n([A-Za-z_]\w*)\([^;{}\n]*\)[ \t]*(?:/\*.*\*/)?[ \t]*$", re.M)
# A label right before "#endif"/"#else" ("regular_folio:\n#endif" in mm/madvise.c) makes
# tree-sitter swallow the rest of the file into one ERROR node: its ":" becomes ";".
_LABEL_BEFORE_PREPROC = re.compile(rb"^[ \t]*(?!default\b)[A-Za-z_]\w*(:)(?=[ \t]*\r?\n[ \t]*#)", re.M)
_PREPROC_LINE = re.compile(rb"\n[ \t]*#")
_LABEL_LINE = re.compile(rb"[ \t]*(?!default\b)[A-Za-z_]\w*(:)[ \t]*\r?")
_SYSCALL_RE = re.compile(rb"SYSCALL_DEFINE(\d)\(\s*(\w+)\s*,?")


def _blank(buf: bytearray, start: int, end: int) -> None:
    for i in range(start, end):
        if buf[i] not in (0x0A, 0x0D):
            buf[i] = 0x20


def _close_paren(data: bytes, open_at: int) -> int:
    """Index just after the parenthesis matching data[open_at] == '(' (or len(data))."""
    depth = 0
    i = open_at
    n = len(data)
    while i < n:
        c = data[i]
        if c == 0x28:
            depth += 1
        elif c == 0x29:
            depth -= 1
            if depth == 0:
                return i + 1
        elif c == 0x3B and depth <= 1:  # a ';' ends a runaway argument list
            return i
        i += 1
    return n


def _preproc_spans(source: bytes) -> list[tuple[int, int]]:
    """Byte spans of preprocessor lines (with their backslash continuations)."""
    spans = []
    pos = source.find(b"#")
    n = len(source)
    while pos != -1:
        line_start = source.rfind(b"\n", 0, pos) + 1
        if not source[line_start:pos].strip(b" \t"):
            end = source.find(b"\n", pos)
            while end != -1 and end > 0 and source[end - 1] == 0x5C:  # continued with "\\"
                end = source.find(b"\n", end + 1)
            end = n if end == -1 else end
            spans.append((line_start, end))
            pos = source.find(b"#", end)
        else:
            pos = source.find(b"#", pos + 1)
    return spans


def _inside(spans: list[tuple[int, int]], pos: int) -> bool:
    lo, hi = 0, len(spans)
    while lo < hi:
        mid = (lo + hi) // 2
        if spans[mid][1] <= pos:
            lo = mid + 1
        else:
            hi = mid
    return lo < len(spans) and spans[lo][0] <= pos


def _labels_before_preproc(source: bytes):
    """Offsets of the `:` that _LABEL_BEFORE_PREPROC finds, found from the preprocessor lines."""
    for m in _PREPROC_LINE.finditer(source):
        start = source.rfind(b"\n", 0, m.start()) + 1
        label = _LABEL_LINE.fullmatch(source, start, m.start())
        if label:
            yield label.start(1)


def _toplevel_calls(source: bytes):
    """The matches of _TOPLEVEL_CALL, in order (group 1 and the span of the call)."""
    first = _TOPLEVEL_CALL.match(source)
    if first:
        yield first.start(), first.end(), first.group(1)
    for m in _TOPLEVEL_CALL_NL.finditer(source):
        yield m.start(1), m.end(), m.group(1)


def normalize(source: bytes) -> bytes:
    """The same source with kernel-isms rewritten for tree-sitter; same length, same lines.

    Preprocessor lines are left alone: `#define __user ...` must stay a definition.
    """
    buf = bytearray(source)
    pre = _preproc_spans(source)
    n = len(source)
    for m in _TOKEN_RE.finditer(source):
        word = m.group()
        if (m.start() and source[m.start() - 1] in _IDENT_CHARS) or _inside(pre, m.start()):
            continue
        j = m.end()
        while j < n and source[j] in (0x20, 0x09):
            j += 1
        has_args = j < n and source[j] == 0x28
        if word in _CALL_SET and has_args:
            _blank(buf, m.start(), _close_paren(source, j))
        elif not has_args and (word in _WORD_SET or _INIT_LIKE.match(word)):
            _blank(buf, m.start(), m.end())
    for hit in re.finditer(rb"for_each", source):
        start, end = hit.start(), hit.end()
        while start > 0 and source[start - 1] in _IDENT_CHARS:
            start -= 1
        while end < n and source[end] in _IDENT_CHARS:
            end += 1
        j = end
        while j < n and source[j] in (0x20, 0x09):
            j += 1
        if j >= n or source[j] != 0x28 or not source[start:end].islower() or _inside(pre, start):
            continue
        before = source[max(0, start - 200):start].rstrip()
        if before and before[-1:] not in b";{}):" and not before.endswith(b"else"):
            continue  # "int cma_for_each_area(...)": the definition of such a function
        close = _close_paren(source, j)
        rest = source[close:close + 200].lstrip()
        if rest[:1] == b";" or not rest:
            continue  # a plain call (or a prototype), not a loop header
        if end - start >= 5:
            buf[start:end] = b"while".ljust(end - start)
    for m in _SYSCALL_RE.finditer(source):
        if _inside(pre, m.start()):
            continue
        if m.start() >= 7 and source[m.start() - 7:m.start()] == b"COMPAT_":
            m_start = m.start() - 7
        else:
            m_start = m.start()
        if m_start and source[m_start - 1] in _IDENT_CHARS:
            continue
        head_end, name_end = m.start(2), m.end(2)
        close = _close_paren(source, source.index(b"(", m.start()))  # just after its ")"
        buf[m_start:head_end] = b"long".ljust(head_end - m_start)
        if source[name_end:name_end + 1] == b")":  # SYSCALL_DEFINE0(name): no room for "()"
            buf[head_end - 1:name_end - 1] = source[head_end:name_end]
            buf[name_end - 1:name_end + 1] = b"()"
        else:  # "name, type, arg, ...)" -> "name(               )"
            _blank(buf, name_end, close - 1)
            buf[name_end:name_end + 1] = b"("
    for colon in _labels_before_preproc(source):
        buf[colon] = 0x3B
    for m_start, m_end, name in _toplevel_calls(source):
        prev_end = source.rfind(b"\n", 0, max(0, m_start - 1))
        prev = source[prev_end + 1:m_start].strip()
        after = source[m_end:m_end + 300].lstrip()
        if after.startswith((b"{", b"__", b"\\")) or name.startswith(b"SYSCALL_DEFINE"):
            continue  # a function header (its body or an annotation follows)
        if prev and not prev.endswith((b";", b"}", b"*/", b")")) and not prev.startswith(b"#"):
            continue  # "static int\nfoo(void)": the return type is on the line before
        if not _inside(pre, m_start):
            _blank(buf, m_start, m_end)
    assert len(buf) == len(source)
    return bytes(buf)
