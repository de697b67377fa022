"""Trailers per version, verdicts, participants and MAINTAINERS roles (reviewkit.review.verdicts, .maintainers)."""
from __future__ import annotations

import os
from functools import lru_cache

import pytest

from reviewkit.model import Person
from reviewkit.pipeline import parse_inputs
from reviewkit.review import summarize
from reviewkit.review.context import is_bot
from reviewkit.maintainers import Maintainers, MaintainersError, read_maintainers

from tests.conftest import FIXTURES

REVIEW = FIXTURES / "review"


@lru_cache(maxsize=None)
def _summary():
    parsed = parse_inputs([str(REVIEW / "ksm-merge-fail-v1.mbox"), str(REVIEW / "ksm-merge-fail-v2.mbox")])
    return summarize(parsed, tree_maintainers=read_maintainers(str(REVIEW)))


def _trailers(series: int, counter: int) -> dict:
    p = _summary().series[series].patches[counter - 1]
    return {(t.key, t.person.name, t.status): t for t in p.trailers}


def test_trailer_status_across_versions():
    v2_1 = _trailers(1, 1)
    assert set(v2_1) == {("Acked-by", "Ken Thompson", "new"),            # added by the author in v2
                         ("Reviewed-by", "Barbara Liskov", "given")}      # given in a reply to v2
    assert v2_1[("Reviewed-by", "Barbara Liskov", "given")].msgid == "<ZELcaBL4skov@barbara-desk>"
    v2_2 = _trailers(1, 2)
    assert set(v2_2) == {("Reviewed-by", "Barbara Liskov", "picked-up")}  # given on v1, now in the patch
    t = v2_2[("Reviewed-by", "Barbara Liskov", "picked-up")]
    assert t.version == 2 and t.source == "log" and "<ZDf8aBL2skov@barbara-desk>" in t.why


def test_bot_tags_are_kept_but_flagged():
    (robot,) = _trailers(0, 1).values()
    assert robot.key == "Reported-by" and robot.bot and "bot" in robot.why
    from_robot = [v for v in _summary().series[0].verdicts if v.person.name == "kernel test robot"]
    # its tag is not a review; its report is an event: the patch does not build cleanly
    assert [(v.kind, v.where.counter, v.role) for v in from_robot] == [("build-failure", 1, "bot")]


def test_verdicts_formal_and_informal():
    v = {(x.kind, x.person.name, x.formal, x.scope) for x in _summary().series[0].verdicts}
    assert v == {("ack", "Ken Thompson", False, "series"),      # "So an Ack from me for the series."
                 ("nack", "Dennis Ritchie", False, "patch"),    # "NAK on the file as posted."
                 ("review", "Barbara Liskov", True, "patch"),   # Reviewed-by: in a reply to 2/2
                 ("build-failure", "kernel test robot", False, "patch"),  # its -Wsometimes-uninitialized report
                 ("superseded", "Rosalind Franklin", False, "series")}    # v2 is in the input
    ack = next(x for x in _summary().series[0].verdicts if x.kind == "ack")
    assert ack.why.rule == "verdict/ack-in-prose" and ack.why.text == "So an Ack from me for the series."
    # a series-wide verdict shows on every patch, too
    assert all(any(x.kind == "ack" for x in p.verdicts) for p in _summary().series[0].patches)


def test_dropped_trailer(tmp_path):
    v1 = (REVIEW / "ksm-merge-fail-v1.mbox").read_text()
    v2 = (REVIEW / "ksm-merge-fail-v2.mbox").read_text().replace(
        "Reviewed-by: Barbara Liskov <barbara@example.com>\nSigned-off-by", "Signed-off-by")
    (tmp_path / "v1.mbox").write_text(v1)
    (tmp_path / "v2.mbox").write_text(v2)
    s = summarize(parse_inputs([str(tmp_path / "v1.mbox"), str(tmp_path / "v2.mbox")]))
    (t,) = [t for t in s.series[1].patches[1].trailers]
    assert (t.key, t.person.name, t.status) == ("Reviewed-by", "Barbara Liskov", "dropped")


def test_participants_and_maintainers():
    people = {p.person.name: p for p in _summary().series[0].participants}
    assert people["Rosalind Franklin"].roles == ("author",) and people["Rosalind Franklin"].messages == 5
    assert people["Dennis Ritchie"].roles == ("reviewer", "maintainer")
    assert people["Dennis Ritchie"].maintainer_of == ("KERNEL SAMEPAGE MERGING (KSM)",)
    assert people["Barbara Liskov"].roles == ("reviewer",)
    assert people["Barbara Liskov"].listed_reviewer_of == ("KERNEL SAMEPAGE MERGING (KSM)",)
    assert people["Barbara Liskov"].trailers == 1
    assert people["kernel test robot"].roles == ("bot",)


def test_is_bot():
    assert is_bot(Person("kernel test robot", "lkp@intel.com"))
    assert is_bot(Person("syzbot", "syzbot+2a3b@syzkaller.appspotmail.com"))
    assert is_bot(Person("", "patchwork-bot+netdevbpf@kernel.org"))
    assert not is_bot(Person("Abbott Costello", "abbott@example.com"))


def test_maintainers_patterns():
    m = Maintainers.parse((REVIEW / "MAINTAINERS").read_text())
    titles = lambda path: [s.title for s in m.sections_for(path)]  # noqa: E731
    assert titles("mm/ksm.c") == ["KERNEL SAMEPAGE MERGING (KSM)", "MEMORY MANAGEMENT"]
    assert titles("mm/ksm_test.c") == ["MEMORY MANAGEMENT"]                  # X: excludes
    assert titles("include/linux/mm_types.h") == ["MEMORY MANAGEMENT"]       # * does not cross /
    assert titles("include/linux/mmzone/x.h") == []
    assert titles("Documentation/ABI/testing/sysfs-kernel-mm-ksm") == ["KERNEL SAMEPAGE MERGING (KSM)",
                                                                       "SYSFS ABI DOCUMENTATION"]
    assert m.roles(["mm/ksm.c"])["dmr@example.net"] == {"maintainer": ["KERNEL SAMEPAGE MERGING (KSM)"],
                                                        "reviewer": []}


def test_maintainers_read_is_confined_to_the_tree(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "MAINTAINERS").write_text("EVIL\nM:\tEve <eve@example.org>\nF:\t*\n")
    tree = tmp_path / "tree"
    tree.mkdir()
    os.symlink(outside / "MAINTAINERS", tree / "MAINTAINERS")
    with pytest.raises(MaintainersError, match="outside the tree"):
        read_maintainers(str(tree))
    with pytest.raises(MaintainersError, match="no MAINTAINERS"):
        read_maintainers(str(outside.parent))


def _informal(tmp_path, sentence: str):
    mbox = (REVIEW / "ksm-merge-fail-v1.mbox").read_text().replace(
        "So an Ack from me for the series.", sentence)
    (tmp_path / "v1.mbox").write_text(mbox)
    s = summarize(parse_inputs([str(tmp_path / "v1.mbox")])).series[0]
    return [(v.kind, v.person.name) for v in s.verdicts if not v.formal and v.person.name == "Ken Thompson"]


@pytest.mark.parametrize("sentence,expected", [
    ("ACK.", [("ack", "Ken Thompson")]),
    ("Feel free to add my Reviewed-by.", [("review", "Ken Thompson")]),
    ("NAK, this breaks the ABI.", [("nack", "Ken Thompson")]),
    ("LGTM.", [("review", "Ken Thompson")]),
    ("LGTM, but please fix the comment.", []),
    ("This is not a NAK, just a question.", []),
    ("An Ack from Andrew would help here.", []),
    ("I'd want Hugh's Ack before this goes in.", []),
    ("We need an ack from the s390 folks.", []),
])
def test_informal_verdicts(tmp_path, sentence, expected):
    assert _informal(tmp_path, sentence) == expected


def _events(tmp_path, sentence: str, sender: str = "Ken Thompson <ken@example.net>"):
    """The events in Ken's reply to the cover once its last sentence is `sentence` (our words, in the
    shapes maintainers and tools use on the lists)."""
    mbox = (REVIEW / "ksm-merge-fail-v1.mbox").read_text().replace("So an Ack from me for the series.", sentence)
    if sender != "Ken Thompson <ken@example.net>":
        mbox = mbox.replace("From: Ken Thompson <ken@example.net>", f"From: {sender}")
    (tmp_path / "v1.mbox").write_text(mbox)
    s = summarize(parse_inputs([str(tmp_path / "v1.mbox")])).series[0]
    return [(v.kind, v.tree) for v in s.verdicts if v.where.msgid == "<CAHk-=wKen0nAck1@mail.gmail.com>"
            and v.kind not in ("ack", "review", "test", "nack")]


@pytest.mark.parametrize("sentence,expected", [
    ("Applied to mm-unstable, thanks.", [("applied", "mm-unstable")]),
    ("Thanks, applied.", [("applied", "")]),
    ("Very nice, now applied, thanks.", [("applied", "")]),
    ("Applied to fixes, as Rob asked for.", [("applied", "fixes")]),
    ("I've queued it up in my for-next branch.", [("applied", "for-next")]),
    ("I'll fold in this fix.", [("applied", "")]),
    ("Once applied, the counters show up in sysfs.", []),
    ("Maybe the series was not properly applied to mm-unstable?", []),
    ("I got a notice that it was applied to mm-unstable by Andrew.", []),
    ("I've pushed the change to -next.", []),                      # someone's own, other change
    ("I've dropped it from mm-unstable for now.", [("dropped", "mm-unstable")]),
    ("A cgroup file is the wrong interface for this.", [("changes-requested", "")]),
    ("I'm not super-happy about this one.", [("changes-requested", "")]),
    ("This is not the wrong approach.", []),
    ("It is not really for this series to fix, but the old code is broken.", []),
    ("mm/ksm.c:1229:3: error: 'orig_pte' undeclared (first use in this function)", [("build-failure", "")]),
])
def test_reply_events(tmp_path, sentence, expected):
    assert _events(tmp_path, sentence) == expected


def test_the_authors_own_mail_applies_nothing(tmp_path):
    """Only someone other than the author applies a patch; the author can withdraw one."""
    author = "Rosalind Franklin <rosalind@example.org>"
    assert _events(tmp_path, "Can this be applied to mm-unstable for testing?", author) == []
    assert _events(tmp_path, "Applied to mm-unstable, thanks.", author) == []
    assert _events(tmp_path, "Sorry, this one was a mistake, please ignore.", author) == [("dropped", "")]
