"""What a data-format plugin provides: detection, parsing into :class:`Example`, dumping."""

from __future__ import annotations

from typing import Any, ClassVar

from .example import Example, Kind


class PlainChatRecord(dict):
    """A chat record ``{"messages": [{"role": R, "content": TEXT}, ...]}`` written from
    :class:`~ftx.example.PlainMessages` (the chat format's dump marks it with this type; a plain
    ``dict`` in every other way): R one of system, user and assistant, TEXT not blank, in that key
    order, and the conversation obeys OpenAI's chat rules (a system turn only first, a user turn
    first after it, an assistant turn to learn). Later steps take their short paths on it:
    :func:`ftx.hosted.prepare.jsonl` writes it with orjson (strings only: the same bytes as the
    stdlib's, ``ftx.data.fastjson``), a provider's check skips the rules it cannot break."""

    __slots__ = ()


class RecordInvalid(Exception):
    """Raised by :meth:`DataFormat.parse` with every problem found in one record."""

    def __init__(self, problems: list[tuple[str | None, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{f}: {m}" if f else m for f, m in problems))


class CannotConvert(Exception):
    """Raised by :meth:`DataFormat.dump` when an example has no form in this format."""


class DataFormat:
    """Base class for data formats. Subclass, set the class attributes, implement parse/dump.

    ``keys`` are the top-level keys that identify the format; ``optional_keys`` are accepted
    besides them. Keys outside both are kept in ``Example.meta`` when ``extra_keys_ok`` and
    reported as unknown otherwise.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    kind: ClassVar[Kind] = "chat"
    keys: ClassVar[tuple[str, ...]] = ()
    optional_keys: ClassVar[tuple[str, ...]] = ()
    extra_keys_ok: ClassVar[bool] = True

    def detect(self, record: dict[str, Any]) -> int:
        """Score how well ``record`` matches this format; 0 means it does not."""
        if not self.keys or not all(k in record for k in self.keys):
            return 0
        return 10 * len(self.keys) + sum(1 for k in self.optional_keys if k in record)

    def parse(self, record: dict[str, Any]) -> Example:  # pragma: no cover - interface
        raise NotImplementedError

    def dump(self, example: Example) -> dict[str, Any]:
        raise CannotConvert(f"format {self.name!r} cannot be written")

    @property
    def can_dump(self) -> bool:
        return type(self).dump is not DataFormat.dump

    def checked_keys(self, record: dict[str, Any]) -> tuple[list, dict[str, Any]]:
        """The usual opening of :meth:`parse`: an empty problem list and the record's extra keys as
        meta, after raising :class:`RecordInvalid` with every unknown and missing required key."""
        problems: list = []
        meta = self.split_keys(record, problems)
        problems.extend((key, "missing required key") for key in self.keys if key not in record)
        if problems:
            raise RecordInvalid(problems)
        return problems, meta

    def split_keys(self, record: dict[str, Any], problems: list) -> dict[str, Any]:
        """Return the record's extra keys as meta, or report them as unknown."""
        known = set(self.keys) | set(self.optional_keys)
        extra = {k: v for k, v in record.items() if k not in known}
        if extra and not self.extra_keys_ok:
            for k in extra:
                problems.append((k, f"unknown key {k!r} for format {self.name!r}"))
        return extra
