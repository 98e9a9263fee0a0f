"""The hosted-provider contract: the types a hosted backend and its provider exchange with the core.

See :mod:`ftx.hosted` (the package's docstring) for the whole picture and ``docs/plugins.md``,
"Writing a hosted backend", for a complete example.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterable, TypeVar

from ..backends import Backend
from .download_contract import DownloadedArtifact, DownloadMembers, RemoteFile  # noqa: F401 (re-exported)
from .errors import ProviderError, TransientError

if TYPE_CHECKING:  # pragma: no cover
    from ..recipe import ResolvedRecipe

T = TypeVar("T")

#: ftx statuses a remote job can be in (the registry's, minus the local-only ones).
REMOTE_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
#: The metadata/label key under which ftx's idempotency key travels with the job.
CLIENT_KEY_FIELD = "ftx_client_key"


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
    ``{"$upload": ROLE}`` placeholders until uploaded), the files, the idempotency key.

    ``tagger(untagged_request, key)`` puts a key into the request (metadata, labels, a tag in a
    suffix); :meth:`rekey` uses it to launch under another key."""

    backend: str
    base_model: str
    request: dict[str, Any]
    files: list[UploadFile]
    client_key: str
    summary: dict[str, Any] = field(default_factory=dict)  # token counts, examples: for display and cost
    warnings: list[str] = field(default_factory=list)
    tagger: Callable[[dict[str, Any], str], dict[str, Any]] | None = field(default=None, repr=False)
    untagged: dict[str, Any] | None = field(default=None, repr=False)

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
        """Launch under another idempotency key (a new attempt, another target): the request
        carries the new key wherever it carried the old one."""
        if key == self.client_key:
            return
        if self.tagger is not None and self.untagged is not None:
            self.request = self.tagger(self.untagged, key)
        else:
            self.request = _replace_value(self.request, self.client_key, key)
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
    if isinstance(value, str) and old in value:
        return value.replace(old, new)
    return value


def client_key_for(backend: str, model: str, request: dict[str, Any], files: list[UploadFile]) -> str:
    """The idempotency key of a launch: the same backend, request and data give the same key,
    so re-running an interrupted ``ftx run`` finds the job it already created."""
    identity: dict[str, Any] = {"backend": backend, "model": model, "request": request,
                                "files": {f.role: f.sha256 for f in files}}
    namespace = os.environ.get("FTX_KEY_NAMESPACE")
    if namespace:  # keeps independent users of one shared service (test suites, the conformance kit) apart
        identity["namespace"] = namespace
    blob = json.dumps(identity, sort_keys=True, default=str)
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


class HostedProvider(DownloadMembers, ABC):
    """A connected provider. Each method is one logical call; the core retries it when it
    raises :class:`TransientError`, so each must be safe to repeat (uploads dedupe by hash).

    The six abstract methods are the minimum; a backend whose provider lacks one is refused when
    its plugin registers it, naming the plugin. The others have working defaults. ``label`` (shown
    in messages) and ``poll_interval`` (seconds between polls of a running job) are declared here
    once; the backend reads them from its provider class.

    Send each HTTP request through :meth:`request`: it turns the SDK's exceptions into ftx's
    (:meth:`translate`) and retries that one request with its own attempt budget. The download
    members (``downloads``, ``download``, ``download_files`` ...) are
    :class:`ftx.hosted.download_contract.DownloadMembers`'.
    """

    label: ClassVar[str] = "hosted provider"  # "OpenAI", "Vertex AI"
    poll_interval: ClassVar[float] = 10.0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Providers written before ``label`` existed declared their label as ``name``.
        named = cls.__dict__.get("name")
        if isinstance(named, str) and "label" not in cls.__dict__:
            cls.label = named

    @property
    def name(self) -> str:  # the label, under the name the core used before ``label``
        return self.label

    # -- the six calls every provider makes ----------------------------------------------------
    @abstractmethod
    def upload(self, file: UploadFile) -> str:
        """Upload ``file`` (or find an identical one already uploaded, e.g. by ``file.filename``,
        which embeds the content hash) and wait until the provider can train on it; return its
        reference (file id, ``gs://`` URI ...)."""

    @abstractmethod
    def find_job(self, client_key: str) -> RemoteJob | None:
        """The job created with this idempotency key, if the provider has one (see
        :func:`ftx.hosted.lookup.find_tagged` for paged lookups with a client-side check)."""

    @abstractmethod
    def create_job(self, prepared: PreparedJob, refs: dict[str, str]) -> RemoteJob:
        """Create the job; the request carries ``prepared.client_key`` (metadata, labels, or a
        tag in the suffix). Send it with ``request(..., idempotent=False)``: the core, not the
        request layer, decides whether a create whose answer was lost may be sent again."""

    @abstractmethod
    def get_job(self, job_id: str) -> RemoteJob:
        """The job now."""

    @abstractmethod
    def list_jobs(self, limit: int = 20) -> list[RemoteJob]:
        """The newest jobs, newest first (``ftx jobs list --remote``)."""

    @abstractmethod
    def cancel_job(self, job_id: str) -> RemoteJob:
        """Ask the provider to stop the job; return it as it is after asking."""

    # -- optional, with defaults -----------------------------------------------------------------
    def quote(self, prepared: PreparedJob, refs: dict[str, str]) -> dict[str, Any] | None:
        """The provider's own estimate once the files are uploaded, before the job is created:
        ``{"cost_usd": float, ...}``; shown beside ftx's and held to ``--max-cost``. Default: none."""
        return None

    def events_since(self, job_id: str, last_event_id: str | None) -> list[RemoteEvent]:
        """Events newer than ``last_event_id`` (all when ``None``), oldest first. Default: none."""
        return []

    def checkpoints(self, job_id: str) -> list[RemoteCheckpoint]:
        """Intermediate models of the job. Default: none."""
        return []

    def result_files(self, job: RemoteJob) -> dict[str, bytes]:
        """Raw result files of a finished job (file name -> content), saved beside metrics.jsonl.
        Default: none."""
        return {}

    def final_metrics(self, job: RemoteJob) -> list[dict[str, Any]]:
        """Per-step rows for ``metrics.jsonl`` (keys as local runs write them: step, epoch, loss,
        eval_loss, ...), read from the provider's result files of a finished job. Default: none
        (the core then uses the job's metrics events)."""
        return []

    def actual_cost(self, job: RemoteJob) -> float | None:
        """Dollars the finished job cost. Default: ``job.trained_tokens`` times the
        ``train_per_1m_tokens`` price of ``job.base_model`` in the price tables registered for
        ``backend`` (set by :meth:`HostedBackend.connect` callers; ``None`` when unknown)."""
        from ..cost.catalog import price_for

        backend = getattr(self, "backend", None)
        if not isinstance(backend, str) or job.trained_tokens is None or not job.base_model:
            return None
        found = price_for(backend, job.base_model)
        price = found[0].get("train_per_1m_tokens") if found else None
        return None if price is None else job.trained_tokens * float(price) / 1_000_000

    def close(self) -> None:
        """Release connections (idempotent)."""

    # -- the request layer ---------------------------------------------------------------------
    def translate(self, exc: Exception) -> Exception:
        """``exc`` (raised by the SDK) as :class:`TransientError` or :class:`ProviderError`;
        return it unchanged when it is neither (a bug then shows its traceback). Providers map
        their SDK's HTTP errors with :func:`ftx.hosted.classify_http`."""
        return exc

    def request(self, fn: Callable[..., T], *args: Any, idempotent: bool = True, what: str | None = None,
                **kwargs: Any) -> T:
        """Send one request (``fn(*args, **kwargs)``), translating its errors; retried on a
        transient failure with its own attempt budget within the command's deadline, unless
        ``idempotent=False`` (then a transient failure is raised for the core to handle)."""
        def once() -> T:
            try:
                return fn(*args, **kwargs)
            except (TransientError, ProviderError):
                raise
            except Exception as exc:
                translated = self.translate(exc)
                if translated is exc:
                    raise
                raise translated from None

        # FTX_RETRY_PER_REQUEST=0: only whole provider calls are retried, one budget for all their
        # requests (how ftx retried before); kept as the soak benchmark's same-run baseline.
        if not idempotent or os.environ.get("FTX_RETRY_PER_REQUEST") == "0":
            return once()
        from .retry import retrying

        return retrying(what or f"a request to {self.label} ({getattr(fn, '__name__', 'call')})", once)


def resolve_class(ref: "str | type") -> type:
    """A class given as itself or as ``"package.module:Class"`` (imported on first use)."""
    if isinstance(ref, str):
        module, _, name = ref.partition(":")
        return getattr(importlib.import_module(module), name)
    return ref


def missing_methods(cls: type) -> list[str]:
    """The abstract methods ``cls`` leaves unimplemented (empty when it can be instantiated)."""
    return sorted(getattr(cls, "__abstractmethods__", ()))


class HostedBackend(Backend):
    """A backend whose runs are jobs at a provider; the core launches, follows and records them.

    Declare ``provider`` (the :class:`HostedProvider` subclass, or ``"module:Class"`` so its module
    is imported only when needed) and implement :meth:`connect`; :meth:`prepare` is a template
    whose small hooks (:meth:`convert_records`, :meth:`check_records`, :meth:`build_request`,
    :meth:`tag_request`) say what is the provider's own. See ``docs/plugins.md``.
    """

    hosted = True
    paid = True
    provider: ClassVar["str | type[HostedProvider] | None"] = None
    #: Modules :meth:`connect` imports (the provider's SDK): a launch imports them ahead, while
    #: its data plan's forked child builds the duplicate index (``ftx.planning``). Offline.
    sdk_modules: ClassVar[tuple[str, ...]] = ()

    def provider_class(self) -> type[HostedProvider]:
        if self.provider is None:
            raise TypeError(f"hosted backend {self.name!r} declares no provider class")
        return resolve_class(self.provider)

    @property
    def provider_label(self) -> str:  # type: ignore[override]
        """The provider's label (``OpenAI``), declared once on the provider class."""
        return getattr(self.provider_class(), "label", self.name)

    @property
    def poll_interval(self) -> float:  # type: ignore[override]
        return float(getattr(self.provider_class(), "poll_interval", 10.0))

    def registration_problem(self) -> str | None:
        try:
            cls = self.provider_class()
        except Exception as exc:  # an import error is the plugin's, shown by its name
            return f"hosted backend {self.name!r}: cannot load its provider class: {type(exc).__name__}: {exc}"
        if not (isinstance(cls, type) and issubclass(cls, HostedProvider)):
            return f"hosted backend {self.name!r}: its provider {cls!r} is not a ftx.hosted.HostedProvider"
        missing = missing_methods(cls)
        if missing:
            return (f"hosted backend {self.name!r}: provider {cls.__name__} does not implement "
                    f"{', '.join(missing)} (abstract methods of ftx.hosted.HostedProvider)")
        if (cls.downloads and cls.download is HostedProvider.download
                and cls.download_files is HostedProvider.download_files):
            return (f"hosted backend {self.name!r}: provider {cls.__name__} declares downloads "
                    f"{', '.join(cls.downloads)} but implements neither download() nor download_files()")
        if type(self).connect is HostedBackend.connect:
            return f"hosted backend {self.name!r} does not implement connect()"
        return None

    # -- offline -------------------------------------------------------------------------------
    def prepare(self, recipe: "ResolvedRecipe") -> PreparedJob:
        """Convert and validate the recipe's data and build the request (offline; raises
        :class:`ftx.errors.DataError` listing every problem with file:line). The default is the
        shared template (:func:`ftx.hosted.prepare.prepare_job`) driven by the hooks below."""
        from .prepare import prepare_job

        return prepare_job(self, recipe)

    def convert_records(self, recipe: "ResolvedRecipe", examples: list, problems: list) -> list[tuple[dict, Any]]:
        """Each example as the provider's record, paired with its source (file:line); one that
        cannot be written goes to ``problems``. Default: the ``chat`` format's dump (SFT) or
        ``openai-dpo``'s (DPO)."""
        from .prepare import dump_records

        return dump_records(examples, "openai-dpo" if recipe.recipe.objective == "dpo" else "chat", problems,
                            self.provider_label)

    def check_records(self, recipe: "ResolvedRecipe", records: list[tuple[dict, Any]], *, file: str,
                      role: str) -> Any:
        """A :class:`ftx.preflight.Checked` for the records of one file (``role`` is ``train`` or
        ``validation``): problems with file:line, and each valid example's tokens. Default:
        nothing refused, ceil(characters / 4) tokens each."""
        from .prepare import character_check

        return character_check(records)

    def file_problems(self, recipe: "ResolvedRecipe", train: list, validation: list, train_bytes: int) -> list:
        """Problems of the files as a whole (sizes, counts). Default: none."""
        return []

    def build_request(self, recipe: "ResolvedRecipe", has_validation: bool) -> dict[str, Any]:
        """The create request, with ``{"$upload": "train"}`` (and ``"validation"``) where the
        uploaded files' references go. Without the client key: the key is computed from it."""
        raise NotImplementedError(f"hosted backend {self.name!r} must implement build_request() or prepare()")

    def tag_request(self, request: dict[str, Any], key: str) -> dict[str, Any]:
        """The request carrying the idempotency key: in metadata or labels where the provider
        keeps them; without metadata, as a tag in a name or suffix (:func:`ftx.hosted.key_tag`).
        :meth:`PreparedJob.rekey` later finds and replaces it wherever it was put."""
        return {**request, "metadata": {CLIENT_KEY_FIELD: key, **(request.get("metadata") or {})}}

    def key_target(self, recipe: "ResolvedRecipe") -> dict[str, Any]:
        """Where the job would run, as far as known offline (endpoint, account, project, region):
        part of the idempotency key, so the same recipe sent elsewhere is a new launch there.
        Default: :meth:`connection` without anything secret."""
        from .identity import target_of

        return target_of(self.connection(recipe))

    def describe_job(self, recipe: "ResolvedRecipe", train: Any, validation: Any) -> dict[str, Any]:
        """Lines for ``--dry-run`` beside the request (prices, token counts). Default: counts."""
        return {"training examples": len(train.tokens), "validation examples": len(validation.tokens),
                "trained tokens per epoch": train.total_tokens}

    def connection(self, recipe: "ResolvedRecipe | None") -> dict[str, Any]:
        """Non-secret settings needed to reach the job again (endpoint, project, region); stored
        in the registry so ``ftx jobs`` works from the run id alone. Never credentials.
        ``recipe`` is ``None`` for ``ftx jobs list --remote``: settings from the environment only."""
        return {}

    def connect(self, connection: dict[str, Any]) -> HostedProvider:
        """A provider client for ``connection`` (credentials come from the environment)."""
        raise NotImplementedError

    def plan(self, recipe: "ResolvedRecipe", data: dict[str, Any]) -> dict[str, Any]:
        from ..prepared import prepare_once

        prepared = prepare_once(self, recipe)  # the launch reuses it
        details: dict[str, Any] = {"request": prepared.display_request(), "client key": prepared.client_key}
        details.update(prepared.summary)
        if prepared.warnings:
            details["notes"] = "; ".join(prepared.warnings)
        return details
