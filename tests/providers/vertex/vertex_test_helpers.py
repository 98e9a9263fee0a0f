"""Small helpers shared by the Vertex provider tests (imported as a plain module)."""

from __future__ import annotations

import json
from typing import Any

from hosted_test_helpers import chat_lines, runs_json  # noqa: F401 (the tests import them from here)

PROJECT = "ftx-test"
LOCATION = "us-central1"
BUCKET = "ftx-staging"
TOKEN = "ya29.ftx-test-token-0123456789abcdef"  # shaped like a real Google token: redaction must catch it


def preference_lines(n: int) -> str:
    return "".join(json.dumps({"prompt": [{"role": "user", "content": f"Greet person {i}."}],
                               "chosen": [{"role": "assistant", "content": f"Hello, person {i}!"}],
                               "rejected": [{"role": "assistant", "content": "no."}]}) + "\n" for i in range(n))


def jsonl(raw: bytes | None) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (raw or b"").decode().splitlines() if line.strip()]
