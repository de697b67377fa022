"""Entry kinds as rules need them: what an if-arm tests, and what a dispatch chain covers.

Built on reviewkit.code.registry (kinds and predicates derived from the tree).
"""
from __future__ import annotations

from dataclasses import dataclass
import tree_sitter

from ...code import memo
from ...code import registry as reg_mod
from ...code.cfg import cfg_of
from .chains import Arm, Chain, chains

SAFE_DEFAULT = ("WARN", "pr_alert", "pr_err", "print_bad_pte", "VM_FAULT_SIGBUS", "BUG")
PFN_FAMILIES = frozenset({"migration", "device_private", "device_exclusive", "hwpoison"})


def universe(reg):
    return reg_mod._universe_of(reg)  # the registry's own set algebra (marker bits, pseudo-kinds)


def atoms(reg, kinds) -> frozenset:
    return universe(reg).expand(kinds)


def all_kinds(reg) -> frozenset:
    """Every kind atom of the tree: SWP_* types and marker bits (not SWAPFILE/NONE/PRESENT)."""
    return universe(reg).special


def family(reg, kind: str) -> str:
    return reg_mod._atom_family(kind, universe(reg))


def arm_kinds(reg, arm: Arm) -> frozenset:
    """Kinds an arm's condition selects. `!non_swap_entry(e)` selects genuine swap; a test that
    selects every special kind un-negated (`non_swap_entry(e)`) is a guard, not a kind."""
    special = all_kinds(reg)
    out: set = set()
    for name in arm.calls:
        if name in reg.helpers or name not in reg.predicates:
            continue
        ks = atoms(reg, reg.predicates[name])
        if name in arm.negated:
            if special <= ks:
                out.add(reg_mod.SWAPFILE)
            continue  # "not this kind" selects no kind in particular
        if special <= ks:
            continue  # a guard around the real chain
        out |= ks - {reg_mod.NONE, reg_mod.PRESENT}
    return frozenset(out)


@dataclass(frozen=True)
class Dispatch:
    chain: Chain
    covered: frozenset
    default: str              # safe | unknown | implicit | none | filter

    @property
    def head_line(self) -> int:
        return self.chain.head.start_point[0] + 1


#: families of device memory (ZONE_DEVICE pages): never a hugetlb folio, so hugetlb code never sees them
NOT_IN_HUGETLB = frozenset({"device_private", "device_exclusive", "device_coherent"})


def _default(chain: Chain) -> str:
    """What a kind no arm names meets: the final else (safe | unknown), nothing because every arm
    leaves and so does the code after the chain (filter), the code after it (implicit), or the end
    of the function (none)."""
    d = chain.default
    if d is not None:
        text = d.body.text.decode("utf-8", "replace")
        return "safe" if any(s in text for s in SAFE_DEFAULT) else "unknown"
    g = cfg_of(chain.head)
    if g is None:
        return "implicit"
    nxt = g.after_chain(chain.head)
    if nxt is not None and (nxt.type in _LOOPS or g.is_jump(nxt)):
        return "filter"   # the chain sits where the code leaves next (`continue`, the next iteration)
    if all(not g.falls_out(a.body) for a in chain.arms):
        return "filter"
    return "implicit" if nxt is not None else "none"


_LOOPS = ("while_statement", "for_statement", "do_statement")


def hugetlb_site(path: str, function: str) -> bool:
    """Code that handles only hugetlb entries (mm/hugetlb.c, hugetlb_* / *_hugetlb_* functions)."""
    return path.endswith("/hugetlb.c") or "hugetlb" in function


def dispatches(reg, node: tree_sitter.Node) -> list[Dispatch]:
    """The chains of a function that branch on at least two kinds, with what they cover."""
    if not any(name in reg.predicates and name not in reg.helpers for _call, name in memo.named_calls(node)):
        return []  # no arm can test a kind: the function calls no kind predicate at all
    out = []
    for chain in chains(node):
        per_arm = [arm_kinds(reg, a) for a in chain.arms]
        if sum(1 for k in per_arm if k) < 2:
            continue
        covered = frozenset().union(*per_arm)
        out.append(Dispatch(chain, covered, _default(chain)))
    return out
