"""An mm patch's subject starts with `mm/<area>: ` or `mm: ` (other patches: with some `prefix: `).

**What it checks.** When most files a patch touches are memory-management
files (`mm/`, and the mm headers: `include/linux/mm*.h`, `swap*.h`, `gfp*.h`,
`rmap.h`, `hugetlb*.h`, ... as listed under MEMORY MANAGEMENT and its
sub-entries in MAINTAINERS), the subject (after `[PATCH ...]`) must start
with one of the prefixes mm uses:

- `mm: ` or `mm/<area>: ` (`mm/gup: `, `mm/damon/core: `; the old
  `mm/<file>.c: ` form and several areas `mm/gup/writeback: ` are fine),
- `mm, <area>: ` (the older comma form: `mm, oom: `),
- an area tag the tree itself names: a directory or file name of a touched
  path (`migrate: ` for `mm/migrate.c`, `damon: ` for `mm/damon/core.c`),
  or the name of a MAINTAINERS section that covers a touched file (`memcg: `
  from "... (MEMCG)", `hugetlb: ` from "HUGETLB SUBSYSTEM"), read from the
  `--tree`; without a tree, or for a tag neither gives, the established mm
  tags `memcg: `, `hugetlb: `, `shmem: `, `kasan: `, `slab: `, `zswap: `, ...
  (the hand list `AREA_TAGS` below) and `treewide: `,
- `mm/<area>, <area>: ` (`mm/shmem, swap: `),
- `Revert "<a subject of these forms>"`.

Downstream backport markers in front (`UPSTREAM: `, `BACKPORT: `,
`FROMGIT: `, `FROMLIST: `, `ANDROID: `, `CHROMIUM: `) are skipped. Patches to
other subsystems are left alone unless their subject has no `prefix: ` at
all. Files under `Documentation/` and `tools/` do not count either way
(`selftests/mm: ` and `Documentation/mm: ` are their own conventions).

**Why.** Documentation/process/submitting-patches.rst ("The canonical patch
format"): the summary phrase is prefixed by the subsystem, so that `git log
--oneline` and the mm-commits list say what part of mm a change is about;
mm maintainers rewrite subjects that lack it, and ask for a resend when the
prefix names the wrong subsystem. The area is the file or directory the
change is about.

**Example.**

    [PATCH] dax: fix FOLL_LONGTERM check         <- touches only mm/gup.c: names the
                                                    feature, not the area
    [PATCH] mm:gup/writeback: add callbacks      <- no space after "mm:"

**How to fix.** `git commit --amend` and start the subject with the area
the suggestion names (derived from the touched files: one file `mm/gup.c`
gives `mm/gup: `; several files give `mm: ` or their common directory).
"""
import os
import re

from reviewkit.maintainers import Maintainers
from reviewkit.rules import Rule

RULE = Rule(id="patch/subject-prefix", severity="warning", scope="patch",
            summary="mm patches start their subject with `mm/<area>: ` or `mm: `")

# Established mm sub-area tags that mm maintainers take without `mm/` in front.
AREA_TAGS = frozenset("""
    memcg hugetlb hugetlbfs shmem tmpfs ksm kasan kfence kmsan kmemleak slab slub slob zsmalloc zswap
    zbud z3fold percpu userfaultfd mempolicy memblock vmalloc swap highmem damon writeback readahead
    filemap mmap mremap mprotect mlock madvise mmu_notifier hwpoison memory-failure thp khugepaged
    page_alloc compaction vmscan workingset memory_hotplug memory-hotplug mm_init cma secretmem memfd
    oom vmstat mempool swapfile page_owner page_ext mmap_lock kswapd treewide
""".split())
BACKPORT_MARKERS = re.compile(r"^(?:(?:UPSTREAM|BACKPORT|FROMGIT|FROMLIST|ANDROID|CHROMIUM)\s*:\s*)+")
MM_PREFIX = re.compile(r"^mm(?:/[\w.+-]+)*(?:,\s*[\w./+-]+)*: \S")  # mm: / mm/gup: / mm/damon/core: / mm/shmem, swap:
MM_COMMA = re.compile(r"^mm,\s*[\w./+-]+(?:,\s*[\w./+-]+)*: \S")  # mm, oom: / mm,hwpoison:
TAG = re.compile(r"^([\w.+-]+(?:[/,]\s*[\w.+-]+)*): \S")     # memcg: / memcg, slab: / drm/i915:
ANY_PREFIX = re.compile(r"^[^\s:]+: \S")                    # one word (drm/i915, x86/mm), colon, text
MM_HEADERS = re.compile(r"^include/linux/(?:mm|mm_[\w-]+|mmzone|mmdebug|mman|mmu_notifier|mmap_lock|swap\w*|gfp\w*|"
                        r"rmap|hugetlb\w*|huge_mm|memcontrol|mempolicy|mempool|memremap|memory_hotplug|"
                        r"memory-tiers|migrate\w*|page-flags\w*|page_\w+|pagevec|pagewalk|pagemap|shmem_fs|"
                        r"vmalloc|vmstat|slab|ksm|khugepaged|userfaultfd_k|hmm|highmem\w*|zswap|zsmalloc|damon|"
                        r"kasan\w*|kfence|memblock|secretmem|compaction|balloon_compaction|oom|vmscan|memfd)\.h$"
                        r"|^include/trace/events/(?:mmflags|vmscan|kmem|compaction|huge_memory|migrate|oom|"
                        r"pagemap|page_ref|page_isolation|mmap|mmap_lock|ksm|cma|damon|filemap)\.h$")
TRIVIAL_AREAS = ("Documentation/", "tools/")


def check(ctx):
    patch = ctx.patch
    if not patch.files or patch.subject.is_reply:
        return  # not a patch to apply, or a diff suggested in a reply
    title = BACKPORT_MARKERS.sub("", patch.subject.title)
    revert = re.match(r'^Revert "(.+)"$', title)
    title = revert.group(1) if revert else title
    paths = counted_paths(patch)
    mm = [p for p in paths if is_mm_file(p)]
    if paths and 2 * len(mm) >= len(paths):
        # the tree's area names are read (MAINTAINERS) only when the subject alone does not settle it
        if not is_mm_subject(title) and not is_mm_subject(title, tree_tags(ctx.tree, paths)):
            area = suggest_area(mm)
            yield ctx.finding(None, f"subject `{patch.subject.title}` {what_is_wrong(title)}",
                              suggestion=f"start the subject with `{area}` (derived from the touched files)"
                                         + ("" if area == "mm: " else "; `mm: ` for a change across mm"),
                              snippet=f"subject-prefix {area}")
    elif not ANY_PREFIX.match(title):
        yield ctx.finding(None, f"subject `{patch.subject.title}` has no `subsystem: ` prefix",
                          suggestion="start the subject with the subsystem the touched files belong to "
                                     "(see `git log --oneline -- <file>`)",
                          snippet="subject-prefix none")


def counted_paths(patch) -> list:
    """Touched files that decide which subsystem a patch belongs to (docs and tools do not)."""
    return [f.path for f in patch.files if f.path and not f.path.startswith(TRIVIAL_AREAS)]


def is_mm_file(path: str) -> bool:
    return path.startswith("mm/") or bool(MM_HEADERS.match(path))


def is_mm_subject(title: str, tree_names: frozenset = frozenset()) -> bool:
    if MM_PREFIX.match(title) or MM_COMMA.match(title):
        return True
    m = TAG.match(title)
    if not m:
        return False
    tags = re.split(r"[,/]\s*", m.group(1).lower())
    return all(t in AREA_TAGS or _norm(t) in tree_names for t in tags)


def _norm(word: str) -> str:
    return word.lower().replace("-", "_")


def tree_tags(tree, paths: list) -> frozenset:
    """Area names the tree gives for these files: their directory and file names, and the names of the
    MAINTAINERS sections that cover them (a single-word title, its first word before a generic one, or
    its abbreviation in parentheses)."""
    names = set()
    for p in paths:
        parts = p.split("/")
        names.update(_norm(x) for x in parts[:-1] if x not in ("include", "linux"))
        names.add(_norm(os.path.splitext(parts[-1])[0]))
    maintainers = _maintainers(tree)
    for p in paths:
        for section in (maintainers.sections_for(p) if maintainers else ()):
            names.update(section_names(section.title))
    return frozenset(names)


GENERIC = frozenset("subsystem support driver drivers core framework infrastructure".split())


def section_names(title: str) -> set:
    """`CONTROL GROUP - MEMORY RESOURCE CONTROLLER (MEMCG)` -> {memcg}; `HUGETLB SUBSYSTEM` -> {hugetlb}."""
    out = {_norm(a) for a in re.findall(r"(?:^|\s)\(([A-Za-z][\w-]*)\)", title)}
    words = re.findall(r"[A-Za-z][\w-]*", re.sub(r"\(.*?\)", "", title))
    if len(words) == 1 or (len(words) == 2 and words[1].lower() in GENERIC):
        out.add(_norm(words[0]))
    return out


def _maintainers(tree):
    if tree is None or getattr(tree, "kind", "none") == "none":
        return None
    text = tree.read_text("MAINTAINERS")
    return Maintainers.of_text(text) if text else None


def what_is_wrong(title: str) -> str:
    head = title.split(" ", 1)[0]
    if re.match(r"^mm[:/,]", head):
        return f"has a malformed mm prefix `{head}`: write `mm/<area>: ` or `mm: `, one space after the colon"
    return "does not start with an mm prefix (`mm/<area>: ` or `mm: `) although it touches mostly mm files"


def suggest_area(mm_paths: list) -> str:
    """`mm/<area>: ` from the touched mm/ files: one file names it, several share a directory, else `mm: `."""
    inside = [p[len("mm/"):] for p in mm_paths if p.startswith("mm/")]
    if not inside:
        return "mm: "
    stems = {os.path.splitext(p)[0] for p in inside}
    if len(stems) == 1:
        return f"mm/{stems.pop()}: "
    common = os.path.commonpath(inside) if len(inside) > 1 else ""
    return f"mm/{common}: " if common else "mm: "
