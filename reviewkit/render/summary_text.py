"""Terminal text for `reviewkit summarize`: per history, each version's state.

Renders the plain data of summary_data.py. Every detected item shows the
rule that found it in brackets, so a reader can tell a trailer from a
heuristic.
"""
from __future__ import annotations

from collections import OrderedDict

from .fmt import errors_section
from .summary_data import clip_distinct

WIDTH = 100


def who(p: dict | None) -> str:
    if not p:
        return "?"
    return p.get("name") or p.get("email") or "?"


def clip(text: str, n: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 3].rstrip() + "..."


def place(anchor: dict | None) -> str:
    if not anchor:
        return ""
    fn = f" {anchor['function']}()" if anchor.get("function") else ""
    line = f":{anchor['line']}" if anchor.get("line") else ""
    return f"{anchor['path']}{line}{fn}"


def patch_label(s: dict, counter) -> str:
    total = s["total"] or len(s["patches"])
    return f"{counter}/{total}" if counter is not None else "cover"


def outcome(o: dict | None) -> str:
    if not o:
        return ""
    return f"v{o['version']}: {o['status']} ({o['why']})"


def version_name(s: dict) -> str:
    return ("RFC " if s["rfc"] else "") + f"v{s['version']}" + (" RESEND" if s["resend"] else "")


def render(data: dict) -> str:
    out: list[str] = []
    st = data.get("stats", {})
    out.append(f"{st.get('series', 0)} series in {st.get('histories', 0)} histories; "
               f"{st.get('questions', 0)} questions ({st.get('open_questions', 0)} open), "
               f"{st.get('action_items', 0)} action items, {st.get('comments', 0)} comments on code")
    series = data["series"]
    for h in data["histories"]:
        out.append("")
        out.append(f"== \"{h['title']}\": " + " -> ".join(h["versions"]))
        for i in h["series"]:
            out.extend(_series(series[i], series))
    out.extend(errors_section(data["errors"]))
    return "\n".join(out) + "\n"


def _series(s: dict, all_series: list) -> list[str]:
    out = [""]
    v = s["versions"]
    state = "complete" if s["complete"] else "missing " + ", ".join(str(n) for n in s["missing"])
    out.append(f"-- {version_name(s)} (series {s['index']}) \"{s['title']}\" by {who(s['sender'])}, "
               f"{(s['date'] or '')[:10]}: {len(s['patches'])} patches, {state}, {s['messages']} mails")
    out.append(f"   status: {s['status']}")
    links = []
    if v["previous"]:
        p = v["previous"]
        links.append(f"follows {version_name(all_series[p['series']])} (linked by {', '.join(p['how'])})")
    if v["next"]:
        links.append(f"next: {version_name(all_series[v['next']['series']])}")
    if links:
        out.append("   " + "; ".join(links))
    people = [f"{who(p)} ({', '.join(p['roles'])}"
              + (f", maintains {', '.join(p['maintainer_of'][:2])}" if p["maintainer_of"] else "")
              + f", {p['messages']} mail{'s' if p['messages'] != 1 else ''}"
              + (f", {p['trailers_given']} trailer{'s' if p['trailers_given'] != 1 else ''}" if p["trailers_given"]
                 else "") + ")" for p in s["participants"]]
    out.append("   participants: " + "; ".join(people))
    for e in v["changelog"]:
        if e["to"] != s["version"] or e["source"] != "cover":
            continue
        frm = f"v{e['from']} -> " if e["from"] else ""
        out.append(f"   changelog {frm}v{e['to']} (cover):")
        out.extend(f"     * {clip(x, WIDTH)}" for x in e["items"])
    if v["dropped_patches"]:
        out.append("   dropped since the previous version: "
                   + "; ".join(f"{d['counter']}: {t}" for d, t in
                               zip(v["dropped_patches"], clip_distinct([d["title"] for d in v["dropped_patches"]], 60))))
    series_verdicts = [x for x in s["verdicts"] if x["scope"] == "series"]
    for x in series_verdicts:
        out.append(f"   verdict on the whole series: {_verdict(x)}")
    out.append("   patches:")
    titles = clip_distinct([p["title"] for p in s["patches"]], 70)
    for p, title in zip(s["patches"], titles):
        out.extend(_patch(s, p, title))
    open_q = s["open_questions"]
    if open_q:
        out.append(f"   open questions ({len(open_q)}):")
        for q in open_q:
            out.extend(_question(s, q))
    answered = [q for q in s["questions"] if q["status"] == "answered"]
    if answered:
        out.append(f"   answered questions ({len(answered)}):")
        for q in answered:
            ans = ", ".join(dict.fromkeys(who(a["person"]) for a in q["answers"]))
            out.append(f"     - {who(q['asker'])} on {patch_label(s, q['where']['counter'])}: "
                       f"\"{clip(q['text'], 80)}\" -> answered by {ans}")
    if s["action_items"]:
        out.append(f"   action items ({len(s['action_items'])}):")
        for a in s["action_items"]:
            out.extend(_action(s, a))
    return out


def _verdict(x: dict) -> str:
    formal = "" if x["formal"] or x["why"]["rule"].startswith("event/") else " (informal, no trailer)"
    then = f" -> {outcome(x['next_version'])}" if x.get("next_version") else ""
    return (f"{x['kind']}{formal} by {who(x['person'])} [{x['why']['rule']}: \"{clip(x['why']['text'], 70)}\"] "
            f"{x['where']['msgid']}{then}")


def _patch(s: dict, p: dict, title: str) -> list[str]:
    out = []
    label = patch_label(s, p["counter"])
    link = p["versions"]["previous"]
    change = ""
    if link is not None:
        if link["previous"] is None:
            change = ("  [previous version not in the input]" if link["how"] == "missing"
                      else "  [new in this version]")
        elif link["identical"]:
            change = f"  [same diff as {link['previous_counter']}/ of the previous version" + (
                ", commit message changed]" if link["log_changed"] else "]")
        else:
            files = [f for f in link["interdiff"] if f["status"] != "unchanged"]
            change = f"  [changed since the previous version's {link['previous_counter']}/: {len(files)} file" + (
                "s" if len(files) != 1 else "") + "]"
    out.append(f"     {label:>5} {title}{change}")
    if p["status"] != "no verdict yet":
        out.append(f"           status: {p['status']}")
    if link is not None and link["previous"] is not None and not link["identical"]:
        for f in link["interdiff"]:
            if f["status"] == "unchanged":
                continue
            fns = f" in {', '.join(fn + '()' for fn in f['functions'][:4])}" if f["functions"] else ""
            out.append(f"           interdiff {f['path']}: {f['status']} +{f['added']}/-{f['removed']}{fns}")
    trailers = [t for t in p["trailers"] if t["key"] != "Signed-off-by"]
    if trailers:
        parts = []
        for t in trailers:
            flag = " BOT" if t["bot"] else " MISMATCH" if t["mismatch"] else ""
            parts.append(f"{t['key']}: {who(t['person']) if t['person'] else t['value']} ({t['status']}{flag})")
        out.append("           trailers: " + "; ".join(parts))
    for x in p["verdicts"]:
        if x["scope"] == "patch" and not x["formal"] and x["kind"] not in ("superseded", "dropped"):
            out.append(f"           verdict: {_verdict(x)}")
    groups: "OrderedDict[tuple, list]" = OrderedDict()
    for c in p["comments"]:
        a = c["anchor"]
        groups.setdefault((a["path"], a["line"], a["function"]), []).append(c)
    for (path, line, fn), comments in groups.items():
        names = ", ".join(dict.fromkeys(who(c["author"]) for c in comments))
        res = outcome(comments[0]["next_version"])
        out.append(f"           on {place(comments[0]['anchor'])}: {len(comments)} comment"
                   f"{'s' if len(comments) != 1 else ''} by {names}" + (f" -> {res}" if res else ""))
        for c in comments[:2]:
            out.append(f"             {who(c['author'])}: \"{clip(c['text'], 90)}\"")
    return out


def _question(s: dict, q: dict) -> list[str]:
    where = patch_label(s, q["where"]["counter"])
    at = f" at {place(q['anchor'])}" if q["anchor"] else ""
    out = [f"     ? {who(q['asker'])} on {where}{at}: \"{clip(q['text'], 160)}\"",
           f"       [{q['why']['rule']}] {q['where']['msgid']}"]
    for r in q["pings"]:
        out.append(f"       asked again by {who(r['person'])}: \"{clip(r['text'], 100)}\"")
    for n in q["notes"]:
        out.append(f"       note: {clip(n, 120)}")
    for r in q["mentions"]:
        out.append(f"       mentioned, not answered, by {who(r['person'])}: \"{clip(r['text'], 100)}\"")
    if q.get("next_version"):
        out.append(f"       code it is about -> {outcome(q['next_version'])}")
    return out


def _action(s: dict, a: dict) -> list[str]:
    where = patch_label(s, a["where"]["counter"])
    at = f" at {place(a['anchor'])}" if a["anchor"] else ""
    tgt = f" (for v{a['target_version']})" if a["target_version"] else ""
    out = [f"     {a['kind']:<10} {who(a['who'])} on {where}{at}{tgt}: \"{clip(a['text'], 140)}\" "
           f"[{a['why']['rule']}]"]
    if a["responds_to"]:
        r = a["responds_to"]
        out.append(f"                answering {who(r['person'])}: \"{clip(r['text'], 100)}\"")
    if a["next_version"]:
        out.append(f"                -> {outcome(a['next_version'])}")
    return out
