"""checkpatch.pl integration: its output parsed, its lines mapped to the diff, the real script run."""
from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from reviewkit.code.analysis import analyse
from reviewkit.model import Errors
from reviewkit.pipeline import parse_inputs
from reviewkit.rules import checkpatch as cp

RULES = Path(__file__).resolve().parents[1] / "rules"
needs_perl = pytest.mark.skipif(shutil.which("perl") is None, reason="perl is not installed")

# Modelled on real `--terse --show-types` output (6.1's checkpatch on mm patches), with the lines
# a run may print besides the reports.
OUTPUT = """\
-:26: WARNING:AVOID_BUG: Do not crash the kernel unless it is absolutely unavoidable--use WARN_ON_ONCE() plus recovery code (if feasible) instead of BUG() or variants
-:49: WARNING:COMMIT_LOG_LONG_LINE: Possible unwrapped commit description (prefer a maximum 75 chars per line)
-:24: ERROR:GERRIT_CHANGE_ID: Remove Gerrit Change-Id's before submitting upstream
-:71: CHECK:PARENTHESIS_ALIGNMENT: Alignment should match open parenthesis
-:22: ERROR:MISSING_SIGN_OFF: Missing Signed-off-by: line(s)
#26: FILE: mm/demo_rmap.c:13:
total: 1 errors, 1 warnings, 0 checks, 21 lines checked

NOTE: For some of the reported defects, checkpatch may be able to
"""


def test_parse_output_reads_report_lines_only():
    reports = cp.parse_output(OUTPUT)
    assert [(r.line, r.level, r.type) for r in reports] == [
        (26, "WARNING", "AVOID_BUG"), (49, "WARNING", "COMMIT_LOG_LONG_LINE"), (24, "ERROR", "GERRIT_CHANGE_ID"),
        (71, "CHECK", "PARENTHESIS_ALIGNMENT"), (22, "ERROR", "MISSING_SIGN_OFF")]
    assert reports[4].message == "Missing Signed-off-by: line(s)"  # colons in the message survive
    assert cp.parse_output("/tmp/x.patch:7: WARNING:SPACING: space prohibited\n")[0].line == 7


MAIL = """\
From: Ada <ada@example.org>
Subject: [PATCH] mm/demo: demo

Why.
---
diff --git a/mm/demo.c b/mm/demo.c
--- a/mm/demo.c
+++ b/mm/demo.c
@@ -10,4 +20,4 @@ static int demo(void)
 {
-	int x = 0;
+	int x = 1;

 	return x;
@@ -30,0 +40,1 @@
+int y;
\\ No newline at end of file
diff --git a/mm/gone.c b/mm/gone.c
deleted file mode 100644
--- a/mm/gone.c
+++ /dev/null
@@ -1 +0,0 @@
-int gone;
-- 
2.39.2
"""


def test_diff_positions_map_mail_lines_to_image_lines():
    pos = cp.diff_positions(MAIL.split("\n"))
    at = {n: (p.path, p.hunk, p.line, p.side, p.text) for n, p in pos.items()}
    assert 4 not in at  # the commit message is not in the diff
    assert at[8] == ("mm/demo.c", 0, None, "after", "+++ b/mm/demo.c")
    assert at[10] == ("mm/demo.c", 1, 20, "after", "{")
    assert at[11] == ("mm/demo.c", 1, 11, "before", "\tint x = 0;")
    assert at[12] == ("mm/demo.c", 1, 21, "after", "\tint x = 1;")
    assert at[13][:4] == ("mm/demo.c", 1, 22, "after")  # an empty context line (its space stripped)
    assert at[16] == ("mm/demo.c", 2, 40, "after", "int y;")
    assert at[23] == ("mm/gone.c", 1, 1, "before", "int gone;")  # deleted file: the old path
    assert 24 not in at and 25 not in at  # the signature after the last hunk


def test_hunk_shifts_follow_where_the_series_applied(tmp_path):
    """Hunk headers 5 lines off from a tree: findings land on the tree's lines."""
    (tmp_path / "tree" / "mm").mkdir(parents=True)
    body = [f"int line{i};" for i in range(1, 41)]
    (tmp_path / "tree" / "mm" / "demo.c").write_text("\n".join(body) + "\n")
    patch = tmp_path / "p.patch"
    patch.write_text(textwrap.dedent("""\
        From: Ada <ada@example.org>
        Subject: [PATCH] mm/demo: demo
        Message-Id: <shift@example.org>

        Why, at length enough.

        Signed-off-by: Ada <ada@example.org>
        ---
        diff --git a/mm/demo.c b/mm/demo.c
        --- a/mm/demo.c
        +++ b/mm/demo.c
        @@ -5,3 +5,4 @@
         int line10;
        +int added_a;
         int line11;
         int line12;
        @@ -25,3 +26,3 @@
         int line30;
        -int line31;
        +int added_b;
         int line32;
        """))
    parsed = parse_inputs([str(patch)])
    analysis = analyse(parsed, str(tmp_path / "tree"))
    msg = parsed.patches["<shift@example.org>"].message
    text, _ = cp.mail_text(msg)
    shifts = cp.hunk_shifts(analysis.images["<shift@example.org>"])
    after = analysis.images["<shift@example.org>"].files[0].after.split("\n")
    before = analysis.images["<shift@example.org>"].files[0].before.split("\n")
    moved = {p.text: cp._moved(p, shifts) + (p.side,)
             for p in cp.diff_positions(text.split("\n")).values() if p.line is not None}
    assert moved["int added_a;"] == (11, "high", "after") and after[10] == "int added_a;"
    assert moved["int added_b;"] == (32, "high", "after") and after[31] == "int added_b;"
    assert moved["int line31;"] == (31, "high", "before") and before[30] == "int line31;"


# Stands in for checkpatch.pl. Like the real one, it reports the whole-patch checks at the last
# line it looked at, which may be a line of the diff.
FAKE = """\
for my $f (grep { /\\.patch$/ } @ARGV) {
    open(my $in, '<', $f) or die;
    my ($n, $last) = (0, 0);
    while (<$in>) {
        $n++;
        if (/^\\+\\tx\\+\\+;/) { print "$f:$n: WARNING:TEST_PLUS: an added x++\\n"; $last = $n; }
        print "$f:$n: CHECK:TEST_SUBJECT: about the subject\\n" if /^Subject:/;
    }
    print "$f:$last: ERROR:MISSING_SIGN_OFF: Missing Signed-off-by: line(s)\\n";
}
exit 1;
"""


def _fake_tree(tmp_path: Path, script: str) -> Path:
    tree = tmp_path / "tree"
    (tree / "scripts").mkdir(parents=True)
    (tree / "scripts" / "checkpatch.pl").write_text(script)
    return tree


@needs_perl
def test_findings_from_a_stand_in_script(tmp_path):
    tree = _fake_tree(tmp_path, FAKE)
    fixture = RULES / "patch" / "subject-prefix.good.patch"
    parsed = parse_inputs([str(fixture)])
    analysis = analyse(parsed, str(tree))
    errors = Errors()
    found = cp.checkpatch_findings(parsed, analysis, errors)
    by_rule = {f.rule: f for f in found}
    assert not errors
    plus = {f.path: f for f in found if f.rule == "checkpatch/test_plus"}
    assert sorted(plus) == ["include/linux/mm.h", "mm/gup.c"]  # both files' added lines
    assert (plus["mm/gup.c"].severity, plus["mm/gup.c"].line, plus["mm/gup.c"].snippet) == ("warning", 12, "\tx++;")
    assert by_rule["checkpatch/test_subject"].severity == "note"
    assert by_rule["checkpatch/test_subject"].path is None
    sob = by_rule["checkpatch/missing_sign_off"]
    assert (sob.severity, sob.path, sob.line) == ("error", None, None)  # about the whole patch
    # A rule of ours that covers a checkpatch type takes its place.
    again = cp.checkpatch_findings(parsed, analysis, Errors(), rules=["patch/signed-off-by"])
    assert "checkpatch/missing_sign_off" not in {f.rule for f in again}


@needs_perl
def test_a_failing_or_slow_run_is_an_error_and_the_rest_goes_on(tmp_path):
    tree = _fake_tree(tmp_path, 'print "Must be run from the top-level dir. of a kernel tree\\n"; exit 2;\n')
    parsed = parse_inputs([str(RULES / "patch" / "subject-prefix.good.patch")])
    errors = Errors()
    assert cp.checkpatch_findings(parsed, analyse(parsed, str(tree)), errors) == []
    assert "exited with 2: Must be run from the top-level dir" in errors[0].message
    slow = _fake_tree(tmp_path / "slow", "sleep 10;\n")
    errors = Errors()
    assert cp.checkpatch_findings(parsed, analyse(parsed, str(slow)), errors, timeout=0.5) == []
    assert "did not finish" in errors[0].message


def test_no_script_no_run(tmp_path):
    parsed = parse_inputs([str(RULES / "patch" / "subject-prefix.good.patch")])
    errors = Errors()
    assert cp.checkpatch_findings(parsed, analyse(parsed, str(tmp_path)), errors) == []
    assert cp.checkpatch_findings(parsed, analyse(parsed, None), errors) == []
    assert not errors


OFFSET_PATCH = """\
From: Ada Lovelace <ada@example.org>
Subject: [PATCH] mm/swap_state: print the swap cache hits
Date: Mon, 06 Mar 2023 10:00:00 +0000
Message-Id: <checkpatch-offset@example.org>

Print the number of swap cache hits with the other swap cache numbers,
so that an OOM report shows whether swap-ins were served from memory.

---
diff --git a/mm/swap_state.c b/mm/swap_state.c
--- a/mm/swap_state.c
+++ b/mm/swap_state.c
@@ -60,6 +60,7 @@ static const struct address_space_operations swap_aops = {
 void show_swap_cache_info(void)
 {
 \tprintk("%lu pages in swap cache\\n", total_swapcache_pages());
+\tprintk("Swap cache hits = %lu\\n", 0UL);
 \tprintk("Free swap  = %ldkB\\n",
 \t\tget_nr_swap_pages() << (PAGE_SHIFT - 10));
 \tprintk("Total swap = %lukB\\n", total_swap_pages << (PAGE_SHIFT - 10));
-- 
2.39.2
"""


@needs_perl
def test_real_checkpatch_on_a_patch_that_applies_with_an_offset(linux_6_1, tmp_path):
    """6.1's show_swap_cache_info() starts at line 64, the hunk says 60: the finding is on line 67."""
    if not (linux_6_1 / cp.SCRIPT).is_file():
        pytest.skip("the 6.1 tree has no scripts/checkpatch.pl")
    patch = tmp_path / "offset.patch"
    patch.write_text(OFFSET_PATCH)
    parsed = parse_inputs([str(patch)])
    errors = Errors()
    analysis = analyse(parsed, str(linux_6_1), errors=errors)
    found = {f.rule: f for f in cp.checkpatch_findings(parsed, analysis, errors)}
    assert not errors
    printk = found["checkpatch/printk_without_kern_level"]
    assert (printk.severity, printk.path, printk.line, printk.function) == (
        "warning", "mm/swap_state.c", 67, "show_swap_cache_info")
    assert analysis.images["<checkpatch-offset@example.org>"].files[0].after.split("\n")[66] == \
        '\tprintk("Swap cache hits = %lu\\n", 0UL);'
    sob = found["checkpatch/missing_sign_off"]
    assert (sob.severity, sob.path, sob.line) == ("error", None, None)


@needs_perl
def test_real_checkpatch_agrees_with_fixes_format_on_its_bad_fixture(linux_6_1):
    if not (linux_6_1 / cp.SCRIPT).is_file():
        pytest.skip("the 6.1 tree has no scripts/checkpatch.pl")
    parsed = parse_inputs([str(RULES / "patch" / "fixes-format.bad.patch")])
    errors = Errors()  # the fixture's made-up hunk does not apply to 6.1: that is the analysis' business
    found = cp.checkpatch_findings(parsed, analyse(parsed, str(linux_6_1), errors=Errors()), errors)
    bad_fixes = [f for f in found if f.rule == "checkpatch/bad_fixes_tag"]
    assert not errors
    assert len(bad_fixes) == 2 and all(f.path is None and f.line is None for f in bad_fixes)
    assert bad_fixes[0].snippet.startswith("Fixes: e4dde56cd20 ")  # the commit-message line itself
    assert "checkpatch/unknown_commit_id" not in {f.rule for f in found}  # no .git: ids cannot be looked up


@needs_perl
def test_a_run_that_fails_after_checkpatch_started_leaves_no_process_or_files(tmp_path, monkeypatch, capsys):
    """lint starts checkpatch before loading the rules; a usage error found then stops it."""
    import glob
    import tempfile

    from reviewkit.cli import main
    tree = _fake_tree(tmp_path, "sleep 30;\n")
    (tree / "mm").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    started = []
    real = cp.start
    monkeypatch.setattr(cp, "start", lambda *a, **k: started.append(real(*a, **k)) or started[-1])
    code = main(["lint", "--tree", str(tree), "--select", "no/such-rule",
                 str(RULES / "patch" / "subject-prefix.good.patch")])
    assert code == 2 and "matches no rule" in capsys.readouterr().err
    (running,) = started
    assert all(run.proc.poll() is not None for _, _, _, run in running.runs)  # killed, not left sleeping
    assert glob.glob(str(tmp_path / "tmp" / "reviewkit-checkpatch-*")) == []
