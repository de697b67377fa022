"""Apply status as data: every patch says how it applied, in the lint data all renderers read."""
from __future__ import annotations

import json

from reviewkit.cli import main
from reviewkit.pipeline import parse_inputs
from reviewkit.rules.context import patch_lines


def _lint_json(capsys, *args) -> dict:
    main(["lint", *args, "--format", "json", "--no-checkpatch", "--fail-on", "never"])
    return json.loads(capsys.readouterr().out)


def test_each_patch_says_how_it_applied(fixtures, capsys):
    data = _lint_json(capsys, str(fixtures / "tree-patches"), "--tree", str(fixtures / "tree"))
    got = {p["counter"]: p["apply"] for p in data["patches"].values()}
    assert [got[n]["status"] for n in (1, 2, 3)] == ["offset", "fuzz", "partial"]
    assert got[3]["hunks"] == 3
    (failed,) = got[3]["failed_hunks"]
    assert failed["file"] == "mm/demo_swap.c" and failed["hunk"] == 1
    assert failed["reason"].startswith("context not found")
    assert got[3]["summary"] == "partly applied: 1 of 3 hunks failed in mm/demo_swap.c"
    assert got[2]["placements"][0] == {"file": "mm/demo_swap.c", "hunk": 1, "status": "fuzz", "offset": 0,
                                       "fuzz": 1, "line": 25}
    assert got[1]["base"]["tree"] == "dir"


def test_without_a_tree_every_patch_is_no_tree(fixtures, capsys):
    data = _lint_json(capsys, str(fixtures / "tree-patches"))
    assert {p["apply"]["status"] for p in data["patches"].values()} == {"no-tree"}


def test_nothing_is_drawn_from_half_applied_code(fixtures, capsys):
    """Patch 1's first hunk adds the pte_present() branch that flushes; on this tree it does not apply,
    so the pte_clear() its second hunk adds looks like an unflushed present-pte clear. The function is
    read from the hunks alone instead, and the patch says so."""
    data = _lint_json(capsys, str(fixtures / "partial-series"), "--tree", str(fixtures / "partial-tree"))
    by_counter = {p["counter"]: p["apply"] for p in data["patches"].values()}
    assert [by_counter[n]["status"] for n in (1, 2, 3)] == ["partial", "offset", "failed"]
    assert not [f for f in data["findings"] if f["severity"] in ("error", "warning")]
    first = by_counter[1]["analysis"]
    assert first["hunk_only_functions"][0]["function"] == "demo_zap_pte"
    assert first["tree_rules"] == "skipped" and "read from the hunks alone" in first["note"]
    assert data["stats"]["coverage"]["by_status"] == {"failed": 1, "offset": 1, "partial": 1}
    assert any("not a git repository: base 5eed" in n for n in data["tree"]["notes"])


def test_the_same_series_on_its_own_base_is_analysed_whole(fixtures, capsys, tmp_path):
    """On the tree it was written for (the fixture tree with the two lines it expects) every patch applies
    and every function is read from the tree: the fallback is not a blanket."""
    src = (fixtures / "partial-tree" / "mm" / "demo_zap.c").read_text()
    base = src.replace("\tpte = ptep_get(ptep);\n\n\tif (pte_none(pte))\n",
                       "\tpte = ptep_get_lockless(ptep);\n\n\tif (pte_none(pte) || pte_special(pte))\n")
    base = base.replace("return mm->demo_zaps;", "return READ_ONCE(mm->demo_zaps);")
    assert base != src
    (tmp_path / "mm").mkdir()
    (tmp_path / "mm" / "demo_zap.c").write_text(base)
    data = _lint_json(capsys, str(fixtures / "partial-series"), "--tree", str(tmp_path))
    applies = [p["apply"] for p in data["patches"].values()]
    assert {a["status"] for a in applies} == {"applied"}
    assert all(not a["analysis"]["hunk_only_functions"] and a["analysis"]["tree_rules"] == "ran" for a in applies)


def test_findings_carry_the_patch_line(fixtures, capsys, tmp_path):
    """On a tree where mm/memory.c has three more lines at the top, the example series applies 3 lines
    lower than its headers say: each finding keeps the tree line and gives the line the diff shows."""
    import shutil
    shutil.copytree(fixtures / "example" / "tree", tmp_path / "tree")
    memory = tmp_path / "tree" / "mm" / "memory.c"
    memory.write_text("// one\n// two\n// three\n" + memory.read_text())
    series = str(fixtures / "example" / "device-exclusive-series.mbox")
    plain = _lint_json(capsys, series, "--tree", str(fixtures / "example" / "tree"))
    moved = _lint_json(capsys, series, "--tree", str(tmp_path / "tree"))
    assert "offset" in {p["apply"]["status"] for p in moved["patches"].values()}
    in_patch = [f for f in plain["findings"] if f["patch_line"] is not None]
    assert in_patch and all(f["patch_line"] == f["line"] for f in in_patch)
    shifted = {(f["rule"], f["patch_line"]): f["line"] for f in moved["findings"] if f["patch_line"] is not None}
    assert shifted == {(f["rule"], f["line"]): f["line"] + 3 for f in in_patch}


def test_every_output_says_how_each_patch_applied(fixtures, capsys, tmp_path):
    args = [str(fixtures / "partial-series"), "--tree", str(fixtures / "partial-tree"), "--no-checkpatch"]
    assert main(["lint", *args]) == 4          # nothing found, but not everything could be analysed
    text = capsys.readouterr().out
    assert "1/3 mm/demo_zap: clear present ptes in demo_zap_pte(): partly applied: 1 of 2 hunks failed" in text
    assert "3/3 mm/demo_zap: mark the racy read in demo_zap_stats(): not applied" in text
    assert "tree: fixtures/partial-tree is not a git repository: base 5eed" in text.replace(str(fixtures.parent) + "/", "")
    assert "1 patch that did not apply: 4 patch-hygiene rules" in text
    assert main(["lint", *args, "--allow-unapplied"]) == 0
    capsys.readouterr()
    assert main(["lint", *args, "--format", "markdown"]) == 4
    md = capsys.readouterr().out
    assert "**3 of 3 patches not analysed whole**" in md and "**partly applied: 1 of 2 hunks failed" in md
    page = tmp_path / "r.html"
    assert main(["report", *args, "-o", str(page)]) == 4
    html = page.read_text()
    assert html.count('class="badge apply-partial') >= 2 and 'did not apply</span>' in html
    assert '<span class="ok">clean</span>' not in html


def test_findings_still_decide_exit_1(fixtures, capsys):
    """The example series applies whole and has errors: 1, as before; on a tree where it does not apply
    at all and its findings come from the hunks alone, the findings still decide."""
    series = str(fixtures / "example" / "device-exclusive-series.mbox")
    assert main(["lint", series, "--tree", str(fixtures / "example" / "tree"), "--no-checkpatch"]) == 1
    assert main(["lint", series, "--tree", str(fixtures / "partial-tree"), "--no-checkpatch",
                 "--fail-on", "never"]) == 4


def test_real_series_that_partly_fail_on_6_1(corpus, linux_6_1, capsys):
    """Real series on Debian's 6.1: series-a's patch 18 fails in 2 of its 3 hunks (6.1.192 changed the top
    of lru_gen_look_around()), patch 02 is already there; the 2021 device-exclusive v11 series partly
    applies. Every patch says how it applied, and nothing at warning or above comes from mm rules on
    code that is not the patch's own added lines (before: a BUG_ON() 6.1 itself has, in a try_to_migrate() the tree
    already had, was a warning on patch 04)."""
    series_a = _lint_json(capsys, str(corpus / "mm-patches-6.1" / "series-a"), "--tree", str(linux_6_1))
    by_counter = {p["counter"]: p["apply"] for p in series_a["patches"].values()}
    assert len(by_counter) == 19 and all(a["status"] for a in by_counter.values())
    assert by_counter[2]["status"] == "already-applied"
    assert by_counter[18]["status"] == "partial" and len(by_counter[18]["failed_hunks"]) == 2
    assert {h["file"] for h in by_counter[18]["failed_hunks"]} == {"mm/vmscan.c"}
    assert "lru_gen_look_around" in by_counter[18]["analysis"]["note"]
    assert by_counter[19]["analysis"]["tree_rules"] == "skipped"
    assert not [f for f in series_a["findings"] if f["rule"].startswith(("mm/", "patch/"))]

    thread = corpus / "lore-threads" / "device-exclusive-series" / "device-exclusive-v11.mbox"
    data = _lint_json(capsys, str(thread), "--tree", str(linux_6_1))
    statuses = {p["apply"]["status"] for p in data["patches"].values()}
    assert "partial" in statuses and statuses <= {"partial", "failed", "already-applied", "applied",
                                                  "offset", "fuzz"}
    # What mm rules still say at warning or above is on lines the patch itself adds: v11 04/10 writes the
    # new try_to_migrate_one() with pte_pfn(*pvmw.pte) though the walk can stop at a device-private entry
    # (6.1 has the fix: it takes the subpage of a ZONE_DEVICE folio without pte_pfn()), a true finding.
    parsed = parse_inputs([str(thread)])
    for f in data["findings"]:
        if f["rule"].startswith("mm/") and f["severity"] != "note":
            added = patch_lines(parsed.patches[f["patch"]], "+")
            assert " ".join(f["snippet"].split()) in added, f


# A hunk for patch 2 of the example series in zap_nonpresent_pte(), written against a line the tree does
# not have: it cannot apply, and what the series leaves in that function is unknown.
ZAP_HUNK = """\
@@ -54,2 +67,2 @@ static void zap_nonpresent_pte(struct mm_struct *mm, pte_t *ptep, int *rss)
-	} else if (is_device_private_entry(entry) || is_hmm_entry(entry)) {
+	} else if (unlikely(is_device_private_entry(entry))) {
 		struct page *page = pfn_swap_entry_to_page(entry);
"""


def test_tree_rules_say_nothing_about_code_a_failed_hunk_changes(fixtures, capsys, tmp_path):
    """Patch 1 adds an entry kind; the tree rule flags the dispatch sites that do not handle it. When a
    hunk of the series in zap_nonpresent_pte() does not apply, the tree's zap_nonpresent_pte() is not what
    the series leaves there: the function is now one the series touches (read from its hunks), so the
    rule leaves it to the series (main flagged it); do_swap_page_demo()'s finding stays."""
    text = (fixtures / "example" / "device-exclusive-series.mbox").read_text()
    end = "\t}\n \tset_pte_at(dst_mm, addr, dst_pte, pte);\n \treturn 0;\n"
    assert text.count(end) == 1
    mbox = tmp_path / "series.mbox"
    mbox.write_text(text.replace(end, end + ZAP_HUNK))
    tree = str(fixtures / "example" / "tree")
    plain = _lint_json(capsys, str(fixtures / "example" / "device-exclusive-series.mbox"), "--tree", tree)
    data = _lint_json(capsys, str(mbox), "--tree", tree)
    kinds = "mm/swp-entry-kind-exhaustive"
    assert {f["function"] for f in plain["findings"] if f["rule"] == kinds} == {"zap_nonpresent_pte",
                                                                                "do_swap_page_demo"}
    assert {f["function"] for f in data["findings"] if f["rule"] == kinds} == {"do_swap_page_demo"}
    first, second = (p["apply"] for p in data["patches"].values())
    assert first["status"] == "applied" and first["analysis"]["tree_rules"] == "ran"
    assert second["status"] == "partial" and second["analysis"]["tree_rules"] == "skipped"


def test_the_report_places_a_finding_by_the_patch_s_own_line(fixtures):
    """A patch applied 10 lines further down the tree: the finding's tree line is 10 more than the diff
    shows, and the HTML report puts it under the diff line the patch numbers (patch_line)."""
    from reviewkit.render.report_data import _place
    parsed = parse_inputs([str(fixtures / "example" / "device-exclusive-series.mbox")])
    patch = next(p for p in parsed.patches.values() if p.subject.counter == 2)
    fd = next(fd for fd in patch.files if fd.new_path == "mm/memory.c")
    target = next(ln for h in fd.hunks for ln in h.lines if ln.kind == "+")
    finding = {"path": "mm/memory.c", "line": target.new_line + 10, "patch_line": target.new_line,
               "end_line": target.new_line + 10, "severity": "error", "side": "after"}
    at = _place(patch, [(0, finding)], "findings")["at"]
    ((fi, hi, li),) = at
    assert patch.files[fi].hunks[hi].lines[li] is target


def test_the_analysis_note_names_a_nameless_fragment_in_words():
    """A failed hunk whose function header is not in the hunk is a fragment without a name: the note
    says so instead of printing '()' (seen on a real 6.12 stable fix against the 6.1 tree)."""
    from reviewkit.render.lint_data import _analysis_note
    note = _analysis_note({"hunk_only_functions": [{"path": "mm/vmscan.c", "function": "", "why": "x"},
                                                   {"path": "mm/vmscan.c", "function": "shrink_folio_list", "why": "x"}],
                           "tree_rules": "ran", "dropped": 0})
    assert note.startswith("code whose function the hunk does not show, shrink_folio_list() read from the hunks alone")
    assert "()," not in note and not note.startswith("()")
