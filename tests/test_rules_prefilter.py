"""No loss from the rule shortcuts: the full pack finds (and resolves) the same with the Rule.needs
pre-filter and the shared per-node work (reviewkit.code.memo) on and off, on real series and
stable fixes with real trees, and on real lore threads without one; the shared answers are the
ones each rule computed for itself before."""
from __future__ import annotations

import dataclasses
import json
from collections import Counter

import pytest

from reviewkit import cli
from reviewkit.code import cfg, cparse, memo
from reviewkit.rules import Rule, loader
from reviewkit.rules.context import query
from reviewkit.rules.lib import gup

from .test_rules_cfg import _bug_back


def _counting(monkeypatch) -> Counter:
    """Count each rule's check() calls (the CLI loads the rules itself)."""
    calls: Counter = Counter()
    load_file = loader.load_file

    def counted(path):
        rule = load_file(path)

        def check(ctx, _check=rule.check, _id=rule.id):
            calls[_id] += 1
            return _check(ctx)
        return dataclasses.replace(rule, check=check)
    monkeypatch.setattr(loader, "load_file", counted)
    return calls


def _lint(tmp_path, monkeypatch, name: str, args: list, shortcuts: bool) -> tuple[dict, Counter]:
    if shortcuts:
        monkeypatch.delenv("REVIEWKIT_NO_PREFILTER", raising=False)
    else:
        monkeypatch.setenv("REVIEWKIT_NO_PREFILTER", "1")
    calls = _counting(monkeypatch)
    out = tmp_path / f"{name}-{shortcuts}.json"
    assert cli.main(["lint", *args, "--no-checkpatch", "--filter", "all", "--format", "json", "-o", str(out),
                     "--fail-on", "never", "--allow-unapplied"]) == 0
    data = json.loads(out.read_text())
    return {k: data[k] for k in ("findings", "resolved", "waived", "errors", "patches")}, calls


def _same_both_ways(tmp_path, monkeypatch, name, args) -> dict:
    plain, ran_plain = _lint(tmp_path, monkeypatch, name, args, shortcuts=False)
    fast, ran_fast = _lint(tmp_path, monkeypatch, name, args, shortcuts=True)
    assert fast == plain
    function_rules = [r for r in loader.load_rules() if r.meta.scope == "function"]
    assert all(r.meta.needs for r in function_rules)  # every built-in function rule names its trigger
    plain_runs = sum(ran_plain[r.id] for r in function_rules)
    fast_runs = sum(ran_fast[r.id] for r in function_rules)
    assert plain_runs and fast_runs < plain_runs  # the pre-filter did skip work
    return plain


@pytest.mark.parametrize("series", ["series-a", "series-b"])
def test_mm_series_same_with_and_without_the_shortcuts(series, corpus, linux_6_1, tmp_path, monkeypatch):
    _same_both_ways(tmp_path, monkeypatch, series, [str(corpus / "mm-patches-6.1" / series), "--tree",
                                                     str(linux_6_1)])


def test_stable_fixes_same_with_and_without_the_shortcuts(corpus, linux_6_12, tmp_path, monkeypatch):
    """Every stable-queue mm fix reversed (the bug brought back into the fixed 6.12 tree: findings),
    then the same fixes forward (already in the tree: read from their hunks)."""
    originals = sorted((corpus / "stable-mm-6.12" / "patches").glob("*.patch"))
    folder = tmp_path / "reversed"
    folder.mkdir()
    for path in originals:
        (folder / path.name).write_text(_bug_back(corpus, path.name))
    tree = ["--tree", str(linux_6_12)]
    found = _same_both_ways(tmp_path, monkeypatch, "reversed", [*map(str, sorted(folder.iterdir())), *tree])
    assert len(found["patches"]) == len(originals)
    assert len({f["rule"] for f in found["findings"]}) >= 8
    _same_both_ways(tmp_path, monkeypatch, "forward", [*map(str, originals), *tree])


def test_lore_threads_same_with_and_without_the_shortcuts(corpus, tmp_path, monkeypatch):
    """Real review threads without a tree: functions read from the hunks, findings resolved by
    removals (FOLL_FORCE dropped: the trigger is only on the before side)."""
    found = _same_both_ways(tmp_path, monkeypatch, "lore",
                            [str(p) for p in sorted((corpus / "lore-threads").rglob("*.mbox"))])
    assert found["findings"] and {"mm/foll-force-scope", "mm/gup-pin-release-pairing"} <= \
        {f["rule"] for f in found["resolved"]}


# --- the shared answers are the ones the rules computed themselves ----------------------------------

def _walk_calls(node) -> list:
    """The walk gup.calls_in() did before the calls were shared."""
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        if n.type == "call_expression":
            out.append(n)
        stack.extend(reversed(n.children))
    out.sort(key=lambda n: n.start_byte)
    return out


def _walk_assignments(fn_node) -> list:
    """The walk gup.assignments() did before (its order decides which alias a variable takes first)."""
    out, stack = [], [fn_node]
    while stack:
        n = stack.pop()
        op = n.child_by_field_name("operator") if n.type == "assignment_expression" else None
        if op is not None and op.type == "=":
            left, right = n.child_by_field_name("left"), n.child_by_field_name("right")
            if left is not None and right is not None and left.type in ("identifier", "field_expression"):
                out.append((gup.key_of(left), right, n.start_byte))
        elif n.type == "init_declarator" and n.child_by_field_name("value") is not None:
            out.append((gup.declarator_name(n.child_by_field_name("declarator")), n.child_by_field_name("value"),
                        n.start_byte))
        stack.extend(n.children)
    return [a for a in out if a[0]]


def test_shared_calls_and_assignments_equal_a_walk_on_real_mm_code(linux_6_1):
    """Every function of three real mm files (some with parse errors), and every statement and
    condition in them: the same calls, in the same order, as a walk of the tree finds."""
    broken = 0
    for path in ("mm/gup.c", "mm/memory.c", "mm/vmscan.c"):
        pf = cparse.parse_source(path, (linux_6_1 / path).read_bytes())
        nodes = 0
        for fn in pf.functions:
            if fn.node is None:
                continue
            broken += fn.health < 1
            assert gup.assignments(fn.node) == _walk_assignments(fn.node)
            stack = [fn.node]
            while stack:  # the function and every statement and condition in it
                n = stack.pop()
                if n == fn.node or n.type.endswith("_statement") or n.type == "parenthesized_expression":
                    nodes += 1
                    assert gup.calls_in(n) == _walk_calls(n)
                    named = [c for c in _walk_calls(n) if c.child_by_field_name("function").type == "identifier"]
                    assert [c for c, _name in memo.named_calls(n)] == named
                stack.extend(n.named_children)
        assert nodes > 1000
    assert broken  # functions tree-sitter could not parse cleanly are among them


def test_graph_nodes_see_the_calls_a_walk_of_their_statement_finds(linux_6_1):
    """Path queries read each graph node's calls from the function's list of calls (by byte range):
    the same as walking the node's statement or condition, on every function of mm/memory.c."""
    def walked(graph, i):
        nd = graph.nodes[i]
        if nd.ast is None or nd.kind in ("assume", "case", "config", "join", "label", "branch"):
            return set()
        out, stack = set(), [nd.ast]
        while stack:
            n = stack.pop()
            if n.type == "call_expression" and cfg._callee(n):
                out.add((cfg._callee(n), n.start_byte, n.end_byte))
            stack.extend(n.named_children)
        return out
    pf = cparse.parse_source("mm/memory.c", (linux_6_1 / "mm/memory.c").read_bytes())
    seen = 0
    for fn in pf.functions:
        if fn.node is not None and fn.node.type == "function_definition":
            graph = cfg.function_cfg(fn.node)
            for i in range(len(graph.nodes)):
                assert set(graph._calls_at(i)) == walked(graph, i)
                seen += bool(graph._calls_at(i))
    assert seen > 1000


def test_shared_answers_cannot_be_changed_by_a_caller(linux_6_1):
    pf = cparse.parse_source("mm/gup.c", (linux_6_1 / "mm/gup.c").read_bytes())
    fn = next(f for f in pf.functions if f.name == "follow_page_pte")
    first = gup.calls_in(fn.node)
    first.clear()
    assert gup.calls_in(fn.node)
    pattern = "(return_statement) @r"
    memo.captures(fn.node, query(pattern), pattern)["r"].clear()
    assert memo.captures(fn.node, query(pattern), pattern)["r"]


def test_needs_are_names_not_a_string():
    with pytest.raises(ValueError):
        Rule(id="x/y", severity="note", scope="function", summary="s", needs="pte_offset_map")
    rule = Rule(id="x/y", severity="note", scope="function", summary="s", needs={"b", "a", "a"})
    assert rule.needs == ("a", "b")
