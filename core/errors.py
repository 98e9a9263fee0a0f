"""The one family of errors a user can fix.

Every error ftx raises for bad input is an :class:`FtxError`. The CLI prints each of its
problems on one line (``file:line: field: message``) with no traceback; ``FTX_DEBUG=1``
re-raises instead so nothing hides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class Problem:
    """One thing wrong, located as precisely as we can."""

    message: str
    file: str | None = None
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        elif self.line:
            where = f"line {self.line}: "
        field = f"{self.field}: " if self.field else ""
        return f"{where}{field}{self.message}"


class FtxError(Exception):
    """A user-fixable error carrying one or more problems."""

    exit_code = 2

    def __init__(self, message: str | None = None, *, problems: Iterable[Problem] = (),
                 file: str | None = None, line: int | None = None, field: str | None = None,
                 hint: str | None = None):
        self.problems = list(problems)
        if message is not None:
            self.problems.insert(0, Problem(message, file=file, line=line, field=field))
        if not self.problems:
            self.problems = [Problem("unknown error")]
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)

    def lines(self) -> list[str]:
        out = [str(p) for p in self.problems]
        if self.hint:
            out.append(f"hint: {self.hint}")
        return out


class RecipeError(FtxError):
    """The recipe (or a command-line override) is invalid."""


class DataError(FtxError):
    """The training or validation data is invalid."""

    exit_code = 1


class PluginError(FtxError):
    """A plugin is missing, unknown or misbehaving."""


class BackendError(FtxError):
    """A backend refused the recipe or failed in a way the user can act on."""


class RegistryError(FtxError):
    """The run registry cannot be read or written."""
