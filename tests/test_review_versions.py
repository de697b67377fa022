"""Versions (reviewkit.review.versions): linking, patch matching, interdiff, changelogs."""
from __future__ import annotations

from functools import lru_cache

from reviewkit.pipeline import parse_inputs
from reviewkit.review import summarize
from reviewkit.review.versions import changelog

from tests.conftest import FIXTURES

REVIEW = FIXTURES / "review"


@lru_cache(maxsize=None)
def _summary():
    return summarize(parse_inputs([str(REVIEW / "ksm-merge-fail-v2.mbox"), str(REVIEW / "ksm-merge-fail-v1.mbox")]))


def test_versions_linked_in_order_whatever_the_input_order():
    s = _summary()
    (h,) = s.histories
    assert [s.series[i].version for i in h.series] == [1, 2]
    v1, v2 = (s.series[i] for i in h.series)
    assert v1.next == v2.index and v2.previous.previous == v1.index
    assert "subject" in v2.previous.how and "patch-titles" in v2.previous.how


def test_patches_matched_and_interdiff():
    s = _summary()
    v2 = next(x for x in s.series if x.version == 2)
    p1, p2 = v2.patches
    assert p1.link.how == "title" and p1.link.previous_counter == 1 and not p1.link.identical
    files = {f.path: f for f in p1.link.files}
    assert files["mm/ksm.c"].status == "changed" and files["mm/ksm.c"].functions == ("try_to_merge_one_page",)
    lines = files["mm/ksm.c"].lines
    # range-diff style: outer sign is the interdiff, inner the patch
    assert "-+\t\tksm_merge_fail[KSM_FAIL_NOT_ANON]++;" in lines
    assert "++\t\tatomic_long_inc(&ksm_merge_fail[KSM_FAIL_NOT_ANON]);" in lines
    assert (files["mm/ksm.c"].added, files["mm/ksm.c"].removed) == (3, 3)
    abi = {f.path: f for f in p2.link.files}["Documentation/ABI/testing/sysfs-kernel-mm-ksm"]
    assert abi.status == "added"


def test_rfc_and_v1_of_the_same_version_are_linked(tmp_path):
    rfc = (REVIEW / "ksm-merge-fail-v1.mbox").read_text().replace("[PATCH ", "[PATCH RFC ")
    final = (REVIEW / "ksm-merge-fail-v2.mbox").read_text().replace("[PATCH v2 ", "[PATCH ").replace(
        "2023-04-20", "2023-04-20")
    (tmp_path / "rfc.mbox").write_text(rfc)
    (tmp_path / "v1.mbox").write_text(final)
    s = summarize(parse_inputs([str(tmp_path / "v1.mbox"), str(tmp_path / "rfc.mbox")]))
    (h,) = s.histories
    first, second = (s.series[i] for i in h.series)
    assert (first.rfc, first.version, second.rfc, second.version) == (True, 1, False, 1)
    assert second.previous.previous == first.index


def _renamed_v2(tmp_path, diff_edit=lambda t: t):
    """v1's cover and patches (not its replies) posted again as v2 under other titles."""
    v1 = (REVIEW / "ksm-merge-fail-v1.mbox").read_text()
    posted = v1[: v1.index("From mboxrd@z Thu Jan  1 00:00:00 1970\nFrom: kernel test robot")]
    other = posted.replace("[PATCH ", "[PATCH v2 ").replace("20230410080000.2000", "20230510080000.9000").replace(
        "Apr 2023", "May 2023").replace("count why pages fail to merge", "teach ksmd to sleep").replace(
        "track why try_to_merge_one_page() fails", "sleep less").replace(
        "expose merge failure counters in sysfs", "sleep more")
    path = tmp_path / "other.mbox"
    path.write_text(diff_edit(other))
    return summarize(parse_inputs([str(REVIEW / "ksm-merge-fail-v1.mbox"), str(path)]))


def test_same_diffs_under_new_titles_are_linked_by_patch_id(tmp_path):
    s = _renamed_v2(tmp_path)
    (h,) = s.histories
    v2 = s.series[h.series[1]]
    assert v2.previous.how == ("patch-id",)
    assert all(p.link.how == "patch-id" and p.link.identical for p in v2.patches)


def test_unrelated_series_are_not_linked(tmp_path):
    s = _renamed_v2(tmp_path, lambda t: t.replace("KSM_FAIL_", "KSM_MISS_"))
    assert len(s.histories) == 2 and all(x.previous is None for x in s.series)


def test_changelog_formats():
    cover = """\
Intro text.

v3-> v4:
* changed WARN_ON into VM_BUG_ON_PAGE as per review,
* and small improvement of the associated comment
v2 -> v3:
* revert some cosmetic changes to improve readability

Changes in v2:
- use put_compound_head in the first patch
- fix commit message of the
  second patch

Claudio Imbrenda (2):
  mm/gup: fixup
"""
    entries = changelog(cover, "<c@x>", "cover", 4)
    assert [(e.from_version, e.to_version) for e in entries] == [(3, 4), (2, 3), (1, 2)]
    assert entries[0].items == ("changed WARN_ON into VM_BUG_ON_PAGE as per review,",
                                "and small improvement of the associated comment")
    assert entries[2].items == ("use put_compound_head in the first patch", "fix commit message of the second patch")
    notes = "v8:\n* Remove device exclusive entries on fork rather than copy them.\n\nv7:\n* Added Reviewed-by.\n" \
            "---\n mm/memory.c | 3 ++-\n"
    assert [(e.to_version, e.items) for e in changelog(notes, "<p@x>", "patch", 8)] == [
        (8, ("Remove device exclusive entries on fork rather than copy them.",)), (7, ("Added Reviewed-by.",))]
    inline = changelog("v2: use atomic_long_t, merges race with MADV_MERGEABLE callers\n", "<p@x>", "patch", 2)
    assert [(e.from_version, e.to_version, e.items) for e in inline] == [
        (1, 2, ("use atomic_long_t, merges race with MADV_MERGEABLE callers",))]
    assert changelog("We saw this in v5.12 and in v6.1:\nnothing to see\n", "<x@x>", "cover", 1) == ()


def test_outcome_unclear_when_the_patch_has_no_counterpart(tmp_path):
    v2 = (REVIEW / "ksm-merge-fail-v2.mbox").read_text()
    # v2 without its 2/2: Dennis's comment on merge_failures_show() cannot be followed
    cut = v2[: v2.index("From mboxrd@z Thu Jan  1 00:00:00 1970\nFrom: Rosalind Franklin <rosalind@example.org>\n"
                        "To: linux-mm@kvack.org\nSubject: [PATCH v2 2/2]")]
    (tmp_path / "v2.mbox").write_text(cut.replace("[PATCH v2 1/2]", "[PATCH v2 1/1]").replace(
        "[PATCH v2 0/2]", "[PATCH v2 0/1]"))
    s = summarize(parse_inputs([str(REVIEW / "ksm-merge-fail-v1.mbox"), str(tmp_path / "v2.mbox")]))
    v1 = s.series[0]
    nak = next(c for c in v1.comments if c.author.name == "Dennis Ritchie")
    assert nak.outcome.status == "unclear" and "no patch in v2 matches" in nak.outcome.why
    assert [d[2] for d in s.series[1].dropped_patches] == ["mm/ksm: expose merge failure counters in sysfs"]


def test_a_version_whose_predecessor_is_absent_is_not_new():
    """v2 alone: its patches have a previous version the input lacks: "missing", never "new",
    and the trailers in them cannot be told carried from new."""
    s = summarize(parse_inputs([str(REVIEW / "ksm-merge-fail-v2.mbox")])).series[0]
    assert s.version == 2
    assert {p.link.how for p in s.patches} == {"missing"} and all(p.link.previous is None for p in s.patches)
    log = [t for p in s.patches for t in p.trailers if t.source == "log"]
    assert log and {t.status for t in log} == {"unknown"}
    assert not s.dropped_patches
