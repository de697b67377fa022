"""FOLL_PIN references are dropped with unpin_*(), FOLL_GET references with put_page()/folio_put().

**What it checks.** In each changed function, which references the code takes
and into which variable: FOLL_PIN through `pin_user_pages*()` /
`memfd_pin_folios()`; FOLL_GET through `get_user_pages*()` /
`iov_iter_get_pages*()`; "as the flags say" through `try_grab_page()`,
`try_grab_folio()`, `try_grab_folio_fast()`, `try_grab_compound_head()`
(`…, flags)`). Plain copies (`page = pages[i]`, `folio = page_folio(page)`)
carry the reference. Each release of such a variable must match:

- pinned pages: `unpin_user_page(s)*()`, `unpin_folio(s)()`, `unpin_user_folio()`
  (or `gup_put_folio(…, FOLL_PIN)`), never `put_page()`/`folio_put()`/`release_pages()`;
- FOLL_GET pages: `put_page()`/`folio_put()`/`folio_put_refs()`/`release_pages()`,
  never an unpin;
- grabbed with `flags`: `gup_put_folio(folio, refs, flags)` (5.x:
  `put_compound_head(head, refs, flags)`) with the *same* flags, or an unpin
  under `if (flags & FOLL_PIN)` / a put in its else branch.

Left alone: a variable the function both pins and gets (`if (pin)
pin_user_pages() else get_user_pages()`) or takes an extra plain reference on
(`get_page()`, `folio_get()`: a pin converted to a reference), a variable
overwritten between the acquisition and the release, and helpers that pick
the release themselves (`bio_release_page()`, `undo_dev_pagemap()`). When a
field holds the pages (`umem->page_list`) and this function only releases
them, the other functions of the file say how the field was filled, unless
anything else is ever stored in it (low confidence). Without the whole
function (no tree, a hunk that shows part of it) only what the hunk shows is
judged, plus one pattern: a flags-blind `put_page()`/`folio_put()` in a
GUP-fast walker of mm/gup.c, where every reference was taken with the
caller's gup flags (a `FOLL_GET`/`FOLL_PIN` test in front of it is respected).

**Why.** mm-rules.md R5: FOLL_PIN adds `GUP_PIN_COUNTING_BIAS` to a small
folio's refcount (or bumps `_pincount` on a large one) and counts
`NR_FOLL_PIN_ACQUIRED`; `put_page()` on a pinned page leaves the bias behind,
so the page never frees and `folio_maybe_dma_pinned()` stays true for ever
(which fork and the unshare logic rely on). Unpinning a FOLL_GET reference
subtracts a pin that was never taken and frees the page under its user. Seed
thread S4 (Claudio Imbrenda, "mm/gup: fixup for 9947ea2c1e60 \"mm/gup: track
FOLL_PIN pages\""): "In case pin fails, we need to unpin, a simple put_page
will not be enough" — `put_page(head)` became `put_compound_head(head, 1, flags)`
in `gup_pte_range()`.

**Example.**

    /* bad */
    got = pin_user_pages_fast(uaddr, n, FOLL_WRITE | FOLL_LONGTERM, pages);
    if (got != n) {
            for (i = 0; i < got; i++)
                    put_page(pages[i]);

    /* good */
    if (got != n) {
            if (got > 0)
                    unpin_user_pages(pages, got);

**How to fix.** Release with the family that took the reference: pins with
`unpin_user_page()`/`unpin_user_pages()` (`unpin_user_pages_dirty_lock()` after
the device wrote), FOLL_GET references with `put_page()`/`release_pages()`,
flag-dependent grabs with `gup_put_folio(folio, refs, flags)` using the
grab's flags.
"""
from dataclasses import replace

from reviewkit.rules import Rule
from reviewkit.rules.lib import gup


# the release of the other family with the same arguments, for the suggestion
_AS_PIN = {"put_page": "unpin_user_page", "folio_put": "unpin_folio", "release_pages": "unpin_user_pages",
           "folio_put_refs": "unpin_folios"}
_AS_GET = {"unpin_user_page": "put_page", "unpin_user_pages": "release_pages", "unpin_folio": "folio_put",
           "unpin_user_pages_dirty_lock": "release_pages", "unpin_user_folio": "folio_put_refs",
           "unpin_folios": "folio_put"}
_PLAIN_PUTS = ("put_page", "folio_put", "folio_put_refs", "release_pages")


RULE = Rule(id="mm/gup-pin-release-pairing", severity="error", scope="function",
            summary="FOLL_PIN references are released with unpin_*(), FOLL_GET references with put_page()",
            needs=gup.ANY_RELEASE | set(_PLAIN_PUTS))


def check(ctx):
    if ctx.node is None or ctx.fn.kind == "macro":
        yield from _check_lines(ctx, reported=set())
        return
    reported = set()
    refs = gup.acquisitions(ctx.node)
    for rel in gup.releases(ctx.node):
        found = _judge(ctx, refs, rel)
        if found is not None:
            reported.add(found.line)
            yield found
    if gup.fragment(ctx):
        yield from _check_lines(ctx, reported)


def _judge(ctx, refs, rel):
    ref = gup.reaching_ref(ctx.node, refs, rel)
    if ref is None:
        # not taken here: pages kept in a field may have been pinned by another function of the file
        ref = _field_ref(ctx, rel) if gup.whole(ctx) else None
        return _verdict(ctx, ref, rel, low=True) if ref is not None else None
    if len(gup.modes_of([r for r in refs if r.pos <= rel.node.start_byte], rel.key)) > 1:
        return None  # taken both ways (pin or get): the code decides at run time
    return _verdict(ctx, ref, rel)


def _verdict(ctx, ref, rel, low=False):
    guard = gup.flag_guard(rel.node, ctx.node)
    problem = _mismatch(ref, rel, guard)
    if problem is None:
        return None
    message, suggestion = problem(ctx, ref, rel)
    return ctx.finding(rel.node, message, suggestion=suggestion, confidence="low" if low else None)


def _mismatch(ref, rel, guard):
    """Which message applies, or None when the release fits the reference."""
    if ref.mode == "extra":
        return None
    if rel.kind == "flags":
        if ref.mode == "flags" and rel.flags != ref.flags and guard is None:
            return _other_flags
        return None
    if ref.mode == rel.kind or (ref.mode == "flags" and guard == rel.kind):
        return None
    if ref.mode == "pin":
        return _put_on_pin
    if ref.mode == "get":
        return _unpin_on_get
    return _flags_blind


def _call_with(ctx, node, name):
    text = " ".join(ctx.text(node).split())
    return name + text[text.index("("):] if "(" in text else name + "()"


def _held(ref):
    if ref.origin.endswith("()"):
        return f"`{ref.key}` (filled in {ref.origin})"
    return f"`{ref.key}`" + (f" (from `{ref.origin}`)" if ref.origin and ref.origin != ref.key else "")


def _put_on_pin(ctx, ref, rel):
    fix = _call_with(ctx, rel.node, _AS_PIN.get(rel.name, "unpin_user_page"))
    return (f"{_held(ref)} is pinned by {ref.api}() (FOLL_PIN), but {rel.name}() drops a plain reference: the pin "
            "(GUP_PIN_COUNTING_BIAS, or _pincount on a large folio) is never removed, so the page leaks and "
            "folio_maybe_dma_pinned() stays true",
            f"release it with `{fix}` (unpin_user_pages_dirty_lock() if the device wrote to the pages)")


def _unpin_on_get(ctx, ref, rel):
    fix = _call_with(ctx, rel.node, _AS_GET.get(rel.name, "put_page"))
    return (f"{_held(ref)} holds a plain FOLL_GET reference from {ref.api}(), but {rel.name}() unpins it: that "
            "subtracts a pin that was never taken (pin accounting underflows and the page can be freed under "
            "its user)",
            f"release it with `{fix}`, or take the pages with pin_user_pages*() if they are used for DMA")


def _flags_blind(ctx, ref, rel):
    flags = _flags_text(ctx, ref)
    guard = gup.flag_guard(rel.node, ctx.node)
    if guard is not None:  # the branch says which reference it is, and the release is the other kind
        held = "a pin" if guard == "pin" else "a plain FOLL_GET reference"
        why = (f"under `{gup.masked(flags)} & FOLL_{guard.upper()}` it holds {held}, but {rel.name}() "
               f"{'drops a plain reference' if rel.kind == 'get' else 'unpins it'}")
    elif rel.kind == "get":
        why = (f"{rel.name}() drops only a plain reference whatever the flags (\"a simple put_page will not be "
               "enough\")")
    else:
        why = f"{rel.name}() unpins it whatever the flags: with FOLL_GET there is no pin to drop"
    if guard == "pin":
        fix = f"in this branch release the pin: `{_call_with(ctx, rel.node, _AS_PIN.get(rel.name, 'unpin_user_page'))}`"
    elif guard == "get":
        fix = f"in this branch drop the reference: `{_call_with(ctx, rel.node, _AS_GET.get(rel.name, 'put_page'))}`"
    else:
        fix = (f"release with `{_flag_release(ctx, rel, flags)}` (the grab's flags), or branch on "
               f"`{gup.masked(flags)} & FOLL_PIN`")
    return (f"{_held(ref)} was grabbed by {ref.api}(…, {flags}), a pin when {flags} has FOLL_PIN and a "
            f"plain reference otherwise; {why}", fix)


def _flags_text(ctx, ref):
    """The grab's flags argument as written (ref.flags is squeezed for comparison)."""
    args = gup.arguments(ref.node)
    return " ".join(ctx.text(args[-1]).split()) if args and ref.api in gup.GRAB else ref.flags


def _flag_release(ctx, rel, flags):
    """gup_put_folio(<the released folio>, <refs>, flags) written with the release's own arguments."""
    args = [" ".join(ctx.text(a).split()) for a in gup.arguments(rel.node)]
    target = args[0] if args else "folio"
    refs = args[1] if rel.name in ("folio_put_refs", "release_pages", "unpin_user_pages") and len(args) > 1 else "1"
    if _file_has(ctx, "put_compound_head("):
        return f"put_compound_head({target}, {refs}, {flags})"  # 5.x kernels
    if rel.name in ("put_page", "unpin_user_page"):
        target = f"page_folio({target})"
    return f"gup_put_folio({target}, {refs}, {flags})"


def _other_flags(ctx, ref, rel):
    return (f"`{ref.key}` was grabbed by {ref.api}() with flags `{ref.flags}` but {rel.name}() releases it with "
            f"`{rel.flags}`: a release with other flags drops a different kind of reference",
            f"pass the grab's flags: `{rel.name}(…, {ref.flags})`")


def _file_has(ctx, text):
    pf = ctx.parsed_file
    return pf is not None and text.encode() in pf.source


# --- pages kept in a field and released in another function of the file ------------------------

def _field_ref(ctx, rel):
    """How the other functions of this file fill the field `rel` releases (`umem->page_list`):
    one Ref when they all pin (or all get) into it and nothing else ever goes there, else None."""
    if "->" not in rel.key and "." not in rel.key:
        return None
    if ctx.function.source != "tree" or ctx.parsed_file is None:
        return None  # a sparse image's other functions are not known
    field = _field(rel.key)
    found = {}
    for fn in ctx.parsed_file.functions:
        if fn.kind != "function" or fn.node is None:
            continue
        refs, other = _field_sources(fn.node, field)
        if other:
            return None  # the field also holds pages from elsewhere (alloc_page(), shmem, ...)
        for ref in refs:
            found.setdefault((ref.mode, ref.flags), replace(ref, key=rel.key, origin=f"{fn.name}()"))
    return next(iter(found.values())) if len(found) == 1 else None


def _field(key):
    return key.replace("->", ".").rsplit(".", 1)[-1]


# allocating the array of page pointers is not a source of pages
_ARRAY_ALLOCS = ("kmalloc", "kzalloc", "kcalloc", "kvmalloc", "kvzalloc", "kvcalloc", "vmalloc", "vzalloc",
                 "kmalloc_array", "kvmalloc_array", "devm_kcalloc", "devm_kmalloc_array", "vcalloc")


def _field_sources(fn_node, field):
    """(references put into `<obj>-><field>` by this function, whether anything else is stored there)."""
    refs = gup.acquisitions(fn_node)
    mine = [r for r in refs if "->" in r.key and _field(r.key) == field]
    other = False
    for node in _stores(fn_node, field):
        value = node.child_by_field_name("right")
        text = value.text.decode("utf-8", "replace").strip() if value is not None else ""
        src = next((r for r in refs if r.key == gup.key_of(value) and r.pos < node.start_byte), None) \
            if value is not None else None
        if src is not None:
            mine.append(src)
        elif text not in ("NULL", "0") and not text.startswith(_ARRAY_ALLOCS):
            other = True
    return [r for r in mine if r.mode in ("pin", "get")], other


def _stores(fn_node, field):
    """`x->field = v` and `x->field[i] = v` assignments."""
    out, stack = [], [fn_node]
    while stack:
        n = stack.pop()
        if n.type == "assignment_expression":
            left = n.child_by_field_name("left")
            while left is not None and left.type == "subscript_expression":
                left = left.child_by_field_name("argument")
            if left is not None and left.type == "field_expression" and \
                    left.child_by_field_name("field") is not None and \
                    left.child_by_field_name("field").text.decode() == field:
                out.append(n)
        stack.extend(n.children)
    return out


# --- without the whole function: what a changed line shows -------------------------------------

def _check_lines(ctx, reported):
    """A plain put inside a GUP-fast walker of mm/gup.c: every reference there was taken with the
    caller's gup flags (try_grab_*(…, flags)), so a flags-blind put is never the right release.
    On a hunk's fragment the calls are read from its syntax tree (so `if (flags & FOLL_GET)` in
    front of the put is seen); without one, from the lines."""
    if ctx.function.name not in gup.GUP_FAST_WALKERS or not ctx.function.path.endswith("mm/gup.c"):
        return
    if gup.fragment(ctx):
        hits = [(c.start_point[0] + 1, gup.call_name(c), c) for c in gup.calls_in(ctx.node)
                if gup.call_name(c) in _PLAIN_PUTS and ctx.touches_change(c)
                and gup.flag_guard(c, ctx.node) is None]
    else:
        hits = [(line, name, line) for line, name in _plain_put_lines(ctx)]
    helper = "put_compound_head" if _file_has(ctx, "put_compound_head(") else "gup_put_folio"
    for line, name, where in hits:
        if line in reported:
            continue
        yield ctx.finding(
            where, f"{name}() in the GUP-fast walker {ctx.function.name}(): its references are taken with "
                   "try_grab_*(…, flags), a pin when flags has FOLL_PIN, so a plain put leaks the pin "
                   "(\"a simple put_page will not be enough\")",
            suggestion=f"release with `{helper}(<folio>, <refs>, flags)`", confidence="low")


def _plain_put_lines(ctx):
    """(line, name) of changed lines calling a plain put, unless the line or the one before it tests
    the gup flags (`if (flags & FOLL_GET)`)."""
    previous = ""
    for line, text in ctx.changed_line_texts():
        code = gup.code_part(text).replace(" (", "(")
        name = next((n for n in _PLAIN_PUTS if f"{n}(" in code), None)
        if name and not any(f in code or f in previous for f in ("FOLL_PIN", "FOLL_GET")):
            yield line, name
        previous = code if code.strip() else previous
