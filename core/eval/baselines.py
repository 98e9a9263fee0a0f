"""How each system is asked: the tuned model and the base model zero-shot, few-shot and with a prompt.

Few-shot examples come from the training pool, drawn per test item with a seeded RNG (so runs
repeat), skipping any example whose text nearly duplicates the item being scored (the same
shingle Jaccard as the leakage check), which would hand the model the answer.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from ..example import Example, Message
from .testset import Item, prompt_of, reference_of


@dataclass(frozen=True)
class System:
    name: str  # "tuned", "zero_shot", "few_shot", "prompt"
    tuned: bool  # answered by the tuned model (else the base model)


def systems(spec: Any, tuned: bool) -> list[System]:
    out = [System(b, False) for b in spec.baselines]
    if tuned:
        out.append(System("tuned", True))
    return out


def _shingles(example_or_item: Any) -> set[int]:
    from ..data.minhash import near_words, shingle_hashes

    if isinstance(example_or_item, Item):
        messages = example_or_item.prompt if isinstance(example_or_item.prompt, list) else \
            [Message("user", example_or_item.prompt)]
        example = Example(list(messages) + ([Message("assistant", example_or_item.reference)]
                                            if example_or_item.reference else []))
    else:
        example = example_or_item
    return shingle_hashes(near_words(example))


def _near(a: set[int], b: set[int], threshold: float) -> bool:
    if not a or not b:
        return a == b
    return len(a & b) / len(a | b) >= threshold


def pick_shots(item: Item, index: int, pool: list[Example], k: int, seed: int,
               pool_shingles: list[set[int]] | None = None, threshold: float | None = None) -> list[Example]:
    """``k`` training examples for ``item``: seeded per item, never a near duplicate of it."""
    from ..data.minhash import THRESHOLD

    threshold = THRESHOLD if threshold is None else threshold
    mine = _shingles(item)
    shingles = pool_shingles if pool_shingles is not None else [_shingles(e) for e in pool]
    rng = random.Random(seed * 1_000_003 + index)
    order = list(range(len(pool)))
    rng.shuffle(order)
    chosen: list[Example] = []
    question = item.text.strip().lower()
    for i in order:
        ex = pool[i]
        if reference_of(ex) is None or _near(mine, shingles[i], threshold):
            continue
        p = prompt_of(ex)
        if (p if isinstance(p, str) else " ".join(m.content or "" for m in p if m.role == "user")).strip().lower() == question:
            continue
        chosen.append(ex)
        if len(chosen) == k:
            break
    return chosen


def build_prompts(system: System, items: list[Item], pool: list[Example], spec: Any) -> list[Any]:
    """The prompt each item is asked under ``system``."""
    if system.name in ("tuned", "zero_shot"):
        return [item.prompt for item in items]
    if system.name == "prompt":
        return [_with_system(item.prompt, spec.prompt) for item in items]
    if system.name == "few_shot":
        shingles = [_shingles(e) for e in pool]
        return [_few_shot(item.prompt, pick_shots(item, i, pool, spec.few_shot.k, spec.few_shot.seed, shingles))
                for i, item in enumerate(items)]
    raise ValueError(f"unknown baseline {system.name!r}")


def _with_system(prompt: Any, text: str) -> Any:
    if isinstance(prompt, str):
        return f"{text}\n\n{prompt}"
    rest = [m for m in prompt if m.role != "system"]
    return [Message("system", text), *rest]


def _few_shot(prompt: Any, shots: list[Example]) -> Any:
    if isinstance(prompt, str):
        parts = [prompt_of(s) + (reference_of(s) or "") for s in shots if isinstance(prompt_of(s), str)]
        return "\n\n".join([*parts, prompt])
    system = [m for m in prompt if m.role == "system"]
    turns: list[Message] = []
    for s in shots:
        p = prompt_of(s)
        users = [m for m in p if m.role != "system"] if isinstance(p, list) else [Message("user", p)]
        turns += [*users, Message("assistant", reference_of(s) or "")]
    return [*system, *turns, *[m for m in prompt if m.role != "system"]]
