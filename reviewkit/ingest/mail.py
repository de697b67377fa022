"""One RFC 822 mail (bytes) -> Message.

Headers are split and unfolded with a few regexes and only the ones the
pipeline needs are decoded; the body is decoded on first use. This is what
makes ingest several times faster than `email.message_from_bytes` with
`policy.default`, which folds, walks and decodes everything eagerly.
Python's `email` package is still used for what it does well and we need
rarely: RFC 2047 words and MIME multipart walking.
"""
from __future__ import annotations

import binascii
import codecs
import hashlib
import html.parser
import re
from datetime import datetime, timezone
from email import message_from_bytes
from email.header import decode_header
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime
from typing import Callable, Optional

from ..model import Errors, Message, Person, Source

# Both start with a literal "\n" so the regex engine can scan fast; a "\r" left
# before it is stripped from the head (CRLF mail).
_HEAD_END = re.compile(rb"\n\r?\n")
_UNFOLD_SPLIT = re.compile(rb"\n(?![ \t])")
_FOLD_WS = re.compile(r"\r?\n[ \t]+")
_FOLD_LF = re.compile(r"\n[ \t]+")  # the same where no "\r" is: ten times faster (a literal first)
_HEADER_NAME = re.compile(rb"^([!-9;-~]+)[ \t]*:")
_MSGID = re.compile(r"<([^<>\s]+)>")
_CONTROL = re.compile(r"[\r\n\x00]+")
_MAIL_HEADERS = frozenset(("from", "subject", "date", "message-id"))

# Parts larger than this are not decoded as text (a 50 MB attachment is not a
# patch, and decoding it would cost the whole run's memory).
MAX_TEXT_PART = 16 * 1024 * 1024
# Header block larger than this is not a header block.
MAX_HEAD = 1024 * 1024
# Per-message bounds (hostile input): more header lines than this are not read, a longer
# value is cut (a real References of a long thread is a few KB), deeper MIME is not walked.
MAX_HEADERS = 1000
MAX_HEADER_VALUE = 64 * 1024
MAX_MIME_DEPTH = 16
MAX_REFERENCES = 200
MAX_NAME = 256
MAX_SUBJECT = 2000  # RFC 5322 lines stop at 998; no real subject comes near
MAX_MIME_PARTS = 500


def split_head_body(raw: bytes) -> tuple[bytes, bytes]:
    """Split at the first blank line; a mail with no blank line is all head."""
    if raw.startswith((b"\n", b"\r\n")):
        return b"", raw.split(b"\n", 1)[1]
    m = _HEAD_END.search(raw)
    if m is None:
        return raw, b""
    head = raw[: m.start()]
    return (head[:-1] if head.endswith(b"\r") else head), raw[m.end():]


def _bytes_to_text(value: bytes) -> str:
    try:
        return value.decode("ascii")
    except UnicodeDecodeError:
        pass
    try:  # unencoded UTF-8 in headers is common and harmless
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


# a header line, in a head decoded and unfolded whole (see raw_headers)
_HEADER_LINE = re.compile(r"^([!-9;-~]+)[ \t]*:(.*)", re.M)


def raw_headers(head: bytes) -> list[tuple[str, str]]:
    """Unfolded (name, raw value) pairs; lines that are not headers are skipped."""
    try:  # the usual head, UTF-8 throughout: read in one pass (each value decodes as it would alone)
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return _raw_headers_each(head)
    # unfolded in one pass (a fold is a line break before white space, never a header's end)
    unfolded = (_FOLD_WS if "\r" in text else _FOLD_LF).sub(" ", text)
    return [(name, value.strip()) for name, value in _HEADER_LINE.findall(unfolded)]


def _raw_headers_each(head: bytes) -> list[tuple[str, str]]:
    """raw_headers() value by value: each decoded as ASCII, UTF-8 or Latin-1, whichever reads it."""
    out = []
    for chunk in _UNFOLD_SPLIT.split(head):
        m = _HEADER_NAME.match(chunk)
        if not m:
            continue
        name = m.group(1).decode("ascii")
        value = _bytes_to_text(chunk[m.end():])
        if "\n" in value:
            value = _FOLD_WS.sub(" ", value)
        out.append((name, value.strip()))
    return out


def looks_like_header_block(head: bytes) -> bool:
    """True when the first line of `head` is a header (or an mbox From line)."""
    first = head.split(b"\n", 1)[0]
    return bool(_HEADER_NAME.match(first)) or first.startswith(b"From ")


def _lookup_codec(charset: Optional[str]) -> str:
    if charset:
        cs = charset.strip().strip('"').lower()
        try:
            info = codecs.lookup(cs)
        except (LookupError, ValueError, TypeError):  # unknown name, or garbage such as NUL bytes
            return "utf-8"
        # rot-13, hex, uu, bz2, base64, zlib... are codecs, but not text encodings: bytes.decode refuses them
        if getattr(info, "_is_text_encoding", True):
            return info.name
    return "utf-8"


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_NO_SURROGATES = ("utf-8", "ascii", "latin-1", "iso8859-", "cp125", "koi8-")


def decode_text(data: bytes, charset: Optional[str]) -> str:
    """Decode with the declared charset; fall back sanely on wrong or missing ones. Never raises,
    and never returns lone surrogates (utf-7 and utf-16 can make them), which no output could encode."""
    codec = _lookup_codec(charset)
    text = None
    for attempt in (codec, "utf-8") if codec != "utf-8" else ("utf-8",):
        try:
            text = data.decode(attempt)
            break
        except (UnicodeError, LookupError, ValueError, TypeError):
            pass
    if text is None:
        # latin-1 never fails and keeps ASCII (all of C and diff syntax) intact.
        try:
            text = data.decode(codec if codec not in ("utf-8", "ascii") else "latin-1", "replace")
        except (UnicodeError, LookupError, ValueError, TypeError):
            text = data.decode("latin-1")
    # only a few decoders (utf-7, utf-16...) can make lone surrogates; the 8-bit ones never do
    return _LONE_SURROGATE.sub("\ufffd", text) if not codec.startswith(_NO_SURROGATES) else text


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words; tolerate bad charsets and broken words."""
    if "=?" not in value:
        return value
    try:
        parts = decode_header(value)
    except Exception:  # email raises several kinds on garbage
        return value
    out = []
    for chunk, charset in parts:
        if isinstance(chunk, str):
            out.append(chunk)
        else:
            out.append(decode_text(chunk, charset) if charset else _bytes_to_text(chunk))
    # an encoded word may hide line breaks (a header injection); a header value has none
    return _CONTROL.sub(" ", "".join(out)).strip()


def _clean_msgid(value: Optional[str]) -> Optional[str]:
    if not value:
        return None
    m = _MSGID.search(value)
    if m:
        return f"<{m.group(1)}>"
    token = value.strip().split()[0] if value.strip() else ""
    return f"<{token.strip('<>')}>" if token else None


def _display_name(text: str) -> str:
    """Unquote quoted-strings and keep comments, as git mailinfo shows an author."""
    out: list[str] = []
    depth, quoted, i = 0, False, 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if c == '"' and depth == 0:
            quoted = not quoted
        elif c == "(" and not quoted:
            depth += 1
            out.append(c)
        elif c == ")" and not quoted and depth:
            depth -= 1
            out.append(c)
        else:
            out.append(c)
        i += 1
    name = " ".join("".join(out).split())
    if name.startswith("(") and name.endswith(")") and name.count("(") == 1:
        name = name[1:-1].strip()  # "addr (Name)" style
    return name


# Linear time on hostile headers: the local part cannot hold the `@`, and a bare address
# starts only where a run of address characters starts (no rescanning inside a long run).
_ANGLE_ADDR = re.compile(r"<\s*([^<>\s@]*@[^<>\s]*)\s*>")
_BARE_ADDR = re.compile(r"(?<![^\s<>()\",;])[^\s<>()\",;@]+@[^\s<>()\",;]+")


def strip_via(name: str) -> tuple[str, bool]:
    """("John via iommu") -> ("John", True): the name a DMARC list rewrite hides."""
    parts = name.rsplit(None, 2)
    if len(parts) == 3 and parts[1].lower() == "via":
        return parts[0].strip(), True
    return name, False


def parse_person(value: str, reply_to: Optional[str] = None) -> Person:
    """From header -> Person (name as git shows it), undoing DMARC "Name via list" rewrites.

    The address is found before RFC 2047 words are decoded: an encoded display name such as
    `=?utf-8?q?Linus_<torvalds@...>?= <attacker@...>` must not become the sender's address.
    """
    angles = list(_ANGLE_ADDR.finditer(value))
    m = angles[-1] if angles else _BARE_ADDR.search(value)  # the real address comes last
    addr = (m.group(1) if m.re is _ANGLE_ADDR else m.group(0)) if m else ""
    name = _display_name(decode_words(value[: m.start()] + " " + value[m.end():] if m else value))
    real_name, via = strip_via(name)
    if via and reply_to:
        for rt_name, rt_addr in getaddresses([reply_to[:MAX_HEADER_VALUE]]):
            if rt_addr:
                return Person((decode_words(rt_name) or real_name)[:MAX_NAME], rt_addr.lower()[:MAX_NAME])
    # names and addresses are short; a hostile one is cut, so that no later stage pays for its length
    return Person(real_name[:MAX_NAME], addr.strip().lower()[:MAX_NAME])


def _parse_date(value: Optional[str]) -> Optional[datetime]:
    if not value:
        return None
    try:
        dt = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if dt is None or not (1970 <= dt.year <= 2200):
        return None
    # "-0000" gives a naive datetime; make every date comparable
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=timezone.utc)


def synthetic_msgid(raw: bytes) -> str:
    """A stable id for a mail without Message-ID: the same bytes give the same id."""
    return f"<{hashlib.sha1(raw).hexdigest()[:20]}@reviewkit.invalid>"


def parse_message(raw: bytes, source: Source, errors: Errors,
                  reload: Optional[Callable[[], bytes]] = None) -> Optional[Message]:
    """Build a Message from one mail's bytes; None (with an error) when it is not a mail.
    With `reload` (the mail's bytes read again, e.g. from its git blob) the Message keeps
    no bytes: its body is read back when asked for, so a whole archive is not held at once."""
    head, body = split_head_body(raw)
    if len(head) > MAX_HEAD:
        errors.add(source.input, source.where, f"header block is {len(head)} bytes; not a mail, skipped")
        return None
    headers = raw_headers(head)
    if len(headers) > MAX_HEADERS:
        errors.add(source.input, source.where,
                   f"{len(headers)} header lines; only the first {MAX_HEADERS} are read")
        headers = headers[:MAX_HEADERS]
    long = [name for name, value in headers if len(value) > MAX_HEADER_VALUE]
    if long:
        errors.add(source.input, source.where, f"header {long[0]} is longer than {MAX_HEADER_VALUE >> 10} KiB; "
                   "cut there" + (f" (and {len(long) - 1} more)" if len(long) > 1 else ""))
        headers = [(name, value[:MAX_HEADER_VALUE]) for name, value in headers]
    if not any(name.lower() in _MAIL_HEADERS for name, _ in headers):
        errors.add(source.input, source.where or "byte 0",
                   "no mail headers (From, Subject, Date or Message-ID) found: not an RFC 822 mail; "
                   "skipped (for a saved web page, try --input-format)")
        return None
    wanted: dict[str, str] = {}
    for name, value in headers:
        wanted.setdefault(name.lower(), value)
    msgid = _clean_msgid(wanted.get("message-id"))
    synthetic = msgid is None
    if synthetic:
        msgid = synthetic_msgid(raw)
    refs = tuple(dict.fromkeys(f"<{r}>" for r in _MSGID.findall(wanted.get("references", ""))))
    if len(refs) > MAX_REFERENCES:  # trimmed as RFC 5322 3.6.4 suggests: the thread's root and the nearest
        errors.add(source.input, source.where, f"References names {len(refs)} messages; "
                                               f"the first and the last {MAX_REFERENCES - 1} are kept")
        refs = refs[:1] + refs[-(MAX_REFERENCES - 1):]
    irt = _clean_msgid(wanted.get("in-reply-to"))
    if irt is None and refs:
        irt = refs[-1]
    if irt == msgid:
        irt = None
    date = _parse_date(wanted.get("date"))
    if wanted.get("date") and date is None:
        errors.add(source.input, source.where, f"unreadable Date header {wanted['date'][:60]!r}; the mail is kept without a date")
    sender = parse_person(wanted.get("from", ""), wanted.get("reply-to"))
    if len(wanted.get("from", "")) > 4 * MAX_NAME:
        errors.add(source.input, source.where, f"From header of {len(wanted['from']):,} characters; "
                                               f"name and address cut at {MAX_NAME}")
    subject = decode_words(_FOLD_WS.sub(" ", wanted.get("subject", ""))).strip()
    if len(subject) > MAX_SUBJECT:
        errors.add(source.input, source.where, f"Subject of {len(subject):,} characters; cut at {MAX_SUBJECT:,}")
        subject = subject[:MAX_SUBJECT]
    ctype = wanted.get("content-type", "")
    cte = wanted.get("content-transfer-encoding", "")
    # the loader keeps only what decoding needs: the body, or the whole mail for MIME walking
    if reload is not None:
        load_body = ReloadedBody(reload, ctype, cte, source, errors, first=raw)
    elif _params(ctype)[0].startswith("multipart/"):
        def load_body() -> str:
            return decode_body(raw, body, ctype, cte, source, errors)
    else:
        def load_body() -> str:
            return decode_body(b"", body, ctype, cte, source, errors)

    return Message(
        msgid=msgid, subject=subject, sender=sender, date=date, in_reply_to=irt,
        references=refs, headers=tuple(headers), source=source, body_loader=load_body,
        synthetic_id=synthetic, header_decoder=decode_words,
    )


class ReloadedBody:
    """A body loader that keeps no bytes: each call reads the mail again (`reload`) and decodes
    it; `first`, the bytes already in hand, serves the first call and is then let go. (A class
    with slots, not a closure: a whole archive holds one per message.)"""
    __slots__ = ("reload", "ctype", "cte", "source", "errors", "first")

    def __init__(self, reload: Callable[[], bytes], ctype: str, cte: str, source: Source, errors: Errors,
                 first: Optional[bytes] = None) -> None:
        self.reload, self.ctype, self.cte, self.source, self.errors = reload, ctype, cte, source, errors
        self.first = first

    def __call__(self) -> str:
        raw, self.first = (self.first, None) if self.first is not None else (self.reload(), None)
        return decode_body(raw, split_head_body(raw)[1], self.ctype, self.cte, self.source, self.errors)


# --- bodies -----------------------------------------------------------------

def _params(ctype: str) -> tuple[str, dict]:
    parts = [p.strip() for p in ctype.split(";")]
    mtype = parts[0].lower() if parts and parts[0] else "text/plain"
    params = {}
    for p in parts[1:]:
        if "=" in p:
            k, v = p.split("=", 1)
            params[k.strip().lower()] = v.strip().strip('"')
    return mtype, params


def _transfer_decode(data: bytes, cte: str, source: Source, errors: Errors) -> bytes:
    cte = cte.strip().lower()
    if cte == "base64":
        compact = re.sub(rb"\s+", b"", data)
        try:
            return binascii.a2b_base64(compact, strict_mode=True)
        except (binascii.Error, ValueError) as exc:
            errors.add(source.input, source.where,
                       f"damaged base64 body ({exc}); decoded what could be read, the rest is lost")
            try:
                return binascii.a2b_base64(data)  # lenient: skips what is not base64
            except (binascii.Error, ValueError):
                return data
    if cte == "quoted-printable":
        return binascii.a2b_qp(data)
    return data


def unflow(text: str, delsp: bool) -> str:
    """RFC 3676 format=flowed: join soft-broken lines, undo space-stuffing."""
    out: list[str] = []
    buf: Optional[str] = None
    buf_depth = 0

    def emit(depth: int, content: str) -> None:
        out.append(">" * depth + (" " + content if depth and content else content))

    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]
        soft = content.endswith(" ") and content != "-- "
        if soft and delsp:
            content = content[:-1]
        if buf is not None and depth == buf_depth:
            buf += content
        else:
            if buf is not None:
                emit(buf_depth, buf)
            buf, buf_depth = content, depth
        if not soft:
            emit(buf_depth, buf)
            buf = None
    if buf is not None:
        emit(buf_depth, buf)
    return "\n".join(out)


class _HTMLText(html.parser.HTMLParser):
    _BLOCK = {"p", "div", "br", "tr", "li", "pre", "blockquote", "h1", "h2", "h3", "h4"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "head"):
            self._skip += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "head") and self._skip:
            self._skip -= 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    parser = _HTMLText()
    parser.feed(markup)
    parser.close()
    text = "".join(parser.parts)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n") + "\n"


def _single_part_text(data: bytes, ctype: str, cte: str, source: Source, errors: Errors) -> str:
    mtype, params = _params(ctype)
    payload = _transfer_decode(data, cte, source, errors)
    text = decode_text(payload, params.get("charset"))
    if "\r\n" in text:
        text = text.replace("\r\n", "\n")
    if params.get("format", "").lower() == "flowed":
        text = unflow(text, params.get("delsp", "").lower() == "yes")
    if mtype == "text/html":
        text = html_to_text(text)
    return text


_TEXTUAL = ("text/plain", "text/x-patch", "text/x-diff", "text/x-patch-file", "application/x-patch",
            "application/x-diff", "text/x-c", "text/x-csrc", "text/x-chdr")


def _leaf_parts(msg, source: Source, errors: Errors) -> list:
    """The non-multipart parts in order, walked without recursion, within MIME depth and part-count bounds."""
    out: list = []
    stack = [(msg, 0)]
    too_deep = False
    while stack:
        part, depth = stack.pop()
        if not part.is_multipart():
            out.append(part)
            if len(out) >= MAX_MIME_PARTS:
                errors.add(source.input, source.where, f"more than {MAX_MIME_PARTS} MIME parts; the rest not read")
                break
            continue
        if depth >= MAX_MIME_DEPTH:
            too_deep = True
            continue
        children = part.get_payload()
        if isinstance(children, list):
            stack.extend((child, depth + 1) for child in reversed(children))
    if too_deep:
        errors.add(source.input, source.where, f"MIME parts nested deeper than {MAX_MIME_DEPTH}; those not read")
    return out


_NOT_ESCAPE = re.compile("[\ud800-\udc7f\udd00-\udfff]")  # surrogates that are not escaped bytes 0x80-0xff


def decode_body(raw: bytes, body: bytes, ctype: str, cte: str, source: Source, errors: Errors) -> str:
    """The text of a mail: `raw` (the whole mail) is only needed for multipart."""
    mtype, _ = _params(ctype)
    if not mtype.startswith("multipart/"):
        if len(body) > MAX_TEXT_PART:
            errors.add(source.input, source.where, f"body of {len(body) >> 20} MiB not decoded (too large for a patch mail)")
            return ""
        return _single_part_text(body, ctype, cte, source, errors)
    try:
        msg = message_from_bytes(raw, policy=compat32)
    except Exception as exc:  # email is very tolerant, but not of everything (RecursionError included)
        errors.add(source.input, source.where, f"MIME structure unreadable ({type(exc).__name__}); body used as is")
        return decode_text(body, None)
    plain, html_parts = [], []
    skipped = []
    for part in _leaf_parts(msg, source, errors):
        ptype = part.get_content_type()
        try:
            payload = part.get_payload(decode=False)
        except (UnicodeError, LookupError, ValueError) as exc:  # compat32 decodes some charsets itself (idna)
            errors.add(source.input, source.where, f"{ptype} part not readable ({type(exc).__name__}); skipped")
            continue
        if not isinstance(payload, str):
            continue
        # compat32 keeps undecodable bytes as surrogate escapes: get them back
        try:
            pbytes = payload.encode("ascii", "surrogateescape")
        except UnicodeEncodeError:
            # a lone surrogate that is no escaped byte (a charset compat32 decoded itself) becomes "?"
            pbytes = _NOT_ESCAPE.sub("?", payload).encode("utf-8", "surrogateescape")
        if ptype in _TEXTUAL or (ptype.startswith("text/") and ptype != "text/html"):
            if len(pbytes) > MAX_TEXT_PART:
                skipped.append(f"{ptype} part of {len(pbytes) >> 20} MiB")
                continue
            pctype = str(part.get("Content-Type", "text/plain"))
            if ptype not in ("text/plain",) and "charset" not in pctype.lower():
                pctype = "text/plain"
            plain.append(_single_part_text(pbytes, pctype, str(part.get("Content-Transfer-Encoding", "")), source, errors))
        elif ptype == "text/html":
            html_parts.append(_single_part_text(pbytes, str(part.get("Content-Type", "text/html")),
                                                str(part.get("Content-Transfer-Encoding", "")), source, errors))
    if skipped:
        errors.add(source.input, source.where, "not decoded: " + ", ".join(skipped))
    parts = plain or html_parts
    return "\n".join(p if p.endswith("\n") or not p else p + "\n" for p in parts)
