"""Questions and answers (reviewkit.review.questions) on the project's two-version KSM fixture and on
small threads written like real review replies."""
from __future__ import annotations

from functools import lru_cache

from reviewkit.pipeline import parse_inputs
from reviewkit.review import summarize

from tests.conftest import FIXTURES

REVIEW = FIXTURES / "review"


@lru_cache(maxsize=None)
def _summary():
    return summarize(parse_inputs([str(REVIEW / "ksm-merge-fail-v1.mbox"), str(REVIEW / "ksm-merge-fail-v2.mbox")]))


def _questions():
    return {q.text: q for q in _summary().series[0].questions}


def test_answered_under_the_quoted_question():
    q = _questions()["Is this counter ever reset? If not, should it be a vm_event instead?"]
    assert q.status == "answered" and q.asker.name == "Barbara Liskov" and q.role == "reviewer"
    (a,) = q.answers
    assert a.person.name == "Rosalind Franklin" and a.rule == "answer/text-after-quoted-question"
    assert a.text.startswith("It is never reset")
    assert q.why.rule == "question/ends-with-question-mark" and q.where.counter == 1


def test_closing_remark_is_not_an_answer_and_the_ping_is_folded_in():
    q = _questions()["Does KSM_FAIL_NR need to be visible outside of mm/ksm.c?"]
    assert q.status == "open" and not q.answers
    assert any("only a closing remark" in n and "Thanks!" in n for n in q.notes)
    assert [p.text for p in q.pings] == [
        "Did you get a chance to check whether anything outside mm/ksm.c uses KSM_FAIL_NR?"]
    assert q.anchor is not None and q.anchor.path == "include/linux/ksm.h"
    # the re-asked question is not listed a second time
    assert not any(t.startswith("Did you get a chance") for t in _questions())


def test_top_posted_reply_answers_the_mail_it_replies_to():
    q = _questions()["What happens to these numbers when merge_across_nodes is switched at runtime?"]
    assert q.status == "answered" and q.answers[0].rule == "answer/direct-reply-without-quoting"
    assert q.asker.name == "Dennis Ritchie"


def test_tags_rhetorical_bots_and_authors_are_not_questions():
    texts = set(_questions())
    assert not any("Right?" in t for t in texts)               # confirmation tag
    assert not any(t.startswith("Why do I care") for t in texts)  # rhetorical lead-in, answered by the asker
    assert not any("fixed before the series is merged" in t for t in texts)  # the kernel test robot
    assert all(q.role == "reviewer" for q in _summary().series[0].questions)
    assert [q.text for q in _summary().series[0].open_questions] == [
        "Does KSM_FAIL_NR need to be visible outside of mm/ksm.c?"]


def _thread(tmp_path, *mails: str):
    text = ""
    for i, (sender, msgid, parent, body) in enumerate(mails):
        refs = f"In-Reply-To: {parent}\nReferences: {parent}\n" if parent else ""
        subject = "[PATCH] mm: drop the lock early" if not parent else "Re: [PATCH] mm: drop the lock early"
        text += (f"From mboxrd@z Thu Jan  1 00:00:00 1970\nFrom: {sender}\nSubject: {subject}\n"
                 f"Date: Mon, 1 May 2023 1{i}:00:00 +0000\nMessage-Id: {msgid}\n{refs}\n{body}\n")
    path = tmp_path / "thread.mbox"
    path.write_text(text)
    return summarize(parse_inputs([str(path)])).series[0]


PATCH = """\
Drop the lock before calling into the allocator.

Signed-off-by: Ada Author <ada@example.org>
---
diff --git a/mm/foo.c b/mm/foo.c
--- a/mm/foo.c
+++ b/mm/foo.c
@@ -10,3 +10,4 @@ static int foo_alloc(struct foo *foo)
 	spin_lock(&foo->lock);
+	spin_unlock(&foo->lock);
 	page = alloc_page(GFP_KERNEL);
 	return 0;
"""


def test_question_skipped_in_the_middle_of_a_reply_stays_open(tmp_path):
    s = _thread(
        tmp_path,
        ("Ada Author <ada@example.org>", "<p@x>", None, PATCH),
        ("Rita Reviewer <rita@example.com>", "<r1@x>", "<p@x>",
         "> +\tspin_unlock(&foo->lock);\n>  \tpage = alloc_page(GFP_KERNEL);\n\n"
         "What protects foo->pages once the lock is dropped?\n\n"
         "Also, does this need a Fixes: tag?\n"),
        ("Ada Author <ada@example.org>", "<a1@x>", "<r1@x>",
         "On Mon, Rita Reviewer wrote:\n> What protects foo->pages once the lock is dropped?\n>\n"
         "> > some code\n>\n> Also, does this need a Fixes: tag?\n\nNo, it never worked before.\n"),
    )
    status = {q.text: q.status for q in s.questions}
    assert status == {"What protects foo->pages once the lock is dropped?": "open",
                      "Also, does this need a Fixes: tag?": "answered"}
    (open_q,) = s.open_questions
    assert open_q.anchor.function == "foo_alloc" and open_q.anchor.path == "mm/foo.c"


def test_answer_by_someone_else_counts_and_the_asker_does_not_answer_themselves(tmp_path):
    s = _thread(
        tmp_path,
        ("Ada Author <ada@example.org>", "<p@x>", None, PATCH),
        ("Rita Reviewer <rita@example.com>", "<r1@x>", "<p@x>", "> Drop the lock\n\nIs GFP_KERNEL allowed here?\n"),
        ("Rita Reviewer <rita@example.com>", "<r2@x>", "<r1@x>",
         "> Is GFP_KERNEL allowed here?\n\nAnswering myself: I think it is.\n"),
        ("Mel Maintainer <mel@example.net>", "<m1@x>", "<r2@x>",
         "> > Is GFP_KERNEL allowed here?\n\nYes, the lock is dropped first.\n"),
    )
    (q,) = s.questions
    assert q.status == "answered" and [a.person.name for a in q.answers] == ["Mel Maintainer"]
    assert [p.person.name for p in q.pings] == ["Rita Reviewer"]


def test_question_leading_into_a_list_is_answered_by_a_reply_to_the_list(tmp_path):
    s = _thread(
        tmp_path,
        ("Ada Author <ada@example.org>", "<p@x>", None, PATCH),
        ("Rita Reviewer <rita@example.com>", "<r1@x>", "<p@x>",
         "> Drop the lock before calling into the allocator.\n\n"
         "But what about accesses by other CPUs? Our use case is like the following:\n\n"
         "1. We take the object lock, which the fault handler takes too.\n\n"
         "2. We expect no other mapping of the pages once unmap returns.\n\n"
         "That use case is unrelated to GUP and we depend on it.\n\n"
         "s/allocator/page allocator/?\n"),
        ("Ada Author <ada@example.org>", "<a1@x>", "<r1@x>",
         "> That use case is unrelated to GUP and we depend on it.\n\n"
         "unmap_mapping_range() flushes the TLBs of all CPUs before it returns.\n"),
    )
    (q,) = s.questions  # the sed-style fix is a request, not a question
    assert q.text == "But what about accesses by other CPUs?" and q.status == "answered"
    assert [a.why.rule for a in s.actions] == ["request/sed"]
