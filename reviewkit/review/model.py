"""The nouns of thread summaries: frozen dataclasses built by reviewkit.review.

Every detected item carries a `Why`: the rule that fired and the sentence
(or line) it fired on, so a reader can check each claim against the mail.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Optional

from ..model import Person


@dataclass(frozen=True)
class Why:
    rule: str                 # stable rule id, e.g. "question/ends-with-question-mark"
    text: str                 # the sentence or line the rule fired on
    detail: str = ""          # one line of explanation


@dataclass(frozen=True)
class Where:
    """A mail in the review of one series version."""
    msgid: str
    series: int               # index into Parsed.series / Summary.series
    version: int
    patch: Optional[str]      # the patch the mail discusses (None: the cover / whole series)
    counter: Optional[int]    # that patch's number in the series
    date: Optional[datetime] = None


@dataclass(frozen=True)
class Anchor:
    """A place in a patch's diff that a reply quoted."""
    patch: str                # msgid of the patch
    path: str
    line: Optional[int]       # post-image line (pre-image for a removed line)
    side: str                 # "new" | "old"
    function: Optional[str]   # enclosing function (from the hunk, else git's section header)
    hunk: int                 # index of the hunk in the file's diff
    quoted: tuple             # the last quoted diff lines (as in the patch), for display
    matched: int              # how many quoted lines matched the patch
    inherited_from: Optional[str] = None  # msgid of the anchored mail this one continues
    verified: bool = True     # False: placed from the quoted @@ header alone (the patch's copy lacks those lines)


@dataclass(frozen=True)
class Outcome:
    """What the next version did about an item that points at code or names something."""
    status: str               # "addressed" | "not-addressed" | "unclear"
    series: Optional[int]     # the series index of the version compared with
    version: Optional[int]
    patch: Optional[str]      # msgid of the patch in that version the decision looked at
    why: str


@dataclass(frozen=True)
class Participant:
    person: Person
    key: str                  # identity key (people with several addresses are merged by name)
    roles: tuple              # of "author", "reviewer", "maintainer", "bot"
    messages: int             # mails sent in this scope
    trailers: int             # trailers given in replies in this scope
    maintainer_of: tuple = ()  # MAINTAINERS section titles (M:) covering the touched files
    listed_reviewer_of: tuple = ()  # MAINTAINERS sections listing them as R:


@dataclass(frozen=True)
class TrailerGiven:
    key: str                  # Reviewed-by, Acked-by, ...
    person: Optional[Person]  # who the trailer names (None when the value has no address)
    version: int
    series: int
    patch: str                # msgid of the patch it applies to
    counter: Optional[int]
    source: str               # "log" (in the patch as posted) | "reply" | "cover-reply"
    status: str               # log: "carried" | "picked-up" | "new" | "unknown" (no previous version in the
                              # input to compare with); reply: "given"; or "dropped"
    msgid: str                # the mail it is in (for "dropped": the mail it was in before)
    given_by: Optional[Person] = None
    mismatch: bool = False    # names someone other than the sender of the reply
    bot: bool = False         # suggested by a bot ("kindly add following tag"), not given
    why: str = ""
    value: str = ""           # the trailer's value as written


@dataclass(frozen=True)
class Verdict:
    # "ack" | "review" | "test" | "nack" (the NAK event), and the events of events.py / summarize.py:
    # "applied" | "dropped" | "changes-requested" | "build-failure" | "test-failure" | "superseded"
    kind: str
    formal: bool              # a trailer (Acked-by: ...) rather than prose ("an enthusiastic Ack")
    person: Person
    where: Where
    scope: str                # "patch" | "series" (given on the cover)
    why: Why
    role: str = ""            # the sender's role: "author" | "reviewer" | "maintainer" | "bot"
    tree: str = ""            # applied/dropped: the tree or branch named ("mm-unstable")
    next: Optional[str] = None  # superseded/dropped between versions: msgid of the version that replaced it
    outcome: Optional["Outcome"] = None  # an objection or failure the next version's changelog credits as fixed


@dataclass(frozen=True)
class Reply:
    """A mail that answered, pinged or mentioned something."""
    msgid: str
    person: Person
    text: str
    rule: str
    date: Optional[datetime] = None


@dataclass(frozen=True)
class Comment:
    """Review text under a quoted piece of diff."""
    where: Where
    author: Person
    role: str                 # "author" | "reviewer" | ...
    anchor: Anchor
    text: str
    why: Why
    outcome: Optional[Outcome] = None


@dataclass(frozen=True)
class Question:
    where: Where
    asker: Person
    role: str
    text: str
    why: Why
    anchor: Optional[Anchor] = None
    status: str = "open"      # "answered" | "open"
    answers: tuple = ()       # Reply, ...
    pings: tuple = ()         # Reply, ... (the asker asking again)
    mentions: tuple = ()      # Reply, ... (others mention its subject without answering it)
    notes: tuple = ()         # str, ... (e.g. "quoted by X but only followed by a closing remark")
    outcome: Optional[Outcome] = None  # for a question on code: did the next version change that code?


@dataclass(frozen=True)
class Quote:
    person: Optional[Person]
    text: str
    msgid: Optional[str]


@dataclass(frozen=True)
class ActionItem:
    kind: str                 # "request" | "commitment"
    where: Where
    who: Person
    role: str
    text: str
    why: Why
    anchor: Optional[Anchor] = None
    responds_to: Optional[Quote] = None  # for a commitment: the request it agrees to
    target_version: Optional[int] = None  # "in v1", "in the next version" (-> version + 1)
    identifiers: tuple = ()   # code names in the item (FOLL_PTRACE, copy_present_page)
    outcome: Optional[Outcome] = None
    scope: str = "series"     # "out-of-scope": the reviewer put it outside this series ("not for this series to fix")


@dataclass(frozen=True)
class ChangelogEntry:
    from_version: Optional[int]
    to_version: int
    items: tuple              # str, ...
    msgid: str                # the cover or patch it was written in
    source: str               # "cover" | "patch"


@dataclass(frozen=True)
class FileInterdiff:
    path: str
    status: str               # "unchanged" | "changed" | "added" | "dropped"
    functions: tuple          # functions whose diff changed between the versions
    added: int                # lines only in the newer version's diff of this file
    removed: int              # lines only in the older version's diff
    lines: tuple = ()         # range-diff style: " +x" / "-+x" / "+-x" ... (outer = interdiff, inner = patch)


@dataclass(frozen=True)
class PatchLink:
    previous: Optional[str]   # msgid of the same patch in the previous version (None: new patch)
    previous_counter: Optional[int]
    how: str                  # "patch-id" | "title" | "normalised-title" | "similarity" | "new" | "missing"
                              # ("missing": the previous version is not (wholly) in the input)
    score: float
    identical: bool           # same diff (patch-id) as before
    log_changed: bool
    files: tuple = ()         # FileInterdiff, ...


@dataclass(frozen=True)
class PatchSummary:
    msgid: str
    counter: Optional[int]
    title: str
    author: Person
    version: int
    series: int
    participants: tuple
    trailers: tuple
    verdicts: tuple
    comments: tuple
    questions: tuple
    actions: tuple
    changelog: tuple
    link: Optional[PatchLink] = None
    replies: int = 0
    thread: tuple = ()        # (msgid, parent msgid, depth) of the replies under the patch, in thread order

    @property
    def open_questions(self) -> tuple:
        return tuple(q for q in self.questions if q.status == "open")


@dataclass(frozen=True)
class VersionLink:
    previous: int             # series index
    how: tuple                # reasons: "parse", "subject", "patch-titles", "patch-id"
    score: float


@dataclass(frozen=True)
class SeriesSummary:
    index: int
    version: int
    rfc: bool
    resend: bool
    title: str
    sender: Person
    date: Optional[datetime]
    cover: Optional[str]
    total: Optional[int]
    missing: tuple
    history: int              # index into Summary.histories
    previous: Optional[VersionLink]
    next: Optional[int]       # series index of the next version
    participants: tuple
    trailers: tuple           # all patches' trailers
    verdicts: tuple           # all verdicts, the cover's (scope "series") first
    comments: tuple
    questions: tuple
    actions: tuple
    changelog: tuple          # ChangelogEntry, ... (cover and patches)
    patches: tuple            # PatchSummary, ...
    dropped_patches: tuple = ()  # (msgid, counter, title) of the previous version not carried on
    messages: int = 0
    thread: tuple = ()        # (msgid, parent msgid, depth) of the replies to the cover (or loose in the series)

    @property
    def open_questions(self) -> tuple:
        return tuple(q for q in self.questions if q.status == "open")


@dataclass(frozen=True)
class History:
    index: int
    title: str
    series: tuple             # series indices, oldest version first


@dataclass
class Summary:
    inputs: list
    series: tuple
    histories: tuple
    errors: list
    stats: dict = field(default_factory=dict)
    mails: dict = field(default_factory=dict)  # msgid -> Message: the mails the thread views show
