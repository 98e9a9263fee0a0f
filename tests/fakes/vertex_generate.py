"""``:generateContent`` for the fake Vertex AI, on a publisher model or a tuned model's endpoint.

Deterministic answers: ``fake.chat_answer(model, contents)`` when a test sets one; otherwise an
endpoint (a tuned model) answers from ``fake.knowledge`` (question -> answer) and a publisher
model says "I am not sure." Checked like the service: ``contents`` required, roles user/model,
known ``generationConfig`` fields only. Usage counts words.
"""

from __future__ import annotations

from typing import Any

CONFIG_FIELDS = {"maxOutputTokens", "temperature", "stopSequences", "seed", "topP", "topK", "candidateCount"}


def generate_content(fake: Any, model: str, body: dict[str, Any]) -> dict[str, Any]:
    from .vertex_server import ApiError

    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        raise ApiError(400, "Unable to submit request because it must include at least one parts field.")
    for c in contents:
        if c.get("role") not in ("user", "model"):
            raise ApiError(400, f"Please use a valid role: user, model. Got {c.get('role')!r}.")
    unknown = set(body.get("generationConfig") or {}) - CONFIG_FIELDS
    if unknown:
        raise ApiError(400, f"Invalid JSON payload received. Unknown name {sorted(unknown)[0]!r}")
    question = next(("".join(p.get("text", "") for p in c.get("parts") or [])
                     for c in reversed(contents) if c.get("role") == "user"), "")
    answerer = getattr(fake, "chat_answer", None)
    if answerer:
        text = answerer(model, contents)
    elif "/endpoints/" in model:
        text = getattr(fake, "knowledge", {}).get(question, "I am not sure.")
    else:
        text = "I am not sure."
    config = body.get("generationConfig") or {}
    limit = config.get("maxOutputTokens")
    words = text.split()
    finish = "STOP"
    if limit is not None and len(words) > int(limit):
        text, finish = " ".join(words[:int(limit)]), "MAX_TOKENS"
    fake.generate_calls = getattr(fake, "generate_calls", 0) + 1
    prompt_tokens = sum(len(p.get("text", "").split()) for c in contents for p in c.get("parts") or [])
    return {"candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": finish}],
            "usageMetadata": {"promptTokenCount": prompt_tokens, "candidatesTokenCount": len(text.split()),
                              "totalTokenCount": prompt_tokens + len(text.split())},
            "modelVersion": model.rsplit("/", 1)[-1], "responseId": f"fake-{fake.generate_calls}"}
