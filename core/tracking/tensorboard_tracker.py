"""TensorBoard: event files in ``LOG_DIR/RUN_ID``, written with tensorboard's own event writer
(no torch needed, so hosted runs log too); the local trainer's TensorBoard integration writes
its curves into the same folder (``TENSORBOARD_LOGGING_DIR``)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from .base import Tracker


class TensorBoardTracker(Tracker):
    name = "tensorboard"

    def __init__(self, *args: Any):
        super().__init__(*args)
        from tensorboard.summary.writer.event_file_writer import EventFileWriter

        if self.spec.log_dir:
            root = Path(self.spec.log_dir).expanduser()
        elif os.environ.get("TENSORBOARD_LOGGING_DIR"):
            root = Path(os.environ["TENSORBOARD_LOGGING_DIR"]).expanduser().parent
        else:
            root = self.home / "tensorboard"
        self.log_dir = Path(self.state.get("tensorboard_dir") or root / self.info.run_id)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.state["tensorboard_dir"] = str(self.log_dir)
        self.writer = EventFileWriter(str(self.log_dir), filename_suffix=".ftx")
        if not self.state.get("tensorboard_tags"):
            self._text("ftx/lineage", "\n".join(f"{k}: {v}" for k, v in sorted(self.info.tags().items())))
            self.state["tensorboard_tags"] = True

    def trainer_env(self) -> dict[str, str]:
        return {"TENSORBOARD_LOGGING_DIR": str(self.log_dir)}

    def _event(self, step: int, values: list[Any]) -> None:
        from tensorboard.compat.proto.event_pb2 import Event
        from tensorboard.compat.proto.summary_pb2 import Summary

        self.writer.add_event(Event(wall_time=time.time(), step=int(step), summary=Summary(value=values)))

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        from tensorboard.compat.proto.summary_pb2 import Summary

        self._event(step, [Summary.Value(tag=k, simple_value=float(v)) for k, v in sorted(metrics.items())])
        self.writer.flush()

    def log_summary(self, values: dict[str, float]) -> None:
        self.log_metrics({f"ftx/{k}": v for k, v in values.items()}, 0)

    def set_tags(self, tags: dict[str, str]) -> None:
        if tags:
            self._text("ftx/tags", "\n".join(f"{k}: {v}" for k, v in sorted(tags.items())))

    def _text(self, tag: str, text: str) -> None:
        """A text summary as TensorBoard's text plugin reads it (built from the protos: the
        plugin's own helper needs TensorFlow)."""
        from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
        from tensorboard.compat.proto.tensor_pb2 import TensorProto
        from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
        from tensorboard.compat.proto.types_pb2 import DT_STRING

        metadata = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="text"))
        tensor = TensorProto(dtype=DT_STRING, string_val=[text.encode("utf-8")], tensor_shape=TensorShapeProto())
        self._event(0, [Summary.Value(tag=tag, metadata=metadata, tensor=tensor)])
        self.writer.flush()

    def finish(self, status: str) -> None:
        self.writer.close()

    def close(self) -> None:
        self.writer.close()
