"""A 64-bit offset is not masked with `~(size - 1)` computed in a narrower type.

**What it checks.** `x & ~(y - 1)` (and `x &= ~(y - 1)`, `~y`) where `x` is a
64-bit quantity (`loff_t`, `u64`, `s64`, `sector_t`, `long long`, or a cast to
one) and every variable in the mask is declared narrower on some architecture:
`size_t`, `unsigned long`, `pgoff_t` (32 bits on 32-bit kernels) or `int`,
`unsigned int`, `u32` (32 bits everywhere). A cast of the mask to a 64-bit type
(`~((u64)bsz - 1)`), or `round_down()` / `ALIGN_DOWN()`, is fine. Types come
from the function's own declarations and parameters; names it does not declare
(macros, globals, fields, calls' results) are left alone.

**Why.** `~` is computed in the mask's own type and then zero-extended to 64
bits: every bit above 31 of the offset is cleared. On a 32-bit kernel
`folio_seek_hole_data()` rounded `loff_t start` with `~(bsz - 1)` where `bsz`
is a `size_t`: offsets past 4 GiB wrapped back and SEEK_DATA looped forever on
xfs (stable 6.12.11 "filemap: avoid truncating 64-bit offset to 32 bits").
64-bit test machines never see it.

**Example.**

    /* bad */
    size_t bsz = i_blocksize(inode);
    start = (start + bsz) & ~(bsz - 1);          /* start is a loff_t */

    /* good */
    start = (start + bsz) & ~((u64)bsz - 1);
    start = round_down(start + bsz, bsz);

**How to fix.** Widen the mask (`(u64)`), or use `round_down()` /
`ALIGN_DOWN()`, which compute in the type of the value.
"""
from reviewkit.rules import Rule
from reviewkit.rules.lib import pte as P

RULE = Rule(id="mm/narrow-mask-on-64bit", severity="warning", scope="function",
            summary="a 64-bit offset masked with ~(size - 1) of a narrower type loses its high bits",
            needs=("~",))

WIDE = frozenset({"loff_t", "u64", "s64", "__u64", "__s64", "uint64_t", "int64_t", "sector_t", "blkcnt_t",
                  "long long", "unsigned long long"})
NARROW = frozenset({"int", "unsigned int", "unsigned", "u32", "s32", "__u32", "uint32_t", "unsigned short", "u16",
                    "u8", "unsigned char", "size_t", "ssize_t", "unsigned long", "long", "pgoff_t"})
_DECLS = "[(declaration) (parameter_declaration)] @d"


def _types(ctx):
    """name -> declared type text, from the function's declarations and parameters."""
    out = {}
    for d in ctx.captures(_DECLS).get("d", []):
        kind = " ".join(P.text(d.child_by_field_name("type")).split())
        for decl in d.children_by_field_name("declarator"):
            if decl.type == "init_declarator":
                decl = decl.child_by_field_name("declarator")
            if decl is not None and decl.type == "identifier":
                out[P.text(decl)] = kind
    return out


def _width(node, types):
    """'wide' if the expression involves a 64-bit variable or cast, 'narrow' if every variable in
    it is narrow, None when unknown (no variables, or one the function does not declare)."""
    nodes = list(_outside_calls(node))
    casts = [" ".join(P.text(c.child_by_field_name("type")).split()) for c in nodes if c.type == "cast_expression"]
    if any(t in WIDE for t in casts):
        return "wide"
    names = [P.text(n) for n in nodes if n.type == "identifier"]
    kinds = [types.get(n) for n in names]
    if any(k in WIDE for k in kinds):
        return "wide"
    return "narrow" if kinds and all(k in NARROW for k in kinds) else None


def _outside_calls(node):
    """The expression's nodes, not looking into calls (their result type is not known here)."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        if n.type != "call_expression":
            stack.extend(n.children)


def check(ctx):
    if ctx.node is None:
        return
    types = _types(ctx)
    for op in ctx.captures("[(binary_expression) (assignment_expression)] @e").get("e", []):
        operator = P.text(op.child_by_field_name("operator"))
        if operator not in ("&", "&="):
            continue
        value, mask = op.child_by_field_name("left"), op.child_by_field_name("right")
        mask = P.unwrap(mask)
        if mask.type != "unary_expression" or not P.text(mask).lstrip().startswith("~"):
            continue
        if _width(value, types) == "wide" and _width(mask, types) == "narrow":
            yield ctx.finding(op, f"`{P.text(value)}` is 64-bit but the mask `{P.text(mask)}` is computed in a "
                              "narrower type: zero-extended, it clears the offset's high bits (on 32-bit kernels "
                              "at least)", suggestion="widen the mask (`~((u64)size - 1)`) or use round_down()")
