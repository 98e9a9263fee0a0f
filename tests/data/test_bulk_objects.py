"""``bulk_objects`` pauses the cyclic collector while a step builds an object per example, then
moves what was made to the oldest generation without scanning it: nothing stays frozen, garbage
is still collected, and objects another part of the process froze stay frozen."""

from __future__ import annotations

import gc
import weakref

from ftx.bulk import bulk_objects


class Node:
    pass


def _cycle() -> weakref.ref:
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def test_objects_made_inside_go_to_the_oldest_generation_and_nothing_stays_frozen():
    assert gc.isenabled() and gc.get_freeze_count() == 0
    before = _cycle()  # garbage from before the step
    with bulk_objects():
        assert not gc.isenabled()
        kept = [[i] for i in range(50_000)]
        during = _cycle()
    assert gc.isenabled() and gc.get_freeze_count() == 0
    young = {id(o) for o in gc.get_objects(generation=0)}
    assert not any(id(x) in young for x in kept[::1000])  # not left for the young collections to scan
    gc.collect()
    assert before() is None and during() is None  # cycles are collected as usual
    assert len(kept) == 50_000


def test_a_freeze_made_elsewhere_is_left_alone():
    frozen_before = gc.get_freeze_count()
    gc.freeze()
    try:
        count = gc.get_freeze_count()
        with bulk_objects():
            [[i] for i in range(1000)]
        assert gc.get_freeze_count() == count
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0 or frozen_before


def test_the_collector_stays_off_when_it_was_off():
    gc.disable()
    try:
        with bulk_objects():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
