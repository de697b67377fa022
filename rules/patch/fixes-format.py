"""A `Fixes:` tag names the commit by 12+ hex characters and its quoted subject, on one line.

**What it checks.** Every line of the commit message that starts with
`Fixes` followed by a colon must read exactly

    Fixes: <12 to 64 lowercase hex characters> ("<subject of that commit>")

(an optional trailing `# note` is allowed). Reported: an id shorter than 12
characters or in upper case, a missing `("...")` subject, a subject without
its parentheses or double quotes, `commit` before the id, a misspelt key
(`fixes:`, `Fixes :`, `Fixes:abc`), and a tag wrapped over two lines. When
the tree given to `lint --tree` is a git repository that has the commit, the
quoted subject must also be the commit's real subject.

**Why.** Documentation/process/submitting-patches.rst ("Describe your
changes") and checkpatch's BAD_FIXES_TAG: the stable team's and distributions'
scripts backport by parsing `Fixes:`. A short id becomes ambiguous as the
repository grows, and the quoted subject is what lets a human (and a script,
after a rebase changed the id) find the commit. b4 only collects `Fixes:`
lines whose id has at least 12 hex characters. A wrapped tag is cut at the
line end by every tool that reads trailers line by line, `git
interpret-trailers` included; the 75-column limit does not apply to it.

**Example.**

    Fixes: e4dde56cd20 (mm: multi-gen LRU: per-node lru_gen_folio lists)   <- 11 chars, no quotes
    Fixes: e4dde56cd208 ("mm: multi-gen LRU: per-node
    lru_gen_folio lists")                                                  <- wrapped

**How to fix.** Generate the line instead of typing it:
`git log -1 --abbrev=12 --format='Fixes: %h ("%s")' <commit>`, and keep it on
one line however long it is.
"""
import re

from reviewkit.rules import Rule

RULE = Rule(id="patch/fixes-format", severity="warning", scope="patch",
            summary="Fixes: <12+ hex chars> (\"<subject>\") on one line")

FIXES_LINE = re.compile(r"^fixes\s*:", re.I)
WELL_FORMED = re.compile(r'^Fixes: ([0-9a-f]{12,64}) \("(.+)"\)(\s+#.*)?$')
PARTS = re.compile(r"^(fixes\s*:)\s*(commit\s+)?([0-9a-f]+\b)?\s*(.*)$", re.I)
GENERATE = "git log -1 --abbrev=12 --format='Fixes: %h (\"%s\")' <commit>"


def check(ctx):
    patch = ctx.patch
    if not patch.files:
        return  # a pull request or a notice, not a patch to apply
    lines = patch.log.split("\n")
    for i, line in enumerate(lines):
        if not FIXES_LINE.match(line):
            continue
        text = line.rstrip()
        following = lines[i + 1] if i + 1 < len(lines) else ""
        problems = wrap_problem(text, following) or format_problems(text) or title_problems(ctx, text)
        if problems:
            sha = PARTS.match(text).group(3) or text
            yield ctx.finding(None, f"bad Fixes: tag `{text}`: " + "; ".join(problems),
                              suggestion=f"one line `Fixes: <12+ chars of sha1> (\"<subject>\")`: {GENERATE}",
                              snippet=f"Fixes {sha.lower()}")


def wrap_problem(text: str, following: str) -> list:
    """A `("...` left open at the line end that the next line closes: the tag was wrapped."""
    opened = re.search(r'\("[^"]*$', text) or re.search(r"\([^)]*$", text)
    if opened and following.strip().endswith(")"):
        return ["it is wrapped over two lines; a trailer must stay on one line however long"]
    return []


def format_problems(text: str) -> list:
    if WELL_FORMED.match(text):
        return []
    key, commit_word, sha, rest = PARTS.match(text).groups()
    if not sha:
        return ["it names no commit id (Fixes: takes the commit that introduced the bug)"]
    problems = []
    if not re.match(r"^Fixes: (commit )?[0-9a-fA-F]", text):
        problems.append("write the key as `Fixes: ` (capital F, colon, one space)")
    if commit_word:
        problems.append("drop the word `commit` before the id")
    if len(sha) < 12:
        problems.append(f"the id `{sha}` has {len(sha)} characters; use at least 12")
    if sha != sha.lower():
        problems.append("write the id in lower case")
    if not rest:
        problems.append("the quoted subject `(\"...\")` of the fixed commit is missing")
    elif not re.match(r'^\(".+"\)(\s+#.*)?$', rest.rstrip()):
        problems.append("put the subject in parentheses and double quotes: `(\"subject\")`")
    return problems


def title_problems(ctx, text: str) -> list:
    """With a git tree that has the commit, the quoted subject must be its real one."""
    repo = getattr(ctx.tree, "repo", None)
    m = WELL_FORMED.match(text)
    if repo is None or m is None:
        return []
    import pygit2  # loaded already: the tree is a repository
    try:
        commit = repo.revparse_single(m.group(1)).peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError):
        return []  # not in this repository (another branch, or rebased): nothing to compare with
    real = commit.message.split("\n", 1)[0].strip()
    if real != m.group(2):
        return [f"commit {m.group(1)} is (\"{real}\"), not (\"{m.group(2)}\")"]
    return []
