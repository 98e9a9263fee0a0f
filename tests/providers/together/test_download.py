"""``ftx jobs download RUN`` on Together AI, end to end through the real SDK and the fake server:
the weights land unpacked and usable, and every refusal happens before anything is changed."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _recipe(tmp_path: Path, method: str = "lora") -> Path:
    path = tmp_path / f"{method}.yaml"
    path.write_text(f"name: dl\nmodel: {{together: meta-llama/Meta-Llama-3.1-8B-Instruct-Reference}}\n"
                    f"data: {{train: {ROOT / 'recipes' / 'data' / 'quickstart.jsonl'}}}\nmethod: {{name: {method}}}\n",
                    encoding="utf-8")
    return path


def _launch(cli, tmp_path: Path, method: str = "lora", *flags: str) -> dict:
    r = cli("run", _recipe(tmp_path, method), "--backend", "together", "--yes", *flags)
    assert r.exit_code == 0, r
    return json.loads(cli("runs", "list", "--json").stdout)[0]


def _run(cli, run_id: str) -> dict:
    return next(r for r in json.loads(cli("runs", "list", "--json").stdout) if r["id"] == run_id)


def _tar(members: dict[str, bytes], mode: str = "w:gz", links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            archive.addfile(info)
    return buffer.getvalue()


def _folder(run: dict, name: str = "adapter") -> Path:
    return Path(run["output_dir"]) / "download" / name


def _downloads(fake) -> int:
    return fake.count("GET", "/v1/finetune/download")


@pytest.fixture(scope="module")
def tiny_adapter_tgz(tmp_path_factory) -> tuple[Path, bytes]:
    """The embedded tiny model and a PEFT LoRA adapter of it, packed as Together serves one (a
    tar.gz with a top folder); built once for the module."""
    from tiny_adapter_helpers import tiny_lora_adapter

    base, adapter = tiny_lora_adapter(tmp_path_factory, "ft-adapter")
    return base, _tar({f"ft-adapter/{p.name}": p.read_bytes() for p in sorted(adapter.iterdir())})


def test_the_adapter_lands_unpacked_recorded_and_generates(cli, fake_together, tiny_adapter_tgz, ftx_home, tmp_path):
    from ftx.plugins.local.tiny_model import tiny_model_dir

    base, archive = tiny_adapter_tgz
    shutil.copytree(base, tiny_model_dir())  # where ftx/tiny-llama resolves, offline
    run = _launch(cli, tmp_path)
    fake_together.serve(run["remote_job_id"], "adapter", archive)
    r = cli("jobs", "download", run["id"])
    assert r.exit_code == 0, r
    folder = _folder(run)
    assert {"adapter_config.json", "adapter_model.safetensors"} <= {p.name for p in folder.iterdir()}
    assert not list(folder.rglob("*.part")) and not list(folder.glob("*.tar.gz"))  # the archive is not kept
    digest = hashlib.sha256(archive).hexdigest()
    assert f"{len(archive):,} bytes, sha256 {digest} (tar.gz)" in r.stdout
    recorded = _run(cli, run["id"])
    assert recorded["artifacts"]["download:adapter"] == str(folder)
    details = recorded["extra"]["downloads"]["adapter"]
    assert (details["sha256"], details["bytes"], details["format"]) == (digest, len(archive), "tar.gz")
    assert "download:adapter" in cli("runs", "show", run["id"]).stdout
    query = [q for m, p, q in fake_together.requests if p == "/v1/finetune/download"]
    assert query == [{"ft_id": run["remote_job_id"], "checkpoint": "adapter"}]

    generated = cli("generate", str(folder), "--prompt", "hi", "--max-new-tokens", "4")
    assert generated.exit_code == 0, generated
    assert generated.stdout.strip()

    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    again = cli("jobs", "download", run["id"])
    assert again.exit_code != 0 and "already holds the adapter" in again.stderr and "--force" in again.stderr
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
    assert cli("jobs", "download", run["id"], "--force", "--keep-archive").exit_code == 0
    assert (folder / "adapter.tar.gz").read_bytes() == archive
    (folder / "notes.txt").write_text("mine")
    refused = cli("jobs", "download", run["id"], "--force")
    assert refused.exit_code != 0 and "ftx did not write (notes.txt" in refused.stderr
    assert (folder / "notes.txt").read_text() == "mine"
    secrets = [p for p in [*Path(str(ftx_home)).rglob("*")] if p.is_file() and os.environ['TOGETHER_API_KEY'].encode() in p.read_bytes()]
    assert secrets == []


def test_a_job_not_finished_or_a_full_jobs_adapter_is_refused_before_any_download(cli, fake_together, tmp_path):
    detached = _launch(cli, tmp_path, "lora", "--detach")
    r = cli("jobs", "download", detached["id"])
    assert r.exit_code != 0 and "only a succeeded job's weights can be downloaded" in r.stderr
    assert f"job {detached['remote_job_id']} is queued" in r.stderr and "Traceback" not in r.output

    full = _launch(cli, tmp_path, "full")
    r = cli("jobs", "download", full["id"], "--checkpoint", "adapter")
    assert r.exit_code != 0 and "was full fine-tuning (training_type Full): it has no adapter" in r.stderr
    r = cli("jobs", "download", full["id"], "--checkpoint", "lora")
    assert r.exit_code != 0 and "Together AI serves adapter, merged, not 'lora'" in r.stderr
    assert _downloads(fake_together) == 0 and not _folder(full).parent.exists()

    fake_together.serve(full["remote_job_id"], "merged", _tar({"config.json": b"{}", "model.safetensors": b"w"}))
    r = cli("jobs", "download", full["id"])  # a full job's default is the merged model
    assert r.exit_code == 0, r
    assert sorted(p.name for p in _folder(full, "merged").iterdir()) == [".ftx-download.json", "config.json",
                                                                          "model.safetensors"]


@pytest.mark.parametrize("backend,label", [("openai", "OpenAI"), ("vertex", "Vertex AI")])
def test_a_provider_without_downloads_says_so_in_one_line(cli, monkeypatch, backend, label):
    from ftx.registry import Registry

    for var in ("OPENAI_API_KEY", "GOOGLE_APPLICATION_CREDENTIALS"):
        monkeypatch.delenv(var, raising=False)  # refused before connecting: no credentials needed
    with Registry() as registry:
        run = registry.create_run("dl", backend, {}, "hash", status="succeeded", client_key=f"key-{backend}")
        registry.update_run(run.id, remote_job_id="ftjob-123")
    r = cli("jobs", "download", run.id)
    assert r.exit_code != 0 and "Traceback" not in r.output
    assert r.stderr.strip().splitlines() == [f"error: {label} does not hand out the weights of its fine-tunes"]


@pytest.mark.parametrize("members,links,why", [
    ({"ok.txt": b"fine", "../evil": b"pwned"}, None, "'../evil', which would land outside"),
    ({"/tmp/ftx-evil-abs": b"pwned"}, None, "an absolute path"),
    ({"ok.txt": b"fine"}, {"escape": "../../outside"}, "points outside"),
])
def test_an_archive_reaching_outside_is_rejected_and_nothing_is_written(cli, fake_together, tmp_path, members,
                                                                        links, why):
    run = _launch(cli, tmp_path)
    fake_together.serve(run["remote_job_id"], "adapter", _tar(members, links=links))
    out = tmp_path / "deep" / "dest"
    r = cli("jobs", "download", run["id"], "--out", out)
    assert r.exit_code != 0 and why in r.stderr and "nothing was unpacked" in r.stderr
    assert not out.exists() and not (tmp_path / "deep" / "evil").exists() and not Path("/tmp/ftx-evil-abs").exists()
    assert "download:adapter" not in _run(cli, run["id"])["artifacts"]


def test_an_interrupted_download_leaves_nothing_under_the_final_name(cli, fake_together, tmp_path, monkeypatch):
    run = _launch(cli, tmp_path)
    archive = _tar({"adapter_config.json": b"{}", "adapter_model.safetensors": b"x" * 200_000}, mode="w")
    fake_together.serve(run["remote_job_id"], "adapter", archive)
    monkeypatch.setenv("FTX_RETRY_ATTEMPTS", "2")
    fake_together.inject("GET", "/v1/finetune/download", kind="truncate", when="after", times=4)
    out = tmp_path / "dest"
    r = cli("jobs", "download", run["id"], "--out", out, "--keep-archive")
    assert r.exit_code != 0 and "broke off" in r.stderr and "Traceback" not in r.output
    assert not out.exists()  # neither the archive, nor a .part file, nor the folder ftx made
    assert _downloads(fake_together) >= 2
    fake_together.faults.clear()
    fake_together.inject("GET", "/v1/finetune/download", kind="truncate", when="after", times=1)
    r = cli("jobs", "download", run["id"], "--out", out, "--keep-archive")  # one break: downloaded again
    assert r.exit_code == 0, r
    assert (out / "adapter.tar").read_bytes() == archive and not list(out.glob(".download-*"))


def test_an_unknown_format_is_kept_as_served_and_named(cli, fake_together, tmp_path):
    run = _launch(cli, tmp_path)
    fake_together.serve(run["remote_job_id"], "adapter", b"GGUF\x03\x00\x00\x00 weights")
    r = cli("jobs", "download", run["id"])
    assert r.exit_code == 0, r
    assert "not unpacked: not an archive ftx knows: unknown (first bytes 47 47 55 46" in r.stdout
    assert (_folder(run) / "adapter.bin").read_bytes() == b"GGUF\x03\x00\x00\x00 weights"


def test_the_fake_download_endpoint_follows_the_spec(fake_together, cli, tmp_path):
    import httpx

    run = _launch(cli, tmp_path)
    job = run["remote_job_id"]
    with httpx.Client(base_url=fake_together.url, headers={"Authorization": f"Bearer {os.environ['TOGETHER_API_KEY']}"}) as http:
        def status(**query):
            return http.get("/v1/finetune/download", params=query).status_code

        assert status(ft_id="ft-nope", checkpoint="adapter") == 404
        assert status(ft_id=job, checkpoint="lora") == 400
        assert status(ft_id=job) == 400  # checkpoint is required without checkpoint_step
        assert status(ft_id=job, checkpoint_step="99") == 400
        assert status(ft_id=job, checkpoint_step="1") == 200  # an intermediate checkpoint
        answer = http.get("/v1/finetune/download", params={"ft_id": job, "checkpoint": "merged"})
        assert answer.status_code == 200 and answer.headers["content-type"] == "application/octet-stream"


def test_zip_members_are_checked_too(tmp_path):
    import zipfile

    from ftx.hosted.unpack import UnsafeArchive, sniff, unpack

    good, bad = tmp_path / "good.zip", tmp_path / "bad.zip"
    with zipfile.ZipFile(good, "w") as archive:
        archive.writestr("adapter/adapter_config.json", "{}")
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("ok.txt", "fine")
        archive.writestr("../evil.txt", "pwned")
    (tmp_path / "a").mkdir()
    assert sniff(good) == "zip" and unpack(good, "zip", tmp_path / "a") == ["adapter/adapter_config.json"]
    (tmp_path / "b").mkdir()
    with pytest.raises(UnsafeArchive, match="would land outside"):
        unpack(bad, "zip", tmp_path / "b")
    assert list((tmp_path / "b").iterdir()) == [] and not (tmp_path / "evil.txt").exists()


def test_ctrl_c_mid_download_removes_the_partial_file(cli, fake_together, tmp_path, monkeypatch):
    from ftx.providers.together.provider import TogetherProvider

    run = _launch(cli, tmp_path)

    def interrupted(self, job, checkpoint, step=None):
        yield b"\x1f\x8b half an archive"
        raise KeyboardInterrupt

    monkeypatch.setattr(TogetherProvider, "download", interrupted)
    out = tmp_path / "existing"
    out.mkdir()
    r = cli("jobs", "download", run["id"], "--out", out)
    assert r.exit_code != 0 and "interrupted while downloading the adapter" in r.stderr
    assert list(out.iterdir()) == []  # the folder was the user's: kept, and empty as it was


def test_a_tar_zst_is_unpacked_with_zstandard_and_kept_without_it(cli, fake_together, tmp_path, monkeypatch):
    zstandard = pytest.importorskip("zstandard")
    from ftx.hosted import unpack

    run = _launch(cli, tmp_path)
    archive = zstandard.ZstdCompressor().compress(_tar({"adapter_config.json": b"{}"}, mode="w"))
    fake_together.serve(run["remote_job_id"], "adapter", archive)
    r = cli("jobs", "download", run["id"])
    assert r.exit_code == 0 and "(tar.zst)" in r.stdout, r
    assert (_folder(run) / "adapter_config.json").read_bytes() == b"{}"
    monkeypatch.setattr(unpack, "zstd_available", lambda: False)
    r = cli("jobs", "download", run["id"], "--out", tmp_path / "plain")
    assert r.exit_code == 0 and "needs the zstandard package to unpack" in r.stdout, r
    assert (tmp_path / "plain" / "adapter.tar.zst").read_bytes() == archive
