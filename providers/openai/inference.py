"""Chat completions on OpenAI and Azure OpenAI, for ``ftx eval``: the base model or the ``ft:`` model.

Azure serves models through deployments: ftx calls the deployment named like the model, so deploy
the base and the tuned model under their model ids.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from ftx.inference import GenerationParams, ModelRef, Prompt
from ftx.inference_cache import prompt_json
from ftx.inference_hosted import HostedGenerator

PRICES = Path(__file__).with_name("inference_prices.yaml")


@lru_cache(maxsize=4)
def _prices(path: str, override: str | None) -> dict[str, Any]:
    import yaml

    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if override and Path(override).is_file():
        extra = yaml.safe_load(Path(override).read_text(encoding="utf-8")) or {}
        data.setdefault("models", {}).update(extra.get("models") or {})
        data.setdefault("aliases", {}).update(extra.get("aliases") or {})
    return data


def inference_prices(model: str) -> tuple[float, float] | None:
    from ftx.home import ftx_home

    data = _prices(str(PRICES), str(ftx_home() / "openai-inference-prices.yaml"))
    tuned = model.startswith("ft:")
    base = model[3:].split(":", 1)[0] if tuned else model
    base = (data.get("aliases") or {}).get(base, base)
    entry = (data.get("models") or {}).get(base)
    if not entry:
        return None
    keys = ("ft_input", "ft_output") if tuned else ("input", "output")
    if entry.get(keys[0]) is None or entry.get(keys[1]) is None:
        return None
    return float(entry[keys[0]]), float(entry[keys[1]])


class OpenAIChatGenerator(HostedGenerator):
    def __init__(self, backend: str, connection: dict[str, Any], model: ModelRef, params: GenerationParams,
                 label: str, concurrency: int = 4):
        from .client import make_client

        service = connection.get("endpoint") or connection.get("base_url") or "https://api.openai.com/v1"
        super().__init__(model, params, service=service, concurrency=concurrency)
        self.label = label
        self.backend = backend
        self._client = make_client(backend, connection)
        self._deployment = model.name
        try:
            from ftx.data.tokens import get_counter

            self._counter = get_counter(model.name)
        except Exception:  # an unknown model name: fall back to characters
            self._counter = None

    def prices(self) -> tuple[float, float] | None:
        return inference_prices(self.model.name)

    def prompt_tokens(self, prompt: Prompt) -> int:
        if self._counter is None:
            return super().prompt_tokens(prompt)
        from ftx.example import Example, Message

        from .billing import openai_example_tokens  # OpenAI's chat accounting, as training bills it

        messages = [Message("user", prompt)] if isinstance(prompt, str) else list(prompt)
        return openai_example_tokens(Example(messages), self._counter)

    def answer(self, prompt: Prompt) -> tuple[str, dict[str, int]]:
        from .client import call

        messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt_json(prompt)
        kwargs: dict[str, Any] = {"model": self._deployment, "messages": messages,
                                  "max_completion_tokens": self.params.max_new_tokens,
                                  "temperature": self.params.temperature}
        if self.params.stop:
            kwargs["stop"] = list(self.params.stop)[:4]  # the API takes up to four
        if self.params.temperature > 0:
            kwargs["seed"] = self.params.seed
        response = call(self.label, self._client.chat.completions.create, **kwargs)
        choice = response.choices[0] if response.choices else None
        text = (choice.message.content if choice and choice.message else "") or ""
        usage = getattr(response, "usage", None)
        return text, {"input_tokens": getattr(usage, "prompt_tokens", 0) or 0,
                      "output_tokens": getattr(usage, "completion_tokens", 0) or 0}

    def close(self) -> None:
        super().close()
        try:
            self._client.close()
        except Exception:  # pragma: no cover - closing never matters more than the result
            pass
