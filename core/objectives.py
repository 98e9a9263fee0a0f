"""What a training-objective plugin provides: the data it trains on, its defaults, and how each
backend trains it.

An objective (``sft``, ``dpo``, ``orpo``, ``kto``, ...) is picked by a recipe's ``objective:``.
The core uses only what is declared here: which kinds of :class:`ftx.example.Example` it accepts
(``data_kinds``, checked by ``ftx data validate --objective`` and the dry run), the
hyperparameter defaults it fills, and the traits estimators need. How a backend trains it is the
backend's business: :meth:`Objective.training` hands the backend an object in the shape that
backend documents (the local backend's is ``ftx.plugins.local.objectives.LocalTraining``), and
hosted backends declare by name which objectives their service accepts (``Backend.objectives``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:  # pragma: no cover
    from .example import Example


class Objective:
    """Base class for training objectives.

    * ``data_kinds``: the ``Example.kind`` values it trains on (``chat``, ``completion``,
      ``preference``, or a kind a format plugin adds);
    * ``data_needed``: those words in a message ("preference pairs (prompt, chosen, rejected)");
    * ``defaults``: hyperparameter -> value filled when the recipe sets none (e.g. ``beta``);
    * ``sequences_per_example``: sequences one example puts through the model per step (2 for a
      chosen/rejected pair), for memory estimates;
    * ``reference_model``: whether training also runs a frozen reference model (DPO, KTO);
    * ``packs``: whether ``hyperparameters.packing`` applies.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    data_kinds: ClassVar[frozenset[str]] = frozenset({"chat", "completion"})
    data_needed: ClassVar[str] = "chat or prompt/completion examples"
    defaults: ClassVar[dict[str, Any]] = {}
    sequences_per_example: ClassVar[int] = 1
    reference_model: ClassVar[bool] = False
    packs: ClassVar[bool] = False

    def accepts(self, example: "Example") -> bool:
        """Whether ``example`` is data this objective trains on."""
        return example.kind in self.data_kinds

    def check_examples(self, examples: list["Example"]) -> list[tuple["Example", str]]:
        """Problems with the data as a whole beyond each example's kind, as (example, message)
        pairs (the example locates the problem). Override for objective-specific rules, e.g.
        KTO needing both desirable and undesirable examples."""
        return []

    def training(self, backend: str) -> Any | None:
        """How backend ``backend`` trains this objective: an object in the shape that backend
        documents, or ``None`` when this plugin does not say (a backend listing the objective in
        ``Backend.objectives`` trains it its own way)."""
        return None


class PreferenceObjective(Objective):
    """Base for objectives that train on preference pairs (prompt, chosen, rejected), like DPO and
    ORPO: the ``preference`` data kind, ``beta`` 0.1 by default, and the chosen and rejected
    answers side by side (two sequences per example). Subclasses set ``name``,
    ``reference_model`` and :meth:`training`."""

    data_kinds: ClassVar[frozenset[str]] = frozenset({"preference"})
    data_needed: ClassVar[str] = "preference pairs (prompt, chosen, rejected)"
    defaults: ClassVar[dict[str, Any]] = {"beta": 0.1}
    sequences_per_example: ClassVar[int] = 2
