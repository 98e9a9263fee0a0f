"""The user's own tags on a hosted job (OpenAI metadata, Vertex labels) beside the ones ftx adds.

ftx tags every job it launches with its idempotency key (:data:`CLIENT_KEY_FIELD`) and the
recipe's name (``ftx_recipe``), so a service's limit minus those two is what a recipe may add,
and keys starting with ``ftx_`` are ftx's namespace. Providers check their own key and value
syntax after :func:`check_user_tags`.
"""

from __future__ import annotations

from .contract import CLIENT_KEY_FIELD

#: The tags ftx adds to every job: the idempotency key and the recipe's name.
FTX_TAGS = (CLIENT_KEY_FIELD, "ftx_recipe")
RESERVED_PREFIX = "ftx_"


def user_tag_limit(service_max: int) -> int:
    """How many tags a recipe may set where the service takes ``service_max``."""
    return service_max - len(FTX_TAGS)


def check_user_tags(tags: dict[str, str], *, service: str, service_max: int, many: str, key_noun: str) -> None:
    """Refuse (``ValueError``, as a pydantic validator raises) more tags than ``service`` takes
    beside ftx's own, or a key in ftx's namespace. ``many`` names the tags in a count ("pairs",
    "labels"), ``key_noun`` one key ("key", "label")."""
    limit = user_tag_limit(service_max)
    if len(tags) > limit:
        raise ValueError(f"at most {limit} {many} ({service} takes {service_max} and ftx uses {len(FTX_TAGS)})")
    for key in tags:
        if key.startswith(RESERVED_PREFIX):
            raise ValueError(f"{key_noun} {key!r}: keys starting with {RESERVED_PREFIX} are ftx's own")
