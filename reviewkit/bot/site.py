"""A static site of everything the bot reviewed, servable by any web server:

    DIR/index.html                      every series version, its state, findings and posts
    DIR/status.json                     what `reviewkit bot status --format json` prints
    DIR/series/<slug>/report.html       the `reviewkit report` page of that series version
    DIR/series/<slug>/reply.eml         the reply mail
    DIR/series/<slug>/b4/NNNN.json      the b4 check result of patch NNNN

Pages come from the store (not from this process's memory), so any worker can rebuild the whole site,
and files are written atomically (a reader never sees half a page).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from functools import lru_cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from .. import __version__
from ..render.fmt import counts_text, plural
from ..render.html import TEMPLATES


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True)


def slug(key: str, title: str, version: int) -> str:
    words = re.sub(r"[^A-Za-z0-9]+", "-", title).strip("-").lower()[:48].strip("-") or "series"
    return f"{words}-v{version}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def _write(path: str, data) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as fh:
        fh.write(data.encode("utf-8") if isinstance(data, str) else data)
    os.replace(tmp, path)


class Site:
    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(os.path.expanduser(root))

    def folder(self, s: dict) -> str:
        return f"series/{slug(s['key'], s['title'], s['version'])}"

    def url_for(self, s: dict, base: str) -> str:
        return f"{base.rstrip('/')}/{self.folder(s)}/report.html"

    def publish_all(self, store, status: dict) -> None:
        """Write the pages of reviewed series that are not on disk yet, then the index."""
        rows = []
        for item in status["series"]:
            s = {"key": item["key"], "title": item["title"], "version": item["version"]}
            folder = self.folder(s)
            names = store.artifact_names(item["key"]) if item["reviewed"] else []
            for name in names:
                if not os.path.exists(os.path.join(self.root, folder, name)):
                    _write(os.path.join(self.root, folder, name), store.artifact(item["key"], name))
            rows.append(self._row(item, folder, names))
        _write(os.path.join(self.root, "status.json"), json.dumps(status, indent=2, ensure_ascii=False) + "\n")
        c = status["counts"]
        summary = (f"{plural(c['series'], 'series version', 'series versions')}: "
                   + ", ".join(f"{c[k]} {k}" for k in ("done", "previewed", "queued", "claimed", "duplicate", "failed") if c.get(k))
                   + f"; {plural(c['posts'], 'post')}")
        page = _env().get_template("bot_index.html").render(
            title="reviewkit bot: reviewed series", summary=summary, rows=rows, version=__version__)
        _write(os.path.join(self.root, "index.html"), page)

    def _row(self, item: dict, folder: str, names: list) -> dict:
        posted = [p for p in item["posted"] if p["state"] in ("posted", "unconfirmed")]
        note = "incomplete when reviewed" if item["reviewed"] and not item["complete"] else ""
        if item["duplicate_of"]:
            note = "identical resend of an earlier version: not reviewed again"
        if item["error"] and item["state"] == "failed":
            note = item["error"]
        return {
            "title": item["title"], "version": item["version"], "sender": item["sender"],
            "patches": f"{item['patches']}/{item['total'] or '?'}", "state": item["state"],
            "apply": item["apply"] or "", "note": note,
            "findings": counts_text(item["findings"]) if item["findings"] else "",
            "posted": ", ".join(sorted({p["destination"].split(":", 1)[0] for p in posted})),
            "landed": item["landed"] or "",
            "href": f"{folder}/report.html" if "report.html" in names else "",
            "b4": [{"name": n[3:-5], "href": f"{folder}/{n}"} for n in names if n.startswith("b4/")],
        }
