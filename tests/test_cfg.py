"""The control-flow layer (reviewkit.code.cfg) on small functions written like kernel code, and on
real 6.12 functions when the tree is in .cache/kernels."""
from __future__ import annotations

from pathlib import Path

import pytest

from reviewkit.code.cfg import cfg_of, function_cfg
from reviewkit.code.cparse import parse_source
from reviewkit.rules.lib import pte as P

ROOT = Path(__file__).resolve().parents[1]
K612 = ROOT / ".cache/kernels/linux-source-6.12"
needs_612 = pytest.mark.skipif(not (K612 / "mm/memory.c").is_file(), reason="no 6.12 tree in .cache/kernels")

SRC = """
static int demo(pte_t *ptep, struct mm_struct *mm, unsigned long addr, int n, int k)
{
	pte_t ptent = ptep_get(ptep);
	int i;

	if (pte_present(ptent)) {
		present_work();
	} else {
		pte_clear(mm, addr, ptep);
	}
	if (!pte_present(ptent))
		return 0;
	after_exit();
	for (i = 0; i < n; i++) {
		if (x && pte_none(ptent)) {
			none_work();
			continue;
		} else if (is_migration_entry(e)) {
			migration_work();
		}
		tail_work();
	}
	list_for_each_entry(v, head, list) {
		if (unlikely(!v))
			break;
		iter_work();
	}
	switch (k) {
	case 1:
		case_one();
	case 2:
		case_two();
		break;
	default:
		case_default();
	}
#ifdef CONFIG_X
	config_on();
#else
	config_off();
#endif
	lock();
	if (k == 3)
		goto out;
	middle();
out:
	unlock();
	BUG();
	dead();
}
"""


@pytest.fixture(scope="module")
def demo():
    fn = parse_source("mm/demo.c", SRC.encode()).functions[0]
    return fn.node, function_cfg(fn.node)


def call(fn_node, name):
    return P.calls(fn_node, {name})[0]


def test_else_arm_and_early_exit_are_guarded_by_the_negated_test(demo):
    fn, g = demo
    assert g.guarded_by(call(fn, "pte_clear"), "pte_present", var="ptent") is False
    assert g.guarded_by(call(fn, "present_work"), "pte_present", var="ptent") is True
    # after `if (!pte_present(ptent)) return 0;` the pte is known present
    assert g.guarded_by(call(fn, "after_exit"), "pte_present", var="ptent") is True
    assert g.guarded_by(call(fn, "after_exit"), "pte_present", var="other") is None
    assert g.guarded_by(call(fn, "pte_clear"), "pte_none") is None


def test_short_circuit_conditions_split_into_atoms(demo):
    fn, g = demo
    guards = [(x.call or x.subject or x.text, x.value) for x in g.guards(call(fn, "none_work"))]
    assert guards[:3] == [("pte_none", True), ("x", True), ("i < n", True)]
    # the else-if arm knows only that the whole && was false: neither atom on its own
    mig = g.guards(call(fn, "migration_work"))
    assert [x.call for x in mig][:1] == ["is_migration_entry"]
    assert not any(x.call == "pte_none" or x.subject == "x" for x in mig)
    # `unlikely(!v)` is the atom v, false
    brk = g.guards(P.calls(fn, {"iter_work"})[0])
    assert ("v", True) in [(x.subject, x.value) for x in brk]


def test_early_exits_and_fall_through(demo):
    fn, g = demo
    chain = call(fn, "none_work").parent.parent.parent  # the if of the for body
    assert chain.type == "if_statement"
    assert not g.falls_out(chain.child_by_field_name("consequence"))  # ends in continue
    assert g.exits_before(chain.child_by_field_name("consequence"), call(fn, "tail_work"))
    assert g.reaches(call(fn, "migration_work"), call(fn, "tail_work"))
    assert not g.reaches(call(fn, "tail_work"), call(fn, "none_work"))  # only through the back edge
    assert g.after_chain(chain).text.decode() == "tail_work();"
    # a chain with a continue-arm last in a loop body goes on with the next iteration
    assert g.loops_around(call(fn, "iter_work"))[0].type == "while_statement"


def test_switch_cases_fall_through_and_break(demo):
    fn, g = demo
    assert g.reaches(call(fn, "case_one"), call(fn, "case_two"))
    assert not g.reaches(call(fn, "case_two"), call(fn, "case_default"))
    assert [(x.kind, x.value) for x in g.guards(call(fn, "case_one"))][:1] == [("case", "1")]
    assert not any(x.kind == "case" for x in g.guards(call(fn, "case_two")))  # also reached from case 1
    assert g.guards(call(fn, "config_on"))[0].kind == "config"  # #ifdef with #else: either arm
    assert not g.same_path(call(fn, "config_on"), call(fn, "config_off"))


def test_calls_on_every_path_and_unreachable_code(demo):
    fn, g = demo
    # goto out skips middle(): unlock is reached without it
    assert g.reaches(call(fn, "lock"), call(fn, "unlock"), avoiding={"middle"})
    assert not g.on_every_path(call(fn, "lock"), call(fn, "unlock"), {"middle"})
    assert g.on_every_path(call(fn, "after_exit"), call(fn, "lock"), {"config_on", "config_off"})
    assert not g.reachable(call(fn, "dead"))  # after BUG()
    assert g.is_jump(call(fn, "BUG"))


def test_goto_retry_is_a_back_edge():
    fn = parse_source("mm/t.c", b"""int f(void) {
retry:
	a();
	if (busy())
		goto retry;
	b();
	return 0;
}""").functions[0]
    g = cfg_of(P.calls(fn.node, {"a"})[0])
    a, b = P.calls(fn.node, {"a"})[0], P.calls(fn.node, {"b"})[0]
    assert g.reaches(a, b) and not g.reaches(b, a)
    assert g.guarded_by(b, "busy") is False


@needs_612
def test_real_zap_pte_range_guards():
    """6.12 zap_present_ptes() runs only for present ptes: in zap_pte_range its call sits after
    `if (pte_none(ptent)) continue;` and under `if (pte_present(ptent))`."""
    pf = parse_source("mm/memory.c", (K612 / "mm/memory.c").read_bytes())
    fn = next(f for f in pf.functions if f.name == "zap_pte_range")
    g = function_cfg(fn.node)
    zap = P.calls(fn.node, {"zap_present_ptes"})[0]
    assert g.guarded_by(zap, "pte_present", var="ptent") is True
    assert g.guarded_by(zap, "pte_none", var="ptent") is False
    nonpresent = P.calls(fn.node, {"clear_not_present_full_ptes"})[0]
    assert g.guarded_by(nonpresent, "pte_present", var="ptent") is False
    unlock = P.calls(fn.node, {"pte_unmap_unlock"})[0]
    assert g.reaches(zap, unlock)


@needs_612
def test_every_6_12_mm_function_builds():
    """The layer handles every function of 6.12 mm/*.c (no exception, entry dominates all it reaches)."""
    count = 0
    for path in sorted((K612 / "mm").glob("*.c")):
        for fn in parse_source(str(path), path.read_bytes()).functions:
            if fn.node is None or fn.kind != "function":
                continue
            g = function_cfg(fn.node)
            assert g._idom[g.entry] == g.entry
            count += 1
    assert count > 3000
