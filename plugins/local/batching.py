"""How the local backend forms training batches, and how much of each batch is padding.

``backends.local.batching`` (SFT without packing; every mode trains each example exactly once per
epoch, in an order seeded by the run's seed and the epoch, and gives each example the loss it gets
in a padded batch):

* ``grouped`` (the default): **length-grouped** batches. transformers' ``LengthGroupedSampler``
  (``train_sampling_strategy="group_by_length"``) shuffles the training set, cuts the permutation
  into mega-batches of 50 optimizer steps (fewer on small sets) and sorts each by length, so a
  batch holds examples of similar length and pads little. Padding is masked out of the loss, so
  the loss each example gets is the one random batches give it (``tests/local/test_batching.py``).
* ``random``: TRL's order (a seeded shuffle), padded batches.
* ``padding_free``: random order, each batch flattened into one row with ``position_ids`` that
  restart at every example and no padding at all (TRL's padding-free collator). It is offered
  only where it is proven: before training, :func:`prove_padding_free` runs the model that will
  train on real training rows and refuses the run (one line, the recipe's ``batching`` line)
  unless each example's loss in the flattened row equals its loss in a padded batch and does not
  move when another example precedes it. On this stack (transformers 5, sdpa or eager attention)
  the attention mask is built from the ``position_ids`` boundaries, so it holds; an attention
  implementation or method that lets flattened examples see each other is refused, as are DPO
  (pairs) and prefix/prompt tuning (virtual tokens per row) before anything loads.
  ``max_length`` truncation is exactly the padded run's: TRL refuses ``padding_free`` with a
  ``max_length`` (its collator would not truncate), so the trainer is built as a padded one (TRL
  truncates the dataset and drops rows truncation emptied, as always) and only its collator is
  switched to padding-free afterwards.

The order is drawn from a generator seeded with the run's seed and the epoch
(:func:`seeded_sampler`), never from torch's global random state as transformers' own sampler
does: a resumed run replays exactly the batches the interrupted one would have trained
(``tests/local/test_resume.py`` runs the resume check with the default), and every process of
a distributed run draws the same permutation before accelerate shards it by batches.

DPO pairs keep random order (their rows have no single length column the sampler reads). A
mixed recipe that samples its sources afresh every epoch groups each epoch's block by length
(:mod:`.epochs`); a curriculum keeps its order. Packing (``hyperparameters.packing``) stays
opt-in: it concatenates examples into shared rows.
"""

from __future__ import annotations

import random
from contextlib import contextmanager
from typing import Any, Iterable, Iterator, Sequence

MODES = ("grouped", "random", "padding_free")
DEFAULT_MODE = "grouped"
FIELD = "backends.local.batching"
MEGA_BATCH_STEPS = 50  # transformers' get_length_grouped_indices default
# Methods that add virtual tokens to every row (PEFT prompt learning): a flattened row would get
# them once, at its start.
ROW_PREFIX_METHODS = frozenset({"prefix", "prompt"})


def trainer_args(recipe: Any) -> dict[str, Any]:
    """TrainingArguments keywords for the recipe's batching (SFT without packing only).
    ``padding_free`` sets no TRL keyword (see the module docstring): :func:`install` switches
    the collator; with no padding left every input token is a real one, so all are counted."""
    mode = effective_mode(recipe)
    if mode == "grouped":
        return {"train_sampling_strategy": "group_by_length"}
    if mode == "padding_free":
        return {"include_num_input_tokens_seen": "all"}
    return {}


def requested_mode(recipe: Any) -> str:
    return getattr(recipe.options, "batching", None) or DEFAULT_MODE


def findings(recipe: Any) -> list[tuple[str, str]]:
    """(level, message) for :data:`FIELD`: the combinations that cannot be proven before
    anything loads. The attention implementation is proven at run time (:func:`prove_padding_free`)."""
    if getattr(recipe.options, "batching", None) != "padding_free":
        return []
    objective, method = recipe.recipe.objective, recipe.recipe.method.name
    if objective != "sft":
        return [("error", f"padding_free is proven for sft only: {objective} examples are padded "
                          "(set batching: random or remove it)")]
    if recipe.recipe.hyperparameters.packing:
        return [("error", "padding_free and hyperparameters.packing both flatten batches: choose one")]
    if method in ROW_PREFIX_METHODS:
        return [("error", f"padding_free cannot train {method} tuning: its virtual tokens are added once per "
                          "row, and a flattened row holds several examples (use grouped)")]
    return []


def keep_on_resume(recipe: Any, started: str | None, run_id: str = "the run") -> None:
    """A resumed run trains in the order it started in (``started``, from
    :func:`.resume.started_batching`): the interrupted epoch is cut in that order, and another one
    would train some of its examples twice and skip others. A recipe that leaves
    ``backends.local.batching`` unset gets the started order (a run begun before grouped became
    the default resumes in random order); one that sets another order is refused, at its line."""
    if started not in MODES or recipe.recipe.objective != "sft" or recipe.recipe.hyperparameters.packing:
        return
    if effective_mode(recipe) not in MODES or requested_mode(recipe) == started:
        return
    if recipe.is_set(FIELD):
        from ftx.errors import BackendError, Problem

        file, line = recipe.located.where(tuple(FIELD.split(".")))
        raise BackendError(problems=[Problem(
            f"run {run_id} started with batching {started}: resuming it with {requested_mode(recipe)} would "
            f"train some examples of the interrupted epoch twice and skip others (set batching: {started}, "
            "or run without --resume to start afresh)", file=file, line=line, field=FIELD)])
    recipe.options.batching = started


def seeded_sampler(trainer: Any, dataset: Any = None) -> Any:
    """The length-grouped sampler for ``dataset`` (default: ``trainer``'s training set), seeded
    by ``args.seed`` and the epoch (``set_epoch``, which the trainer calls at every epoch start,
    resumes included)."""
    import torch
    from transformers.trainer_pt_utils import LengthGroupedSampler, get_length_grouped_indices

    class EpochSeededLengthGroupedSampler(LengthGroupedSampler):
        def __init__(self, batch_size: int, lengths: list[int], seed: int) -> None:
            super().__init__(batch_size, lengths=lengths)
            self.seed, self.epoch = seed, 0

        def set_epoch(self, epoch: int) -> None:
            self.epoch = int(epoch)

        def __iter__(self):
            generator = torch.Generator()
            generator.manual_seed(self.seed * 1_000_003 + self.epoch)
            return iter(get_length_grouped_indices(self.lengths, self.batch_size, generator=generator))

    args = trainer.args
    dataset = trainer.train_dataset if dataset is None else dataset
    lengths = [len(ids) for ids in dataset["input_ids"]]
    return EpochSeededLengthGroupedSampler(global_batch(args), lengths, args.seed)


def global_batch(args: Any) -> int:
    """Examples an optimizer step takes over all processes: the sampler's mega-batches are cut
    in these, so the permutation (and what each step trains) does not depend on how many
    processes share a step; accelerate then deals each process its batches of it."""
    return args.train_batch_size * args.gradient_accumulation_steps * max(1, int(getattr(args, "world_size", 1)))


def install(trainer: Any) -> None:
    """Set up ``trainer`` for its batching (``args.ftx_batching``, set by ``sft_config``):
    :func:`seeded_sampler` for length-grouped batches, the padding-free collator (after
    :func:`prove_padding_free`) for ``padding_free``.

    Grouped: both of the trainer's samplers are replaced. Training: ``get_train_dataloader``
    passes ``_get_train_sampler`` the training set *with its unused columns removed* (a new
    dataset object), and transformers' own ``LengthGroupedSampler`` draws its permutation from
    torch's global random state, which a resumed run restores only after its first batch: the
    resumed epoch was then cut in another order (why ``--resume`` once missed the uninterrupted
    run's losses). Evaluation: ``group_by_length`` would also regroup the evaluation batches, and
    the logged ``eval_loss`` is a mean of batch means, so it keeps random batching's order.
    """
    import types

    if getattr(trainer.args, "ftx_batching", None) == "padding_free":
        trainer.ftx_padding_free_proof = prove_padding_free(trainer)
        trainer.data_collator.padding_free = True
        trainer.padding_free = True
        return
    if getattr(trainer.args, "train_sampling_strategy", None) != "group_by_length":
        return
    original_eval = trainer._get_eval_sampler

    def _get_train_sampler(self: Any, train_dataset: Any = None) -> Any:
        return seeded_sampler(self, train_dataset)

    def _get_eval_sampler(self: Any, eval_dataset: Any) -> Any:
        strategy = self.args.train_sampling_strategy
        self.args.train_sampling_strategy = "random"  # only read here: training has its sampler
        try:
            return original_eval(eval_dataset)
        finally:
            self.args.train_sampling_strategy = strategy

    trainer._get_train_sampler = types.MethodType(_get_train_sampler, trainer)
    trainer._get_eval_sampler = types.MethodType(_get_eval_sampler, trainer)


def grouped_block_order(trainer: Any) -> Any:
    """For :class:`.epochs.EpochBlocks`: order one epoch's block of indices as
    :func:`seeded_sampler` orders a whole training set (None unless batches are grouped)."""
    if getattr(trainer.args, "train_sampling_strategy", None) != "group_by_length":
        return None
    import torch
    from transformers.trainer_pt_utils import get_length_grouped_indices

    args = trainer.args
    lengths = [len(ids) for ids in trainer.train_dataset["input_ids"]]
    batch = global_batch(args)

    def order(indices: list[int], epoch: int) -> list[int]:
        generator = torch.Generator()
        generator.manual_seed(args.seed * 1_000_003 + int(epoch))
        grouped = get_length_grouped_indices([lengths[i] for i in indices], batch, generator=generator)
        return [indices[i] for i in grouped]

    return order


@contextmanager
def located(recipe: Any) -> Iterator[None]:
    """Give a batching refusal raised while the trainer is built the recipe's file:line."""
    from ftx.errors import BackendError, Problem

    try:
        yield
    except BackendError as exc:
        if not any(p.field == FIELD and not p.file for p in exc.problems):
            raise
        problems = []
        for p in exc.problems:
            if p.field == FIELD and not p.file:
                file, line = recipe.located.where(tuple(FIELD.split(".")))
                p = Problem(p.message, file=file, line=line, field=p.field)
            problems.append(p)
        raise BackendError(problems=problems, hint=exc.hint) from None


class PaddingFreeRefused(Exception):
    """Why padding-free batches would not give each example its padded loss (the message)."""


def prove_padding_free(trainer: Any, rows: int = 4, tolerance: float | None = None) -> dict[str, Any]:
    """Check, on ``trainer``'s model (adapter included) and attention implementation, that
    flattening a batch changes no example's loss; raise a one-line ``BackendError`` on
    :data:`FIELD` otherwise. Two checks on up to ``rows`` training rows, in eval mode (no
    dropout), without gradients:

    * each example's summed token loss in the flattened row equals its loss in a padded batch
      (relative ``tolerance``: 1e-4 in float32, 2e-2 in half precision);
    * the last example's loss does not move when the example before it is replaced by other
      tokens of the same length (no attention across the example boundary).

    Returns what was measured (for the run's notes and the benchmark)."""
    from ftx.errors import BackendError

    model = trainer.model
    attention = str(getattr(getattr(model, "config", None), "_attn_implementation", "") or "unknown")
    try:
        result = _padding_free_check(trainer, rows, tolerance)
    except PaddingFreeRefused as exc:
        raise BackendError(f"padding_free is not proven with {attention} attention on this model: {exc} "
                           "(use grouped, the default)", field=FIELD) from None
    except Exception as exc:  # noqa: BLE001 - a model that cannot take a flattened row at all
        raise BackendError(f"padding_free is not proven with {attention} attention on this model: a flattened "
                           f"batch fails ({type(exc).__name__}: {exc}) (use grouped, the default)",
                           field=FIELD) from None
    result["attention"] = attention
    return result


def _padding_free_check(trainer: Any, rows: int, tolerance: float | None) -> dict[str, Any]:
    import torch

    model = trainer.model
    dataset = trainer.train_dataset
    picked = [{"input_ids": list(dataset[i]["input_ids"]), "labels": list(dataset[i]["labels"])}
              for i in range(min(rows, len(dataset)))]
    if len(picked) < 2:
        return {"rows": len(picked), "max_relative_diff": 0.0, "boundary_diff": 0.0}
    dtype = next(model.parameters()).dtype
    if tolerance is None:
        tolerance = 1e-4 if dtype == torch.float32 else 2e-2
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            padded = _padded_losses(model, picked, trainer.data_collator.pad_token_id, device)
            flat = _flattened_losses(model, picked, device)
            other = dict(picked[-2])
            other["input_ids"] = list(reversed(other["input_ids"]))  # same length, other tokens
            swapped = _flattened_losses(model, picked[:-2] + [other, picked[-1]], device)
    finally:
        model.train(was_training)
    diffs = [abs(f - p) / max(abs(p), 1e-6) for f, p in zip(flat, padded)]
    boundary = abs(swapped[-1] - flat[-1]) / max(abs(flat[-1]), 1e-6)
    worst = max(range(len(diffs)), key=diffs.__getitem__)
    if diffs[worst] > tolerance:
        raise PaddingFreeRefused(f"example {worst + 1}'s loss is {flat[worst]:.6g} flattened against "
                                 f"{padded[worst]:.6g} padded")
    if boundary > min(tolerance, 1e-5 if dtype == torch.float32 else tolerance):
        raise PaddingFreeRefused(f"an example's loss moves by {boundary:.2%} with another example before it "
                                 "(flattened examples attend to each other)")
    return {"rows": len(picked), "max_relative_diff": max(diffs), "boundary_diff": boundary,
            "tolerance": tolerance, "summed_loss_padded": sum(padded), "summed_loss_flattened": sum(flat)}


def _token_losses(model: Any, input_ids: Any, labels: Any, **inputs: Any) -> Any:
    import torch

    logits = model(input_ids=input_ids, **inputs).logits.float()
    return torch.nn.functional.cross_entropy(logits[:, :-1].transpose(1, 2), labels[:, 1:], ignore_index=-100,
                                             reduction="none")


def _padded_losses(model: Any, rows: list[dict], pad_id: int, device: Any) -> list[float]:
    import torch

    width = max(len(r["input_ids"]) for r in rows)
    ids = torch.tensor([r["input_ids"] + [pad_id] * (width - len(r["input_ids"])) for r in rows], device=device)
    labels = torch.tensor([r["labels"] + [-100] * (width - len(r["labels"])) for r in rows], device=device)
    mask = torch.tensor([[1] * len(r["input_ids"]) + [0] * (width - len(r["input_ids"])) for r in rows],
                        device=device)
    losses = _token_losses(model, ids, labels, attention_mask=mask)
    return [float(row.sum()) for row in losses]


def _flattened_losses(model: Any, rows: list[dict], device: Any) -> list[float]:
    """Per-example summed loss from one padding-free row, as TRL's collator builds it."""
    import torch
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    batch = DataCollatorForLanguageModeling(pad_token_id=0, padding_free=True)(rows)
    batch = {k: v.to(device) if hasattr(v, "to") else v for k, v in batch.items()}
    losses = _token_losses(model, batch.pop("input_ids"), batch.pop("labels"), position_ids=batch["position_ids"])[0]
    out, start = [], 0
    for r in rows:
        end = start + len(r["input_ids"])
        out.append(float(losses[start:end - 1].sum()))  # the last position predicts the next example
        start = end
    return out


def effective_mode(recipe: Any) -> str:
    """``grouped``, ``random``, ``padding_free``, ``packed`` or ``curriculum``: what a run of
    ``recipe`` does."""
    if recipe.recipe.objective != "sft":
        return "random"
    if recipe.recipe.hyperparameters.packing:
        return "packed"
    mode = requested_mode(recipe)
    if mode == "grouped" and _curriculum(recipe):
        return "curriculum"
    return mode


def _curriculum(recipe: Any) -> bool:
    from ftx.data.sources import is_mixed

    spec = recipe.recipe.data
    return is_mixed(spec) and getattr(getattr(spec, "mix", None), "curriculum", None) is not None


def grouped_order(lengths: Sequence[int], batch: int, seed: int) -> list[int]:
    """The order transformers' length-grouped sampler produces, with Python's RNG instead of
    torch's (the dry run imports no torch): the same mega-batch size and sort, so the padding
    share it implies is what a run should see, though not the exact same permutation."""
    n = len(lengths)
    mult = min(n // (batch * 4), MEGA_BATCH_STEPS) or 1
    order = list(range(n))
    random.Random(seed).shuffle(order)
    size = mult * batch
    megas = [sorted(order[i:i + size], key=lambda i: lengths[i], reverse=True) for i in range(0, n, size)]
    return [i for mega in megas for i in mega]


def random_order(n: int, seed: int) -> list[int]:
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return order


def padding_share(lengths: Sequence[int], order: Iterable[int], batch: int) -> float:
    """The share of padded positions when ``order`` is cut into batches of ``batch`` rows, each
    padded to its longest row."""
    order = list(order)
    real = padded = 0
    for start in range(0, len(order), batch):
        rows = [lengths[i] for i in order[start:start + batch]]
        real += sum(rows)
        padded += max(rows) * len(rows)
    return 1 - real / padded if padded else 0.0


def describe(recipe: Any, lengths: Sequence[int], counted_with: str) -> dict[str, Any]:
    """The dry run's batching lines: the mode and the padding share expected with it, beside
    the share random order would give."""
    hp = recipe.recipe.hyperparameters
    batch = hp.batch_size if isinstance(hp.batch_size, int) else 4
    mode = effective_mode(recipe)
    lengths = [min(n, hp.max_length) for n in lengths]
    random_pad = padding_share(lengths, random_order(len(lengths), hp.seed), batch)
    if mode == "packed":
        return {"batching": "packed (TRL best-fit packing; examples share rows)"}
    counted = f"tokens counted with {counted_with}"
    if mode == "padding_free":
        rows = [sum(lengths[i] for i in order) for order in _batches(random_order(len(lengths), hp.seed), batch)]
        longest = max(rows) if rows else 0
        return {"batching": "padding-free (random order; each batch one row, examples kept apart by position ids; "
                            "proven on the model before training; backends.local.batching)",
                "padding expected": f"0% of batch tokens (padded random order: {random_pad:.0%}; rows up to "
                                    f"{longest:,} tokens; {counted})"}
    grouped = grouped_order(lengths, batch * hp.gradient_accumulation, hp.seed)
    grouped_pad = padding_share(lengths, grouped, batch)
    if mode == "random" and recipe.recipe.objective != "sft":
        return {"batching": f"random order ({recipe.recipe.objective.upper()} examples; grouping is for sft)",
                "padding expected": f"{random_pad:.0%} of batch tokens ({counted})"}
    if mode == "random":
        return {"batching": "random order (backends.local.batching: random; the default, grouped, batches by length)",
                "padding expected": f"{random_pad:.0%} of batch tokens (grouped: {grouped_pad:.0%}; {counted})"}
    if mode == "curriculum":
        return {"batching": "curriculum order (data.mix.curriculum keeps the order; not grouped by length)",
                "padding expected": f"{padding_share(lengths, range(len(lengths)), batch):.0%} of batch tokens "
                                    f"(in the mix's order; {counted})"}
    return {"batching": "length-grouped (the default; seeded; every example once per epoch; backends.local.batching)",
            "padding expected": f"{grouped_pad:.0%} of batch tokens (random order: {random_pad:.0%}; {counted})"}


def _batches(order: Sequence[int], batch: int) -> list[Sequence[int]]:
    return [order[i:i + batch] for i in range(0, len(order), batch)]
