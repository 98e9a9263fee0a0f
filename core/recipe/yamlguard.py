"""Limits a recipe's YAML must keep before anything is built from it.

A recipe is a few dozen values, so these limits cost nothing to real recipes and stop the files
that would otherwise take ftx down: a "billion laughs" alias bomb (a 1 KB file whose aliases
expand to 10^9 values: every later step that walks the data would expand them), nesting deep
enough to exhaust Python's recursion, and duplicate keys (YAML keeps the last one silently; a
duplicated ``hyperparameters:`` block would replace the first without a word).

The node graph is walked iteratively with the expanded size memoised per node, so the check is
linear in the file's size however the aliases multiply.
"""

from __future__ import annotations

from typing import Any

import yaml

from ..errors import Problem, RecipeError

MAX_VALUES = 20_000  # values after alias expansion
MAX_DEPTH = 64  # nested mappings/sequences
MERGE_KEY = "tag:yaml.org,2002:merge"


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def expanded_size(root: yaml.Node, file: str) -> int:
    """Values the document holds once every alias is expanded; raises past the limits (size,
    depth) or on an alias that contains itself."""
    sizes: dict[int, tuple[int, int]] = {}  # node -> (expanded values, nesting depth)
    open_nodes: set[int] = set()  # expanded, not finished: the current path's ancestors
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            open_nodes.discard(key)
            below = [sizes[id(c)] for c in _children(node)]
            size = 1 + sum(b[0] for b in below)
            depth = 1 + max((b[1] for b in below), default=0)
            line = node.start_mark.line + 1
            if size > MAX_VALUES:
                raise RecipeError(f"the YAML expands to more than {MAX_VALUES:,} values (aliases repeated "
                                  "within aliases?); a recipe is far smaller", file=file, line=line)
            if depth > MAX_DEPTH:
                raise RecipeError(f"the YAML is nested more than {MAX_DEPTH} levels deep", file=file, line=line)
            sizes[key] = (size, depth)
            continue
        if key in sizes:
            continue
        open_nodes.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in open_nodes:
                raise RecipeError("the YAML contains itself through an alias", file=file,
                                  line=child.start_mark.line + 1)
            if id(child) not in sizes:
                stack.append((child, False))
    return sizes[id(root)][0]


def duplicate_keys(root: yaml.Node, file: str) -> list[Problem]:
    """A problem for every key given twice in the same mapping (merge keys ``<<`` aside)."""
    out: list[Problem] = []
    seen_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, tuple[Any, ...]]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[Any, int] = {}
            for key_node, value_node in node.value:
                if key_node.tag == MERGE_KEY or not isinstance(key_node, yaml.ScalarNode):
                    continue
                key = key_node.value
                line = key_node.start_mark.line + 1
                if key in first:
                    field = ".".join(str(p) for p in path + (key,))
                    out.append(Problem(f"duplicate key (first given at line {first[key]}); YAML would "
                                       "silently keep only the last one", file=file, line=line, field=field))
                else:
                    first[key] = line
                stack.append((value_node, path + (key,)))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                stack.append((item, path + (i,)))
    return out
