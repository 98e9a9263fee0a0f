"""Inference behind the backend contract: batched generation for a model reference.

Evaluation (``ftx eval``) and ``ftx generate`` ask a backend for a :class:`Generator` through
:meth:`ftx.backends.Backend.generator`; the core never knows how a backend answers. A generator
is opened once (a local backend loads the model once) and answers many prompts per call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Sequence, Union

from .errors import BackendError

if TYPE_CHECKING:  # pragma: no cover
    from .example import Message

#: What a model is asked: chat turns, or raw text for completion-style models and data.
Prompt = Union[list["Message"], str]


@dataclass(frozen=True)
class ModelRef:
    """Which model answers: a backend's ``base`` model, or the ``tuned`` model of a run.

    ``name`` is the base model id (``gpt-4.1-nano-...``, ``ftx/tiny-llama``) or the tuned model's
    id (``ft:...``, a Vertex endpoint, a local run folder). ``run_dir`` is a local run folder.
    """

    backend: str
    kind: Literal["base", "tuned"]
    name: str
    run_id: str | None = None
    run_dir: str | None = None

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"

    def to_dict(self) -> dict[str, Any]:
        return {"backend": self.backend, "kind": self.kind, "name": self.name, "run_id": self.run_id,
                "run_dir": self.run_dir}


@dataclass(frozen=True)
class GenerationParams:
    """Decoding settings (``eval.generation`` in a recipe). Greedy unless ``temperature`` > 0."""

    max_new_tokens: int = 64
    temperature: float = 0.0
    stop: tuple[str, ...] = ()
    seed: int = 0

    def key(self) -> dict[str, Any]:
        """The parameters that change an answer (part of a response cache key)."""
        return {"max_new_tokens": self.max_new_tokens, "temperature": self.temperature,
                "stop": list(self.stop), "seed": self.seed}


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    """``text`` up to the first stop sequence (none found: unchanged)."""
    cut = len(text)
    for s in stop:
        if s:
            at = text.find(s)
            if at >= 0:
                cut = min(cut, at)
    return text[:cut]


@dataclass
class GenerationCost:
    """What answering would cost (hosted backends): tokens in and out, dollars, and the prices used."""

    usd: float
    input_tokens: int = 0
    output_tokens: int = 0
    cached: int = 0  # prompts already answered (in the response cache): free
    detail: dict[str, Any] = field(default_factory=dict)


class Generator:
    """Answers prompts with one model. Subclasses implement :meth:`generate`.

    Use as a context manager (or call :meth:`close`) so a backend can free what it loaded.
    """

    model: ModelRef
    params: GenerationParams

    def __init__(self, model: ModelRef, params: GenerationParams):
        self.model = model
        self.params = params

    def generate(self, prompts: Sequence[Prompt]) -> list[str]:
        """One answer per prompt, in order (decoded text, cut at the stop sequences)."""
        raise NotImplementedError

    def perplexity(self, texts: Sequence[str]) -> float:
        """Perplexity of the model on ``texts`` (token-weighted). Local models only."""
        raise BackendError(f"backend {self.model.backend!r} cannot score perplexity (it needs the model's "
                           "token probabilities)")

    def estimate_cost(self, prompts: Sequence[Prompt]) -> GenerationCost | None:
        """What :meth:`generate` on ``prompts`` would cost; ``None`` when it is free (local)."""
        return None

    def close(self) -> None:
        """Free what the generator holds (idempotent)."""

    def __enter__(self) -> "Generator":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
