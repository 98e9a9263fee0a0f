"""Batched generation on this machine: one model load, many prompts per forward pass.

Prompts are sorted by length and cut into batches, left-padded (so every row's next token is
the last column and the KV cache grows in step), then decoded greedily with ``model.generate``
(transformers builds position ids from the attention mask, so padding changes no answer). This
engine serves ``ftx generate`` and ``ftx eval``; a test checks it answers exactly as one prompt
at a time does.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Sequence

from ftx.errors import BackendError
from ftx.inference import GenerationParams, Generator, ModelRef, Prompt, cut_at_stop

DEFAULT_BATCH = 16


def prompt_ids(tokenizer: Any, prompt: Prompt, chat: bool) -> list[int]:
    """Token ids of ``prompt``: through the chat template (with the generation prompt) for chat
    turns when the model has one, else as plain text."""
    if isinstance(prompt, str) and chat and getattr(tokenizer, "chat_template", None):
        prompt = [_user(prompt)]
    if isinstance(prompt, str) or not getattr(tokenizer, "chat_template", None):
        text = prompt if isinstance(prompt, str) else "\n".join(m.content or "" for m in prompt)
        return list(tokenizer(text)["input_ids"])
    messages = [{"role": m.role, "content": m.content or ""} for m in prompt]
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
    if isinstance(ids, dict) or hasattr(ids, "keys"):
        ids = ids["input_ids"]
    return list(ids)


@contextmanager
def _threads(model: Any):
    """On CPU, the training policy's thread count (one for tiny models: OpenMP threads spin badly
    on shared cores); the caller's setting is restored afterwards."""
    import torch

    from .device import cpu_threads

    before = torch.get_num_threads()
    on_cpu = next(model.parameters()).device.type == "cpu"
    n = cpu_threads(sum(p.numel() for p in model.parameters()), None) if on_cpu else None
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if n:
            torch.set_num_threads(before)


def _user(text: str) -> Any:
    from ftx.example import Message

    return Message("user", text)


class LocalGenerator(Generator):
    """Answers with a loaded transformers model (a PEFT adapter on its base, or a full model)."""

    def __init__(self, model_ref: ModelRef, params: GenerationParams, model: Any, tokenizer: Any,
                 chat: bool = True, batch_size: int = DEFAULT_BATCH):
        super().__init__(model_ref, params)
        self._model, self._tokenizer, self.chat = model, tokenizer, chat
        self.batch_size = max(1, int(batch_size))

    @property
    def _pad(self) -> int:
        tok = self._tokenizer
        return tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id

    def generate(self, prompts: Sequence[Prompt]) -> list[str]:
        import torch

        encoded = [prompt_ids(self._tokenizer, p, self.chat) for p in prompts]
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))  # less padding per batch
        answers: list[str] = [""] * len(encoded)
        model, params = self._model, self.params
        device = next(model.parameters()).device
        was_training = model.training
        model.eval()
        try:
            with _threads(model), torch.no_grad():
                for start in range(0, len(order), self.batch_size):
                    rows = order[start:start + self.batch_size]
                    for i, text in zip(rows, self._batch([encoded[i] for i in rows], start, device)):
                        answers[i] = cut_at_stop(text, params.stop).strip()
        finally:
            model.train(was_training)
        return answers

    def _batch(self, seqs: list[list[int]], start: int, device: Any) -> list[str]:
        """Decoded continuations of one left-padded batch."""
        import torch

        params = self.params
        width = max(len(seq) for seq in seqs)
        ids = torch.full((len(seqs), width), self._pad, dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for r, seq in enumerate(seqs):
            if seq:
                ids[r, width - len(seq):] = torch.tensor(seq, dtype=torch.long)
                mask[r, width - len(seq):] = 1
        sampling = params.temperature > 0
        kwargs: dict[str, Any] = dict(max_new_tokens=params.max_new_tokens, do_sample=sampling, use_cache=True,
                                      pad_token_id=self._pad, eos_token_id=self._tokenizer.eos_token_id)
        if sampling:
            torch.manual_seed(params.seed + start)
            kwargs["temperature"] = params.temperature
        else:  # silence "temperature is set but do_sample is off" from a model's own config
            kwargs.update(temperature=None, top_p=None, top_k=None)
        out = self._model.generate(input_ids=ids.to(device), attention_mask=mask.to(device), **kwargs)
        return [self._tokenizer.decode(out[r, width:], skip_special_tokens=True) for r in range(len(seqs))]

    def perplexity(self, texts: Sequence[str]) -> float:
        """exp(mean negative log-likelihood per predicted token) over ``texts``, as plain text."""
        import torch

        tok = self._tokenizer
        model = self._model
        device = next(model.parameters()).device
        limit = getattr(getattr(model, "config", None), "max_position_embeddings", 512) or 512
        total_nll, total_tokens = 0.0, 0
        model.eval()
        with _threads(model), torch.no_grad():
            for text in texts:
                ids = list(tok(text)["input_ids"])[:limit]
                if len(ids) < 2:
                    continue
                x = torch.tensor([ids], dtype=torch.long, device=device)
                logits = model(input_ids=x).logits[0, :-1].float()
                nll = torch.nn.functional.cross_entropy(logits, x[0, 1:], reduction="sum")
                total_nll += float(nll)
                total_tokens += len(ids) - 1
        if not total_tokens:
            raise BackendError("no text long enough to score perplexity on")
        return math.exp(total_nll / total_tokens)

    def harness(self, plan: Any) -> dict[str, Any]:
        """lm-evaluation-harness scores of this model (see :mod:`.harness`) on ``plan``'s tasks."""
        from .harness import run_tasks

        model = self._model
        was_training = model.training
        model.eval()
        try:
            with _threads(model):
                return run_tasks(model, self._tokenizer, plan, batch_size=self.batch_size,
                                 limit=getattr(plan, "limit", None))
        finally:
            model.train(was_training)

    def close(self) -> None:
        self._model = None
        self._tokenizer = None


def open_generator(model_ref: ModelRef, params: GenerationParams, batch_size: int = DEFAULT_BATCH) -> LocalGenerator:
    """Load ``model_ref`` once: a base model name, or a run's tuned model (adapter or merged)."""
    from .generate import Target, find_target, load_for_generation
    from .quiet import no_deprecation_notices, quiet_libraries

    quiet_libraries()
    base = model_ref.kind == "base"
    ref = model_ref.run_dir if model_ref.run_dir and Path(model_ref.run_dir).is_dir() else model_ref.name
    if base and not (model_ref.run_dir and Path(model_ref.run_dir).is_dir()):
        target = Target(model_ref.name, None, False)
        path = Path(model_ref.name).expanduser()
        if path.is_dir():
            target = find_target(str(path), True)
    else:
        target = find_target(ref, base)
        if base and model_ref.name:
            target.base_model = target.base_model or model_ref.name
    with no_deprecation_notices():
        model, tokenizer = load_for_generation(target, base)
    gen = LocalGenerator(model_ref, params, model, tokenizer, chat=target.chat, batch_size=batch_size)
    gen.target = target
    return gen
