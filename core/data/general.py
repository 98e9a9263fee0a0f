"""``ftx:general``: a small general instruction set ftx generates offline, for replay.

Replay (mixing 10-20% general data into a fine-tune) needs general data, and ftx runs without
a model hub. This set is generated, not downloaded: short instructions with checkable answers
(arithmetic, formatting, ordering, counting, JSON), distinct and always in the same order, so the
same recipe always replays the same examples and an evaluator can check the answers exactly.
"""

from __future__ import annotations

import json
import random
from typing import Iterator

from ..example import Example, Message, Source
from .sources import GENERAL

SIZE = 5000  # examples in the set; sampling takes what the mix needs

_WORDS = ("apple", "river", "stone", "cloud", "garden", "window", "silver", "planet", "forest", "candle",
          "bridge", "orange", "winter", "marble", "rocket", "violet", "harbor", "meadow", "pencil", "thunder")


def _task(rng: random.Random) -> tuple[str, str]:
    kind = rng.randrange(8)
    a, b = rng.randint(2, 99), rng.randint(2, 99)
    words = rng.sample(_WORDS, rng.randint(3, 5))
    if kind == 0:
        return f"What is {a} + {b}?", str(a + b)
    if kind == 1:
        return f"What is {max(a, b)} - {min(a, b)}?", str(max(a, b) - min(a, b))
    if kind == 2:
        a, b = a % 13 + 2, b % 13 + 2
        return f"What is {a} times {b}?", str(a * b)
    if kind == 3:
        return f"Write in uppercase: {' '.join(words)}", " ".join(words).upper()
    if kind == 4:
        return f"Sort these words alphabetically, separated by commas: {', '.join(words)}", ", ".join(sorted(words))
    if kind == 5:
        word = words[0]
        return f"How many letters are in the word \"{word}\"? Answer with a number.", str(len(word))
    if kind == 6:
        nums = [rng.randint(1, 50) for _ in range(rng.randint(3, 6))]
        return f"What is the largest number in this list: {nums}?", str(max(nums))
    return (f"Return a JSON object with the key \"name\" set to \"{words[0]}\" and \"count\" set to {a}.",
            json.dumps({"name": words[0], "count": a}))


def iter_general(size: int = SIZE) -> Iterator[Example]:
    """The set, in its one order: ``size`` distinct instructions (a repeated draw is skipped)."""
    rng = random.Random("ftx-general")
    seen: set[str] = set()
    while len(seen) < size:
        prompt, answer = _task(rng)
        if prompt in seen:
            continue
        seen.add(prompt)
        yield Example(messages=[Message("user", prompt), Message("assistant", answer)],
                      source=Source(GENERAL, len(seen)))


def general_probe(size: int = 64) -> list[Example]:
    """``size`` general instructions *not* in the set itself: held out from any replay, for
    measuring general-text perplexity before and after a fine-tune."""
    known = {e.messages[0].content for e in iter_general()}
    rng = random.Random("ftx-general-probe")
    out: list[Example] = []
    seen: set[str] = set()
    for _ in range(100 * size):
        prompt, answer = _task(rng)
        if prompt in known or prompt in seen:
            continue
        seen.add(prompt)
        out.append(Example(messages=[Message("user", prompt), Message("assistant", answer)],
                           source=Source("ftx:general-probe", len(out) + 1)))
        if len(out) >= size:
            break
    return out
