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
                text = yaml.safe_dump({sub: v}, default_flow_style=True, width=10_000).strip()
                text = text[1:-1] if text.startswith("{") else text
                lines.append(f"  {text}" + (f"  # {note}" if note else ""))
        else:
            text = yaml.safe_dump({key: value}, default_flow_style=True, width=10_000).strip()
            lines.append(text[1:-1] if text.startswith("{") else text)
    return "\n".join(lines)
