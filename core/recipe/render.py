"""Render a resolved recipe as YAML, marking the values that came from defaults."""

from __future__ import annotations

from typing import Any

import yaml


def render_resolved(r: Any) -> str:
    data = r.to_dict()
    lines: list[str] = []
    for key, value in data.items():
        if isinstance(value, dict) and value:
            lines.append(f"{key}:")
            for sub, v in value.items():
                note = r.defaults.get(f"{key}.{sub}")
                text = _one(sub, v)
                lines.append(f"  {text}" + (f"  # {note}" if note else ""))
        else:
            lines.append(_one(key, value))
    return "\n".join(lines)


def _one(key: str, value: Any) -> str:
    if isinstance(value, (list, dict)):
        return f"{key}: " + yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    return yaml.safe_dump({key: value}, default_flow_style=False, width=10_000).strip()
