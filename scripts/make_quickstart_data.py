#!/usr/bin/env python3
"""Generate ``recipes/data/quickstart.jsonl``, the quickstart's chat dataset, deterministically.

The task is small on purpose: a 0.4M-parameter model trained from random weights on two CPU
cores must visibly learn it in about a minute. Three fixed mappings (animal -> sound,
thing -> colour, word -> opposite) are asked in several phrasings and always answered with one
template per family, so the model has to learn both the template (copying the subject from the
question) and the mapping. Re-running this script reproduces the file byte for byte.

    python scripts/make_quickstart_data.py [OUTPUT]
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

SOUNDS = [
    ("cow", "moo"), ("dog", "woof"), ("cat", "meow"), ("duck", "quack"), ("sheep", "baa"),
    ("pig", "oink"), ("horse", "neigh"), ("lion", "roar"), ("owl", "hoot"), ("frog", "croak"),
    ("bee", "buzz"), ("snake", "hiss"), ("mouse", "squeak"), ("crow", "caw"), ("wolf", "howl"),
    ("goat", "bleat"),
]
SOUND_QUESTIONS = [
    "What sound does a {x} make?", "What does a {x} say?", "Which noise does a {x} make?",
    "How does a {x} sound?", "Tell me the sound of a {x}.", "A {x} makes what sound?",
]

COLOURS = [
    ("a banana", "yellow"), ("the sky", "blue"), ("grass", "green"), ("snow", "white"),
    ("coal", "black"), ("a cherry", "red"), ("a carrot", "orange"), ("a plum", "purple"),
    ("a lemon", "yellow"), ("the sea", "blue"), ("a leaf", "green"), ("milk", "white"),
    ("a crow", "black"), ("a tomato", "red"), ("a pumpkin", "orange"), ("a grape", "purple"),
]
COLOUR_QUESTIONS = [
    "What color is {x}?", "Which color is {x}?", "Tell me the color of {x}.",
    "What is the color of {x}?", "Name the color of {x}.", "{X} has what color?",
]

OPPOSITES = [
    ("hot", "cold"), ("big", "small"), ("up", "down"), ("fast", "slow"), ("happy", "sad"),
    ("light", "dark"), ("open", "closed"), ("early", "late"), ("full", "empty"), ("hard", "soft"),
    ("wet", "dry"), ("loud", "quiet"), ("rich", "poor"), ("strong", "weak"), ("long", "short"),
    ("new", "old"),
]
OPPOSITE_QUESTIONS = [
    "What is the opposite of {x}?", "Give the opposite of {x}.", "Opposite of {x}?",
    "Name the opposite of {x}.",
]


def _cap(text: str) -> str:
    return text[0].upper() + text[1:]


def examples() -> list[dict]:
    """Every quickstart example, in a fixed shuffled order."""
    pairs: list[tuple[str, str]] = []
    for animal, sound in SOUNDS:
        pairs += [(q.format(x=animal), f"A {animal} says {sound}.") for q in SOUND_QUESTIONS]
    for thing, colour in COLOURS:
        pairs += [(q.format(x=thing, X=_cap(thing)), f"{_cap(thing)} is {colour}.") for q in COLOUR_QUESTIONS]
    for a, b in OPPOSITES:
        for word, other in ((a, b), (b, a)):
            pairs += [(q.format(x=word), f"The opposite of {word} is {other}.") for q in OPPOSITE_QUESTIONS]
    random.Random(0).shuffle(pairs)
    return [{"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}
            for q, a in pairs]


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent / "recipes/data/quickstart.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = examples()
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"wrote {len(rows)} examples to {out} ({out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
