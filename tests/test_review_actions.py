"""Action items (reviewkit.review.actions): the sentence rules, and items with their outcome in the next version."""
from __future__ import annotations

from functools import lru_cache

import pytest

from reviewkit.pipeline import parse_inputs
from reviewkit.review import summarize
from reviewkit.review.actions import COMMITMENT_RULES, REQUEST_RULES, target_version

from tests.conftest import FIXTURES

REVIEW = FIXTURES / "review"


def _rule(rules, sentence: str):
    return next((name for name, rx in rules if rx.search(sentence)), None)


# Sentences as reviewers write them (several from real mm threads, paraphrased), and the rule that must fire.
REQUESTS = [
    ("This needs to have the same logic as we now have in copy_present_page().", "request/needs-to"),
    ("At that point we should also rename it to FOLL_PTRACE to make that very clear.", "request/should"),
    ("The code should be shared because nobody is going to remember about this corner case.", "request/should"),
    ("Please split this into two lines.", "request/please"),
    ("I'd rather open code these two, and as a prep patch also kill off the equivalents.", "request/suggest"),
    ("Why not reuse the existing migration entry helpers here?", "request/why-not"),
    ("Could you add a comment explaining why the lock is not needed?", "request/could-you"),
    ("It would be nice to split out the body of this loop into a helper.", "request/better-to"),
    ("I wonder if Documentation/virt/kvm/s390-pv.rst can be beefed up with some of this.", "request/wonder-if"),
    ("Don't open-code the rmap walk here.", "request/dont"),
    ("s/make_device_exclusive_entry_read/mark_device_exclusive_entry_readable/", "request/sed"),
    ("Nit: no trailing comma after the last enumerator, please.", "request/nit"),
]
NOT_REQUESTS = [
    "It should be fine to read the flag without the lock here.",
    "Failing gup() earlier, should ensure the above VM_BUG never happens.",
    "My patch is a fix that needs to be backported to older kernels.",
    "Please feel free to poke me again if some things are still unclear.",
    "It should apply cleanly to those older kernels.",
    "The target should always be the new stack, which is writable.",
    "I'd really love to just have this long saga ended.",
]
COMMITMENTS = [
    ("Good idea; I'll include a patch in v1.", "commitment/i-will"),
    ("I will improve the documentation and make sure it explains all the details.", "commitment/i-will"),
    ("I'm going to drop this patch from the series.", "commitment/going-to"),
    ("I guess that makes sense but I should add a check to make sure this isn't used with pinned pages.",
     "commitment/i-should"),
    ("Will fix.", "commitment/will-do"),
    ("Sure, will do.", "commitment/will-do"),
    ("Fixed locally, thanks.", "commitment/fixed-for-next"),
    ("Good point.", "commitment/agreement"),
]
NOT_COMMITMENTS = [
    "I'll admit I did not test this on s390.",
    "I'll leave that to Andrew.",
    "Also, please tell me if I should send this updated patch in a separate mail.",
    "I could just remove them and restore the original entry, which would be far simpler.",
]


@pytest.mark.parametrize("sentence,rule", REQUESTS)
def test_request_rules(sentence, rule):
    assert _rule(REQUEST_RULES, sentence) == rule


@pytest.mark.parametrize("sentence", NOT_REQUESTS)
def test_not_requests(sentence):
    assert _rule(REQUEST_RULES, sentence) is None


@pytest.mark.parametrize("sentence,rule", COMMITMENTS)
def test_commitment_rules(sentence, rule):
    assert _rule(COMMITMENT_RULES, sentence) == rule


@pytest.mark.parametrize("sentence", NOT_COMMITMENTS)
def test_not_commitments(sentence):
    assert _rule(COMMITMENT_RULES, sentence) is None


def test_target_version():
    assert target_version("Good idea; I'll include a patch in v1.", 1) == 1
    assert target_version("I will see if I can refactor it for the next version.", 2) == 3
    assert target_version("Will fix.", 2) is None


@lru_cache(maxsize=None)
def _v1():
    return summarize(parse_inputs([str(REVIEW / "ksm-merge-fail-v1.mbox"),
                                   str(REVIEW / "ksm-merge-fail-v2.mbox")])).series[0]


def _item(text_start: str):
    return next(a for a in _v1().actions if a.text.startswith(text_start))


def test_request_anchored_and_addressed_by_the_next_version():
    a = _item("This needs to be an atomic_long_t")
    assert (a.kind, a.who.name, a.why.rule) == ("request", "Barbara Liskov", "request/needs-to")
    assert a.anchor.function == "try_to_merge_one_page"
    assert a.outcome.status == "addressed" and a.outcome.version == 2
    assert "changes try_to_merge_one_page() in mm/ksm.c" in a.outcome.why


def test_commitment_answers_the_request_and_targets_v2():
    c = _item("Good point, I'll switch the counters")
    assert c.kind == "commitment" and c.who.name == "Rosalind Franklin" and c.role == "author"
    assert c.target_version == 2
    assert c.responds_to.person.name == "Barbara Liskov"
    assert c.responds_to.text.startswith("This needs to be an atomic_long_t")
    assert c.outcome.status == "addressed"


def test_nit_left_as_it_was_is_not_addressed():
    n = _item("Nit: no trailing comma")
    assert n.outcome.status == "not-addressed" and "leaves include/linux/ksm.h:28 as it was" in n.outcome.why


def test_request_naming_a_file_is_addressed_when_the_next_version_changes_it():
    d = _item("Please document it in Documentation/ABI")
    assert d.outcome.status == "addressed"
    assert "Documentation/ABI/testing/sysfs-kernel-mm-ksm" in d.outcome.why


def test_unanchored_commitment_found_in_the_next_changelog():
    c = _item("The counters are global and are not reset")
    assert c.anchor is None and c.identifiers == ("merge_across_nodes",)
    assert c.outcome.status == "addressed" and "changelog" in c.outcome.why


def test_questions_are_not_requests_and_bots_make_no_items():
    texts = [a.text for a in _v1().actions]
    assert "Does KSM_FAIL_NR need to be visible outside of mm/ksm.c?" not in texts
    assert all(a.who.name != "kernel test robot" for a in _v1().actions)
