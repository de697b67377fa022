"""A page-table walk whose changes are finished after the loop must not return from inside it.

**What it checks.** Some walkers finish what their loop did in one call after
the loop: `arch_sync_kernel_mappings()` propagates the kernel page-table
levels the loop modified (the `PGTBL_*_MODIFIED` mask) to other page tables,
and `arch_leave_lazy_mmu_mode()` ends the batch `arch_enter_lazy_mmu_mode()`
opened. A `return` inside such a loop (after the lazy-mmu batch started)
leaves without that call: the rule reports the `return`; an error must
`break` out of the loop (or `goto` the finishing code) instead.

**Why.** The loop may already have changed page tables in earlier iterations
when the error is met; skipping the sync leaves other CPUs' / processes'
kernel page tables (x86-32 PAE, arm64 vmalloc) without the new levels, and
skipping the lazy-mmu leave leaves pte updates queued (Xen PV, powerpc hash)
and the mode on. Linux 6.12.19 fixed exactly this in `__apply_to_page_range()`
and `vmap_small_pages_range_noflush()` ("mm: don't skip
arch_sync_kernel_mappings() in error paths").

**Example.**

    /* bad */
    do {
            next = pgd_addr_end(addr, end);
            err = vmap_pages_p4d_range(pgd, addr, next, prot, pages, &nr, &mask);
            if (err)
                    return err;
    } while (pgd++, addr = next, addr != end);
    if (mask & ARCH_PAGE_TABLE_SYNC_MASK)
            arch_sync_kernel_mappings(start, end);

    /* good */
            if (err)
                    break;
    ...
    return err;

**How to fix.** `break` with the error kept in a variable, let the code after
the loop finish the batch, and return the error there.
"""
from reviewkit.code.cfg import cfg_of
from reviewkit.rules import Rule


# the call that finishes the loop's changes -> the call that started the batch (None: the loop itself)
FINISH = {"arch_sync_kernel_mappings": None, "arch_leave_lazy_mmu_mode": "arch_enter_lazy_mmu_mode"}


RULE = Rule(id="mm/pgtable-batch-finished-on-exit", severity="warning", scope="function",
            summary="no return from a page-table loop whose changes are synced/flushed after it (break instead)",
            needs=FINISH)


def check(ctx):
    if ctx.node is None or not ctx.whole:
        return
    g = cfg_of(ctx.node)
    returns = ctx.captures("(return_statement) @r").get("r", [])
    for fin in ctx.calls(names=FINISH):
        starts = ctx.calls(names=[FINISH[ctx.call_name(fin)]]) if FINISH[ctx.call_name(fin)] else None
        for ret in returns:
            loop = next((lp for lp in g.loops_around(ret) if g.reaches_from_start(lp, fin)), None)
            if loop is None or (starts is not None and not any(g.reaches(s, ret) for s in starts)):
                continue
            yield ctx.finding(ret, f"this return leaves the page-table loop without "
                              f"{ctx.call_name(fin)}() (line {ctx.lines(fin)[0]}): what earlier iterations "
                              "changed is never finished", suggestion="break out of the loop with the error kept, "
                              "and return it after the finishing call")
