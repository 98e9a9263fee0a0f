"""Contradictory examples: the same prompt trained toward different answers.

The guides' advice is to avoid them ("contradictory examples confuse the model"): a model shown
one prompt with two answers learns neither well. Here an example's *prompt* is everything before
its last assistant turn (system, user and earlier turns, its tools, its kind) and its *answer* is
that last assistant turn; two examples contradict each other when their prompts are equal and
their answers are not. Exact copies (same prompt, same answer) are duplicates, reported as such.
Only supervised examples are compared (kinds ``chat`` and ``completion``): preference pairs and
labelled answers (KTO's ``unpaired``) hold several answers to one prompt on purpose. Examples
without an assistant turn after a prompt are left out.

Each example costs 16 bytes (two 64-bit keys) while the data streams; the keys are compared once,
when a report is asked for, by a sort. The keys are Python's own hashes of the texts (a tuple's
hash over the strings' cached hashes: no copy), or BLAKE2b of the canonical JSON for messages
that carry more than a role and a text (names, weights, tool calls). Python's string hash is
seeded per process, so keys are compared within one process only (as the duplicate index's are).
"""

from __future__ import annotations

from array import array
from operator import attrgetter
from typing import Any, Callable, Iterable

from ..example import Example, PlainMessages
from .dedupe_runs import equal_runs
from .hash64 import hash64

_ROLE, _CONTENT = attrgetter("role"), attrgetter("content")
SUPERVISED = frozenset({"chat", "completion"})
SHOWN = 3  # examples named per contradictory prompt (one per distinct answer, first first)


def _blake(text: str) -> int:
    return hash64(text.encode("utf-8", "surrogatepass"))


def keys_of(example: Example) -> tuple[int, int] | None:
    """(prompt key, answer key) of ``example``, or None when it has no prompt and answer to
    compare (not a supervised kind, no assistant turn after a prompt)."""
    if example.kind not in SUPERVISED:
        return None
    messages = example.messages
    last = len(messages) - 1
    while last > 0 and messages[last].role != "assistant":
        last -= 1
    if last <= 0:
        return None
    head, answer = messages[:last], messages[last]
    if type(messages) is PlainMessages and not example.tools:
        prompt = hash((example.kind, tuple(map(_ROLE, head)), tuple(map(_CONTENT, head))))
        return (prompt or 1), (hash(answer.content) or 1)
    import json

    def canon(value: Any) -> str:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)

    prompt = _blake(canon([example.kind, example.tools, [m.to_openai() for m in head]]))
    return (prompt or 1), (_blake(canon(answer.to_openai())) or 1)


class PromptAnswers:
    """The prompt and answer keys of examples numbered 0, 1, ... in the order they are added
    (0 keys: an example with nothing to compare)."""

    def __init__(self) -> None:
        self._prompt = array("q")
        self._answer = array("q")

    def __len__(self) -> int:
        return len(self._prompt)

    def extend(self, examples: Iterable[Example]) -> None:
        prompt, answer = self._prompt, self._answer
        for example in examples:
            got = keys_of(example)
            if got is None:
                prompt.append(0)
                answer.append(0)
            else:
                prompt.append(got[0])
                answer.append(got[1])

    def conflicts(self, ids: Iterable[int] | None = None) -> list[list[int]]:
        """For each prompt that has more than one answer among examples ``ids`` (default: all),
        the first example of each of its answers (at most :data:`SHOWN`), in order of the
        prompt's first example. The equal prompts are found as the duplicate index finds equal
        keys (:func:`ftx.data.dedupe_runs.equal_runs`: one sort, numpy for large sets)."""
        prompt, answer = self._prompt, self._answer
        n = len(prompt)
        keep = bytearray(n) if ids is not None else bytearray(b"\x01") * n
        for i in ids if ids is not None else ():
            keep[i] = 1
        found: list[list[int]] = []
        for run in equal_runs(prompt, n, keep):  # positions ascending, all with one prompt key
            if not prompt[run[0]]:
                continue  # key 0: examples with nothing to compare
            firsts: dict[int, int] = {}
            for i in run:
                firsts.setdefault(answer[i], i)
            if len(firsts) > 1:
                found.append(sorted(firsts.values())[:SHOWN])
        found.sort()
        return found

    def report(self, where: Callable[[int], str], ids: Iterable[int] | None = None) -> tuple[int, list[list[str]]]:
        """(how many prompts have different answers, each named by its examples' ``where``)."""
        groups = self.conflicts(ids)
        return len(groups), [[where(i) for i in group] for group in groups]
