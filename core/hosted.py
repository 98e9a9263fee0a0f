"""The hosted-provider contract: what a backend that trains on someone else's machines provides.

A hosted backend (OpenAI, Azure OpenAI, Vertex AI ...) subclasses :class:`HostedBackend` and
implements two things:

* offline, :meth:`HostedBackend.prepare`: convert and validate the data, and build the exact
  request a launch would send (``ftx run --dry-run`` shows it); no network, no SDK needed;
* online, :meth:`HostedBackend.connect` returning a :class:`HostedProvider`: upload, create,
  find, poll, list, cancel, read events/checkpoints/final metrics, price the finished job.

Everything else is provider-neutral and lives in the core (``ftx.hosted_run`` and
``ftx.hosted_watch``): the cost guard, the registry record written with an idempotency key
*before* the create call, the search for an existing job before every create (so an interrupted
or retried launch never pays twice), retries, the live view, Ctrl-C detaching, ``metrics.jsonl``,
actual cost, and ``ftx jobs``. Providers never retry on their own: they raise
:class:`TransientError` for what is worth retrying and :class:`ProviderError` for what is not.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from .backends import Backend
from .errors import BackendError

if TYPE_CHECKING:  # pragma: no cover
    from .recipe import ResolvedRecipe

#: ftx statuses a remote job can be in (the registry's, minus the local-only ones).
REMOTE_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
#: The metadata/label key under which ftx's idempotency key travels with the job.
CLIENT_KEY_FIELD = "ftx_client_key"


class ProviderError(BackendError):
    """A terminal failure reported by a provider (a failed job, no quota, an invalid file),
    printed as one line that carries the provider's own error code."""

    def __init__(self, provider: str, message: str, code: str | None = None, *, hint: str | None = None):
        self.provider = provider
        self.code = code
        text = f"{provider}: {message}" + (f" (error code: {code})" if code else "")
        super().__init__(" ".join(text.split()), hint=hint)


class TransientError(Exception):
    """A failure worth retrying (rate limit, 5xx, connection reset, timeout).

    ``retry_after`` is the provider's own advice in seconds, honoured when given."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None,
                 code: str | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.code = code


# Recipe fields hosted tuning APIs do not expose: a backend warns about them by name when set.
HOSTED_IGNORES = {
    "hyperparameters.learning_rate": "hosted tuning takes learning_rate_multiplier, not an absolute rate",
    "hyperparameters.scheduler": "the provider picks the schedule",
    "hyperparameters.warmup_ratio": "the provider picks the warmup",
    "hyperparameters.weight_decay": "not exposed by the provider",
    "hyperparameters.max_grad_norm": "not exposed by the provider",
    "hyperparameters.gradient_accumulation": "not exposed by the provider",
    "hyperparameters.packing": "not exposed by the provider",
    "hyperparameters.max_steps": "not exposed by the provider; use epochs",
    "hyperparameters.max_length": "the provider truncates at the model's own limit",
    "method.alpha": "the provider picks the adapter",
    "method.dropout": "the provider picks the adapter",
    "method.target_modules": "the provider picks the adapter",
    "eval.steps": "the provider evaluates on its own schedule",
    "eval.early_stopping_patience": "not exposed by the provider",
}


@dataclass
class UploadFile:
    """One data file a launch uploads; its name embeds its content hash so an upload can be
    found again (and not repeated) by name alone."""

    role: str  # "train" or "validation"
    filename: str
    content: bytes
    sha256: str
    examples: int
    tokens: int | None = None

    @classmethod
    def build(cls, role: str, content: bytes, examples: int, tokens: int | None = None,
              suffix: str = ".jsonl") -> "UploadFile":
        digest = hashlib.sha256(content).hexdigest()
        return cls(role, f"ftx-{digest[:16]}-{role}{suffix}", content, digest, examples, tokens)

    def describe(self) -> str:
        tokens = f", {self.tokens:,} tokens" if self.tokens is not None else ""
        return f"<upload of {self.filename}: {self.examples} examples{tokens}, {len(self.content):,} bytes>"


@dataclass
class PreparedJob:
    """Everything needed to launch, computed offline: the request (file references are
    ``{"$upload": ROLE}`` placeholders until uploaded), the files, the idempotency key."""

    backend: str
    base_model: str
    request: dict[str, Any]
    files: list[UploadFile]
    client_key: str
    summary: dict[str, Any] = field(default_factory=dict)  # token counts, examples: for display and cost
    warnings: list[str] = field(default_factory=list)

    def file(self, role: str) -> UploadFile | None:
        return next((f for f in self.files if f.role == role), None)

    def resolve(self, refs: dict[str, str]) -> dict[str, Any]:
        """The request with each upload placeholder replaced by the uploaded file's reference."""
        return _substitute(self.request, lambda role: refs[role])

    def display_request(self) -> dict[str, Any]:
        """The request as ``--dry-run`` shows it: placeholders described, nothing else changed."""
        described = {f.role: f.describe() for f in self.files}
        return _substitute(self.request, lambda role: described.get(role, f"<upload of {role}>"))

    def rekey(self, key: str) -> None:
        """Launch under another idempotency key (a new attempt): every place the request carries
        the old key (metadata, labels) carries the new one."""
        old = self.client_key
        self.request = _replace_value(self.request, old, key)
        self.client_key = key

    def data_hashes(self) -> dict[str, str]:
        return {f.role: f.sha256 for f in self.files}


def _substitute(value: Any, ref: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$upload"}:
            return ref(value["$upload"])
        return {k: _substitute(v, ref) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, ref) for v in value]
    return value


def _replace_value(value: Any, old: str, new: str) -> Any:
    if isinstance(value, dict):
        return {k: _replace_value(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_value(v, old, new) for v in value]
    return new if value == old else value


def client_key_for(backend: str, model: str, request: dict[str, Any], files: list[UploadFile]) -> str:
    """The idempotency key of a launch: the same backend, request and data give the same key,
    so re-running an interrupted ``ftx run`` finds the job it already created."""
    blob = json.dumps({"backend": backend, "model": model, "request": request,
                       "files": {f.role: f.sha256 for f in files}}, sort_keys=True, default=str)
    return "ftx-" + hashlib.sha256(blob.encode()).hexdigest()[:24]


@dataclass
class RemoteJob:
    """A provider's job, in ftx's words. ``status`` is one of :data:`REMOTE_STATUSES`."""

    id: str
    status: str
    provider_status: str
    base_model: str | None = None
    fine_tuned_model: str | None = None
    trained_tokens: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    client_key: str | None = None
    created_at: float | None = None  # unix seconds
    finished_at: float | None = None
    progress: dict[str, Any] = field(default_factory=dict)  # e.g. step, total_steps, estimated_finish
    artifacts: dict[str, str] = field(default_factory=dict)  # e.g. tuned model and endpoint names
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.status in ("succeeded", "failed", "cancelled")


@dataclass
class RemoteEvent:
    """One line of a job's history. ``metrics`` holds normalised keys (step, loss, eval_loss,
    token_accuracy, eval_token_accuracy, total_steps) when the event reports training progress."""

    id: str
    created_at: float
    level: str  # debug, info, warning, error
    message: str
    metrics: dict[str, Any] | None = None


@dataclass
class RemoteCheckpoint:
    id: str
    step: int
    model: str
    metrics: dict[str, Any] = field(default_factory=dict)


class HostedProvider:
    """A connected provider. Each method is one logical call; the core retries it when it
    raises :class:`TransientError`, so each must be safe to repeat (uploads dedupe by hash)."""

    name: ClassVar[str] = "hosted"  # shown in messages ("OpenAI", "Vertex AI")

    def upload(self, file: UploadFile) -> str:
        """Upload ``file`` (or find an identical one already uploaded) and wait until the
        provider can train on it; return its reference (file id, ``gs://`` URI ...)."""
        raise NotImplementedError

    def find_job(self, client_key: str) -> RemoteJob | None:
        """The job created with this idempotency key, if the provider has one."""
        raise NotImplementedError

    def create_job(self, prepared: PreparedJob, refs: dict[str, str]) -> RemoteJob:
        """Create the job; the request carries ``prepared.client_key`` (metadata, labels)."""
        raise NotImplementedError

    def get_job(self, job_id: str) -> RemoteJob:
        raise NotImplementedError

    def list_jobs(self, limit: int = 20) -> list[RemoteJob]:
        raise NotImplementedError

    def cancel_job(self, job_id: str) -> RemoteJob:
        raise NotImplementedError

    def events_since(self, job_id: str, last_event_id: str | None) -> list[RemoteEvent]:
        """Events newer than ``last_event_id`` (all when ``None``), oldest first."""
        return []

    def checkpoints(self, job_id: str) -> list[RemoteCheckpoint]:
        return []

    def result_files(self, job: RemoteJob) -> dict[str, bytes]:
        """Raw result files of a finished job (file name -> content), saved beside metrics.jsonl."""
        return {}

    def final_metrics(self, job: RemoteJob) -> list[dict[str, Any]]:
        """Per-step rows for ``metrics.jsonl`` (keys as local runs write them: step, epoch, loss,
        eval_loss, ...), read from the provider's result files of a finished job."""
        return []

    def actual_cost(self, job: RemoteJob) -> float | None:
        """Dollars the finished job cost, from what the provider reports it trained."""
        return None

    def close(self) -> None:
        """Release connections (idempotent)."""


class HostedBackend(Backend):
    """A backend whose runs are jobs at a provider; :meth:`run` is the shared orchestrator."""

    hosted = True
    provider_label: ClassVar[str] = "hosted provider"  # "OpenAI", "Vertex AI"

    def prepare(self, recipe: "ResolvedRecipe") -> PreparedJob:
        """Convert and validate the recipe's data and build the request (offline; raises
        :class:`ftx.errors.DataError` listing every problem with file:line)."""
        raise NotImplementedError

    def connection(self, recipe: "ResolvedRecipe | None") -> dict[str, Any]:
        """Non-secret settings needed to reach the job again (endpoint, project, region); stored
        in the registry so ``ftx jobs`` works from the run id alone. Never credentials.
        ``recipe`` is ``None`` for ``ftx jobs list --remote``: settings from the environment only."""
        return {}

    def connect(self, connection: dict[str, Any]) -> HostedProvider:
        """A provider client for ``connection`` (credentials come from the environment)."""
        raise NotImplementedError

    def plan(self, recipe: "ResolvedRecipe", data: dict[str, Any]) -> dict[str, Any]:
        from .prepared import prepare_once

        prepared = prepare_once(self, recipe)  # the launch reuses it
        details: dict[str, Any] = {"request": prepared.display_request(), "client key": prepared.client_key}
        details.update(prepared.summary)
        if prepared.warnings:
            details["notes"] = "; ".join(prepared.warnings)
        return details

    def run(self, recipe: "ResolvedRecipe", plan: Any) -> Any:
        from .hosted_run import launch

        return launch(self, recipe, plan)
