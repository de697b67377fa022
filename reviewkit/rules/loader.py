"""Find and load rules: one Python file per rule, from the built-in pack and user folders.

A rule file defines `RULE = Rule(...)`, a `check(ctx)` generator and a module
docstring (what it checks, why, an example, how to fix). Its fixtures sit
beside it: `<name>.bad.*` / `<name>.good.*`.
"""
from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional

from ..model import Errors
from .context import Rule

BUILTIN = Path(__file__).resolve().parents[2] / "rules"


@dataclass(frozen=True)
class LoadedRule:
    meta: Rule
    check: Callable
    doc: str
    path: Path

    @property
    def id(self) -> str:
        return self.meta.id

    def fixtures(self) -> list[Path]:
        stem = self.path.stem
        return sorted(p for p in self.path.parent.glob(f"{stem}.*") if p != self.path and (
            ".bad." in p.name or ".good." in p.name or p.name.endswith((".bad", ".good"))))


def _rule_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if not p.name.startswith("_") and p.is_file())


# (path, mtime, size) -> LoadedRule: a process that lints many times (`reviewkit serve`) executes
# each rule file once, and again only when it changed on disk
_LOADED: dict = {}


def load_file(path: Path) -> LoadedRule:
    try:
        st = os.stat(path)
        key = (str(path), st.st_mtime_ns, st.st_size)
    except OSError:
        key = None
    if key in _LOADED:
        return _LOADED[key]
    loaded = _load_file(path)
    if key is not None:
        _LOADED[key] = loaded
    return loaded


def _load_file(path: Path) -> LoadedRule:
    spec = importlib.util.spec_from_file_location(f"reviewkit_rule_{abs(hash(str(path)))}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    meta = getattr(module, "RULE", None)
    check = getattr(module, "check", None)
    if not isinstance(meta, Rule) or not callable(check):
        raise ValueError("a rule file needs RULE = Rule(...) and a check(ctx) function")
    return LoadedRule(meta, check, (module.__doc__ or "").strip(), path)


def load_rules(folders: Iterable[str] = (), errors: Optional[Errors] = None, builtin: bool = True,
               select: Iterable[str] = (), ignore: Iterable[str] = ()) -> list[LoadedRule]:
    """The built-in pack plus user folders, filtered by --select/--ignore id prefixes."""
    errors = errors if errors is not None else Errors()
    roots = ([BUILTIN] if builtin else []) + [Path(f) for f in folders]
    rules: dict[str, LoadedRule] = {}
    for root in roots:
        if not root.is_dir():
            errors.add(str(root), "", "rules folder not found")
            continue
        for path in _rule_files(root):
            try:
                loaded = load_file(path)
            except Exception as exc:  # a broken user rule must not stop the others
                errors.add(str(path), "", f"rule not loaded: {type(exc).__name__}: {exc}")
                continue
            if loaded.id in rules:
                errors.add(str(path), "", f"rule id {loaded.id} is also defined in {rules[loaded.id].path}; "
                                          "this one replaces it")
            rules[loaded.id] = loaded
    select, ignore = tuple(select), tuple(ignore)
    return [r for r in sorted(rules.values(), key=lambda r: r.id)
            if (not select or r.id.startswith(select)) and not (ignore and r.id.startswith(ignore))]


def rules_root_env() -> list[str]:
    """Extra rule folders from REVIEWKIT_RULES (os.pathsep-separated)."""
    return [p for p in os.environ.get("REVIEWKIT_RULES", "").split(os.pathsep) if p]
