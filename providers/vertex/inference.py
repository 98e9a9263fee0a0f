"""generateContent on Vertex AI through google-genai, for ``ftx eval``: the base Gemini model, or
the tuned model's endpoint (``projects/P/locations/L/endpoints/ID``, which the run records)."""

from __future__ import annotations

import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any

from ftx.inference import GenerationParams, ModelRef, Prompt
from ftx.inference_hosted import HostedGenerator

PRICES = Path(__file__).with_name("inference_prices.yaml")


@lru_cache(maxsize=4)
def _prices(path: str, override: str | None) -> dict[str, Any]:
    import yaml

    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if override and Path(override).is_file():
        data.setdefault("models", {}).update((yaml.safe_load(Path(override).read_text(encoding="utf-8")) or {})
                                             .get("models") or {})
    return data


def inference_prices(base_model: str) -> tuple[float, float] | None:
    from ftx.home import ftx_home

    data = _prices(str(PRICES), str(ftx_home() / "vertex-inference-prices.yaml"))
    entry = (data.get("models") or {}).get(base_model.rsplit("/", 1)[-1])
    if not entry or entry.get("input") is None or entry.get("output") is None:
        return None
    return float(entry["input"]), float(entry["output"])


class VertexGenerator(HostedGenerator):
    label = "Vertex AI"

    def __init__(self, connection: dict[str, Any], model: ModelRef, params: GenerationParams, base_model: str,
                 concurrency: int = 4):
        from .config import credentials, make_genai_client

        super().__init__(model, params, service=connection.get("endpoint") or
                         f"{connection.get('project')}/{connection.get('location')}", concurrency=concurrency)
        self.base_model = base_model
        self._client = make_genai_client(connection, credentials())

    def prices(self) -> tuple[float, float] | None:
        return inference_prices(self.base_model)

    def answer(self, prompt: Prompt) -> tuple[str, dict[str, int]]:
        from google.genai import types

        from .errors import call

        system = None
        contents: list[Any] = []
        if isinstance(prompt, str):
            contents = [types.Content(role="user", parts=[types.Part(text=prompt)])]
        else:
            for m in prompt:
                if m.role == "system":
                    system = (system + "\n" if system else "") + (m.content or "")
                else:
                    role = "model" if m.role == "assistant" else "user"
                    contents.append(types.Content(role=role, parts=[types.Part(text=m.content or "")]))
        config = types.GenerateContentConfig(max_output_tokens=self.params.max_new_tokens,
                                             temperature=self.params.temperature,
                                             stop_sequences=list(self.params.stop) or None,
                                             system_instruction=system,
                                             seed=self.params.seed if self.params.temperature > 0 else None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            response = call(self.label, self._client.models.generate_content, model=self.model.name,
                            contents=contents, config=config)
        usage = getattr(response, "usage_metadata", None)
        return (response.text or ""), {"input_tokens": getattr(usage, "prompt_token_count", 0) or 0,
                                       "output_tokens": getattr(usage, "candidates_token_count", 0) or 0}
