"""Attributions, dates, quote levels and quoted messages (reviewkit.ingest.web.quoting)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from reviewkit.ingest.web.collapsed import restore_lines, split_headers
from reviewkit.ingest.web.quoting import (Stamp, match_score, parse_attribution, parse_stamp, quote_depth,
                                          quote_lines, quoted_nodes, rejoin_quote_wraps, same_person, squash,
                                          stamps_match)

UTC = timezone.utc


@pytest.mark.parametrize("line, name, email, when, tz_known", [
    # mutt
    ("On Thu, Apr 01, 2021 at 01:20:05PM +1100, Alistair Popple wrote:", "Alistair Popple", "",
     datetime(2021, 4, 1, 2, 20, 5, tzinfo=UTC), True),
    # KMail, zone abbreviation
    ("On Tuesday, 22 June 2021 10:40:37 AM AEST Peter Xu wrote:", "Peter Xu", "",
     datetime(2021, 6, 22, 0, 40, 37, tzinfo=UTC), True),
    # Gmail: no zone, name then address
    ("On Mon, Nov 7, 2022 at 8:18 AM David Hildenbrand <david@redhat.com> wrote:", "David Hildenbrand",
     "david@redhat.com", datetime(2022, 11, 7, 8, 18), False),
    # Apple Mail
    ("On Nov 7, 2022, at 8:17 AM, David Hildenbrand <david@redhat.com> wrote:", "David Hildenbrand",
     "david@redhat.com", datetime(2022, 11, 7, 8, 17), False),
    # Thunderbird, German and Canadian locales
    ("On 07.11.22 20:03, Nadav Amit wrote:", "Nadav Amit", "", datetime(2022, 11, 7, 20, 3), False),
    ("On 2021-10-01 7:48 a.m., Jason Gunthorpe wrote:", "Jason Gunthorpe", "", datetime(2021, 10, 1, 7, 48), False),
    # claws, folded over two lines (joined by the caller)
    ("On Mon, 13 Apr 2020 13:22:24 -0700 Dave Hansen <dave.hansen@intel.com> wrote:", "Dave Hansen",
     "dave.hansen@intel.com", datetime(2020, 4, 13, 20, 22, 24, tzinfo=UTC), True),
])
def test_attributions_of_common_mail_clients(line, name, email, when, tz_known):
    att = parse_attribution(line)
    assert att is not None and att.name == name and att.email == email
    assert att.stamp.tz_known is tz_known
    got = att.stamp.dt.astimezone(UTC) if tz_known else att.stamp.dt
    assert got == when


def test_obfuscated_address_and_prose_are_not_people():
    att = parse_attribution("On Tue, Jun 22, 2021 at 10:47:11PM +1000, Peter Xu <peterx@xxxxxxxxxx> wrote:")
    assert att.name == "Peter Xu" and att.email == ""   # spinics' user@xxxxxxxxxx is no address
    assert parse_attribution("I think the patch that we wrote:") is None
    assert parse_attribution("Linus Example <linus@example.net> writes:").name == "Linus Example"


def test_numeric_dates_keep_both_readings_and_match_either():
    stamp, used = parse_stamp("3/6/20 5:25 AM, Claudio Imbrenda wrote:")
    assert used and stamp.dt == datetime(2020, 3, 6, 5, 25) and stamp.alternatives == (datetime(2020, 6, 3, 5, 25),)
    june = Stamp(datetime(2020, 6, 3, 12, 25, tzinfo=UTC), "minute", True)
    assert stamps_match(stamp, june)   # the d/m reading, 7 hours off: a writer's local clock


def test_stamps_match_by_precision():
    exact = Stamp(datetime(2021, 3, 31, 19, 20, 5, tzinfo=UTC), "second", True)
    day_in_us = Stamp(datetime(2021, 3, 31), "day", False)
    assert stamps_match(exact, day_in_us)
    assert not stamps_match(exact, Stamp(datetime(2021, 3, 28), "day", False))
    assert stamps_match(exact, Stamp(datetime(2021, 4, 1, 6, 20), "minute", False))     # +11:00 wall clock
    assert not stamps_match(exact, Stamp(datetime(2021, 4, 1, 6, 41), "minute", False))  # no zone is 21 min off
    assert not stamps_match(exact, exact.__class__(exact.dt + timedelta(hours=1), "second", True))


def test_quote_depth_keeps_the_content_indentation():
    assert quote_depth("> > +\tfoo") == (2, "+\tfoo")
    assert quote_depth(">>  context") == (2, " context")
    assert quote_depth("> >> mixed") == (3, "mixed")
    assert quote_depth("a > b") == (0, "a > b")


def test_quoted_nodes_follow_attributions_down():
    body = ("On Mon, Jan 2, 2023 at 10:00 AM Bob <bob@example.org> wrote:\n"
            "> On 1/1/23 9:00 AM, Alice wrote:\n"
            ">> Original text by Alice.\n"
            ">\n"
            "> Bob's answer.\n"
            "\n"
            "My own words.\n")
    nodes, top = quoted_nodes(quote_lines(body))
    assert [a.name for a in top] == ["Bob"]
    bob = next(n for n in nodes if n.depth == 1)
    assert bob.attribution.name == "Bob" and bob.inner.attribution.name == "Alice"
    assert bob.own_text() == ["", "Bob's answer."]
    assert bob.inner.own_text() == ["Original text by Alice."]
    assert bob.body().startswith("On 1/1/23 9:00 AM, Alice wrote:\n> Original text by Alice.")


def test_match_score_ignores_wraps_and_white_space():
    text = squash("This is the parent's text, wrapped\ndifferently by   its own mailer.")
    assert match_score(["the parent's text, wrapped differently by its own mailer."], text) == 1.0
    assert match_score(["something else entirely was said here"], text) == 0.0
    assert match_score(["ok"], text) is None   # too short to tell


def test_same_person_by_name_address_or_order():
    assert same_person("Hansen, Dave", "", "Dave Hansen", "")
    assert same_person("david@redhat.com", "", "David Hildenbrand", "david@redhat.com")
    assert same_person("Christian König", "", "Christian Konig", "")
    assert not same_person("Dave Hansen", "dave@a.org", "Dave Hansen", "other@b.org") is False


def test_rejoin_quote_wraps_joins_only_wrapped_tails():
    body = ("> @@ -781,6 +781,27 @@ copy_nonpresent_pte(struct mm_struct *dst_mm, struct \n"
            "mm_struct *src_mm,\n"
            "> short line\n"
            "My reply.\n")
    fixed, n = rejoin_quote_wraps(body)
    assert n == 1
    assert fixed.split("\n")[:3] == [
        "> @@ -781,6 +781,27 @@ copy_nonpresent_pte(struct mm_struct *dst_mm, struct mm_struct *src_mm,",
        "> short line", "My reply."]


def test_collapsed_headers_end_where_the_last_value_ends():
    text = ("From mboxrd@z Thu Jan  1 00:00:00 1970 Return-Path: X-Spam-Status: No From: Logan Gunthorpe "
            "Message-ID: <4f@deltatee.com> Date: Fri, 1 Oct 2021 11:01:49 -0600 Subject: Re: [PATCH] Date: handling "
            "In-Reply-To: <20211001@ziepe.ca> Precedence: bulk List-ID: On 2021-10-01 7:48 a.m., Jason wrote: > hi")
    headers, body_at, problems = split_headers(text)
    h = dict(headers)
    assert h["Subject"] == "Re: [PATCH] Date: handling"   # a header name inside a value is not a header
    assert h["Date"] == "Fri, 1 Oct 2021 11:01:49 -0600" and h["List-ID"] == ""
    assert text[body_at:].strip().startswith("On 2021-10-01") and not problems


def test_collapsed_body_gets_its_quoted_lines_back():
    body, notes = restore_lines("On Mon, Jan 2, 2023 at 10:00 AM Bob wrote: > Bob said this. > > And then > "
                                "more. Fine by me. Thanks, -- Carol")
    assert body.split("\n") == ["On Mon, Jan 2, 2023 at 10:00 AM Bob wrote:", "> Bob said this.", ">",
                                "> And then", "> more.", "", "Fine by me. Thanks,", "-- ", "Carol", ""]
    assert notes["reply_text_split_from_quotes"] == 1


def test_absurd_quote_depth_is_text():
    """A run of hundreds of '>' is garbage or hostile, not a quote 500 levels deep (it made
    the nesting quadratic)."""
    from reviewkit.ingest.web.quoting import MAX_QUOTE_DEPTH, quote_depth
    assert quote_depth("> " * MAX_QUOTE_DEPTH + "x") == (MAX_QUOTE_DEPTH, "x")
    line = "> " * 500 + "x"
    assert quote_depth(line) == (0, line)
