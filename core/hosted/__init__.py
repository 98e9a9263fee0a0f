"""The hosted-backend contract: what a backend that trains on someone else's machines provides.

A hosted backend (OpenAI, Azure OpenAI, Vertex AI, Together AI, Fireworks AI, or a third party's)
is two classes:

* a :class:`HostedBackend` (registered through ``ftx_register_backends``): what it honours
  (``methods``, ``ignored``...), how its records and request look (the hooks of the shared
  :meth:`HostedBackend.prepare` template, offline: ``ftx run --dry-run`` shows the request), where
  it runs (:meth:`HostedBackend.connection`) and :meth:`HostedBackend.connect`;
* a :class:`HostedProvider` (its ``provider``): upload, find, create, get, list and cancel jobs
  (abstract: a missing one fails at registration, by plugin name), plus events, checkpoints,
  result files, final metrics, actual cost and the download of a job's weights with documented
  defaults.

Everything else is provider-neutral and lives in the core: the cost guard, the registry record
written with an idempotency key *before* the create call, the search for an existing job before
every create (so an interrupted or retried launch never pays twice), retries with a budget per
request and one deadline per command (:mod:`ftx.hosted.retry`), HTTP error classification
(:func:`classify_http`), paged lookup (:mod:`ftx.hosted.lookup`), the estimate skeleton
(:mod:`ftx.hosted.estimate`), the live view, Ctrl-C detaching, ``metrics.jsonl``, actual cost and
``ftx jobs``. Providers never retry on their own: they raise :class:`TransientError` for what is
worth retrying and :class:`ProviderError` for what is not. ``ftx.testing.check_hosted_backend``
runs the standard fault scenarios against a backend and its fake server.
"""

from .contract import (CLIENT_KEY_FIELD, HOSTED_IGNORES, REMOTE_STATUSES, DownloadedArtifact, HostedBackend,
                       HostedProvider, PreparedJob, RemoteCheckpoint, RemoteEvent, RemoteFile, RemoteJob, UploadFile,
                       client_key_for, missing_methods)
from .errors import ProviderError, TransientError, classify_http, retry_after, unreachable
from .identity import key_tag, target_of

__all__ = ["CLIENT_KEY_FIELD", "HOSTED_IGNORES", "REMOTE_STATUSES", "DownloadedArtifact", "HostedBackend",
           "HostedProvider", "PreparedJob", "ProviderError", "RemoteCheckpoint", "RemoteEvent", "RemoteFile",
           "RemoteJob", "TransientError", "UploadFile",
           "classify_http", "client_key_for", "key_tag", "missing_methods", "retry_after", "target_of",
           "unreachable"]
