"""The held-out test set: read it, check it never copies training data, turn it into items."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import FtxError, Problem
from ..example import Example, Message


@dataclass
class Item:
    """One thing to score: what the model is asked, the reference answer, where it came from."""

    prompt: list[Message] | str
    reference: str | None
    where: str
    example: Example | None = None

    @property
    def text(self) -> str:
        """The question as text (labels in reports)."""
        if isinstance(self.prompt, str):
            return self.prompt
        users = [m.content or "" for m in self.prompt if m.role == "user"]
        return users[-1] if users else ""


def prompt_of(example: Example) -> list[Message] | str:
    """The turns before the first assistant answer (chat), or the prompt text (completion)."""
    if example.kind == "completion":
        return "".join(m.content or "" for m in example.messages if m.role != "assistant")
    turns: list[Message] = []
    for m in example.messages:
        if m.role == "assistant":
            break
        turns.append(m)
    return turns


def reference_of(example: Example) -> str | None:
    answer = example.completion_messages()
    return answer[0].content if answer else None


def to_item(example: Example) -> Item:
    where = str(example.source) if example.source else "?"
    return Item(prompt_of(example), reference_of(example), where, example)


def read_examples(path: str, fmt: str = "auto", role: str = "test", field: str = "eval.test") -> list[Example]:
    """Every example of ``path``; any bad record is an error naming its line."""
    from pathlib import Path

    from ..data.load import iter_examples

    if not path.startswith("hf:") and not Path(path).is_file():
        raise FtxError(f"{role} file not found: {path}", field=field)
    problems: list[Problem] = []
    examples = list(iter_examples(path, fmt, problems))
    if problems:
        raise FtxError(problems=problems[:20])
    if not examples:
        raise FtxError(f"{role} file {path} holds no examples", field=field)
    return examples


def leakage(train: list[Example], test: list[Example]) -> list[str]:
    """One warning per test example that exactly or nearly copies a training/validation one."""
    from ..data.dedupe import overlap

    report = overlap(train, test)
    return [f"{leak.line}: test example {'copies' if leak.kind == 'exact' else 'nearly copies'} "
            f"{', '.join(leak.train_lines)} (similarity {leak.similarity:.2f}); it measures memory, "
            "not generalisation" for leak in report.leaks]


def load_test(recipe: Any) -> tuple[list[Item], list[Example], list[str]]:
    """(test items, training pool, leakage warnings) for a resolved recipe with ``eval.test``."""
    spec = recipe.recipe.eval
    if not spec.test:
        file, line = recipe.located.where(("eval",))
        raise FtxError("no test set: set eval.test to a held-out file (never trained on)", file=file, line=line,
                       field="eval.test")
    fmt = recipe.recipe.data.format
    test = read_examples(recipe.data_path(spec.test), fmt)
    pool = read_examples(recipe.data_path(recipe.recipe.data.train), fmt, "train", "data.train")
    if recipe.recipe.data.validation:
        pool += read_examples(recipe.data_path(recipe.recipe.data.validation), fmt, "validation", "data.validation")
    warnings = leakage(pool, test)
    if spec.max_examples:
        test = test[:spec.max_examples]
    return [to_item(e) for e in test], pool, warnings
