"""Small helpers shared by the OpenAI provider tests (imported as a plain module)."""

from __future__ import annotations

import json
from typing import Any

from hosted_test_helpers import chat_lines, runs_json  # noqa: F401 (the tests import them from here)

API_KEY = "sk-test-ftx0123456789abcdefXYZ"  # a dummy in the shape of a real key: redaction must catch it


def create_requests(server) -> list[dict[str, Any]]:
    """Bodies of the create-job requests the fake server accepted (oldest first)."""
    with server.state.lock:
        jobs = sorted(server.state.jobs.values(), key=lambda j: j.id)
        return [dict(j.request) for j in jobs]


def dpo_lines(n: int) -> str:
    return "".join(json.dumps({
        "input": {"messages": [{"role": "user", "content": f"Say hello to person {i}."}]},
        "preferred_output": [{"role": "assistant", "content": f"Hello, person {i}!"}],
        "non_preferred_output": [{"role": "assistant", "content": "no."}]}) + "\n" for i in range(n))
