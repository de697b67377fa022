"""Thread review state: trailers and verdicts, anchored comments, questions and
answers, action items, and versions (what the next version did about them).

Entry point: `summarize(parsed, tree_maintainers=None) -> Summary`.
"""
from .model import Summary
from .summarize import summarize

__all__ = ["summarize", "Summary"]
