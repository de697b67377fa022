"""Markdown for `reviewkit summarize --format markdown` (a PR/MR comment, a wiki page).

Renders the plain data of summary_data.py. Text from mail is escaped so it
cannot open links, images or HTML in the rendered comment.
"""
from __future__ import annotations

import re
from collections import OrderedDict

from .summary_data import clip_distinct
from .summary_text import clip, outcome, patch_label, place, version_name, who

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def esc(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text or "")


def code(text: str) -> str:
    text = (text or "").replace("`", "'")
    return f"`{text}`" if text else ""


def render(data: dict) -> str:
    out: list[str] = []
    st = data.get("stats", {})
    out.append("# Review summary")
    out.append("")
    out.append(f"{st.get('series', 0)} series in {st.get('histories', 0)} histories; "
               f"{st.get('questions', 0)} questions (**{st.get('open_questions', 0)} open**), "
               f"{st.get('action_items', 0)} action items, {st.get('comments', 0)} comments on code.")
    series = data["series"]
    for h in data["histories"]:
        out.append("")
        out.append(f"## {esc(h['title'])}")
        out.append("")
        out.append("Versions: " + " → ".join(h["versions"]))
        for i in h["series"]:
            out.extend(_series(series[i], series))
    if data["errors"]:
        out.append("")
        out.append("## Problems reading the input")
        out.append("")
        for e in data["errors"]:
            out.append(f"- {code(e['input'])} {esc(e['where'])}: {esc(e['message'])}")
    return "\n".join(out) + "\n"


def _series(s: dict, all_series: list) -> list[str]:
    v = s["versions"]
    out = ["", f"### {version_name(s)}: {esc(s['title'])}", "", f"**Status:** {esc(s['status'])}", ""]
    facts = [f"by {esc(who(s['sender']))}", (s["date"] or "")[:10], f"{len(s['patches'])} patches",
             "complete" if s["complete"] else "missing " + ", ".join(map(str, s["missing"])), f"{s['messages']} mails"]
    if v["previous"]:
        p = v["previous"]
        facts.append(f"follows {version_name(all_series[p['series']])} ({', '.join(p['how'])})")
    if v["next"]:
        facts.append(f"next: {version_name(all_series[v['next']['series']])}")
    out.append(" · ".join(f for f in facts if f))
    out.append("")
    out.append("**Participants:** " + "; ".join(
        f"{esc(who(p))} ({', '.join(p['roles'])}, {p['messages']} mail{'s' if p['messages'] != 1 else ''}"
        + (f", {p['trailers_given']} trailers" if p["trailers_given"] else "")
        + (f", maintains {esc(', '.join(p['maintainer_of'][:2]))}" if p["maintainer_of"] else "") + ")"
        for p in s["participants"]))
    for e in v["changelog"]:
        if e["to"] == s["version"] and e["source"] == "cover":
            out.append("")
            out.append(f"**Changelog {'v' + str(e['from']) + ' → ' if e['from'] else ''}v{e['to']}:**")
            out.append("")
            out.extend(f"- {esc(x)}" for x in e["items"])
    for x in s["verdicts"]:
        if x["scope"] == "series":
            out.append("")
            out.append(f"**On the whole series:** {_verdict(x)}")
    out.append("")
    out.append("| # | patch | change since previous | trailers | verdicts in replies |")
    out.append("|---|---|---|---|---|")
    titles = dict(zip((p["msgid"] for p in s["patches"]), clip_distinct([p["title"] for p in s["patches"]], 80)))
    for p in s["patches"]:
        out.append(_patch_row(s, p, titles[p["msgid"]]))
    if v["dropped_patches"]:
        out.append("")
        out.append("Dropped since the previous version: " + "; ".join(
            f"{d['counter']}: {esc(d['title'])}" for d in v["dropped_patches"]))
    open_q = s["open_questions"]
    if open_q:
        out.append("")
        out.append(f"#### Open questions ({len(open_q)})")
        out.append("")
        for q in open_q:
            at = f" at {code(place(q['anchor']))}" if q["anchor"] else ""
            out.append(f"- **{esc(who(q['asker']))}** on {patch_label(s, q['where']['counter'])}{at}: "
                       f"“{esc(clip(q['text'], 300))}” — {code(q['where']['msgid'])} _({q['why']['rule']})_")
            for r in q["pings"]:
                out.append(f"  - asked again by {esc(who(r['person']))}: “{esc(clip(r['text'], 160))}”")
            for n in q["notes"]:
                out.append(f"  - note: {esc(n)}")
            for r in q["mentions"]:
                out.append(f"  - mentioned (not answered) by {esc(who(r['person']))}: “{esc(clip(r['text'], 160))}”")
            if q.get("next_version"):
                out.append(f"  - code it is about: {esc(outcome(q['next_version']))}")
    answered = [q for q in s["questions"] if q["status"] == "answered"]
    if answered:
        out.append("")
        out.append(f"<details><summary>Answered questions ({len(answered)})</summary>")
        out.append("")
        for q in answered:
            ans = ", ".join(dict.fromkeys(esc(who(a["person"])) for a in q["answers"]))
            out.append(f"- {esc(who(q['asker']))} on {patch_label(s, q['where']['counter'])}: "
                       f"“{esc(clip(q['text'], 200))}” → {ans}: “{esc(clip(q['answers'][0]['text'], 200))}”")
        out.append("")
        out.append("</details>")
    if s["action_items"]:
        out.append("")
        out.append(f"#### Action items ({len(s['action_items'])})")
        out.append("")
        for a in s["action_items"]:
            at = f" at {code(place(a['anchor']))}" if a["anchor"] else ""
            line = (f"- **{a['kind']}** by {esc(who(a['who']))} on {patch_label(s, a['where']['counter'])}{at}: "
                    f"“{esc(clip(a['text'], 300))}” _({a['why']['rule']})_")
            out.append(line)
            if a["responds_to"]:
                r = a["responds_to"]
                out.append(f"  - answering {esc(who(r['person']))}: “{esc(clip(r['text'], 200))}”")
            if a["next_version"]:
                out.append(f"  - {esc(outcome(a['next_version']))}")
    comments = s["comments"]
    if comments:
        groups: "OrderedDict[tuple, list]" = OrderedDict()
        for c in comments:
            a = c["anchor"]
            groups.setdefault((c["where"]["counter"], a["path"], a["line"], a["function"]), []).append(c)
        out.append("")
        out.append(f"<details><summary>Comments on code ({len(comments)} in {len(groups)} places)</summary>")
        out.append("")
        for (counter, *_rest), cs in groups.items():
            res = outcome(cs[0]["next_version"])
            out.append(f"- {patch_label(s, counter)} {code(place(cs[0]['anchor']))}"
                       + (f" — {esc(res)}" if res else ""))
            for c in cs:
                out.append(f"  - {esc(who(c['author']))}: “{esc(clip(c['text'], 240))}”")
        out.append("")
        out.append("</details>")
    return out


def _verdict(x: dict) -> str:
    formal = "" if x["formal"] or x["why"]["rule"].startswith("event/") else " (informal, no trailer)"
    then = f" — {esc(outcome(x['next_version']))}" if x.get("next_version") else ""
    return f"{x['kind']}{formal} by {esc(who(x['person']))} — “{esc(clip(x['why']['text'], 120))}”{then}"


def _patch_row(s: dict, p: dict, title: str) -> str:
    link = p["versions"]["previous"]
    if link is None:
        change = ""
    elif link["previous"] is None:
        change = "previous version not in the input" if link["how"] == "missing" else "new"
    elif link["identical"]:
        change = "same diff" + (", log changed" if link["log_changed"] else "")
    else:
        files = [f for f in link["interdiff"] if f["status"] != "unchanged"]
        change = "; ".join(f"{code(f['path'])} {f['status']} +{f['added']}/-{f['removed']}" for f in files[:4])
        if len(files) > 4:
            change += f"; +{len(files) - 4} files"
    trailers = ", ".join(f"{t['key']}: {esc(who(t['person']) if t['person'] else t['value'])} ({t['status']}"
                         + (", bot" if t["bot"] else ", mismatch" if t["mismatch"] else "") + ")"
                         for t in p["trailers"])
    verdicts = ", ".join(f"{x['kind']}{'' if x['formal'] else ' (informal)'} {esc(who(x['person']))}"
                         for x in p["verdicts"] if x["scope"] == "patch")
    return (f"| {patch_label(s, p['counter'])} | {esc(title)} | {change} | {trailers} | "
            f"{verdicts} |")
