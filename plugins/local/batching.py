"""How the local backend forms training batches, and how much of each batch is padding.

``backends.local.batching: grouped`` selects **length-grouped** batching (not yet the default:
``--resume`` of a grouped run does not yet replay the uninterrupted run's losses exactly, which
tests/local/test_resume.py requires of the default): transformers' ``LengthGroupedSampler``
(``train_sampling_strategy="group_by_length"``) shuffles the training set with the run's seed,
cuts the permutation into mega-batches of 50 optimizer steps (fewer on small sets) and sorts each
by length, so a batch holds examples of similar length and pads little. It is a permutation:
every example is trained exactly once per epoch, as with random order, and padding is masked out
of the loss, so the loss each example gets is the same (``tests/local/test_batching.py``
checks both). ``random`` is TRL's default order. DPO pairs keep random order (their rows have no
single length column the sampler reads).

The order is drawn from a generator seeded with the run's seed and the epoch
(:func:`seeded_sampler`), not from torch's global random state as transformers' own sampler does:
a resumed run then replays exactly the batches the interrupted one would have trained, and every
process of a distributed run draws the same permutation before it is sharded.

Packing (``hyperparameters.packing``) stays opt-in: it concatenates examples into one row.
Padding-free batching without packing is not offered: TRL then stops enforcing ``max_length``,
which would change which tokens long examples train on.
"""

from __future__ import annotations

import random
from typing import Any, Iterable, Sequence

MODES = ("grouped", "random")
MEGA_BATCH_STEPS = 50  # transformers' get_length_grouped_indices default


def trainer_args(recipe: Any) -> dict[str, Any]:
    """TrainingArguments keywords for the recipe's batching (SFT without packing only)."""
    if effective_mode(recipe) == "grouped":
        return {"train_sampling_strategy": "group_by_length"}
    return {}


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
    return EpochSeededLengthGroupedSampler(args.train_batch_size * args.gradient_accumulation_steps, lengths,
                                           args.seed)


def install(trainer: Any) -> None:
    """Use :func:`seeded_sampler` for a trainer configured for length-grouped batches.

    Both of the trainer's samplers are replaced. Training: ``get_train_dataloader`` passes
    ``_get_train_sampler`` the training set *with its unused columns removed* (a new dataset
    object), and transformers' own ``LengthGroupedSampler`` draws its permutation from torch's
    global random state, which a resumed run restores only after its first batch: the resumed
    epoch was then cut in another order (the cause of the resume mismatch this module once had).
    Evaluation: ``group_by_length`` would also regroup the evaluation batches, and the logged
    ``eval_loss`` is a mean of batch means, so it keeps the order random batching evaluates in.
    """
    import types

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


def effective_mode(recipe: Any) -> str:
    """``grouped``, ``random`` or ``packed``: what a run of ``recipe`` does."""
    if recipe.recipe.objective != "sft":
        return "random"
    if recipe.recipe.hyperparameters.packing:
        return "packed"
    return getattr(recipe.options, "batching", None) or "random"


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
    accumulation = hp.gradient_accumulation
    grouped = grouped_order(lengths, batch * accumulation, hp.seed)
    grouped_pad = padding_share(lengths, grouped, batch)
    if mode == "random":
        if recipe.recipe.objective != "sft":
            return {"batching": "random order (DPO pairs)",
                    "padding expected": f"{random_pad:.0%} of batch tokens (tokens counted with {counted_with})"}
        return {"batching": "random order (backends.local.batching: grouped batches by length)",
                "padding expected": f"{random_pad:.0%} of batch tokens (grouped: {grouped_pad:.0%}; "
                                    f"tokens counted with {counted_with})"}
    return {"batching": "length-grouped (seeded; every example once per epoch; backends.local.batching)",
            "padding expected": f"{grouped_pad:.0%} of batch tokens (random order: {random_pad:.0%}; "
                                f"tokens counted with {counted_with})"}
