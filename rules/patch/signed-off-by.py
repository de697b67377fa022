"""Every patch carries the author's Signed-off-by.

**What it checks.** The commit message has at least one `Signed-off-by:`, and
one of them names the patch author (the in-body `From:` when present, else the
mail sender) by address or, failing that, by name.

**Why.** The Developer's Certificate of Origin (Documentation/process/
submitting-patches.rst, "Sign your work"): maintainers cannot apply a patch
without the author's sign-off, and a sign-off from someone else than the
author means the author's own certification is missing (or the `From:` is
wrong: a common result of sending someone else's commit).

**Example.**

    From: Ada Lovelace <ada@example.org>
    Subject: [PATCH] mm/swap: count swap cache hits

    Count them.

    Signed-off-by: Grace Hopper <grace@example.com>     <- not the author

**How to fix.** `git commit --amend -s` as the author, or keep the original
author with `git commit --amend --author=...` when sending someone else's
patch, and add your own sign-off after theirs.
"""
from reviewkit.rules import Rule

RULE = Rule(id="patch/signed-off-by", severity="error", scope="patch",
            summary="the commit message carries the author's Signed-off-by")


def check(ctx):
    patch = ctx.patch
    if not patch.files:
        return  # a pull request or a notice, not a patch to apply
    sobs = [t for t in patch.trailers if t.key == "Signed-off-by"]
    author = patch.author
    if not sobs:
        yield ctx.finding(None, "no Signed-off-by: the patch cannot be applied without the author's sign-off",
                          suggestion="add `Signed-off-by: Name <address>` as the last trailer (git commit -s)",
                          snippet="Signed-off-by")
        return
    if not author.email and not author.name:
        return
    for t in sobs:
        # a web capture may have stripped the addresses: the name alone must then match
        name = t.person.name if t.person else t.value.split("<")[0].strip().strip('"')
        if (t.person and author.email and t.person.email == author.email) or (
                author.name and name.lower() == author.name.lower()):
            return
    names = ", ".join(str(t.person or t.value) for t in sobs)
    yield ctx.finding(None, f"no Signed-off-by from the author {author}: only {names}", severity="warning",
                      suggestion="add the author's sign-off, or fix the From: line if the author is wrong",
                      snippet=f"Signed-off-by {author.email}")
