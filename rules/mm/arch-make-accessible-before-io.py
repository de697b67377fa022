"""Pages handed to I/O go through the arch "make accessible" hook: FOLL_PIN grabs, writeback, DMA users.

**What it checks.** Four places where a page may end up under I/O:

1. a GUP grab of a pte-mapped page with the caller's flags
   (`try_grab_folio(folio, 1, flags)`, `try_grab_page(page, flags)`,
   `try_grab_folio_fast(page, 1, flags)`, 5.x `try_grab_compound_head()`) must
   be followed, before the page is handed out, by
   `arch_make_folio_accessible()` (6.12; 6.1 also has
   `arch_make_page_accessible()`) — in practice under `if (flags & FOLL_PIN)`;
   large-folio leaf paths (refs > 1, pmd/pud/hugetlb pages) are exempt: secure
   pages are never large on s390;
2. PG_writeback is set only through `folio_start_writeback()` /
   `set_page_writeback()`: a raw `folio_test_set_writeback()` /
   `SetPageWriteback()` outside mm/page-writeback.c, or a writeback start in
   mm/page-writeback.c without the hook, is reported;
3. pages from a FOLL_GET API (`get_user_pages*()`, `iov_iter_get_pages*()`)
   passed to a DMA or block I/O sink (`dma_map_page*()`, `bio_add_page()`,
   `sg_alloc_table_from_pages*()`, and `sg_set_page()` in drivers/) in the
   same function: DMA users must pin;
4. a new call of the hook needs the folio referenced or locked first
   (`folio_get()`, `folio_try_get()`, a GUP grab, `folio_lock()`, ...).

With only a hunk of the function, (1) is judged when the hunk shows the grab
and the hand-out, (3) when it shows the acquisition and the sink; (2) is read
from the changed lines at low confidence.

**Why.** mm-rules.md R16 and seed S4 (Claudio Imbrenda, "add callbacks for
inaccessible pages"): on s390 protected virtualization "I/O accesses will just
fail" on a secure page, "in practice unrecoverable I/O errors", so mm calls
into the architecture "when writeback is started or when a page reference is
taken": "We need to make the page accessible if and only if we are going to
access its content (the FOLL_PIN case)". Only FOLL_PIN grabs run the hook,
so DMA into FOLL_GET pages bypasses it (and is invisible to
folio_maybe_dma_pinned()). Dave Hansen's objections in the same thread (the
hooks sit in GUP and writeback rather than the DMA API; paths like sendfile
are not covered) are why this is a warning, not an error.

**Example.**

    /* bad */
    if (try_grab_folio(folio, 1, flags))
            return ERR_PTR(-ENOMEM);
    return page;

    /* good */
    if (try_grab_folio(folio, 1, flags))
            return ERR_PTR(-ENOMEM);
    if (flags & FOLL_PIN) {
            ret = arch_make_folio_accessible(folio);
            if (ret) {
                    unpin_user_page(page);
                    return ERR_PTR(ret);
            }
    }
    return page;

**How to fix.** After a flags-dependent grab, make the folio accessible when
pinning and undo the pin if that fails; start writeback with
`folio_start_writeback()`; take user pages for DMA with `pin_user_pages*()` (or
`iov_iter_extract_pages()`) and release them with `unpin_user_pages()`.
"""
from reviewkit.code.cfg import cfg_of
from reviewkit.rules import Rule
from reviewkit.rules.lib import gup


HOOKS = frozenset({"arch_make_folio_accessible", "arch_make_page_accessible"})
RAW_WRITEBACK = frozenset({"folio_test_set_writeback", "folio_set_writeback", "SetPageWriteback",
                           "TestSetPageWriteback", "__folio_set_writeback"})
# calls that hand pages to a device: DMA mapping, block I/O, scatterlist tables (built for dma_map_sg)
DMA_SINKS = frozenset({
    "sg_alloc_table_from_pages", "sg_alloc_table_from_pages_segment", "__sg_alloc_table_from_pages",
    "dma_map_page", "dma_map_page_attrs", "ib_dma_map_page", "bio_add_page", "__bio_add_page",
    "bio_add_pc_page", "bio_add_hw_page", "bio_add_folio", "bio_add_folio_nofail",
})
# a single scatterlist entry is a DMA sink in a driver; in net/ or crypto/ the CPU may be its only reader
DRIVER_SINKS = frozenset({"sg_set_page", "sg_set_folio"})
PTE_PAGE = frozenset({"vm_normal_page", "vm_normal_folio", "pte_page"})
# a reference or lock that keeps the folio stable for the hook ("To be called with the folio locked
# or with an extra reference!")
HELD = gup.PLAIN_GET | gup.GRAB | gup.PIN_ACQUIRE | gup.GET_ACQUIRE | RAW_WRITEBACK | frozenset({
    "folio_lock", "folio_trylock", "lock_page", "trylock_page", "follow_page", "folio_test_locked",
    "PageLocked", "__folio_start_writeback", "__test_set_page_writeback",
})


RULE = Rule(id="mm/arch-make-accessible-before-io", severity="warning", scope="function",
            summary="FOLL_PIN grabs and writeback starts call arch_make_folio_accessible(); DMA users must pin",
            needs=gup.GRAB | RAW_WRITEBACK | gup.GET_ACQUIRE | HOOKS)


def check(ctx):
    if ctx.node is None or ctx.fn.kind == "macro":
        yield from _writeback_lines(ctx)
        return
    yield from _grabs_without_hook(ctx)
    yield from _raw_writeback(ctx)
    yield from _dma_with_get(ctx)
    if gup.whole(ctx):
        yield from _hook_without_ref(ctx)


# --- 1. FOLL_PIN grab paths ---------------------------------------------------------------------

def _grabs_without_hook(ctx):
    if "gate" in ctx.function.name or ctx.function.path.endswith("mm/hugetlb.c"):
        return  # the gate area is kernel memory; hugetlb folios are large, and large folios are never secure
    for grab in gup.calls_in(ctx.node):
        if not _small_page_grab(ctx.node, grab):
            continue
        end = _handout(ctx, grab)
        if end is None:
            continue  # the hunk stops before the page is handed out
        hooked = any(gup.call_name(c) in HOOKS and grab.end_byte <= c.start_byte < end
                     for c in gup.calls_in(ctx.node))
        if not hooked:
            flags = " ".join(ctx.text(gup.arguments(grab)[-1]).split())
            folio = _folio_text(ctx, grab)
            yield ctx.finding(
                grab, f"{gup.call_name(grab)}(…, {flags}) may pin this page and the page is handed out without "
                      f"{_hook(ctx)}(): on s390 protected guests I/O on a page that is still secure fails "
                      "unrecoverably (\"We need to make the page accessible if and only if we are going to "
                      "access its content (the FOLL_PIN case)\")",
                suggestion=f"after the grab: `if ({gup.masked(flags)} & FOLL_PIN) {{ ret = {_hook(ctx)}({folio}); "
                           f"if (ret) {{ gup_put_folio({folio}, 1, {flags}); <fail>; }} }}`")


def _small_page_grab(fn_node, grab):
    """A flags-dependent grab of one page that may be small: it comes from a pte (vm_normal_page(),
    pte_page()), one reference (large folios are never secure on s390)."""
    name, args = gup.call_name(grab), gup.arguments(grab)
    if name not in gup.GRAB or len(args) < 2 or gup.flag_mode(args[-1]) == "get":
        return False
    if name != "try_grab_page" and (len(args) < 3 or args[1].text != b"1"):
        return False
    return bool(gup.identifiers(args[0]) & _from_pte(fn_node)) or _calls_pte_page(args[0])


def _from_pte(fn_node):
    """Variables computed from vm_normal_page()/vm_normal_folio()/pte_page() in the function, except
    those that also come from a huge entry (huge_ptep_get(), pmd_page(), nth_page() of a leaf)."""
    huge = _closure(fn_node, _is_huge, set())
    return _closure(fn_node, _calls_pte_page, huge)


def _closure(fn_node, seed, excluded):
    assigns = gup.assignments(fn_node)
    names = {t for t, v, _ in assigns if seed(v) and not gup.identifiers(v) & excluded}
    changed = True
    while changed:
        changed = False
        for target, value, _pos in assigns:
            used = gup.identifiers(value)
            if target not in names and used & names and not used & excluded:
                names.add(target)
                changed = True
    return names - excluded


def _calls_pte_page(node):
    return any(gup.call_name(c) in PTE_PAGE for c in gup.calls_in(node))


HUGE_SOURCES = frozenset({"nth_page", "huge_ptep_get", "huge_pte_offset", "pmd_page", "pud_page", "pgd_page"})


def _is_huge(node):
    return any(gup.call_name(c) in HUGE_SOURCES for c in gup.calls_in(node))


def _handout(ctx, grab):
    """Byte where the page leaves the function after the grab (publish or return); a whole
    function's end when neither is seen; None for a fragment that does not show it."""
    ends = [n.start_byte for n in gup.publishes(ctx.node, grab.end_byte)]
    ends += [n.start_byte for n in _returns(ctx.node, grab.end_byte)]
    if ends:
        return min(ends)
    return ctx.node.end_byte if gup.whole(ctx) else None


def _returns(fn_node, after):
    """`return page;`-style statements after `after` that hand a pointer out (not error codes)."""
    out, stack = [], [fn_node]
    while stack:
        n = stack.pop()
        if n.type == "return_statement" and n.start_byte >= after and n.named_children:
            value = n.named_children[0]
            if value.type == "identifier" and "page" in value.text.decode("utf-8", "replace"):
                out.append(n)
        stack.extend(n.children)
    return out


def _folio_text(ctx, grab):
    assigned = gup.assigned_key(grab)
    if assigned and assigned not in ("ret", "err", "rc", "error"):
        return assigned
    first = " ".join(ctx.text(gup.arguments(grab)[0]).split())
    return first if "folio" in first else f"page_folio({first})"


def _hook(ctx):
    """arch_make_folio_accessible in 6.x trees; arch_make_page_accessible where only it exists."""
    text = _tree_text(ctx, "include/linux/mm.h")
    if text and "arch_make_folio_accessible" not in text and "arch_make_page_accessible" in text:
        return "arch_make_page_accessible"
    return "arch_make_folio_accessible"


def _tree_text(ctx, path):
    """A file of the tree under review (read only when a finding is worded: no cache needed)."""
    tree = ctx.tree
    if tree is None or getattr(tree, "kind", "none") == "none":
        return None
    return tree.read_text(path)


# --- 2. writeback starts ------------------------------------------------------------------------

def _raw_writeback(ctx):
    in_core = ctx.function.path.endswith("mm/page-writeback.c")
    calls = gup.calls_in(ctx.node)
    hooked = any(gup.call_name(c) in HOOKS for c in calls)
    for call in calls:
        name = gup.call_name(call)
        if name not in RAW_WRITEBACK:
            continue
        if not in_core:
            yield _bypass(ctx, call, name)
        elif not hooked and gup.whole(ctx):
            yield ctx.finding(
                call, f"{ctx.function.name}() starts writeback ({name}()) without {_hook(ctx)}(): the folio "
                      "goes to I/O while it may still be secure (\"If writeback has been triggered on a page "
                      "that cannot be made accessible, it is too late to recover here\")",
                suggestion=f"call `{_hook(ctx)}(folio)` once PG_writeback is set, as __folio_start_writeback() does")


def _bypass(ctx, where, name, confidence=None):
    return ctx.finding(
        where, f"{name}() sets PG_writeback directly: writeback must start through folio_start_writeback() / "
               "set_page_writeback(), whose __folio_start_writeback() accounts it and makes the folio "
               f"accessible for the I/O ({_hook(ctx)}())",
        suggestion="use folio_start_writeback(folio) (or folio_start_writeback_keepwrite())", confidence=confidence)


def _writeback_lines(ctx):
    if ctx.function.path.endswith("mm/page-writeback.c"):
        return
    for line, text in ctx.changed_line_texts():
        code = gup.code_part(text).replace(" (", "(")
        name = next((n for n in sorted(RAW_WRITEBACK) if f"{n}(" in code and f"_{n}(" not in code), None)
        if name:
            yield _bypass(ctx, line, name, confidence="low")


# --- 3. DMA into FOLL_GET pages -----------------------------------------------------------------

def _dma_with_get(ctx):
    refs = [r for r in gup.acquisitions(ctx.node) if r.mode == "get" and r.api in gup.GET_ACQUIRE]
    if not refs:
        return
    sinks = DMA_SINKS | (DRIVER_SINKS if ctx.function.path.startswith("drivers/") else frozenset())
    for sink in gup.calls_in(ctx.node):
        if gup.call_name(sink) not in sinks:
            continue
        for arg in gup.arguments(sink):
            ref = next((r for r in refs if r.key == gup.key_of(arg) and r.pos < sink.start_byte), None)
            if ref is not None:
                where = ref.node if ctx.touches_change(ref.node) else sink
                yield ctx.finding(
                    where, f"`{ref.key}` comes from {ref.api}() (FOLL_GET) and goes to {gup.call_name(sink)}() "
                           f"(line {sink.start_point[0] + 1}) for I/O: DMA to user memory must pin the pages "
                           "(FOLL_PIN), which is what makes them accessible to the device "
                           f"({_hook(ctx)}()) and visible as DMA-pinned to fork and COW",
                    suggestion=f"take them with {_pin_for(ref.api)} and release them with unpin_user_pages() / "
                               "unpin_user_pages_dirty_lock()")
                break


def _pin_for(api):
    if api.startswith("iov_iter_get_pages"):
        return "iov_iter_extract_pages() (it pins user-backed iterators)"
    return api.replace("get_user_pages", "pin_user_pages") + "()"


# --- 4. the hook needs a stable folio -----------------------------------------------------------

def _hook_without_ref(ctx):
    if ctx.function.name in HOOKS:
        return  # the hook's own definition (the generic folio loop over arch_make_page_accessible())
    for call in gup.calls_in(ctx.node):
        graph = cfg_of(call) if gup.call_name(call) in HOOKS else None
        if graph is not None and not graph.called_before(call, HELD):  # on some path no ref or lock first
            yield ctx.finding(
                call, f"{gup.call_name(call)}() on a folio this function holds no reference or lock on: the hook "
                      "is \"to be called with the folio locked or with an extra reference\", or the folio can be "
                      "freed and reused while it is converted",
                suggestion="take a reference first (`if (!folio_try_get(folio)) return;` … `folio_put(folio);`) "
                           "or call it with the folio locked")
