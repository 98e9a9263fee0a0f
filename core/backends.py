"""What a backend plugin provides: what it can honour, a plan, and (later) a run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from .errors import BackendError

if TYPE_CHECKING:  # pragma: no cover
    from .recipe import ResolvedRecipe


@dataclass(frozen=True)
class Finding:
    """A capability check's verdict on one recipe field."""

    level: Literal["error", "warning"]
    message: str
    field: str | None = None


class Backend:
    """Base class for backends.

    Capabilities are declared as data so ``ftx run --dry-run`` can refuse or warn about, by
    name, every recipe field a backend cannot honour:

    * ``methods`` / ``objectives``: what it trains (``None`` = every registered method);
    * ``refused``: field path -> reason; an error when the recipe sets that field;
    * ``ignored``: field path -> reason; a warning when the recipe sets that field.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    hosted: ClassVar[bool] = False
    methods: ClassVar[frozenset[str] | None] = None
    objectives: ClassVar[frozenset[str]] = frozenset({"sft", "dpo"})
    refused: ClassVar[dict[str, str]] = {}
    ignored: ClassVar[dict[str, str]] = {}

    def options_model(self) -> Any:
        """A pydantic model for this backend's own options (``backends.NAME`` keys that are
        not recipe sections), or ``None`` when it takes none."""
        return None

    def check(self, recipe: "ResolvedRecipe") -> list[Finding]:
        """Every problem with running ``recipe`` here; override to add backend-specific ones
        (call ``super().check``)."""
        out: list[Finding] = []
        if not recipe.model:
            out.append(Finding("error", f"the recipe names no base model for backend {self.name!r}",
                               f"model.{self.name}"))
        method = recipe.recipe.method.name
        if self.methods is not None and method not in self.methods:
            out.append(Finding("error", f"backend {self.name!r} cannot train method {method!r} "
                                        f"(it supports: {', '.join(sorted(self.methods))})", "method.name"))
        if recipe.recipe.objective not in self.objectives:
            out.append(Finding("error", f"backend {self.name!r} cannot train objective "
                                        f"{recipe.recipe.objective!r}", "objective"))
        for path, reason in self.refused.items():
            if recipe.is_set(path):
                out.append(Finding("error", f"not supported by backend {self.name!r}: {reason}", path))
        for path, reason in self.ignored.items():
            if recipe.is_set(path):
                out.append(Finding("warning", f"ignored by backend {self.name!r}: {reason}", path))
        return out

    def plan(self, recipe: "ResolvedRecipe", data: dict[str, Any]) -> dict[str, Any]:
        """What running the recipe here would do or send, for ``--dry-run``: an ordered mapping
        of labels to values (nested mappings allowed)."""
        return {"model": recipe.model, "method": recipe.recipe.method.name}

    def distribution_plan(self, recipe: "ResolvedRecipe", processes: Any, data: dict[str, Any]) -> dict[str, Any] | None:
        """For ``ftx run --nproc/--nnodes``: updates to the plan for training on several
        processes (shown by ``--dry-run``), or ``None`` when this backend trains on one only."""
        return None

    def token_plan(self, recipe: "ResolvedRecipe", train: list[Any], validation: list[Any],
                   show: int = 0) -> dict[str, Any] | None:
        """For ``ftx data inspect RECIPE --backend NAME``: the data as this backend tokenizes it,
        or ``None`` when it cannot tell offline. Keys: ``train`` / ``validation`` (counts:
        ``examples``, ``truncated``, ``no_trained_tokens`` and where, ``tokens_per_example``) and
        ``shown``: up to ``show`` examples rendered with their trained tokens marked."""
        return None

    def run(self, recipe: "ResolvedRecipe", plan: Any) -> Any:
        """Execute the recipe. ``plan`` is the :class:`ftx.planning.RunPlan` from the dry run
        (``plan.data``, ``plan.details``, ``plan.options`` with the user's flags). Return a
        mapping summarising the outcome. Backends that cannot execute raise a clear error."""
        raise BackendError(f"backend {self.name!r} cannot execute runs in this version of ftx; "
                           "use --dry-run to see the plan")
