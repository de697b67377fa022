"""Reply mails built safely from mail data: what `lint --format email` and the bot send.

    from reviewkit.render.mail import Parent, reply, mbox

    parent = Parent(subject="[PATCH 1/2] mm: fix x", msgid="<1@host>", references=["<0@host>"],
                    author=("Ann Dev", "ann@example.org"), to=[("", "linux-mm@kvack.org")], cc=[])
    msg = reply(parent, "Hi Ann,\n...\n", sender="You <you@example.org>", errors=errors)
    text = mbox([msg])          # an mbox: `git send-email` reads it

`Parent.from_message(msg)` takes the parent from a parsed mail (the bot's case).

Every value we receive is already decoded text (from a mail someone else
wrote). It is made one line (control characters, CR and LF dropped) and is
never decoded again: a value that merely looks like an RFC 2047 encoded
word is itself encoded, so a reader decodes it back to the same text and
an encoded word hiding CR LF cannot turn into a header line (issue 16).
Message ids are taken only from their `<...>` form; an address that is not
a plain `local@domain` is skipped with an entry in `errors`. Headers are
folded at 78 columns; the body is UTF-8 in 8bit, or quoted-printable when
a line is too long for SMTP -- never base64, which the lists cannot read.
"""
from __future__ import annotations

import email.policy
import quopri
import re
import unicodedata
from dataclasses import dataclass, field
from email.generator import Generator
from email.header import Header
from email.message import Message
from email.utils import formataddr, getaddresses
from io import StringIO
from typing import Optional, Sequence

PLACEHOLDER_FROM = "reviewkit user <unknown@invalid>"
HEADER_WIDTH = 78
SMTP_LINE = 998            # octets per line SMTP allows; longer body lines go quoted-printable
UNIXFROM = "From reviewkit Thu Jan  1 00:00:00 1970"
# compat32 writes header values as given (policy.default would decode encoded words in them once more)
POLICY = email.policy.compat32.clone(linesep="\n", max_line_length=HEADER_WIDTH)

_MSGID = re.compile(r"<([!-;=?-~]{1,250})>")      # printable ASCII, no '<' '>' or space
_ADDR = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")
_ENCODED_LOOKING = "=?"
_SPACES = re.compile(r"\s+")
# controls and line/paragraph separators become spaces; invisible format characters (bidi overrides,
# zero-width) are dropped
_CHAR = {"Cc": " ", "Zl": " ", "Zp": " ", "Cf": ""}

Pair = tuple  # (display name, address)


def one_line(text: Optional[str]) -> str:
    """Text as one header-safe line: control and format characters (CR, LF, NUL, U+2028, ...) become
    spaces, runs of white space one space, lone surrogates U+FFFD. Nothing is decoded."""
    if not text:
        return ""
    text = text.encode("utf-8", "replace").decode("utf-8") if not text.isascii() else text
    out = "".join(_CHAR.get(unicodedata.category(c), c) if not c.isspace() else " " for c in text)
    return _SPACES.sub(" ", out).strip()


def message_ids(text: Optional[str]) -> list:
    """The `<id>` tokens in a header value, in order, each once; anything else in it is ignored."""
    found = [f"<{m}>" for m in _MSGID.findall(text or "") if _ENCODED_LOOKING not in m]
    return list(dict.fromkeys(found))


def address(name: Optional[str], addr: Optional[str]) -> Optional[str]:
    """`Name <addr>` ready for a header (the name RFC 2047-encoded when it is not plain ASCII or looks
    like an encoded word), or None when `addr` is not a plain address."""
    addr = (addr or "").strip()
    if not _ADDR.fullmatch(addr) or _ENCODED_LOOKING in addr or ".." in addr:
        return None
    name = one_line(name)
    if not name:
        return addr
    if name.isascii() and _ENCODED_LOOKING not in name:
        return formataddr((name, addr))
    words = Header(name, "utf-8").encode(linesep=" ", maxlinelen=HEADER_WIDTH - 2)
    return f"{' '.join(words.split())} <{addr}>"


def parse_sender(value: str) -> Optional[str]:
    """A --from value ("Name <addr>" or "addr") as a header value, or None when it is not one address."""
    pairs = [p for p in getaddresses([one_line(value)]) if p[1]]
    return address(*pairs[0]) if len(pairs) == 1 else None


@dataclass
class Parent:
    """The mail we answer, as decoded text: its subject, its `<msgid>` (None: do not thread), the
    ids it references, its author (name, address) and its To/Cc recipients as (name, address)."""
    subject: str
    msgid: Optional[str] = None
    references: Sequence[str] = ()
    author: Optional[Pair] = None
    to: Sequence[Pair] = field(default_factory=list)
    cc: Sequence[Pair] = field(default_factory=list)

    @classmethod
    def from_message(cls, msg: Message) -> "Parent":
        """From a mail parsed with the compat32 policy (raw header values), decoding each once:
        addresses are split before names are decoded, so a name cannot smuggle in an address."""
        from ..ingest.mail import decode_words, parse_person

        def raw(name: str) -> str:
            return " ".join(str(msg.get(name, "")).split())

        def pairs(name: str) -> list:
            return [(decode_words(n), a) for n, a in getaddresses([raw(name)]) if a]
        sender = parse_person(raw("From"), raw("Reply-To") or None)
        ids = message_ids(raw("Message-ID"))
        return cls(subject=decode_words(raw("Subject")), msgid=ids[0] if ids else None,
                   references=message_ids(raw("References")) or message_ids(raw("In-Reply-To")),
                   author=(sender.name, sender.email) if sender.email else None,
                   to=pairs("To"), cc=pairs("Cc"))


def reply_subject(subject: str) -> str:
    s = one_line(subject)
    return s if s[:3].lower() == "re:" else f"Re: {s}"


def _text_header(value: str):
    """A free-text header value: as is when plain ASCII, else encoded (so that it decodes to itself)."""
    if value.isascii() and _ENCODED_LOOKING not in value:
        return value
    return Header(value, "utf-8")


def reply(parent: Parent, body: str, sender: str = PLACEHOLDER_FROM, *, errors: Optional[list] = None,
          extra_headers: Sequence[Pair] = ()) -> Message:
    """A plain-text reply to `parent`: From `sender` (a header value, see parse_sender), To its author,
    Cc its To and Cc (each address once, not the sender's), "Re: " subject, In-Reply-To and References.
    Recipients whose address cannot be written go to `errors` as {"input", "where", "message"}.
    `extra_headers` are (name, value) pairs we make ourselves (e.g. X-Reviewkit-Findings)."""
    errors = errors if errors is not None else []
    msg = Message(policy=POLICY)
    msg["From"] = sender
    own = {a.lower() for _, a in getaddresses([sender]) if a}
    seen = set(own)

    def take(pairs: Sequence[Pair]) -> list:
        out = []
        for name, addr in pairs:
            key = (addr or "").strip().lower()
            if not key or key in seen:
                continue
            seen.add(key)
            written = address(name, addr)
            if written is None:
                errors.append({"input": parent.msgid or "reply", "where": f"reply to {parent.msgid or '?'}",
                               "message": f"recipient {one_line(addr)[:80]!r} is not a plain address: "
                                          "left out of the reply"})
            else:
                out.append(written)
        return out
    to = take([parent.author] if parent.author else [])
    cc = take(list(parent.to) + list(parent.cc))
    if not to and cc:  # no usable author: the first recipient gets it
        to, cc = cc[:1], cc[1:]
    if to:
        msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Subject"] = _text_header(reply_subject(parent.subject))
    ids = message_ids(parent.msgid)
    if ids:
        refs = [r for r in message_ids(" ".join(parent.references)) if r != ids[0]] + ids[:1]
        msg["In-Reply-To"] = ids[0]
        msg["References"] = " ".join(refs)
    for name, value in extra_headers:
        msg[name] = one_line(value)
    _set_body(msg, body)
    return msg


def _set_body(msg: Message, body: str) -> None:
    text = body.encode("utf-8", "replace").decode("utf-8").replace("\r\n", "\n").replace("\r", "")
    text = text.replace("\x00", "")
    if not text.endswith("\n"):
        text += "\n"
    msg["MIME-Version"] = "1.0"
    msg["Content-Type"] = 'text/plain; charset="utf-8"'
    if any(len(ln.encode("utf-8")) > SMTP_LINE for ln in text.split("\n")):
        msg["Content-Transfer-Encoding"] = "quoted-printable"
        msg.set_payload(quopri.encodestring(text.encode("utf-8")).decode("ascii"))
    else:
        msg["Content-Transfer-Encoding"] = "8bit"
        msg.set_payload(text)


def as_text(msg: Message) -> str:
    """One message as text (headers folded at 78 columns, no "From " line)."""
    out = StringIO()
    Generator(out, mangle_from_=True, maxheaderlen=HEADER_WIDTH, policy=POLICY).flatten(msg, unixfrom=False)
    text = out.getvalue()
    _check_header_lines(text, {k.lower() for k in msg.keys()})
    return text if text.endswith("\n") else text + "\n"


def mbox(messages: Sequence[Message]) -> str:
    """The messages as one mbox ("From " lines in bodies are quoted as ">From ")."""
    return "\n".join(f"{UNIXFROM}\n{as_text(m)}" for m in messages)


def _check_header_lines(text: str, names: set) -> None:
    """Last guard: every header line is a continuation or one of the headers we set."""
    head = text.split("\n\n", 1)[0]
    for line in head.split("\n"):
        if line[:1] in (" ", "\t"):
            continue
        if line.split(":", 1)[0].lower() not in names:
            raise ValueError(f"reply header block has a line we did not write: {line[:60]!r}")
