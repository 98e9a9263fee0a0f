"""Pausing the cyclic garbage collector while a step builds objects that all stay alive.

Used by the data plan (reading, indexing), the hosted providers' data preparation and their SDK
import: core steps of several packages, so it lives on its own."""

from __future__ import annotations

import contextlib
import gc


@contextlib.contextmanager
def bulk_objects():
    """Reading a data set creates millions of objects that all stay alive for the command: the
    cyclic garbage collector would scan them again and again while they are made (~25% of the
    read), so it pauses for the read (and for the other steps that build an object per example).

    When it resumes, the objects made meanwhile would all still be in the youngest generation,
    to be scanned by its next collection and again as they age (~0.3 s per million). They are
    moved to the oldest generation instead (``gc.freeze`` then at once ``gc.unfreeze``: two list
    moves, no scan), where the collector's full collections still look at them; nothing stays
    frozen, so in long-lived processes (a notebook, a test session, the Ray driver) garbage made
    here or before is collected as usual. Skipped when something else in the process keeps
    objects frozen (``gc.get_freeze_count()``), which an unfreeze would release."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            if gc.get_freeze_count() == 0:
                gc.freeze()
                gc.unfreeze()
            gc.enable()
