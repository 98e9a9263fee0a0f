"""Paid inference for hosted backends: bounded concurrency, ftx's retries, the response cache.

A provider subclasses :class:`HostedGenerator` and implements :meth:`answer` (one request, its
SDK errors translated into :class:`ftx.hosted.TransientError` / ``ProviderError``) and
:meth:`prompt_tokens`; prices come from :meth:`prices` (USD per 1M input/output tokens).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Sequence

from .errors import BackendError
from .inference import GenerationCost, GenerationParams, Generator, ModelRef, Prompt, cut_at_stop
from .inference_cache import ResponseCache, cache_key


class HostedGenerator(Generator):
    label = "the provider"

    def __init__(self, model: ModelRef, params: GenerationParams, service: str | None = None,
                 concurrency: int = 4, cache: ResponseCache | None = None):
        super().__init__(model, params)
        self.service = service
        self.concurrency = max(1, int(concurrency))
        self.cache = cache if cache is not None else ResponseCache()
        self.usage = {"requests": 0, "cached": 0, "input_tokens": 0, "output_tokens": 0}
        self._lock = threading.Lock()

    # -- what a provider implements -----------------------------------------------------------------
    def answer(self, prompt: Prompt) -> tuple[str, dict[str, int]]:
        """One request: (answer text, {"input_tokens": .., "output_tokens": ..})."""
        raise NotImplementedError

    def prompt_tokens(self, prompt: Prompt) -> int:
        from .cost.tally import chars_tokens
        from .inference_cache import prompt_json

        text = prompt if isinstance(prompt, str) else " ".join(m["content"] for m in prompt_json(prompt))
        return chars_tokens(text) + 4

    def prices(self) -> tuple[float, float] | None:
        """(USD per 1M input tokens, per 1M output tokens) for this model, or None when unknown."""
        return None

    # -- the machinery ----------------------------------------------------------------------------------
    def _key(self, prompt: Prompt) -> str:
        return cache_key(self.model.backend, self.service, self.model.name, prompt, self.params.key())

    def estimate_cost(self, prompts: Sequence[Prompt]) -> GenerationCost:
        todo = [p for p in prompts if self.cache.get(self._key(p)) is None]
        prices = self.prices()
        inp = sum(self.prompt_tokens(p) for p in todo)
        out = self.params.max_new_tokens * len(todo)  # an upper bound: answers stop earlier
        if prices is None:
            raise BackendError(f"no inference price known for {self.model.name!r} on {self.label}, so the cost "
                               "of evaluating cannot be shown", hint="add its input/output prices to the "
                               "inference price file (see docs/evaluation.md)")
        usd = inp / 1e6 * prices[0] + out / 1e6 * prices[1]
        return GenerationCost(usd=round(usd, 6), input_tokens=inp, output_tokens=out,
                              cached=len(prompts) - len(todo),
                              detail={"usd_per_1m_input": prices[0], "usd_per_1m_output": prices[1]})

    def _one(self, prompt: Prompt) -> str:
        from .hosted_retry import retrying

        key = self._key(prompt)
        hit = self.cache.get(key)
        if hit is not None:
            with self._lock:
                self.usage["cached"] += 1
            return hit[0]
        text, usage = retrying(f"{self.label} chat request ({self.model.name})", self.answer, prompt)
        text = cut_at_stop(text or "", self.params.stop).strip()
        self.cache.put(key, text, usage)  # stored at once: a later failure never pays for it again
        with self._lock:
            self.usage["requests"] += 1
            for k in ("input_tokens", "output_tokens"):
                self.usage[k] += int(usage.get(k) or 0)
        return text

    def generate(self, prompts: Sequence[Prompt]) -> list[str]:
        if self.concurrency == 1 or len(prompts) <= 1:
            return [self._one(p) for p in prompts]
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(self._one, prompts))

    def close(self) -> None:
        self.cache.close()
