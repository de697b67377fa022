"""Entry kinds as rules need them: what an if-arm tests, and what a dispatch chain covers.

Built on reviewkit.code.registry (kinds and predicates derived from the tree).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import tree_sitter

from ...code import registry as reg_mod
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


_JUMPS = ("return_statement", "continue_statement", "goto_statement", "break_statement")


def _ends_flow(body: tree_sitter.Node) -> bool:
    """Does the arm leave (return/continue/goto/break) rather than fall through?"""
    last = body
    if body.type == "compound_statement":
        stmts = [c for c in body.named_children if c.type != "comment"]
        if not stmts:
            return False
        last = stmts[-1]
    return last.type in _JUMPS


def _default(chain: Chain, source: Optional[bytes]) -> str:
    d = chain.default
    if d is not None:
        text = d.body.text.decode("utf-8", "replace")
        return "safe" if any(s in text for s in SAFE_DEFAULT) else "unknown"
    if all(_ends_flow(a.body) for a in chain.arms):
        return "filter"
    nxt = chain.head.next_named_sibling
    while nxt is not None and nxt.type == "comment":
        nxt = nxt.next_named_sibling
    return "implicit" if nxt is not None else "none"


def dispatches(reg, node: tree_sitter.Node) -> list[Dispatch]:
    """The chains of a function that branch on at least two kinds, with what they cover."""
    out = []
    for chain in chains(node):
        per_arm = [arm_kinds(reg, a) for a in chain.arms]
        if sum(1 for k in per_arm if k) < 2:
            continue
        covered = frozenset().union(*per_arm)
        out.append(Dispatch(chain, covered, _default(chain, None)))
    return out
