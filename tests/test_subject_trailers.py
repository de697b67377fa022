"""Subject parsing and trailers on kernel-style inputs."""
from __future__ import annotations

import pytest

from reviewkit.subject import parse_subject
from reviewkit.trailers import parse_followup_trailers, parse_log_trailers
from reviewkit.model import Person


@pytest.mark.parametrize("raw, title, version, counter, total, reply, tags", [
    ("[Nouveau] [PATCH v7 5/8] mm: Device exclusive memory access", "mm: Device exclusive memory access", 7, 5, 8, False, ("Nouveau",)),
    ("Re: [PATCH v7 5/8] mm: Device exclusive", "mm: Device exclusive", 7, 5, 8, True, ()),
    ("[Nouveau] Re: [PATCH v3 1/2] mm: x", "mm: x", 3, 1, 2, True, ("Nouveau",)),
    ("RE: Re: [PATCH] mm: x", "mm: x", 1, None, None, True, ()),
    ("[PATCHv2 03/12] mm/gup: y", "mm/gup: y", 2, 3, 12, False, ()),
    ("[PATCH RFC v4 0 of 3] mm: hg style", "mm: hg style", 4, 0, 3, False, ()),
    ("[RFC PATCH 3/2] mm: extra", "mm: extra", 1, 3, 2, False, ()),
    ("[PATCH] mm: rewrite [a-z] handling", "mm: rewrite [a-z] handling", 1, None, None, False, ()),
])
def test_kernel_subjects(raw, title, version, counter, total, reply, tags):
    s = parse_subject(raw)
    assert (s.title, s.version, s.counter, s.total, s.is_reply, s.list_tags) == (
        title, version, counter, total, reply, tags)


def test_rfc_and_resend_flags():
    s = parse_subject("[RFC PATCH RESEND v2 1/3] mm: z")
    assert s.is_rfc and s.is_resend and s.version == 2


LOG = """mm/gup: fix the pin count

Explain why here. This line: is prose, not a trailer.

Fixes: 0123456789ab ("mm/gup: introduce pin_user_pages()")
Reported-by: Some One <some@example.com>
Closes: https://lore.kernel.org/r/abc@example.com
Cc: <stable@vger.kernel.org> # 5.10+
[akpm@linux-foundation.org: fix typo]
Signed-off-by: A Developer
 <dev@example.com>"""


def test_log_trailers_last_paragraph():
    ts = parse_log_trailers(LOG)
    assert [t.key for t in ts] == ["Fixes", "Reported-by", "Closes", "Cc", "Signed-off-by"]
    assert ts[0].value == '0123456789ab ("mm/gup: introduce pin_user_pages()")'
    assert ts[3].comment == "# 5.10+" and ts[3].person.email == "stable@vger.kernel.org"
    assert ts[4].person == Person("A Developer", "dev@example.com")


def test_prose_last_paragraph_has_no_trailers():
    assert parse_log_trailers("Subject\n\nNote: this is prose.\nAnd more prose.") == ()


def test_followup_trailers_ignore_quotes_and_signature():
    body = ("> Reviewed-by: Quoted Person <q@example.com>\n\nLooks good.\n\n"
            "Reviewed-by: Real Reviewer <real@example.com>\nTested-by: real@example.com\n"
            "Fixes: not-a-hash\n-- \nAcked-by: Sig Line <sig@example.com>\n")
    ts = parse_followup_trailers(body, "<r@x>", Person("Real Reviewer", "real@example.com"))
    assert [(t.key, t.person.email, t.mismatch) for t in ts] == [
        ("Reviewed-by", "real@example.com", False), ("Tested-by", "real@example.com", False)]


def test_followup_trailer_for_someone_else_is_flagged():
    ts = parse_followup_trailers("Acked-by: Other Person <other@example.com>\n", "<r@x>",
                                 Person("Sender", "sender@example.com"))
    assert ts[0].mismatch


def test_encoded_name_cannot_spoof_the_address_or_inject_headers():
    from reviewkit.ingest.mail import decode_words, parse_person
    p = parse_person("=?utf-8?q?Linus_Torvalds_<torvalds@linux-foundation.org>?= <attacker@evil.org>")
    assert p.email == "attacker@evil.org"
    assert "\n" not in decode_words("=?utf-8?q?Evil=0D=0ABcc:_victim@example.org?=")
