"""Reply bodies as quote blocks and own text (reviewkit.review.text), on mail written the way list mail is."""
from __future__ import annotations

from reviewkit.review.text import identifiers, is_closing, own_text, parse_body, sentences, split_sentences, substantive

INTERLEAVED = """\
On Tue, Apr 11, 2023 at 09:30:00AM -0400, Barbara Liskov wrote:
> On Mon, Apr 10, 2023 at 10:00:01AM +0200, Rosalind Franklin wrote:
> > -	if (!PageAnon(page))
> > +	if (!PageAnon(page)) {
> 
> This needs to be an atomic_long_t: merges run from ksmd and from
> MADV_MERGEABLE callers at the same time.

Good point, I'll switch the counters to atomic_long_t in v2.

> Is this counter ever reset? If not, should it be a vm_event instead?

It is never reset, like the other KSM counters.

 - Rosalind

> Thanks,
> Barbara
_______________________________________________
linux-mm mailing list
linux-mm@example.org
https://lists.example.org/mailman/listinfo/linux-mm
"""


def test_pairs_quote_with_the_answer_under_it():
    body = parse_body(INTERLEAVED)
    assert len(body.pairs) == 2  # the trailing quote has no answer under it; the list footer is cut
    first, second = body.pairs
    assert first.quote.last_paragraph().startswith("This needs to be an atomic_long_t")
    assert own_text(first.own) == "Good point, I'll switch the counters to atomic_long_t in v2."
    assert second.quote.last_paragraph() == "Is this counter ever reset? If not, should it be a vm_event instead?"
    # the sign-off "- Rosalind" is not prose; the attribution line is not own text at all
    assert own_text(second.own) == "It is never reset, like the other KSM counters."
    assert all("wrote:" not in own_text(p.own) for p in body.pairs)


def test_trailing_run_stops_at_a_change_of_quote_depth():
    body = parse_body("""\
> What happens to the guest's view of the page? Does it keep seeing plaintext?
> 
> > then the page can be swapped out, or used for direct I/O
> 
> So why even allow access to the encrypted contents?
> 
> Is there some reason for going to the trouble?

you should not overwrite it, but you can write it out verbatim
""")
    (pair,) = body.pairs
    run = pair.quote.trailing_run()
    assert "So why even allow" in run and "Is there some reason" in run
    assert "guest's view" not in run  # answered text is below the deeper quote, not below this one


def test_mailer_wrapped_quote_line_goes_back_into_the_quote():
    # Alistair's mailer wrapped quoted @@ lines at 80 columns, leaving the tail unquoted
    body = parse_body("""\
> > @@ -781,6 +781,27 @@ copy_nonpresent_pte(struct mm_struct *dst_mm, struct 
mm_struct *src_mm,
> >  				pte = pte_swp_mkuffd_wp(pte);
> 
> This needs to have the same logic as we now have in copy_present_page().

You're saying we need to use copy_present_page()?
""")
    assert [own_text(p.own) for p in body.pairs] == ["You're saying we need to use copy_present_page()?"]
    assert body.pairs[0].quote.lines[0].text.endswith("struct mm_struct *src_mm,")


def test_signature_cut_but_not_inside_a_pasted_patch():
    body = parse_body("""\
> old text

Updated patch below.

From 1e66c25f1467c1f1e5f275312f2c6df29308d4df Mon Sep 17 00:00:00 2001
Subject: [PATCH] mm/frame-vector: remove FOLL_FORCE usage
-- 
2.38.1

Please let me know how you want to proceed.

-- 
Thanks,

David / dhildenb
""")
    text = own_text(body.pairs[0].own)
    assert "Please let me know how you want to proceed." in text
    assert "dhildenb" not in text and "Thanks," not in text


def test_top_posted_reply():
    body = parse_body("""\
Sorry for top-posting. The counters are global; I will document that.

On Wed, Apr 12, 2023 at 10:20 PM Dennis Ritchie <dmr@example.net> wrote:
> What happens to these numbers when merge_across_nodes is switched?
""")
    assert body.top_posted and body.pairs[0].quote is None


def test_sentences_skip_code_trailers_and_signoff():
    body = parse_body("""\
> quoted

I'd rather see this as a helper, e.g. something like:

	static inline bool is_special(swp_entry_t e)
	{
		return swp_type(e) >= MAX_SWAPFILES;
	}

Does that work for you?

Reviewed-by: Jason Gunthorpe <jgg@nvidia.com>

Jason
""")
    texts = [s.text for s in sentences(body.pairs[0].own)]
    assert texts == ["I'd rather see this as a helper, e.g. something like:", "Does that work for you?"]


def test_closing_remarks_are_not_answers():
    assert is_closing("Thanks!") and is_closing("Thanks for the clarification.")
    assert is_closing("please feel free to write to me privately if you have any further questions or doubts :)")
    assert not is_closing("Thanks, but this still races with GUP fast, see below.")
    closing = parse_body("> Would zswap need this hook?\n\nplease feel free to write to me privately if you "
                         "have any further\nquestions or doubts :)\n\nbest regards,\n\nClaudio Imbrenda\n")
    assert not substantive(closing.pairs[0].own)
    short = parse_body("> so this is just intended to precede I/O done on the page?\n\nyep\n")
    assert substantive(short.pairs[0].own)


def test_split_sentences_keeps_abbreviations():
    assert split_sentences("Not sure about the WARN_*(). It might trigger, e.g. with mprotect() racing. Right?") == [
        "Not sure about the WARN_*().", "It might trigger, e.g. with mprotect() racing.", "Right?"]


def test_identifiers():
    assert identifiers("rename it to FOLL_PTRACE, like copy_present_page() does in mm/memory.c") == (
        "FOLL_PTRACE", "copy_present_page", "mm/memory.c")
    assert identifiers("Please document it in Documentation/ABI/testing/sysfs-kernel-mm-ksm.") == (
        "Documentation/ABI/testing/sysfs-kernel-mm-ksm",)
    assert identifiers("This is a plain sentence with no code in it.") == ()


def test_sentences_keep_their_closing_parenthesis_and_ellipses_do_not_cut():
    from reviewkit.review.text import split_sentences
    assert split_sentences("(this indent looks odd; join with the previous line?) More here.") == \
        ["(this indent looks odd; join with the previous line?)", "More here."]
    assert split_sentences("So... for thp mappings, should we split first? Yes.") == \
        ["So... for thp mappings, should we split first?", "Yes."]


def test_a_question_goes_on_after_the_code_it_introduced():
    from reviewkit.review.text import parse_body, sentences
    body = parse_body("> quoted\n\nWhat is missing is something like:\n\n\tif (x)\n\t\tsplit(vma);\n\n"
                      "at the entry of foo_one()?\n")
    assert [s.text for p in body.pairs for s in sentences(p.own)] == \
        ["What is missing is something like: … at the entry of foo_one()?"]


def test_bullets_are_sentences_of_their_own():
    from reviewkit.review.text import parse_body, sentences
    body = parse_body("> quoted\n\nThis raises questions:\n- What locking is used here?\n- Why clear the bit first?\n")
    assert [s.text for p in body.pairs for s in sentences(p.own)][1:] == \
        ["- What locking is used here?", "- Why clear the bit first?"]
