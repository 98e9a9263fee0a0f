"""The live view of a hosted job: a rich panel on a terminal, plain lines elsewhere (logs, CI).

rich is imported only when a view starts.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from .hosted.contract import RemoteCheckpoint, RemoteEvent, RemoteJob

_STYLE = {"succeeded": "green", "failed": "red", "cancelled": "yellow", "running": "cyan", "queued": "blue"}


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _elapsed(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


class JobView:
    """Shows one job while it is followed. ``live`` picks the rich panel; otherwise each status
    change and each non-metrics event is printed once, as one line."""

    def __init__(self, provider_label: str, run_id: str, live: bool | None = None, console: Any = None):
        from rich.console import Console

        self.console = console or Console()
        self.live_mode = self.console.is_terminal if live is None else live
        self.label = provider_label
        self.run_id = run_id
        self.job: RemoteJob | None = None
        self.metrics: dict[str, Any] = {}
        self.checkpoints: list[RemoteCheckpoint] = []
        self.recent: deque[str] = deque(maxlen=6)
        self.started = time.monotonic()
        self._live: Any = None
        self._printed_status: str | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> "JobView":
        if self.live_mode:
            from rich.live import Live

            self._live = Live(self._render(), console=self.console, refresh_per_second=4, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.update(self._render())
            self._live.__exit__(None, None, None)
            self._live = None

    # -- updates -----------------------------------------------------------------------------
    def update(self, job: RemoteJob, events: list[RemoteEvent], checkpoints: list[RemoteCheckpoint] | None) -> None:
        self.job = job
        if checkpoints is not None:
            self.checkpoints = checkpoints
        for event in events:
            if event.metrics:
                self.metrics.update({k: v for k, v in event.metrics.items() if v is not None})
            else:
                self.recent.append(event.message)
                if not self.live_mode:
                    self._line(f"  {self.label}: {event.message}", "red" if event.level == "error" else None)
        if self._live is not None:
            self._live.update(self._render())
        elif job.provider_status != self._printed_status:
            self._printed_status = job.provider_status
            self._line(f"job {job.id}: {job.provider_status}{self._progress_text()}", _STYLE.get(job.status))

    def _line(self, text: str, style: str | None = None) -> None:
        from rich.markup import escape

        self.console.print(f"[{style}]{escape(text)}[/{style}]" if style else escape(text), highlight=False)

    def _progress_text(self) -> str:
        step, total = self.metrics.get("step"), self.metrics.get("total_steps")
        if step is None:
            return ""
        return f" (step {step}/{total})" if total else f" (step {step})"

    # -- rendering -------------------------------------------------------------------------------
    def _render(self) -> Any:
        from rich.markup import escape
        from rich.panel import Panel
        from rich.table import Table

        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column(overflow="fold")
        job = self.job
        status = job.provider_status if job else "connecting"
        style = _STYLE.get(job.status if job else "", "")
        table.add_row("status", (f"[{style}]{escape(status)}[/{style}]" if style else escape(status))
                      + escape(self._progress_text()))
        table.add_row("watching for", _elapsed(time.monotonic() - self.started))
        m = self.metrics
        if m:
            table.add_row("train", f"loss {_fmt(m.get('loss'))}   token accuracy {_fmt(m.get('token_accuracy'))}")
            table.add_row("valid", f"loss {_fmt(m.get('eval_loss'))}   "
                                   f"token accuracy {_fmt(m.get('eval_token_accuracy'))}")
        if self.checkpoints:
            latest = max(self.checkpoints, key=lambda c: c.step)
            table.add_row("checkpoints", f"{len(self.checkpoints)} (latest step {latest.step}: {escape(latest.model)})")
        if job and job.fine_tuned_model:
            table.add_row("model", escape(job.fine_tuned_model))
        if job and job.error_message:
            table.add_row("error", f"[red]{escape(job.error_message)}[/red]")
        for line in self.recent:
            table.add_row("", f"[dim]{escape(line)}[/dim]")
        title = f"{self.label} job {job.id if job else ''}  (run {self.run_id})"
        return Panel(table, title=escape(title), title_align="left",
                     subtitle=f"Ctrl-C detaches; the job keeps running. Reattach: ftx jobs wait {self.run_id}",
                     subtitle_align="left")
