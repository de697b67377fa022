"""JSON for `reviewkit lint --format json`: the lint data as is (the contract of ARCHITECTURE.md).

The Report's extra key "report" (diffs and mails for the HTML report and
email replies) is not part of the JSON output.

`stream()` writes the same JSON piece by piece, and `jsonl()` one object per line, for
whole archives whose output would otherwise be one string of hundreds of megabytes.
"""
from __future__ import annotations

import json
from typing import Iterator

# the lists of `parse` data written one record per line by jsonl(), in this order
JSONL_RECORDS = (("messages", "message"), ("threads", "thread"), ("series", "series"), ("patches", "patch"),
                 ("errors", "error"))


def render(data: dict) -> str:
    return json.dumps({k: v for k, v in data.items() if k != "report"}, indent=2, ensure_ascii=False) + "\n"


def _dumps(value, indent: int) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n" + " " * indent)


def stream(data: dict) -> Iterator[str]:
    """json.dumps(data, indent=2, ensure_ascii=False) + "\\n", byte for byte, written as it is
    made: a value that is an iterator (not a list) is consumed item by item."""
    yield "{"
    for n, (key, value) in enumerate(data.items()):
        yield ("," if n else "") + "\n  " + json.dumps(key, ensure_ascii=False) + ": "
        if isinstance(value, (list, tuple)) or not hasattr(value, "__next__"):
            yield _dumps(value, 2)
            continue
        count = 0
        for item in value:
            yield ("," if count else "[") + "\n    " + _dumps(item, 4)
            count += 1
        yield "\n  ]" if count else "[]"
    yield "\n}\n" if data else "}\n"


# one encoder for every line (json.dumps with options builds a new one per call)
_LINE = json.JSONEncoder(ensure_ascii=False)


def jsonl(data: dict) -> Iterator[str]:
    """`parse` data as JSON Lines: a first line with the run's version, command and inputs, then
    one object per message, thread, series, patch and error (key "record" says which), then the
    stats. Joined back by record, the lines hold exactly the JSON output's content."""
    lists = dict(JSONL_RECORDS)
    yield json.dumps({"record": "parse", **{k: v for k, v in data.items() if k not in lists and k != "stats"}},
                     ensure_ascii=False) + "\n"
    for key, record in JSONL_RECORDS:
        for item in data.get(key, ()):
            yield _LINE.encode({"record": record, **item}) + "\n"
    yield json.dumps({"record": "stats", "stats": data.get("stats", {})}, ensure_ascii=False) + "\n"
