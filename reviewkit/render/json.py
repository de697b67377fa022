"""JSON for `reviewkit lint --format json`: the lint data as is (the contract of ARCHITECTURE.md).

The Report's extra key "report" (diffs and mails for the HTML report and
email replies) is not part of the JSON output.
"""
from __future__ import annotations

import json


def render(data: dict) -> str:
    return json.dumps({k: v for k, v in data.items() if k != "report"}, indent=2, ensure_ascii=False) + "\n"
