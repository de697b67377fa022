"""Follow a list and review every new series version once; post the review where kernel people look.

    reviewkit bot --source ARCHIVE_OR_URL [--tree DIR] [--db URL] [--post maildir:DIR] [--post smtp://HOST:PORT]
                  [--site DIR] [--once | --interval SECONDS]
    reviewkit bot status [--db URL] [--format text|json]

--source is a public-inbox archive on disk (v1 or v2; `git fetch` first when it has a remote) or a
public-inbox URL (a lore list such as https://lore.kernel.org/linux-mm/). State is kept in --db:
a SQLite file (default $XDG_STATE_HOME/reviewkit/bot.sqlite) or postgresql://... for several workers
sharing one queue. Without --post nothing is sent: the replies are printed (a dry run).

Exit status: 0 done; 2 usage error (bad source, database, destination).
"""
from __future__ import annotations

import argparse
import json
import sys

from .common import UserError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", nargs="?", choices=("run", "status"), default="run",
                   help="run (default): poll, review, post; status: what was reviewed and posted")
    p.add_argument("--source", metavar="ARCHIVE_OR_URL", help="public-inbox archive directory or public-inbox URL")
    p.add_argument("--tree", metavar="DIR", help="kernel tree to apply each series to (a git repository is read "
                                                 "at the series' base-commit when it has it)")
    p.add_argument("--db", metavar="URL", help="SQLite file or postgresql://... "
                                               "(default $XDG_STATE_HOME/reviewkit/bot.sqlite)")
    p.add_argument("--post", metavar="DEST", action="append", default=[],
                   help="maildir:DIR or smtp://HOST:PORT (repeatable); none: dry run, replies printed")
    p.add_argument("--from", dest="sender", default="reviewkit bot <reviewkit-bot@localhost>",
                   help="the From: of the replies (its domain also names their Message-IDs)")
    p.add_argument("--site", metavar="DIR", help="write a static site: an HTML report per series version, "
                                                 "the b4 checks, and an index of all")
    p.add_argument("--site-url", metavar="URL", help="where --site is served (links the report from the mail)")
    p.add_argument("--once", action="store_true", help="one poll, then exit (for cron)")
    p.add_argument("--interval", type=float, default=300.0, metavar="SECONDS",
                   help="seconds between polls (default 300)")
    p.add_argument("--settle", type=float, default=600.0, metavar="SECONDS",
                   help="review an incomplete series after this long without new patches (default 600)")
    p.add_argument("--lease", type=float, default=1800.0, metavar="SECONDS",
                   help="a claim not renewed for this long is taken over by another worker (default 1800)")
    p.add_argument("--checkpatch", action=argparse.BooleanOptionalAction, default=True,
                   help="also run the tree's scripts/checkpatch.pl (default on)")
    p.add_argument("--config", metavar="FILE", help="waivers file")
    p.add_argument("--log-format", choices=("text", "json"), default="text",
                   help="logs on stderr: text, or JSON lines")
    p.add_argument("--format", choices=("text", "json"), default="text", help="for status: text or json")


def run(args: argparse.Namespace) -> int:
    from ..bot.store import StoreError, open_store
    try:
        store = open_store(args.db)
    except StoreError as exc:
        raise UserError(str(exc)) from None
    try:
        return _status(args, store) if args.action == "status" else _run(args, store)
    finally:
        store.close()


def _status(args: argparse.Namespace, store) -> int:
    from ..bot.scheduler import status
    data = status(store)
    if args.format == "json":
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return 0
    from ..render.fmt import counts_text
    for s in data["series"]:
        posted = ", ".join(f"{p['destination']} {p['state']}" for p in s["posted"]) or "not posted"
        found = counts_text(s["findings"]) if s["findings"] else ""
        print(f"{s['state']:9} v{s['version']} {s['title']} ({s['patches']}/{s['total'] or '?'})"
              f"{' applies: ' + s['apply'] if s['apply'] else ''}{'; ' + found if found else ''}; {posted}")
    c, lat = data["counts"], data["latency_seconds"]
    print(f"{c['series']} series versions, {c['posts']} posts" +
          (f"; latency from landing to post: median {lat['median']}s, max {lat['max']}s" if lat["count"] else ""))
    for f in data["failures"]:
        print(f"failure: v{f['version']} {f['title']}: {f['reason']}")
    return 0


def _run(args: argparse.Namespace, store) -> int:
    from ..bot.posters import PrintPoster, open_poster
    from ..bot.scheduler import Bot, Config, make_logger
    from ..bot.site import Site
    from ..bot.sources import open_source
    if not args.source:
        raise UserError("bot: --source ARCHIVE_OR_URL is required (a public-inbox archive or URL)")
    source = open_source(args.source, _address(args.sender))
    problem = source.check()
    if problem:
        raise UserError(f"--source: {problem}")
    try:
        posters = [open_poster(p) for p in args.post] or [PrintPoster()]
    except (ValueError, OSError) as exc:
        raise UserError(str(exc)) from None
    cfg = Config(tree=args.tree, settle=args.settle, sender=args.sender, posters=posters,
                 site=Site(args.site) if args.site else None, site_url=args.site_url, checkpatch=args.checkpatch,
                 waivers=args.config, lease=args.lease)
    log = make_logger(args.log_format)
    if not args.post:
        log("info", "dry run: no --post given, replies are printed")
    Bot(store, source, cfg, log).run(args.once, args.interval)
    return 0


def _address(sender: str) -> str:
    from email.utils import getaddresses
    return getaddresses([sender])[0][1]
