"""An objective: learn only each conversation's final answer (chat data)."""

from typing import Any

from ftx.objectives import Objective


class AnswerOnly(Objective):
    name = "answer-only"
    description = "supervised, loss on the final assistant turn only"
    data_kinds = frozenset({"chat"})
    data_needed = "chat examples ending with an assistant turn"

    def check_examples(self, examples: list[Any]) -> list[tuple[Any, str]]:
        return [(e, "the conversation does not end with an assistant turn")
                for e in examples if not e.messages or e.messages[-1].role != "assistant"][:1]

    def training(self, backend: str) -> Any:
        # the echo backend's own shape: what it would send
        return {"loss": "final answer"} if backend == "echo" else None
