"""Patch hygiene on real mail shapes: trailer blocks with folded maintainer notes, area prefixes the
tree names, and checkpatch's commit-id checks only where the tree can answer them."""
from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pygit2
import pytest

from reviewkit.code.analysis import analyse
from reviewkit.model import Errors
from reviewkit.pipeline import parse_inputs
from reviewkit.rules import checkpatch as cp
from reviewkit.rules.engine import lint
from reviewkit.rules.loader import load_rules
from reviewkit.trailers import parse_log_trailers

PATCH_RULES = Path(__file__).resolve().parents[1] / "rules" / "patch"

# Our own text, in the shapes akpm's and the stable queue's commits have.
FOLDED = """\
Fix the thing.

[ada@example.org: v2]
  Link: https://lkml.kernel.org/r/20250101000000.1-1-ada@example.org
[grace@example.org fix whitespace, per everyone]
Link: https://lkml.kernel.org/r/20241231000000.1-1-ada@example.org
Fixes: 0123456789ab ("mm: an older change")
Signed-off-by: Ada Lovelace <ada@example.org>
Cc: <stable@vger.kernel.org>
Signed-off-by: Andrew Morton <akpm@linux-foundation.org>
[ grace: resolved a conflict caused by the difference in
  demo_move() arguments ]
Signed-off-by: Grace Hopper <grace@example.org>
"""

BACKPORT_NOTE = """\
Fix the other thing.

[1] https://lore.kernel.org/linux-mm/20250101000000.1-1-ada@example.org/
Link: https://lkml.kernel.org/r/20250101000000.1-2-ada@example.org
Signed-off-by: Ada Lovelace <ada@example.org>
Signed-off-by: Andrew Morton <akpm@linux-foundation.org>

[ grace: dropped the series' cover letter comments ]
Signed-off-by: Grace Hopper <grace@example.org>
"""


def _sobs(log: str) -> list:
    return [t.person.email for t in parse_log_trailers(log) if t.key == "Signed-off-by"]


def test_folded_notes_and_their_indented_links_keep_the_trailer_block():
    assert _sobs(FOLDED) == ["ada@example.org", "akpm@linux-foundation.org", "grace@example.org"]
    trailers = parse_log_trailers(FOLDED)
    # the note's own Link: is the note's, not a trailer of the commit
    assert [t.value for t in trailers if t.key == "Link"] == [
        "https://lkml.kernel.org/r/20241231000000.1-1-ada@example.org"]
    assert all("grace:" not in t.value for t in trailers)


def test_a_backporter_note_after_a_blank_line_keeps_the_authors_block():
    assert _sobs(BACKPORT_NOTE) == ["ada@example.org", "akpm@linux-foundation.org", "grace@example.org"]


def test_prose_above_the_trailers_is_still_prose():
    assert _sobs("Fix it.\n\n[ this paragraph is prose in brackets ]\nand goes on.\n") == []


def _patch_rules(inputs: list, tree=None) -> list:
    parsed = parse_inputs(inputs)
    rules = load_rules([], parsed.errors, select=["patch/"])
    return lint(parsed, analyse(parsed, tree), rules, parsed.errors).active


def test_no_hygiene_noise_on_the_real_stable_fixes(corpus, linux_6_12):
    """69 merged 6.12.y mm fixes: sign-offs after folded notes, `mm/shmem, swap: `, `userfaultfd: `,
    `filemap: ` are all fine."""
    found = _patch_rules([str(corpus / "stable-mm-6.12" / "patches")], str(linux_6_12))
    assert [(f.rule, f.message) for f in found if f.severity in ("error", "warning")] == []


def test_real_folded_note_shapes_parse(corpus):
    patches = corpus / "stable-mm-6.12" / "patches"
    shapes = {"mm-fix-finish_fault-handling-for-large-folios": "bgeffon@google.com",   # [..: ..] + indented Link:
              "mm-khugepaged-fix-the-address-passed-to-notifier-on-testing-young": "richard.weiyang@gmail.com",
              "mm-shmem-avoid-unpaired-folio_unlock-in-shmem_swapin_folio": "shikemeng@huaweicloud.com"}
    for stem, author in shapes.items():
        (path,) = [p for p in patches.iterdir() if stem in p.name]
        parsed = parse_inputs([str(path)])
        (patch,) = parsed.patches.values()
        assert author in [t.person.email for t in patch.trailers if t.key == "Signed-off-by"], path.name


def test_area_prefixes_come_from_the_tree(linux_6_12, tmp_path):
    """`vma: ` for mm/vma_internal.h is neither `mm/...`, a touched path's name nor in the hand list:
    MAINTAINERS' "VMA" section covers the file."""
    mail = tmp_path / "vma.patch"
    mail.write_text((PATCH_RULES / "subject-prefix.path-area.good.patch").read_text()
                    .replace("migrate: keep", "vma: keep").replace("mm/migrate.c", "mm/vma_internal.h"))
    assert [f.rule for f in _patch_rules([str(mail)])] == ["patch/subject-prefix"]   # no tree: not known
    assert [f.rule for f in _patch_rules([str(mail)], str(linux_6_12))] == []


def _repo_with(tmp_path, message: str):
    repo = pygit2.init_repository(str(tmp_path / "repo"))
    sig = pygit2.Signature("Ada", "ada@example.org")
    tree = repo.TreeBuilder().write()
    return repo, repo.create_commit("HEAD", sig, sig, message, tree, [])


def test_commit_ids_are_checked_only_where_the_tree_can_answer(tmp_path):
    from reviewkit.source.trees import DirTree, GitTree
    repo, known = _repo_with(tmp_path, "mm: an older change\n")
    parsed = parse_inputs([str(PATCH_RULES / "fixes-format.good.patch")])
    (patch,) = parsed.patches.values()
    assert patch.trailers and cp.referenced_commits(patch)
    git = GitTree(repo, repo[known], "HEAD")
    assert not cp.can_answer_commit_ids(git, patch)            # a repository without that history
    assert not cp.can_answer_commit_ids(DirTree(str(tmp_path)), patch)
    assert "UNKNOWN_COMMIT_ID" in cp.command(str(tmp_path), False)
    assert "UNKNOWN_COMMIT_ID" not in cp.command(str(tmp_path), True)
    fixes = next(t for t in patch.trailers if t.key == "Fixes")
    mine = replace(patch, trailers=(replace(fixes, value=f"{str(known)[:12]} (\"mm: an older change\")"),),
                   log=f"Fixes: {str(known)[:12]} (\"mm: an older change\")\n")
    assert cp.can_answer_commit_ids(git, mine)                 # every id it names is there


@pytest.mark.skipif(shutil.which("perl") is None, reason="perl is not installed")
def test_register_dumps_and_stable_markers_are_no_commit_references(corpus, linux_6_12):
    """Without .git checkpatch takes any long hex word for a commit id (125 GIT_COMMIT_ID errors over the
    69 stable fixes, on `commit X upstream.` lines and register dumps); a real `commit <id>` in prose
    without its subject is still reported."""
    if not (linux_6_12 / cp.SCRIPT).is_file():
        pytest.skip("the 6.12 tree has no scripts/checkpatch.pl")
    patches = corpus / "stable-mm-6.12" / "patches"
    picked = [p for p in sorted(patches.iterdir()) if any(s in p.name for s in (
        "memory-failure-update-ttu-flag", "fix-race-of-userfaultfd_move-and-swap-cache",
        "use-aligned-address-in-clear_gigantic_page"))]
    assert len(picked) == 3
    parsed = parse_inputs([str(p) for p in picked])
    found = cp.checkpatch_findings(parsed, analyse(parsed, str(linux_6_12), errors=Errors()), Errors())
    ids = [f.snippet for f in found if f.rule == "checkpatch/git_commit_id"]
    assert ids == [s for s in ids if "commit c50f8e6053b0" in s] and len(ids) == 1
