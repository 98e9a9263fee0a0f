"""Running one piece of work in several threads at once, for the concurrency tests."""

from __future__ import annotations

import threading
from typing import Callable


def errors_in_threads(work: Callable[[int], None], n: int) -> list[BaseException]:
    """Run ``work(0)`` ... ``work(n - 1)`` in ``n`` threads at once; what they raised (none: [])."""
    errors: list[BaseException] = []

    def guarded(i: int) -> None:
        try:
            work(i)
        except BaseException as exc:  # pragma: no cover - the caller asserts there are none
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors
