"""Finding a job by its idempotency key in a provider's (paged) job list.

A server-side filter (OpenAI's ``metadata``, Vertex's label filter) is asked first; a service that
refuses the filter is scanned instead. Either way every candidate is checked here as well: a server
that ignores a filter must never make ftx adopt a stranger's job. Listings are bounded.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, TypeVar

T = TypeVar("T")

MAX_PAGES = 50  # 50 pages of 100: far beyond any account's recent jobs, yet bounded


def first_match(pages: Iterable[Iterable[T]], matches: Callable[[T], bool], max_pages: int = MAX_PAGES) -> T | None:
    """The first item of ``pages`` (an iterable of pages, fetched lazily) that ``matches``."""
    for n, page in enumerate(pages):
        for item in page:
            if matches(item):
                return item
        if n + 1 >= max_pages:
            break
    return None


def find_tagged(filtered: Callable[[], Iterable[Iterable[T]]] | None, unfiltered: Callable[[], Iterable[Iterable[T]]],
                matches: Callable[[T], bool], *, refused: Callable[[Exception], bool] = lambda exc: False,
                max_pages: int = MAX_PAGES) -> T | None:
    """Look through ``filtered()`` pages; when there is no filter, or the service ``refused`` it,
    through ``unfiltered()`` ones. ``matches`` is always applied client-side."""
    if filtered is not None:
        try:
            return first_match(filtered(), matches, max_pages)
        except Exception as exc:
            if not refused(exc):
                raise
    return first_match(unfiltered(), matches, max_pages)


def cursor_pages(fetch: Callable[[str | None], Any], *, items: str = "data", more: str = "has_more",
                 cursor: Callable[[Any], str] = lambda item: item.id) -> Iterable[list[Any]]:
    """Pages of a cursor-paginated list (``fetch(after)`` returns a page with ``items`` and a
    ``more`` flag; the next page starts after the last item's ``cursor``)."""
    after: str | None = None
    while True:
        page = fetch(after)
        data = list(getattr(page, items, None) or [])
        yield data
        if not data or not getattr(page, more, False):
            return
        after = cursor(data[-1])
