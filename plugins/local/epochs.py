"""Per-epoch sampling of a mixed recipe on the local backend.

A hosted backend trains one mixed file every epoch. Locally, a source the mix only samples from
(replay from a large general set, a heavily down-weighted source) gives *other* examples each
epoch, with the same count per source: over the run the model sees more of the general data at
the same share. The trainer is built on epoch 0's rows (the mix the dry run showed); each later
epoch's rows are processed the way the trainer processed its own and appended, and a sampler
walks epoch ``e``'s block during epoch ``e``. Every block is the length of the first (a block
TRL left shorter, dropping rows truncation emptied, repeats its first rows), so the step count is
the one the plan showed.

The sampler shuffles within its block (seeded by the training seed and the epoch), or keeps the
block's order when the recipe sets a curriculum. A length-grouping sampler composes with it by
ordering the indices of the current block (``order`` below) instead of the whole dataset.
"""

from __future__ import annotations

import random
from typing import Any, Callable


class EpochBlocks:
    """Sampler over consecutive blocks of a dataset: block ``e % len(starts)`` in epoch ``e``."""

    def __init__(self, starts: list[int], lengths: list[int], seed: int, shuffle: bool = True,
                 order: Callable[[list[int], int], list[int]] | None = None):
        self.starts, self.lengths, self.seed, self.shuffle = starts, lengths, seed, shuffle
        self.size = lengths[0]
        self.order = order
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.size

    def indices(self, epoch: int) -> list[int]:
        block = epoch % len(self.starts)
        start, length = self.starts[block], self.lengths[block]
        idx = [start + (i % length) for i in range(self.size)]
        if self.order is not None:
            return self.order(idx, epoch)
        if self.shuffle:
            random.Random(f"{self.seed}-{epoch}").shuffle(idx)
        return idx

    def __iter__(self):
        return iter(self.indices(self.epoch))


def attach_epochs(trainer: Any, rows: list[Any], seed: int, shuffle: bool = True) -> EpochBlocks | None:
    """Append the later epochs' raw ``rows`` (datasets) to ``trainer``'s training set and sample
    one block per epoch; returns the sampler (None when there is nothing to resample)."""
    if not rows:
        return None
    from datasets import concatenate_datasets

    from .task_eval import prepare_like

    first = trainer.train_dataset
    blocks = [first] + [prepare_like(trainer, r, f"train-epoch-{i + 1}") for i, r in enumerate(rows)]
    blocks = [b for b in blocks if len(b)]
    starts, lengths, at = [], [], 0
    for b in blocks:
        starts.append(at)
        lengths.append(len(b))
        at += len(b)
    trainer.train_dataset = concatenate_datasets(blocks)
    from .batching import grouped_block_order

    sampler = EpochBlocks(starts, lengths, seed, shuffle, order=grouped_block_order(trainer) if shuffle else None)
    trainer._get_train_sampler = lambda train_dataset=None: sampler
    return sampler
