"""tree-sitter-c on kernel code: normalisation, functions, FunctionChanges, the cached index."""
from __future__ import annotations

import collections
import json
import shutil
import subprocess
import sys

import pytest

from reviewkit.code.analysis import analyse
from reviewkit.code.cparse import parse_source
from reviewkit.code.index import ParseCache, build_index
from reviewkit.code.normalize import normalize
from reviewkit.pipeline import parse_inputs
from reviewkit.source.trees import DirTree


def test_normalize_keeps_offsets_and_lines(fixtures):
    src = (fixtures / "tree" / "mm" / "demo_swap.c").read_bytes()
    out = normalize(src)
    assert len(out) == len(src)
    assert [i for i, c in enumerate(out) if c == 10] == [i for i, c in enumerate(src) if c == 10]
    text = out.decode()
    assert "__read_mostly" not in text and "__must_check" not in text and "__must_hold" not in text
    assert "while              (item, head, node) {" in text
    assert "long            demo_ctl(" in text
    assert "#ifdef CONFIG_DEMO_DEBUG" in text  # preprocessor lines untouched


def test_functions_of_a_kernel_styled_file(fixtures):
    pf = parse_source("mm/demo_swap.c", (fixtures / "tree" / "mm" / "demo_swap.c").read_bytes())
    got = [(f.name, f.kind, f.start_line, f.end_line, f.health) for f in pf.functions]
    assert got == [
        ("demo_copy_entry", "function", 12, 31, 1.0),
        ("demo_walk", "function", 33, 44, 1.0),
        ("demo_account", "function", 46, 50, 1.0),
        ("demo_ctl", "function", 52, 57, 1.0),
        ("DEMO_CLAMP", "macro", 59, 60, 1.0),
        ("demo_clamp_user", "function", 62, 69, 1.0),
    ]
    assert pf.function_at(20).name == "demo_copy_entry" and pf.function_at(11) is None


def test_parse_health_drops_on_broken_code():
    src = b"static int ok(void)\n{\n\treturn 0;\n}\n\nstatic int broken(void)\n{\n\tif (x {\n\t\ty = ;\n\t}\n\treturn 1;\n}\n"
    pf = parse_source("x.c", src)
    health = {f.name: f.health for f in pf.functions}
    assert health["ok"] == 1.0
    assert health.get("broken", 0.0) < 1.0


def test_function_changes_on_the_fixture_series(fixtures):
    parsed = parse_inputs([str(fixtures / "tree-patches")])
    analysis = analyse(parsed, str(fixtures / "tree"))
    got = [(f.patch, f.path, f.name, f.kind, f.status, f.before_lines, f.after_lines)
           for mid in analysis.changes for f in analysis.functions(mid)]
    assert got == [
        ("<tree-1@example.org>", "mm/demo_swap.c", "demo_walk", "function", "modified", (33, 44), (33, 46)),
        ("<tree-2@example.org>", "mm/demo_swap.c", "demo_copy_entry", "function", "modified", (12, 31), (12, 33)),
        ("<tree-2@example.org>", "mm/demo_swap.c", "demo_reset", "function", "added", None, (63, 66)),
        ("<tree-2@example.org>", "include/linux/demo.h", "demo_item_clear", "function", "added", None, (20, 23)),
        ("<tree-3@example.org>", "mm/demo_swap.c", "DEMO_CLAMP", "macro", "modified", (68, 69), (62, 63)),
        ("<tree-3@example.org>", "mm/demo_swap.c", "demo_account", "function", "removed", (50, 54), None),
    ]
    walk = analysis.functions("<tree-1@example.org>")[0]
    assert walk.added_lines == frozenset({40, 41}) and walk.parse_health == 1.0  # applied 2 lines down


def test_no_tree_names_functions_from_the_hunks(fixtures):
    parsed = parse_inputs([str(fixtures / "tree-patches")])
    analysis = analyse(parsed, None)
    assert any("hunks alone" in n for n in analysis.notes)
    got = {(f.patch, f.name, f.status, f.source) for mid in analysis.changes for f in analysis.functions(mid)}
    # a whole new function is visible in its hunk; others are named by the hunk header
    assert ("<tree-2@example.org>", "demo_reset", "added", "hunks") in got
    assert ("<tree-1@example.org>", "demo_walk", "modified", "hunks") in got
    assert ("<tree-2@example.org>", "demo_copy_entry", "modified", "hunks") in got
    assert ("<tree-3@example.org>", "demo_account", "removed", "hunks") in got


def test_parse_tree_json(fixtures):
    r = subprocess.run([sys.executable, "-m", "reviewkit", "parse", str(fixtures / "tree-patches"), "--tree",
                        str(fixtures / "tree"), "--format", "json"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    f = data["functions"][0]
    assert {"patch", "path", "function", "status", "before", "after", "parse_health"} <= set(f)
    assert (f["function"], f["status"], f["before"], f["after"]) == ("demo_walk", "modified", [33, 44], [33, 46])
    assert [a["status"] for a in data["apply"]] == ["applied", "applied", "partial"]
    assert any("does not apply" in e["message"] for e in data["errors"])


def test_index_cache_reparses_nothing_the_second_time(fixtures, tmp_path):
    tree = DirTree(str(fixtures / "tree"))
    cache = ParseCache(str(tmp_path / "cache.sqlite"))
    first = build_index(tree, folders=("mm", "include/linux"), cache=cache, workers=1)
    assert first.stats["parsed"] == 2 and first.stats["cached"] == 0
    second = build_index(tree, folders=("mm", "include/linux"), cache=cache, workers=1)
    assert second.stats["parsed"] == 0 and second.stats["cached"] == 2
    assert second.files == first.files
    assert "pte_to_swp_entry" in second.callees("demo_copy_entry")
    assert [f.name for f in second.callers("swap_duplicate")] == ["demo_copy_entry"]
    # a changed file is parsed again, the other is not
    shutil.copytree(fixtures / "tree", tmp_path / "t")
    p = tmp_path / "t" / "include" / "linux" / "demo.h"
    p.write_text(p.read_text().replace("count * 2", "count * 3"))
    third = build_index(DirTree(str(tmp_path / "t")), folders=("mm", "include/linux"), cache=cache, workers=1)
    assert (third.stats["parsed"], third.stats["cached"]) == (1, 1)


# --- a real tree: every function Universal Ctags finds, with the same extent -------------

def _ctags(files):
    out = subprocess.run(["ctags", "--output-format=json", "--fields=+ne", "--kinds-C=f", "-o", "-", *files],
                         capture_output=True, text=True, check=True).stdout
    tags = collections.defaultdict(list)
    for line in out.splitlines():
        d = json.loads(line)
        if d.get("_type") == "tag":
            tags[d["path"]].append((d["name"], d["line"], d.get("end")))
    return tags


@pytest.mark.parametrize("pattern", ["mm/*.c", "include/linux/*.h"])
def test_functions_match_ctags(linux_6_1, pattern):
    if not shutil.which("ctags"):
        pytest.skip("Universal Ctags is not installed (.ci/run installs universal-ctags)")
    files = sorted(str(p) for p in linux_6_1.glob(pattern))
    tags = _ctags(files)
    total, mismatched = 0, []
    for path in files:
        src = open(path, "rb").read()
        lines = src.split(b"\n")
        funcs = parse_source(path, src).functions
        for name, line, end in tags[path]:
            text = lines[line - 1].decode("utf-8", "replace")
            if name.isupper() or name.endswith("initcall") or name.startswith("__") and "(" not in text.split(name, 1)[1][:2]:
                # ctags' reading of a macro invocation (BTREE_FN(...), subsys_initcall(...), a
                # SYSCALL_DEFINEn header): not a C function definition, except syscalls below
                if not name.startswith(("SYSCALL_DEFINE", "COMPAT_SYSCALL_DEFINE")):
                    continue
                name = text.split("(", 1)[1].split(",")[0].split(")")[0].strip()
            total += 1
            if not any(f.name == name and f.start_line <= line <= f.end_line and f.end_line == end for f in funcs):
                mismatched.append((path, name, line, end))
    assert total > 4000
    # every function found with its exact extent, but for a handful of known misses
    # (macro-generated bodies ctags credits to an ordinary name, e.g. inet_diag_msg_attrs_size)
    assert len(mismatched) <= 3, [m[1:] for m in mismatched]


def test_hunk_parses_are_capped_per_file(tmp_path):
    """Beyond MAX_PARSED_HUNKS hunks in one file, hunk sides are read as text (no fragment):
    padding each parse with its real line numbers would make a huge patch quadratic."""
    from reviewkit.code.changes import MAX_PARSED_HUNKS
    hunks = "".join(f"@@ -{10 * i + 1},2 +{10 * i + 1},3 @@ int f{i}(void)\n a{i}\n+\tx{i}++;\n b{i}\n"
                    for i in range(MAX_PARSED_HUNKS + 5))
    (tmp_path / "p.patch").write_text(
        "From: A <a@example.org>\nSubject: [PATCH] mm: many\nMessage-Id: <many@x>\n\nWhy.\n\n"
        "Signed-off-by: A <a@example.org>\n---\ndiff --git a/mm/m.c b/mm/m.c\n--- a/mm/m.c\n+++ b/mm/m.c\n"
        + hunks)
    parsed = parse_inputs([str(tmp_path / "p.patch")])
    changes = analyse(parsed, None).functions("<many@x>")
    assert len(changes) == MAX_PARSED_HUNKS + 5
    assert all(c.after is not None for c in changes[:MAX_PARSED_HUNKS])
    assert all(c.after is None for c in changes[MAX_PARSED_HUNKS:])
