"""A reply's body as quote blocks and the replier's own text.

Interleaved replies ("bottom posting", the kernel lists' rule) alternate
quoted text (`> `, `>> `, `> > `) with the replier's answer. We cut the body
into blocks and pair each quote block with the own text right after it:
that text answers (or comments on) the quote's last paragraph.

What is not the replier's prose is left out: attribution lines ("On ...,
X wrote:"), signatures (after `-- `), mailing-list footers, elision marks
(`[...]`), code and diff lines, and sign-offs ("Thanks,", "Jason").
Lines a mailer wrapped out of a quote (a short unquoted fragment between
two quoted lines) go back into the quote.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

_QUOTE = re.compile(r"^((?:[ \t]{0,3}>)+)[ ]?")
_ATTRIBUTION_END = re.compile(r"(?:wrote|writes|said|a écrit|schrieb)\s*:\s*$", re.I)
_ATTRIBUTION_START = re.compile(r"^(?:On|Am|Le|Quoting|In message|At)\b")
_ELISION = re.compile(r"^\s*(?:-+\s*end quoted text\s*-+|\[\s*\.\.\.?\s*\]|\.\.\.+|\[?\s*snip(?:ped)?\s*\]?|<\s*snip\s*>|<\.\.\.>|\[\s*\.\.\.\s*snip\s*\.\.\.\s*\])\s*$",
                      re.I)
_GIT_VERSION = re.compile(r"^\d+\.\d+(?:\.\d+)*(?:\.\w+)*\s*$")
_TRAILER_LINE = re.compile(r"^\s*[A-Z][\w-]*-by:\s+\S.*@|^\s*(?:Cc|Fixes|Link|Closes):\s+\S")
_FOOTER = re.compile(r"^_{10,}\s*$")
_ORIGINAL = re.compile(r"^-{3,}\s*Original Message\s*-{3,}\s*$", re.I)
_CODE_START = re.compile(r"^(?:\t| {4,}|[+]|-\t|#(?:include|define|if|ifdef|ifndef|endif|else)\b|\s*\[\s*\d+\.\d+\])")
_CODE_END = re.compile(r"(?:;|\{|\}|\};|\*/|\\)\s*$")
_WS = re.compile(r"\s+")

_ABBR = re.compile(r"\b(?:e\.g|i\.e|etc|vs|cf|al|approx|resp|incl|esp|viz|Mr|Mrs|Ms|Dr|no|nr)\.", re.I)
_SENT_SPLIT = re.compile(r"(?<=[.!?])[\"')\]]*(\s+)(?=\S)")
_ELLIPSIS_ON = re.compile(r"\.{2,}(?=\s+[a-z])")
_BULLET_LINE = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+\S")

# Words that end a mail, not a point: "Thanks,", "Cheers", "Best regards".
_THANKS = re.compile(r"^(?:many thanks|thanks a lot|thank you|thanks|thx|ta|cheers|regards|best regards|kind regards|"
                     r"warm regards|best wishes|greetings|ciao|bye|sincerely)\b", re.I)
_CLOSING = re.compile(
    r"^(?:(?:please )?feel free to (?:poke|ping|write|contact|reach|ask|let)\b"
    r"|(?:please )?let me know if\b"
    r"|(?:i )?hope (?:this|that|it) (?:helps|clarifies|makes sense|answers)\b"
    r"|hth\b)", re.I)
_TAKEN = re.compile(r"\b(?:applied|queued|picked (?:it |this |them )?up|dropped)\b", re.I)
_ANSWER_WORDS = frozenset("yes no yep nope yeah correct right exactly agreed sure indeed true ok okay done fixed "
                          "ack nack nak nope".split())
_NAME_LINE = re.compile(r"^\s*[-~]?\s*[A-Z][\w'.-]*(?:[ /]+[\w'.-]+){0,2}\s*$")


def norm(text: str) -> str:
    """Lower-case with whitespace collapsed: how quoted text is compared with its source."""
    return _WS.sub(" ", text).strip().lower()


@dataclass
class QLine:
    depth: int                # 0: the replier's own line; n: quoted n levels deep
    text: str
    n: int                    # 1-based line number in the body


@dataclass
class Block:
    kind: str                 # "quote" | "own"
    lines: list = field(default_factory=list)

    def paragraphs(self) -> list:
        """Lists of non-blank QLines; a blank line or a change of quote depth ends a paragraph."""
        out, cur = [], []
        for ln in self.lines:
            if not ln.text.strip():
                if cur:
                    out.append(cur)
                cur = []
                continue
            if cur and cur[-1].depth != ln.depth:
                out.append(cur)
                cur = []
            cur.append(ln)
        if cur:
            out.append(cur)
        return out

    def trailing_norm(self) -> str:
        """norm(trailing_run()), computed once per block."""
        cached = self.__dict__.get("_trailing_norm")
        if cached is None:
            cached = self.__dict__["_trailing_norm"] = norm(self.trailing_run())
        return cached

    def trailing_run(self) -> str:
        """The last paragraphs at the last paragraph's quote depth: what the text after the block answers.

        Quoting a reviewer's three paragraphs and answering below answers all three;
        quoting "Q1?", then deeper-quoted code, then "Q2?" and answering answers Q2 only."""
        paras = self.paragraphs()
        if not paras:
            return ""
        depth = paras[-1][0].depth
        run = []
        for para in reversed(paras):
            if para[0].depth != depth:
                break
            run.append(" ".join(ln.text.strip() for ln in para))
        return " ".join(reversed(run))

    def last_paragraph(self) -> str:
        paras = self.paragraphs()
        return " ".join(ln.text.strip() for ln in paras[-1]) if paras else ""

    def text(self) -> str:
        return "\n".join(ln.text for ln in self.lines)


@dataclass
class Pair:
    quote: Optional[Block]    # None: own text before any quote (top of the mail)
    own: Block


@dataclass
class Body:
    blocks: list
    pairs: list
    top_posted: bool          # own text first, then only quotes

    @property
    def has_quotes(self) -> bool:
        return any(b.kind == "quote" for b in self.blocks)


def _depth(line: str) -> tuple[int, str]:
    m = _QUOTE.match(line)
    if not m:
        return 0, line
    return m.group(1).count(">"), line[m.end():]


def _cut(lines: list[str]) -> list[str]:
    """Drop the signature, list footer and a pasted original after the text."""
    for i, raw in enumerate(lines):
        s = raw.rstrip("\r")
        if s in ("-- ", "--"):
            if i + 1 < len(lines) and _GIT_VERSION.match(lines[i + 1]):
                continue  # the signature of a patch pasted into the mail, not of the mail
            return lines[:i]
        if _FOOTER.match(s) and any("mailing list" in x.lower() or "listinfo" in x.lower() for x in lines[i + 1:i + 4]):
            return lines[:i]
        if _ORIGINAL.match(s):
            return lines[:i] + ["> " + x for x in lines[i + 1:]]
    return lines


def parse_body(body: str) -> Body:
    raw = _cut(body.replace("\r\n", "\n").split("\n"))
    lines = []
    for n, r in enumerate(raw, 1):
        d, t = _depth(r.rstrip("\r"))
        lines.append(QLine(d, t.rstrip(), n))
    # a mailer wrapped a quoted line: a short unquoted fragment between quoted lines
    i = 0
    while i < len(lines):
        ln = lines[i]
        if ln.depth == 0 and ln.text.strip() and i > 0 and lines[i - 1].depth > 0 and lines[i - 1].text.strip():
            j = i
            while j < len(lines) and j - i < 2 and lines[j].depth == 0 and lines[j].text.strip():
                j += 1
            if j < len(lines) and lines[j].depth > 0 and j - i <= 2 \
                    and len(lines[i - 1].text) >= 40:
                prev = lines[i - 1]
                for k in range(i, j):
                    prev.text = prev.text.rstrip() + " " + lines[k].text.strip()
                del lines[i:j]
                continue
        i += 1
    # attributions ("On Mon, ... X wrote:") and elisions are not own text
    keep = []
    for i, ln in enumerate(lines):
        if ln.depth == 0 and _ATTRIBUTION_END.search(ln.text) and _quote_follows(lines, i):
            if keep and keep[-1].depth == 0 and _ATTRIBUTION_START.match(keep[-1].text.strip()):
                keep.pop()
            continue
        if ln.depth == 0 and _ELISION.match(ln.text.strip()):  # stripped: linear on long blank runs
            keep.append(QLine(1, "", ln.n))
            continue
        keep.append(ln)
    blocks: list[Block] = []
    pending_blank: list[QLine] = []
    for ln in keep:
        if ln.depth == 0 and not ln.text.strip():
            pending_blank.append(ln)
            continue
        kind = "quote" if ln.depth > 0 else "own"
        if blocks and blocks[-1].kind == kind:
            blocks[-1].lines.extend(pending_blank)
        else:
            blocks.append(Block(kind))
        pending_blank = []
        blocks[-1].lines.append(ln)
    pairs = []
    prev: Optional[Block] = None
    for b in blocks:
        if b.kind == "own":
            pairs.append(Pair(prev, b))
            prev = None
        else:
            prev = b
    top = bool(blocks) and blocks[0].kind == "own" and all(b.kind == "quote" for b in blocks[1:]) and len(blocks) > 1
    return Body(blocks, pairs, top)


def _quote_follows(lines: list[QLine], i: int) -> bool:
    for ln in lines[i + 1:i + 4]:
        if ln.depth > 0:
            return True
        if ln.text.strip():
            return False
    return False


def is_code(line: str) -> bool:
    """Code, diff, log output or a trailer line: not prose."""
    s = line.rstrip()
    if not s.strip():
        return False
    return bool(_TRAILER_LINE.match(s) or _CODE_START.match(s) or _CODE_END.search(s) or s.strip() in ("}", "{", "};"))


@dataclass(frozen=True)
class Sentence:
    text: str
    line: int                 # body line of its start
    paragraph: int            # index of its paragraph in the block
    first: bool               # first sentence of the block
    last: bool                # last sentence of the block
    alone: bool               # the only sentence of its paragraph
    paragraphs_after: int     # prose paragraphs after its own in the block


def prose_paragraphs(block: Block) -> list[list[QLine]]:
    """Paragraphs of the replier's prose: code and diff lines split and are dropped; a bullet
    starts a paragraph of its own. Prose that goes on in lower case after code that its last
    paragraph introduced ("something like:" <code> "at the entry of foo()?") is one sentence:
    the code is left out as " … "."""
    out: list = []
    colon = False     # the last prose paragraph ended with ':'
    code = False      # code came after it
    for para in block.paragraphs():
        cur: list[QLine] = []
        for ln in para:
            if is_code(ln.text):
                if cur:
                    out.append(cur)
                    colon = cur[-1].text.rstrip().endswith(":")
                cur = []
                code = True
                continue
            if cur and _BULLET_LINE.match(ln.text):
                out.append(cur)
                cur = []
            if not cur and colon and code and out and ln.text.strip()[:1].islower():
                cur = out.pop() + [QLine(ln.depth, "…", ln.n)]
            if not cur:
                colon = code = False
            cur.append(ln)
        if cur:
            out.append(cur)
            colon, code = cur[-1].text.rstrip().endswith(":"), False
    return out


def split_sentences(text: str) -> list[str]:
    """Sentences of a paragraph. A closing quote or parenthesis stays with its sentence ("(aside:
    is this right?)"), and an ellipsis before a lower-case word does not end one ("So... for thp")."""
    protected = _ABBR.sub(lambda m: m.group(0).replace(".", "\0"), text)
    protected = _ELLIPSIS_ON.sub(lambda m: m.group(0).replace(".", "\0"), protected)
    out, start = [], 0
    for m in _SENT_SPLIT.finditer(protected):
        out.append(protected[start:m.start(1)])
        start = m.end()
    out.append(protected[start:])
    return [p.replace("\0", ".").strip() for p in out if p.strip()]


def sentences(block: Block) -> list[Sentence]:
    """The prose sentences of an own-text block (computed once per block)."""
    cached = block.__dict__.get("_sentences")
    if cached is None:
        cached = block.__dict__["_sentences"] = _sentences(block)
    return cached


def _sentences(block: Block) -> list[Sentence]:
    paras = [p for p in prose_paragraphs(block)]
    paras = _drop_signoff(paras)
    out = []
    for pi, para in enumerate(paras):
        joined = " ".join(ln.text.strip() for ln in para)
        parts = split_sentences(joined)
        for si, s in enumerate(parts):
            out.append(Sentence(s, para[0].n, pi, False, False, len(parts) == 1, len(paras) - pi - 1))
    if out:
        out[0] = Sentence(**{**out[0].__dict__, "first": True})
        out[-1] = Sentence(**{**out[-1].__dict__, "last": True})
    return out


def _drop_signoff(paras: list[list[QLine]]) -> list[list[QLine]]:
    """Trailing "Thanks,", "Jason", "- Alistair", "David / dhildenb" paragraphs."""
    paras = [list(p) for p in paras]
    while paras:
        last = paras[-1]
        while last and (is_closing(last[-1].text) or _is_name(last[-1].text)):
            last.pop()
        if last:
            break
        paras.pop()
    return paras


def _is_name(text: str) -> bool:
    s = text.strip()
    if not s or s.lower().strip(" .!,") in _ANSWER_WORDS:
        return False
    return bool(_NAME_LINE.match(s)) and not s.endswith((".", "?", "!", ":"))


def is_question(text: str) -> bool:
    return text.rstrip(" )\"'*_").endswith("?")


def is_closing(sentence: str) -> bool:
    """A sentence that closes a mail: short thanks/regards, "feel free to ...", "hope this helps"."""
    s = sentence.strip()
    if not s or _TAKEN.search(s):  # "Thanks, applied." closes a mail and says where the patch went
        return False
    if _CLOSING.match(s):
        return True
    return bool(_THANKS.match(s)) and len(s.split()) <= 5


def substantive(block: Optional[Block]) -> bool:
    """Own text that says something: not only closings, sign-offs and "feel free to ask"."""
    if block is None:
        return False
    for s in sentences(block):
        if not is_closing(s.text):
            return True
    # prose may be all code (a suggested fix): that is an answer too
    return any(is_code(ln.text) for ln in block.lines)


def own_text(block: Block, limit: int = 600) -> str:
    """The replier's prose of a block, one paragraph per line, shortened to `limit` characters."""
    paras = _drop_signoff(prose_paragraphs(block))
    text = "\n".join(" ".join(ln.text.strip() for ln in p) for p in paras)
    return shorten(text, limit)


def shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut + " ..."


_IDENT = re.compile(r"(?<![\w/.-])(?:(?:Documentation|include|mm|arch|drivers|fs|kernel|lib|tools|net|scripts|block|"
                    r"security|sound|virt|rust|init|ipc|crypto|samples)/[\w.-]+(?:/[\w.-]+)*[\w]|"
                    r"[\w.-]+(?:/[\w.-]+)+\.[chS]|[A-Za-z_]\w*\(\)|[A-Za-z_][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+|"
                    r"[a-z]+[A-Z]\w*)(?![\w/])")


def identifiers(text: str) -> tuple:
    """Code names in prose: `foo()`, `snake_case`, `CONST_NAME`, `mm/memory.c`, `camelCase`."""
    seen: dict[str, None] = {}
    for m in _IDENT.finditer(text):
        name = m.group(0)
        if name.endswith("()"):
            name = name[:-2]
        seen.setdefault(name, None)
    return tuple(seen)
