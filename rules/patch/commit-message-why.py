"""The commit message says why: not empty, not the subject again, a few sentences of its own.

**What it checks.** The commit message without its trailers (`Signed-off-by:`,
`Link:`, `Cc:`, ... wherever they stand), `(cherry picked from commit ...)`
lines and `[maintainer: note]` lines must

1. not be empty;
2. have at least 5 words (`MIN_WORDS`);
3. not merely restate the subject: it needs at least 2 content words of its
   own (`MIN_NEW_WORDS`) besides the subject's words, filler (`this patch
   adds some ...`) and small words.

Thresholds, tuned on the real merged patches in `corpus/mm-patches-6.1`
(which all pass): the shortest merged messages there are "Add warnings and
poison ->next." (5 words, 3 new) and "Improve readability of
walk_pmd_range() and walk_pmd_range_locked()." (6 words, 2 new).

Exemptions, by decision: a trivial fix (the subject says typo, spelling,
grammar, whitespace, indentation, comment or kernel-doc, and the patch
changes at most 20 lines) only needs a non-empty message: "Fix the
misspelling of 'accessed' in a comment." says all there is to say. A patch
touching only tests or documentation (`tools/testing/`, `lib/test_*`,
`Documentation/`, `samples/`) may restate its subject: the reason for a test
is the feature it tests ("Adds some selftests for exclusive device memory."
went into mainline that way, in all 11 versions of its series).

**Why.** Documentation/process/submitting-patches.rst, "Describe your
changes": "Describe your problem. Whether your patch is a one-line bug fix or
5000 lines of a new feature, there must be an underlying problem that
motivated you to do this work. Convince the reviewer that there is a problem
worth fixing". The subject says what changes; the diff shows how; only the
message can say why. mm maintainers ask "why?" on every patch that does not.

**Example.**

    Subject: [PATCH] mm/vmscan: add a proactive check to shrink_lruvec()

    This patch adds a proactive check to shrink_lruvec().     <- the subject again

**How to fix.** Say what goes wrong without the patch (who hits it, what
they see, how often), why this is the right fix, and what you tested.
"""
import re

from reviewkit.rules import Rule
from reviewkit.trailers import is_trailer_key

RULE = Rule(id="patch/commit-message-why", severity="warning", scope="patch",
            summary="the commit message explains why, beyond the subject")

MIN_WORDS = 5
MIN_NEW_WORDS = 2
TRIVIAL_LINES = 20
WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_'-]*")
KEYED_LINE = re.compile(r"^([A-Za-z][\w-]*):\s")
NOT_PROSE = re.compile(r"^\s*(\(cherry picked from commit \w+\)|\[[^\]\s]+@[^\]\s]+:.*\])\s*$")
TRIVIAL = re.compile(r"\b(typos?|spelling|misspell\w*|grammar|whitespace|white space|indentation|"
                     r"comments?|kernel-?doc)\b", re.I)
TESTS_OR_DOCS = ("tools/testing/", "lib/test_", "Documentation/", "samples/")
# Small words and the filler of "this patch adds some ...": they say nothing the subject did not.
FILLER = frozenset("""
    a an the this that these those it its is are be been was were will would should can could to of in on
    for and or but with by from as at so some any all also into onto then than there here we i our you
    patch patches commit change changes series add adds added adding introduce introduces implement
    implements new basic simple support supports just only now do does make makes
""".split())


def check(ctx):
    patch = ctx.patch
    if not patch.files:
        return  # a pull request or a notice, not a patch to apply
    words = [w for line in prose_lines(patch) for w in WORD.findall(line)]
    if not words:
        yield ctx.finding(None, "the commit message is empty: it must say why the change is needed",
                          suggestion="describe the problem the patch solves and why this is the right fix",
                          snippet="commit-message-why empty")
        return
    if is_trivial(patch):
        return
    if len(words) < MIN_WORDS:
        yield ctx.finding(None, f"the commit message has {len(words)} words: too short to say why the change "
                                "is needed", suggestion="say what goes wrong without the patch and why this fixes it",
                          snippet="commit-message-why short")
        return
    new = new_words(words, patch.subject.title)
    if len(new) < MIN_NEW_WORDS and not tests_or_docs_only(patch):
        yield ctx.finding(None, "the commit message only restates the subject: it says what changes, not why",
                          suggestion="say what goes wrong without the patch (who hits it, what they see) and why "
                                     "this is the right fix", snippet="commit-message-why restates")


def prose_lines(patch) -> list:
    """Lines of the commit message that are not trailers, cherry-pick notes or maintainer notes."""
    trailer_lines = {t.line for t in patch.trailers}
    out = []
    for n, line in enumerate(patch.log.split("\n"), 1):
        keyed = KEYED_LINE.match(line)
        if n in trailer_lines or NOT_PROSE.match(line) or (keyed and is_trailer_key(keyed.group(1))):
            continue
        out.append(line)
    return out


def forms(word: str) -> set:
    """The word in lower case with and without a plural or third-person ending, so that `Adds
    selftests` meets `selftest` and `fixes` meets `fix` (no stemmer: this is enough here)."""
    w = word.lower().strip("'")
    out = {w, w[:-2] if w.endswith("'s") else w}
    if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
        out |= {w[:-1], w[:-2] if w.endswith("es") else w[:-1]}
        if w.endswith("ies"):
            out.add(w[:-3] + "y")
    return out


def new_words(words: list, subject: str) -> set:
    """The message's words, one form each, that are neither in the subject nor filler."""
    known = set().union(*(forms(w) for w in WORD.findall(subject) + list(FILLER)))
    return {min(forms(w), key=len) for w in words if not forms(w) & known}


def changed_lines(patch) -> int:
    return sum(f.added + f.removed for f in patch.files)


def is_trivial(patch) -> bool:
    return bool(TRIVIAL.search(patch.subject.title)) and changed_lines(patch) <= TRIVIAL_LINES


def tests_or_docs_only(patch) -> bool:
    return all(f.path.startswith(TESTS_OR_DOCS) for f in patch.files)
