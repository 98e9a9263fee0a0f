"""YAML loading that remembers the line of every key, so errors can say file:line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from ..errors import Problem, RecipeError
from ..yamlio import compose, safe_load

Path = tuple[Any, ...]


@dataclass
class Located:
    """Parsed YAML data plus where each path came from: path -> (file, line)."""

    data: Any
    lines: dict[Path, tuple[str, int | None]] = field(default_factory=dict)
    # path -> the name to report it by, for values merged in from another place
    names: dict[Path, str] = field(default_factory=dict)

    def where(self, path: Path) -> tuple[str | None, int | None]:
        """Location of ``path`` or of its nearest located ancestor."""
        path = tuple(path)
        while True:
            if path in self.lines:
                return self.lines[path]
            if not path:
                return (None, None)
            path = path[:-1]


def _walk(node: yaml.Node, path: Path, file: str, lines: dict[Path, tuple[str, int]]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            lines[path + (key,)] = (file, key_node.start_mark.line + 1)
            _walk(value_node, path + (key,), file, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[path + (i,)] = (file, item.start_mark.line + 1)
            _walk(item, path + (i,), file, lines)


def load_yaml(text: str, file: str) -> Located:
    """``yaml.safe_load`` the text and map every key path to its line."""
    try:
        data = safe_load(text)
        node = compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        reason = getattr(exc, "problem", None) or str(exc)
        raise RecipeError(f"invalid YAML: {reason}", file=file, line=line) from None
    lines: dict[Path, tuple[str, int]] = {}
    if node is not None:
        lines[()] = (file, node.start_mark.line + 1)
        _walk(node, (), file, lines)
    return Located(data, lines)


def parse_override(item: str) -> tuple[Path, Any]:
    """Parse ``a.b.c=value``; the value is read as YAML (numbers, booleans, lists)."""
    key, sep, raw = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise RecipeError(f"override {item!r} is not key=value", file="<command line>")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    parts: list[Any] = [int(p) if p.isdigit() else p for p in key.split(".")]
    return tuple(parts), value


def set_path(located: Located, path: Path, value: Any, origin: tuple[str, int]) -> None:
    """Set ``path`` in the data (creating mappings on the way) and record its origin."""
    if not isinstance(located.data, dict):
        located.data = {}
    node = located.data
    for i, part in enumerate(path[:-1]):
        nxt = node.get(part) if isinstance(node, dict) else None
        if not isinstance(nxt, dict):
            if isinstance(node, list) and isinstance(part, int) and part < len(node):
                node = node[part]
                continue
            nxt = {}
            node[part] = nxt
        node = nxt
    if isinstance(node, list) and isinstance(path[-1], int) and path[-1] < len(node):
        node[path[-1]] = value
    else:
        node[path[-1]] = value
    located.lines[tuple(path)] = origin


def merge(base: Located, overlay: Located, prefix: Path = ()) -> None:
    """Deep-merge ``overlay`` (located data for the sub-tree at ``prefix`` of the overlay's own
    map) into ``base``: mappings merge, anything else replaces; origins follow the values."""

    def rec(dst: dict, src: dict, path: Path) -> None:
        for key, value in src.items():
            here = path + (key,)
            origin = overlay.lines.get(prefix + here)
            if isinstance(value, dict) and isinstance(dst.get(key), dict):
                if origin:
                    base.lines.setdefault(here, origin)
                rec(dst[key], value, here)
            else:
                dst[key] = value
                for p in [p for p in base.lines if p[: len(here)] == here]:
                    del base.lines[p]
                for p, o in overlay.lines.items():
                    if p[: len(prefix + here)] == prefix + here:
                        base.lines[here + p[len(prefix + here):]] = o
                        base.names[here + p[len(prefix + here):]] = ".".join(map(str, p))

    if isinstance(overlay.data, dict) and isinstance(base.data, dict):
        rec(base.data, overlay.data, ())


def problem_at(located: Located, path: Path, message: str) -> Problem:
    file, line = located.where(path)
    field = located.names.get(tuple(path)) or ".".join(str(p) for p in path) or None
    return Problem(message, file=file, line=line, field=field)
