"""The conformance kit for hosted backends: the standard scenarios, run against any backend and
the fake (or sandbox) service its author points it at.

    from ftx.testing import check_hosted_backend

    def test_my_backend_conforms(my_fake_server, tmp_path):
        report = check_hosted_backend("mine", "recipe.yaml", jobs=lambda: len(my_fake_server.jobs),
                                      secret="the-api-key-the-test-set", env={"MINE_BASE_URL": my_fake_server.url})
        assert report.passed, report

Each scenario runs ``ftx`` in-process in a fresh ftx home and checks what the user would see and
what the service holds (``jobs()``: how many jobs the service has):

* ``dry_run``: ``ftx run --dry-run`` shows the request and creates nothing;
* ``faults``: every provider call fails once with a transient error, and the answers of an
  upload and of the create are lost once after the call took effect: the run still succeeds
  with exactly one new job;
* ``lost_create``: the create's answer is lost: the job is found, not created twice;
* ``killed_after_create``: the process dies the moment the job is created (nothing of ftx runs
  after it, as with SIGKILL); running the same command again follows that job: still one job;
* ``detach_reattach``: ``ftx run --detach`` returns once launched; ``ftx jobs wait`` follows it to
  its end;
* ``cancel``: ``ftx jobs cancel`` stops a launched job and the run ends ``cancelled`` (the
  service must not finish a job before it has been read a few times);
* ``already_trained``: the same command after a success launches nothing; ``--train-again`` does;
* ``download``: ``ftx jobs download`` of a succeeded run, its first request failing once and its
  first stream breaking off after its first chunk: the weights land whole in a folder, recorded
  with size and sha256 (of each file, when served as several: checked against the files on
  disk); again without ``--force`` is refused, with it downloads again (a provider without
  ``downloads`` must answer that it hands none out);
* ``key_never_written``: ``secret`` (the API key) appears in no file under the ftx home and in no
  output.

Faults are injected around the provider's methods (a proxy), so the kit needs nothing from the
fake but a job count; the provider's own HTTP error mapping is for its own tests, with the fake's
HTTP faults.
"""

from __future__ import annotations

import json
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from ..environ import environ
from .errors import TransientError

SCENARIOS = ("dry_run", "faults", "lost_create", "killed_after_create", "detach_reattach", "cancel",
             "already_trained", "download", "key_never_written")
_METHODS = ("upload", "find_job", "create_job", "get_job", "list_jobs", "cancel_job", "events_since", "checkpoints",
            "result_files", "final_metrics", "quote", "download", "download_files")


class Killed(BaseException):
    """Stands for SIGKILL: no ``except Exception`` (nor ftx's own handlers) catches it."""


@dataclass
class Plan:
    """What the proxy does to the provider's calls: ``before`` (method -> failures before the
    call), ``after`` (method -> answers lost after it), ``kill_after`` (a method after which the
    process 'dies')."""

    before: dict[str, int] = field(default_factory=dict)
    after: dict[str, int] = field(default_factory=dict)
    kill_after: str | None = None
    calls: dict[str, int] = field(default_factory=dict)
    broken_streams: int = 0  # download streams (a file's, for several) that break off after a chunk


def _breaking(chunks: Iterable[bytes], plan: Plan) -> Iterator[bytes]:
    iterator = iter(chunks)
    try:
        for chunk in iterator:
            yield chunk
            if plan.broken_streams > 0:
                plan.broken_streams -= 1
                raise TransientError("conformance kit: the download stream broke off after its first chunk")
    finally:
        close = getattr(iterator, "close", None)
        if callable(close):
            close()


def _broken_downloads(name: str, result: Any, plan: Plan) -> Any:
    """A download's stream (or each of its files' streams) that ``plan`` breaks off."""
    if name == "download":
        return _breaking(result, plan)
    if name == "download_files" and result is not None:
        from .download_contract import RemoteFile

        return [RemoteFile(f.path, lambda f=f: _breaking(f.stream(), plan)) for f in result]
    return result


class FaultyProvider:
    """Wraps a connected provider; every other attribute is the provider's own."""

    def __init__(self, provider: Any, plan: Plan):
        self._provider, self._plan = provider, plan

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._provider, name)
        if name not in _METHODS or not callable(value):
            return value
        plan = self._plan

        def call(*args: Any, **kwargs: Any) -> Any:
            plan.calls[name] = plan.calls.get(name, 0) + 1
            if plan.before.get(name, 0) > 0:
                plan.before[name] -= 1
                raise TransientError(f"conformance kit: {name} failed before it ran", status=503)
            result = value(*args, **kwargs)
            if plan.kill_after == name:
                raise Killed(f"killed right after {name}")
            if plan.after.get(name, 0) > 0:
                plan.after[name] -= 1
                raise TransientError(f"conformance kit: the answer of {name} was lost", status=502)
            return _broken_downloads(name, result, plan) if plan.broken_streams else result

        return call


@dataclass
class Report:
    backend: str
    results: dict[str, str] = field(default_factory=dict)  # scenario -> "ok" or what failed

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(v == "ok" for v in self.results.values())

    def __str__(self) -> str:
        lines = [f"hosted backend {self.backend!r}: {'conforms' if self.passed else 'does NOT conform'}"]
        lines += [f"  {name:<20} {verdict}" for name, verdict in self.results.items()]
        return "\n".join(lines)


class _Failed(AssertionError):
    pass


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise _Failed(message)


class _Kit:
    def __init__(self, backend: str, recipe: str, jobs: Callable[[], int], secret: str | None,
                 args: tuple[str, ...]):
        from ..cli import _add_commands, cli

        _add_commands()
        self.group = cli
        self.backend, self.recipe, self.jobs, self.secret, self.args = backend, recipe, jobs, secret, args
        self.outputs: list[str] = []
        self.homes: list[Path] = []

    # -- plumbing ----------------------------------------------------------------------------------
    @contextmanager
    def home(self) -> Iterator[Path]:
        """A fresh ftx home for one scenario (kept until the end for the secret scan)."""
        path = Path(tempfile.mkdtemp(prefix="ftx-conformance-"))
        self.homes.append(path)
        # Each scenario's launches get keys of their own: the service keeps the earlier scenarios' jobs.
        with environ({"FTX_HOME": str(path), "FTX_KEY_NAMESPACE": f"conformance-{path.name}"}):
            yield path

    @contextmanager
    def faults(self, plan: Plan) -> Iterator[Plan]:
        from ..components import get_backend

        backend = get_backend(self.backend)
        real = backend.connect
        backend.connect = lambda connection: FaultyProvider(real(connection), plan)  # type: ignore[method-assign]
        try:
            yield plan
        finally:
            del backend.connect  # the instance attribute goes; the class's method is back

    def ftx(self, *args: str) -> Any:
        from click.testing import CliRunner

        try:
            result = CliRunner().invoke(self.group, list(args), catch_exceptions=True)
        except Killed as exc:  # not an Exception: it went through everything, like a SIGKILL would
            from types import SimpleNamespace

            return SimpleNamespace(exit_code=137, output="", stdout="", stderr_bytes=None, exception=exc)
        self.outputs.append(result.output + (result.stderr if result.stderr_bytes is not None else ""))
        return result

    def run(self, *extra: str) -> Any:
        return self.ftx("run", self.recipe, "--backend", self.backend, "--yes", *self.args, *extra)

    def runs(self) -> list[dict[str, Any]]:
        result = self.ftx("runs", "list", "--json")
        _expect(result.exit_code == 0, f"`ftx runs list --json` failed: {result.output[-300:]}")
        return json.loads(result.stdout)

    @staticmethod
    def said(result: Any) -> str:
        text = (result.output or "") + (result.stderr if result.stderr_bytes is not None else "")
        tail = text.strip().splitlines()[-3:]
        extra = f"; {type(result.exception).__name__}: {result.exception}" if result.exception and not isinstance(
            result.exception, SystemExit) else ""
        return " | ".join(tail) + extra

    def succeeded(self, result: Any, what: str) -> None:
        _expect(result.exit_code == 0, f"{what} exited {result.exit_code}: {self.said(result)}")

    # -- scenarios ---------------------------------------------------------------------------------
    def dry_run(self) -> None:
        before = self.jobs()
        result = self.ftx("run", self.recipe, "--backend", self.backend, "--dry-run", *self.args)
        self.succeeded(result, "ftx run --dry-run")
        _expect(self.jobs() == before, "a dry run created a job")
        _expect(self.runs() == [], "a dry run recorded a run")

    def faults_everywhere(self) -> None:
        before = self.jobs()
        plan = Plan(before=dict.fromkeys(_METHODS, 1), after={"upload": 1, "create_job": 1})
        with self.faults(plan):
            result = self.run()
        self.succeeded(result, "a run with a fault on every call")
        _expect(self.jobs() - before == 1, f"{self.jobs() - before} jobs were created (expected exactly 1)")
        [run] = self.runs()
        _expect(run["status"] == "succeeded", f"the run ended {run['status']!r}")

    def lost_create(self) -> None:
        before = self.jobs()
        with self.faults(Plan(after={"create_job": 1})):
            result = self.run()
        self.succeeded(result, "a run whose create answer was lost")
        _expect(self.jobs() - before == 1, f"{self.jobs() - before} jobs were created (expected exactly 1)")
        _expect("found existing" in self.said(result) or "found existing" in result.output,
                "the lost job was not reported as found")

    def killed_after_create(self) -> None:
        before = self.jobs()
        with self.faults(Plan(kill_after="create_job")):
            killed = self.run()
        _expect(isinstance(killed.exception, Killed), f"the run was not interrupted at the create: {self.said(killed)}")
        _expect(self.jobs() - before == 1, "the killed run did not create its job")
        again = self.run()
        self.succeeded(again, "running the same command after the kill")
        _expect(self.jobs() - before == 1, f"{self.jobs() - before} jobs after the re-run (expected exactly 1)")
        runs = self.runs()
        _expect(len(runs) == 1 and runs[0]["status"] == "succeeded",
                f"expected one succeeded run, found {[r['status'] for r in runs]}")

    def detach_reattach(self) -> None:
        before = self.jobs()
        result = self.run("--detach")
        self.succeeded(result, "ftx run --detach")
        [run] = self.runs()
        _expect(run["remote_job_id"], "a detached run recorded no job id")
        waited = self.ftx("jobs", "wait", run["id"])
        self.succeeded(waited, "ftx jobs wait")
        _expect(self.runs()[0]["status"] == "succeeded", "the reattached run did not end succeeded")
        _expect(self.jobs() - before == 1, "detaching and reattaching created another job")

    def cancel(self) -> None:
        result = self.run("--detach")
        self.succeeded(result, "ftx run --detach")
        [run] = self.runs()
        cancelled = self.ftx("jobs", "cancel", run["id"])
        self.succeeded(cancelled, "ftx jobs cancel")
        self.ftx("jobs", "wait", run["id"])
        status = self.runs()[0]["status"]
        _expect(status == "cancelled", f"after ftx jobs cancel the run is {status!r}")

    def already_trained(self) -> None:
        before = self.jobs()
        self.succeeded(self.run(), "the first run")
        again = self.run()
        self.succeeded(again, "the same run again")
        _expect(self.jobs() - before == 1, "running a succeeded recipe again launched another job")
        _expect("already trained" in self.said(again) or "already trained" in again.output,
                "the second run did not say it was already trained")
        fresh = self.run("--train-again")
        self.succeeded(fresh, "ftx run --train-again")
        _expect(self.jobs() - before == 2, "--train-again did not launch a new job")

    def download(self) -> None:
        from ..components import get_backend

        from .contract import HostedProvider

        cls = get_backend(self.backend).provider_class()
        offered = getattr(cls, "downloads", ())
        self.succeeded(self.run(), "the run whose weights are downloaded")
        [run] = self.runs()
        serves_files = getattr(cls, "download_files", None) is not HostedProvider.download_files
        member = "download_files" if serves_files else "download"
        plan = Plan(before={member: 1}, broken_streams=1 if offered else 0)
        with self.faults(plan):
            got = self.ftx("jobs", "download", run["id"])
        if not offered:
            refusal = cls.no_downloads.format(label=get_backend(self.backend).provider_label)
            _expect(got.exit_code != 0 and refusal in self.said(got),
                    f"a provider without downloads did not say so ({refusal!r}): {self.said(got)}")
            return
        self.succeeded(got, "ftx jobs download (its first request failing once)")
        recorded = self.runs()[0]
        downloads = (recorded.get("extra") or {}).get("downloads") or {}
        _expect(len(downloads) == 1, f"the download was not recorded under extra.downloads: {downloads}")
        [(name, details)] = downloads.items()
        folder = Path(details["folder"])
        _expect(folder.is_dir() and bool(details.get("files")), f"nothing landed in {folder}")
        _expect(not list(folder.glob(".download-*")), f"a temporary file was left in {folder}")
        _expect(recorded["artifacts"].get(f"download:{name}") == str(folder), "the folder is not an artifact")
        _expect(len(str(details.get("sha256"))) == 64 and details.get("bytes", 0) > 0, "no size or sha256 recorded")
        _expect(plan.broken_streams == 0, "the download was never streamed (no stream to break off)")
        self._check_served(folder, details)
        again = self.ftx("jobs", "download", run["id"])
        _expect(again.exit_code != 0 and "already holds" in self.said(again),
                "a second download without --force was not refused")
        self.succeeded(self.ftx("jobs", "download", run["id"], "--force"), "ftx jobs download --force")

    @staticmethod
    def _check_served(folder: Path, details: dict[str, Any]) -> None:
        """Several files as served: each one on disk, whole, as its recorded size and sha256 say."""
        import hashlib

        served = details.get("served") or {}
        for path, expected in served.items():
            target = folder / path
            _expect(target.is_file(), f"{path} of the download is not in {folder}")
            data = target.read_bytes()
            _expect(len(data) == expected.get("bytes") and hashlib.sha256(data).hexdigest() == expected.get("sha256"),
                    f"{path} on disk is not what its recorded size and sha256 say")
        if served:
            _expect(sum(int(f["bytes"]) for f in served.values()) == details.get("bytes"),
                    "the download's size is not the sum of its files'")

    def key_never_written(self) -> None:
        if not self.secret:
            raise _Failed("no secret given to look for (pass secret=the API key the test set)")
        needle = self.secret.encode()
        for home in self.homes:
            for path in home.rglob("*"):
                if path.is_file() and needle in path.read_bytes():
                    raise _Failed(f"the API key was written to {path.relative_to(home)}")
        _expect(not any(self.secret in text for text in self.outputs), "the API key was printed")


_RUNNERS = {"dry_run": "dry_run", "faults": "faults_everywhere", "lost_create": "lost_create",
            "killed_after_create": "killed_after_create", "detach_reattach": "detach_reattach", "cancel": "cancel",
            "already_trained": "already_trained", "download": "download"}


def check_hosted_backend(backend: str, recipe: str | Path, *, jobs: Callable[[], int], secret: str | None = None,
                         env: dict[str, str] | None = None, scenarios: Iterable[str] = SCENARIOS,
                         args: Iterable[str] = ()) -> Report:
    """Run the standard scenarios (:data:`SCENARIOS`) on ``backend`` with ``recipe``; return a
    :class:`Report` (``report.passed``; ``str(report)`` says what failed). ``env`` is set for the
    duration (point the backend at its fake there); polling and retries are made fast."""
    fast = {"FTX_POLL_INTERVAL": "0.01", "FTX_RETRY_WAIT": "0.01", "FTX_RETRY_MAX_WAIT": "0.05",
            "FTX_RETRY_ATTEMPTS": "6", "FTX_UPLOAD_TIMEOUT": "30"}
    with environ({**fast, **(env or {})}):
        from .retry import set_default_policy

        set_default_policy(None)
        kit = _Kit(backend, str(recipe), jobs, secret, tuple(args))
        report = Report(backend)
        try:
            for name in scenarios:
                if name == "key_never_written":
                    continue
                with kit.home():
                    try:
                        getattr(kit, _RUNNERS[name])()
                        report.results[name] = "ok"
                    except _Failed as exc:
                        report.results[name] = f"FAILED: {exc}"
            if "key_never_written" in scenarios:
                try:
                    kit.key_never_written()
                    report.results["key_never_written"] = "ok"
                except _Failed as exc:
                    report.results["key_never_written"] = f"FAILED: {exc}"
        finally:
            import shutil

            for home in kit.homes:
                shutil.rmtree(home, ignore_errors=True)
    return report
