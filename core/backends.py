"""What a backend plugin provides: what it can honour, a plan, and (later) a run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from .errors import BackendError

if TYPE_CHECKING:  # pragma: no cover
    from .inference import GenerationParams, Generator, ModelRef
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

    * ``methods``: the methods it trains (``None`` = every registered method);
    * ``objectives``: the objectives it trains, by name (hosted services accept a fixed list);
      ``None`` = every registered objective that says how this backend trains it
      (``Objective.training(backend name)`` is not ``None``), as the local backend does;
    * ``refused``: field path -> reason; an error when the recipe sets that field;
    * ``ignored``: field path -> reason; a warning when the recipe sets that field;
    * ``regularization``: the ``method.regularization`` kinds (l2sp, ewc) it adds to its loss;
      any other is refused by name.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    hosted: ClassVar[bool] = False
    paid: ClassVar[bool] = False  # runs cost money: the core's cost guard runs before each one
    methods: ClassVar[frozenset[str] | None] = None
    objectives: ClassVar[frozenset[str] | None] = frozenset({"sft", "dpo"})
    refused: ClassVar[dict[str, str]] = {}
    ignored: ClassVar[dict[str, str]] = {}
    regularization: ClassVar[frozenset[str]] = frozenset()  # method.regularization kinds it can add to the loss

    def registration_problem(self) -> str | None:
        """Why this backend cannot be registered (checked when its plugin registers it, and
        reported by the plugin's name), or ``None``."""
        if self.hosted:
            from .paid import not_hosted_backend

            return not_hosted_backend(self)
        return None

    def token_counter(self, recipe: "ResolvedRecipe") -> Any:
        """The counter (``.name``, ``.count(text)``) the data plan counts this backend's tokens
        with, or ``None`` for characters. Raise :class:`ftx.errors.FtxError` when the package
        that counts is missing: the plan then counts characters and says why."""
        return None

    def random_weights(self, model: str | None) -> bool:
        """Whether ``model`` (the recipe's base model on this backend) starts from random weights,
        as a test model does: fine-tuning practice (learning rates for pretrained models) does
        not apply to it, so the recipe advice skips those warnings. Default: ``False``."""
        return False

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
        objective = recipe.recipe.objective
        trains = self.trains_objectives()
        if objective not in trains:
            out.append(Finding("error", f"backend {self.name!r} cannot train objective {objective!r} "
                                        f"(it trains: {', '.join(sorted(trains)) or 'none'})", "objective"))
        reg = getattr(recipe.recipe.method, "regularization", None)
        if reg is not None and reg.kind not in self.regularization:
            out.append(Finding("error", f"backend {self.name!r} cannot regularise toward the base model "
                                        f"({reg.kind}): it trains with its own loss", "method.regularization"))
        for path, reason in self.refused.items():
            if recipe.is_set(path):
                out.append(Finding("error", f"not supported by backend {self.name!r}: {reason}", path))
        for path, reason in self.ignored.items():
            if recipe.is_set(path):
                out.append(Finding("warning", f"ignored by backend {self.name!r}: {reason}", path))
        return out

    def trains_objectives(self) -> frozenset[str]:
        """The names of the installed objectives this backend trains (see ``objectives``)."""
        from .components import objectives

        installed = objectives()
        if self.objectives is not None:
            return frozenset(n for n in self.objectives if n in installed)
        return frozenset(n for n, o in installed.items() if o.training(self.name) is not None)

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

    def outcome(self, summary: Any) -> Any:
        """What :meth:`run`'s ``summary`` means for the registry: a :class:`ftx.outcome.RunOutcome`.
        The default reads the documented summary shape (``status``, ``metrics``, ``files``,
        ``artifact``, ``run_dir``, ``error``); a backend with top-level metric keys of its own
        overrides this. Not called for hosted backends, which record their own runs."""
        from .outcome import generic_outcome

        return generic_outcome(summary)

    # -- inference (``ftx eval``, ``ftx generate``) ---------------------------------------------------
    def model_ref(self, run: Any, tuned: bool) -> "ModelRef":
        """The model to evaluate for registry run ``run`` (a :class:`ftx.registry.Run`): its
        tuned model (``tuned``), or the base model it started from. The default reads the
        ``fine_tuned_model`` artifact; backends whose tuned model lives elsewhere override it."""
        from .inference import ModelRef

        snapshot_model = (run.recipe_snapshot or {}).get("model") or {}
        base = snapshot_model.get(self.name) if isinstance(snapshot_model, dict) else snapshot_model
        if not tuned:
            return ModelRef(self.name, "base", base or run.model or "", run_id=run.id, run_dir=run.output_dir)
        name = (run.artifacts or {}).get("fine_tuned_model")
        if not name and run.status == "succeeded" and run.model != base:
            name = run.model  # hosted runs record the tuned model id as the run's model
        if run.status != "succeeded" or not name:
            raise BackendError(f"run {run.id} has no tuned model to evaluate (status {run.status})",
                               hint="wait for the job to succeed (ftx jobs watch), or evaluate the base "
                                    "model with --baseline-only")
        return ModelRef(self.name, "tuned", name, run_id=run.id, run_dir=run.output_dir)

    def generator(self, model: "ModelRef", params: "GenerationParams", recipe: "ResolvedRecipe | None" = None,
                  options: dict[str, Any] | None = None) -> "Generator":
        """A :class:`ftx.inference.Generator` answering with ``model`` under ``params``.
        ``recipe`` carries the backend's connection options; ``options`` the caller's
        (``concurrency``, ``cache``). Backends that cannot generate keep this default."""
        raise BackendError(f"backend {self.name!r} cannot generate answers, so it cannot be evaluated")
