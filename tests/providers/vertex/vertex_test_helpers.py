"""Small helpers shared by the Vertex provider tests (imported as a plain module)."""

from __future__ import annotations

import json
from typing import Any

PROJECT = "ftx-test"
LOCATION = "us-central1"
BUCKET = "ftx-staging"
TOKEN = "ya29.ftx-test-token-0123456789abcdef"  # shaped like a real Google token: redaction must catch it


def runs_json(cli) -> list[dict[str, Any]]:
    r = cli("runs", "list", "--json")
    assert r.exit_code == 0, r
    return json.loads(r.stdout)


def chat_lines(n: int, start: int = 0) -> str:
    return "".join(json.dumps({"messages": [
        {"role": "system", "content": "You answer briefly."},
        {"role": "user", "content": f"What is {i} plus {i}?"},
        {"role": "assistant", "content": f"{i} plus {i} is {2 * i}."}]}) + "\n" for i in range(start, start + n))


def preference_lines(n: int) -> str:
    return "".join(json.dumps({"prompt": [{"role": "user", "content": f"Greet person {i}."}],
                               "chosen": [{"role": "assistant", "content": f"Hello, person {i}!"}],
                               "rejected": [{"role": "assistant", "content": "no."}]}) + "\n" for i in range(n))


def jsonl(raw: bytes | None) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (raw or b"").decode().splitlines() if line.strip()]
