"""Terminal text for `reviewkit parse`: series, then threads outside any series (who replied to whom), then errors."""
from __future__ import annotations

from .fmt import errors_section


def _who(p: dict | None) -> str:
    if not p:
        return "?"
    return p["name"] or p["email"] or "?"


def render(data: dict) -> str:
    msgs = {m["msgid"]: m for m in data["messages"]}
    patches = {p["msgid"]: p for p in data["patches"]}
    out: list[str] = []
    st = data["stats"]
    kinds = st.get("kinds", {})
    quoted = f", {kinds['quoted']} known only from quotes" if kinds.get("quoted") else ""
    out.append(f"{st.get('messages', 0)} messages ({kinds.get('patch', 0)} patches, {kinds.get('cover', 0)} covers, "
               f"{kinds.get('reply', 0)} replies, {kinds.get('other', 0)} other{quoted}) in {st.get('threads', 0)} "
               f"threads, {st.get('series', 0)} series" + (f"; {st['duplicates_collapsed']} duplicates collapsed"
                                                           if st.get("duplicates_collapsed") else ""))
    for s in data["series"]:
        state = "complete" if s["complete"] else "missing " + ", ".join(f"{n}/{s['total']}" for n in s["missing"])
        tags = "".join(f" [{t}]" for t, on in (("RFC", s["rfc"]), ("RESEND", s["resend"])) if on)
        prev = f", follows series {s['previous_version']}" if s["previous_version"] is not None else ""
        out.append("")
        out.append(f"series {s['index']}: v{s['version']}{tags} \"{s['title']}\" by {_who(s['sender'])} "
                   f"({len(s['patches'])}/{s['total'] or len(s['patches'])} patches, {state}{prev})")
        if s["cover"]:
            n = len(s["followups"].get(s["cover"], []))
            out.append(f"  cover  {s['cover']}" + (f"  ({n} replies)" if n else ""))
        for counter, mid in zip(s["counters"], s["patches"]):
            p = patches.get(mid)
            files = len(p["files"]) if p else 0
            given = [t for t in (p["followup_trailers"] if p else []) if not t.get("mismatch")]
            tags = ", ".join(f"{t['key']}: {_who(t['person'])}" for t in given)
            replies = len(s["followups"].get(mid, []))
            out.append(f"  {counter:>3}/{s['total'] or 1:<3} {msgs[mid]['parsed_subject']['title']}  "
                       f"[{files} file{'s' if files != 1 else ''}"
                       + (f", {replies} replies" if replies else "") + "]")
            if tags:
                out.append(f"          given in replies: {tags}")
            if p and p["base_commit"]:
                out.append(f"          base-commit: {p['base_commit']}")
    loose = [m for m in data["messages"] if m["kind"] == "other"]
    if loose:
        out.append("")
        out.append("not part of a series:")
        for m in loose:
            out.append(f"  {m['msgid']}  {m['subject']}  ({_who(m['from'])})")
    in_series = {m for s in data["series"] for m in [s["cover"], *s["patches"]] if m}
    for t in data["threads"]:
        if t["root"] in in_series or len(t["messages"]) < 2:
            continue  # series are listed above; a lone mail needs no tree
        out.append("")
        out.append(f"thread \"{msgs[t['root']]['subject'] or '(no subject)'}\":")
        depth = {}
        for mid in t["messages"][:200]:
            parent = t["parent"].get(mid)
            depth[mid] = depth.get(parent, -1) + 1 if parent else 0
            m = msgs[mid]
            date = (m["date"] or "date unknown")[:16].replace("T", " ")
            mark = " (quoted)" if m["kind"] == "quoted" else ""
            out.append(f"  {'  ' * min(depth[mid], 12)}{_who(m['from'])}, {date}{mark}")
        if len(t["messages"]) > 200:
            out.append(f"  ... {len(t['messages']) - 200} more")
    out.extend(errors_section(data["errors"]))
    return "\n".join(out) + "\n"
