"""The per-epoch sampler of mixed recipes: one block per epoch, fixed length, seeded."""

from ftx.plugins.local.epochs import EpochBlocks


def test_each_epoch_walks_its_own_block():
    s = EpochBlocks(starts=[0, 10, 19], lengths=[10, 9, 10], seed=3)
    assert len(s) == 10
    assert sorted(s.indices(0)) == list(range(10))
    assert sorted(s.indices(1)) == sorted(list(range(10, 19)) + [10])  # a short block repeats its first row
    assert sorted(s.indices(2)) == list(range(19, 29))
    assert sorted(s.indices(3)) == list(range(10))  # more epochs than blocks: wraps around
    assert s.indices(0) == EpochBlocks([0, 10, 19], [10, 9, 10], seed=3).indices(0)
    s.set_epoch(2)
    assert list(s) == s.indices(2)
    ordered = EpochBlocks([0, 5], [5, 5], seed=0, shuffle=False)
    assert ordered.indices(1) == [5, 6, 7, 8, 9]  # a curriculum keeps its order
