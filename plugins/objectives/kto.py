"""ftx's KTO plugin: Kahneman-Tversky optimisation (Ethayarajh et al., 2024) on unpaired feedback.

KTO learns from single answers labelled desirable or undesirable (a thumbs up or down), not from
pairs, which is the feedback most products collect. This plugin brings everything KTO needs:

* a data format, ``kto``: TRL's unpaired preference records ``{"prompt", "completion", "label"}``
  (strings, or message lists), read into examples of a new kind, ``unpaired``, with the label in
  ``meta["label"]``;
* the objective, which checks that both labels occur, and trains locally with ``trl.KTOTrainer``
  (a frozen reference: the base model with the adapter disabled). ``desirable_weight`` is set so
  desirable and undesirable examples weigh the same in the loss, as the KTO paper advises for
  unbalanced data (TRL: keep weight x count of the two sides within 1 to 4/3).

Nothing in ftx's core or local backend names it; hosted backends refuse it by name.
"""

from __future__ import annotations

from typing import Any

from ftx import hookimpl
from ftx.example import Example
from ftx.formats import CannotConvert, DataFormat, RecordInvalid
from ftx.objectives import Objective
from ftx.plugins.local.objectives import LocalTraining

KIND = "unpaired"


class KtoFormat(DataFormat):
    name = "kto"
    description = "TRL unpaired preference: prompt, completion, label (true: desirable, false: undesirable)"
    kind = KIND
    keys = ("prompt", "completion", "label")

    def detect(self, record: dict[str, Any]) -> int:
        # a prompt/completion record with some other "label" (a category) is not KTO data
        return super().detect(record) if isinstance(record.get("label"), bool) else 0

    def parse(self, record: dict[str, Any]) -> Example:
        from ftx.plugins.formats.messages import assistant_turns, prompt_turns

        problems, meta = self.checked_keys(record)
        prompt = prompt_turns(record["prompt"], "prompt", problems)
        completion = assistant_turns(record["completion"], "completion", problems)
        if not isinstance(record["label"], bool):
            problems.append(("label", "label must be true (desirable) or false (undesirable)"))
        if problems:
            raise RecordInvalid(problems)
        return Example(messages=[*prompt, *completion], kind=KIND,  # type: ignore[misc]
                       meta={**meta, "label": record["label"]})

    def dump(self, example: Example) -> dict[str, Any]:
        from ftx.plugins.formats.messages import dump_messages

        if example.kind != KIND or not isinstance(example.meta.get("label"), bool):
            raise CannotConvert(f"a {example.kind} example has no desirable/undesirable label")
        prompt, completion = split_answer(example)
        extra = {k: v for k, v in example.meta.items() if k != "label"}
        if len(prompt) == 1 and prompt[0].role == "user" and len(completion) == 1:
            return {"prompt": prompt[0].content, "completion": completion[0].content,
                    "label": example.meta["label"], **extra}
        return {"prompt": dump_messages(prompt), "completion": dump_messages(completion),
                "label": example.meta["label"], **extra}


def split_answer(example: Example) -> tuple[list, list]:
    """(prompt turns, the trailing assistant turns that are the labelled answer)."""
    cut = len(example.messages)
    while cut > 0 and example.messages[cut - 1].role == "assistant":
        cut -= 1
    return example.messages[:cut], example.messages[cut:]


def label_counts(examples: list[Example]) -> tuple[int, int]:
    """(desirable, undesirable) examples."""
    good = sum(1 for e in examples if e.meta.get("label") is True)
    return good, len(examples) - good


class KtoLocal(LocalTraining):
    def __init__(self) -> None:
        self.counts = (0, 0)

    def mode(self, examples: list[Any], tokenizer: Any, notes: list[str]) -> tuple[str, str]:
        from ftx.errors import BackendError

        if {e.kind for e in examples} != {KIND}:
            raise BackendError("objective kto needs unpaired examples (prompt, completion, label) in every example")
        self.counts = label_counts(examples)
        good, bad = self.counts
        if good and bad and good != bad:
            notes.append(f"{good} desirable and {bad} undesirable examples: desirable ones weigh "
                         f"{bad / good:.2f} so both sides count the same")
        chat = bool(getattr(tokenizer, "chat_template", None))
        return ("unpaired-chat" if chat else "unpaired-text"), "unpaired preference (KTO)"

    def rows(self, examples: list[Any], mode: str) -> list[dict[str, Any]]:
        from ftx.plugins.formats.messages import dump_messages

        out = []
        for e in examples:
            prompt, completion = split_answer(e)
            if mode == "unpaired-chat":
                out.append({"prompt": dump_messages(prompt), "completion": dump_messages(completion),
                            "label": e.meta["label"]})
            else:
                out.append({"prompt": "".join(m.content or "" for m in prompt),
                            "completion": "".join(m.content or "" for m in completion), "label": e.meta["label"]})
        return out

    def conversational(self, mode: str) -> bool:
        return mode == "unpaired-chat"

    def config(self, recipe: Any, device: Any, output_dir: str, n_train: int, has_eval: bool, loss: str,
               **run: Any) -> Any:
        from trl import KTOConfig

        from ftx.plugins.local.config import common_args

        args = common_args(recipe, device, output_dir, n_train, has_eval, **run)
        hp = recipe.recipe.hyperparameters
        good, bad = self.counts
        args.update(beta=hp.beta if hp.beta is not None else 0.1, dataset_num_proc=None,
                    desirable_weight=(bad / good) if good and bad else 1.0, undesirable_weight=1.0)
        return KTOConfig(**args)

    def trainer_class(self) -> type:
        from trl import KTOTrainer

        return KTOTrainer


class Kto(Objective):
    name = "kto"
    description = "Kahneman-Tversky optimisation on single answers labelled desirable or undesirable"
    data_kinds = frozenset({KIND})
    data_needed = "unpaired examples (prompt, completion, label true/false)"
    defaults = {"beta": 0.1}
    sequences_per_example = 2  # each answer, plus a mismatched one for the KL estimate
    reference_model = True

    def __init__(self) -> None:
        self._local = KtoLocal()  # mode() (which counts the labels) runs before config() in a run

    def check_examples(self, examples: list[Any]) -> list[tuple[Any, str]]:
        good, bad = label_counts(examples)
        if examples and not (good and bad):
            which = "desirable (label: true)" if good else "undesirable (label: false)"
            return [(examples[0], f"KTO needs both desirable and undesirable examples; all {len(examples)} "
                                  f"are {which}")]
        return []

    def training(self, backend: str) -> Any | None:
        return self._local if backend == "local" else None


@hookimpl
def ftx_register_formats(register):
    register(KtoFormat())


@hookimpl
def ftx_register_objectives(register):
    register(Kto())
