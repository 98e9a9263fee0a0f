"""Chat completions for the fake OpenAI server (``POST /chat/completions``, Azure's
``/deployments/{name}/chat/completions``), with deterministic answers.

The answer comes from ``fake.chat_answer(model, messages)`` when a test sets one; otherwise a
model whose id starts with ``ft:`` answers with ``fake.knowledge`` (question -> answer) and any
other model says "I am not sure." Usage counts words, as a stand-in for tokens.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from .openai_state import ApiError

_COUNTER = threading.Lock()
_next = [0]


def _default(fake: Any, model: str, messages: list[dict[str, Any]]) -> str:
    question = next((m.get("content") or "" for m in reversed(messages) if m.get("role") == "user"), "")
    if model.startswith("ft:"):
        return getattr(fake, "knowledge", {}).get(question, "I am not sure.")
    return "I am not sure."


def chat_completion(fake: Any, deployment: str | None, raw: bytes) -> tuple[int, str, Any]:
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise ApiError(400, "We could not parse the JSON body of your request.") from None
    model = deployment or body.get("model")
    messages = body.get("messages")
    if not model:
        raise ApiError(400, "you must provide a model parameter")
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "'messages' is a required property")
    answerer = getattr(fake, "chat_answer", None)
    text = answerer(model, messages) if answerer else _default(fake, model, messages)
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
    words = text.split()
    finish = "stop"
    if max_tokens is not None and len(words) > int(max_tokens):
        text, finish = " ".join(words[:int(max_tokens)]), "length"
    for stop in body.get("stop") or []:
        if stop and stop in text:
            text = text[:text.index(stop)]
    with _COUNTER:
        _next[0] += 1
        n = _next[0]
    prompt_tokens = sum(len(str(m.get("content") or "").split()) + 3 for m in messages) + 3
    fake.chat_requests = getattr(fake, "chat_requests", 0) + 1
    return 200, "CreateChatCompletionResponse", {
        "id": f"chatcmpl-fake{n:06d}", "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "finish_reason": finish, "logprobs": None,
                     "message": {"role": "assistant", "content": text, "refusal": None}}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(text.split()),
                  "total_tokens": prompt_tokens + len(text.split())},
    }
