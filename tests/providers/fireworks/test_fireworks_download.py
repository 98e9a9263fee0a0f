"""``ftx jobs download RUN`` on Fireworks AI, end to end against the fake: the tuned model's files
(its LoRA adapter) come from signed URLs, fetched without the API key, and land whole, checked and
recorded; every refusal happens before anything is written."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DOWNLOAD = "/v1/accounts/ftx-test/models/[^/]+:getDownloadEndpoint"


def _launch(cli, *flags: str) -> dict:
    r = cli("run", "quickstart", "--backend", "fireworks", "--yes", *flags)
    assert r.exit_code == 0, r
    return json.loads(cli("runs", "list", "--json").stdout)[0]


def _api_key() -> str:
    """The key the fake accepts, as the ``fake_fireworks`` fixture exported it (not imported from
    ``conftest``: with the Together tests in the same session that name can be theirs)."""
    return os.environ["FIREWORKS_API_KEY"]


def _run(cli, run_id: str) -> dict:
    return next(r for r in json.loads(cli("runs", "list", "--json").stdout) if r["id"] == run_id)


def _model(fake, run: dict) -> str:
    return fake.jobs[run["remote_job_id"]]["outputModel"]


def _folder(run: dict) -> Path:
    return Path(run["output_dir"]) / "download" / "adapter"


def _tokens(fake) -> list[str]:
    return [url["token"] for url in fake.signed]


def _nowhere(needles: list[str], home: Path, *outputs: str) -> None:
    """None of ``needles`` (the API key, the URLs' signatures) in a file under ``home`` or an output."""
    for path in home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not [n for n in needles if n.encode() in data], path
    assert not [n for n in needles for text in outputs if n in text]


@pytest.fixture(scope="module")
def tiny_adapter(tmp_path_factory) -> tuple[Path, dict[str, bytes]]:
    """The embedded tiny model and a PEFT LoRA adapter of it, as the files Fireworks lists."""
    from tiny_adapter_helpers import tiny_lora_adapter

    base, adapter = tiny_lora_adapter(tmp_path_factory)
    return base, {p.name: p.read_bytes() for p in sorted(adapter.iterdir()) if p.is_file()}


def test_the_adapter_lands_recorded_and_generates_without_the_key_at_the_storage_host(cli, fake_fireworks,
                                                                                       tiny_adapter, ftx_home):
    from ftx.plugins.local.tiny_model import tiny_model_dir

    base, files = tiny_adapter
    shutil.copytree(base, tiny_model_dir())  # where ftx/tiny-llama resolves, offline
    run = _launch(cli)
    fake_fireworks.serve(_model(fake_fireworks, run), files)
    r = cli("jobs", "download", run["id"])
    assert r.exit_code == 0, r
    folder = _folder(run)
    assert sorted(p.name for p in folder.iterdir()) == sorted([".ftx-download.json", *files])
    assert all((folder / name).read_bytes() == data for name, data in files.items())
    sha = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    listing = "".join(f"{sha[name]}  {name}\n" for name in sorted(files))
    combined = hashlib.sha256(listing.encode()).hexdigest()  # `sha256sum * | sha256sum`, one line for all
    size = sum(len(data) for data in files.values())
    assert f"{len(files)} file(s), {size:,} bytes, sha256 {combined}" in r.stdout
    assert all(f"{sha[name]}  {name}" in r.stdout for name in files)

    manifest = json.loads((folder / ".ftx-download.json").read_text())
    assert manifest["files"] == sorted(files) and manifest["sha256"] == combined and manifest["format"] == "files"
    assert manifest["served"] == {name: {"bytes": len(data), "sha256": sha[name]} for name, data in files.items()}
    recorded = _run(cli, run["id"])
    assert recorded["artifacts"]["download:adapter"] == str(folder)
    details = recorded["extra"]["downloads"]["adapter"]
    assert (details["sha256"], details["bytes"], details["served"]) == (combined, size, manifest["served"])

    # The API key went to Fireworks' API only: not one request to the storage host carried it.
    assert fake_fireworks.count("GET", DOWNLOAD) == 1
    assert fake_fireworks.storage_auth == [None] * len(files)

    generated = cli("generate", str(folder), "--prompt", "hi", "--max-new-tokens", "4")
    assert generated.exit_code == 0, generated
    assert generated.stdout.strip()
    _nowhere([_api_key(), *_tokens(fake_fireworks)], Path(str(ftx_home)), r.output, r.stderr)


def test_force_replaces_exactly_what_ftx_wrote(cli, fake_fireworks, ftx_home):
    run = _launch(cli)
    model = _model(fake_fireworks, run)
    fake_fireworks.serve(model, {"adapter_config.json": b"{}", "weights/adapter_model.safetensors": b"old" * 100})
    assert cli("jobs", "download", run["id"]).exit_code == 0
    folder = _folder(run)
    assert (folder / "weights" / "adapter_model.safetensors").read_bytes() == b"old" * 100

    again = cli("jobs", "download", run["id"])
    assert again.exit_code != 0 and "already holds the adapter" in again.stderr and "--force" in again.stderr
    fake_fireworks.serve(model, {"adapter_config.json": b'{"r": 8}', "adapter_model.safetensors": b"new" * 100})
    r = cli("jobs", "download", run["id"], "--force")
    assert r.exit_code == 0, r
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")) == [
        ".ftx-download.json", "adapter_config.json", "adapter_model.safetensors"]  # the old folder went too
    assert (folder / "adapter_model.safetensors").read_bytes() == b"new" * 100
    (folder / "notes.txt").write_text("mine")
    refused = cli("jobs", "download", run["id"], "--force")
    assert refused.exit_code != 0 and "ftx did not write (notes.txt" in refused.stderr
    assert (folder / "notes.txt").read_text() == "mine" and (folder / "adapter_config.json").exists()


def test_a_broken_file_stream_is_fetched_again_and_the_result_is_whole(cli, fake_fireworks, tmp_path, monkeypatch):
    run = _launch(cli)
    files = {"adapter_config.json": b"{}", "adapter_model.safetensors": bytes(range(256)) * 800}
    fake_fireworks.serve(_model(fake_fireworks, run), files)
    fake_fireworks.inject("GET", "/signed/.*", kind="truncate", when="after", times=1)
    out = tmp_path / "dest"
    r = cli("jobs", "download", run["id"], "--out", out)
    assert r.exit_code == 0, r
    assert {n: (out / n).read_bytes() for n in files} == files and not list(out.glob(".download-*"))
    assert fake_fireworks.count("GET", "/signed/.*") == len(files) + 1  # the cut file again, from its start
    assert fake_fireworks.count("GET", DOWNLOAD) == 1

    monkeypatch.setenv("FTX_RETRY_ATTEMPTS", "2")
    fake_fireworks.inject("GET", "/signed/.*", kind="truncate", when="after", times=20)
    broken = tmp_path / "broken"
    r = cli("jobs", "download", run["id"], "--out", broken)
    assert r.exit_code != 0 and "broke off" in r.stderr and "Traceback" not in r.output
    assert "X-Goog-Signature" not in r.stderr and not any(t in r.stderr for t in _tokens(fake_fireworks))
    assert not broken.exists()  # no file under its final name, no .part file, not the folder ftx made


def test_ctrl_c_mid_file_leaves_nothing_under_a_final_name(cli, fake_fireworks, tmp_path, monkeypatch):
    from ftx.providers.fireworks import download

    run = _launch(cli)
    fake_fireworks.serve(_model(fake_fireworks, run), {"a_config.json": b"{}", "b_model.safetensors": b"w" * 9000})
    real = download.stream

    def interrupted(provider, url, name):
        if name == "a_config.json":
            yield from real(provider, url, name)  # the first file arrives whole ...
            return
        yield b"half a file"  # ... the second is cut off by Ctrl-C
        raise KeyboardInterrupt

    monkeypatch.setattr(download, "stream", interrupted)
    out = tmp_path / "existing"
    out.mkdir()
    r = cli("jobs", "download", run["id"], "--out", out)
    assert r.exit_code != 0 and "interrupted while downloading the adapter" in r.stderr
    assert list(out.iterdir()) == []  # not even the complete first file: the folder is as the user left it


@pytest.mark.parametrize("name,why", [
    ("../x", "'../x', which would land outside"),
    ("/etc/x", "'/etc/x', an absolute path"),
    ("sub/../../x", "which would land outside"),
    ("C:evil", "an absolute path"),
    (".ftx-download.json", "a name ftx keeps for its own record"),
    ("weights", "'weights' both as a file and as a folder"),
])
def test_a_malicious_file_name_is_refused_with_nothing_written(cli, fake_fireworks, tmp_path, name, why):
    run = _launch(cli)
    fake_fireworks.serve(_model(fake_fireworks, run), {"adapter_config.json": b"{}", name: b"pwned",
                                                       "weights/adapter_model.safetensors": b"w"})
    out = tmp_path / "deep" / "dest"
    r = cli("jobs", "download", run["id"], "--out", out)
    assert r.exit_code != 0 and why in r.stderr and "nothing was downloaded" in r.stderr, r
    assert "Fireworks AI's file list for the adapter" in r.stderr and "Traceback" not in r.output
    assert not out.exists() and not (tmp_path / "deep" / "x").exists() and not (tmp_path / "x").exists()
    assert fake_fireworks.count("GET", "/signed/.*") == 0  # refused before a single file was fetched
    assert "download:adapter" not in _run(cli, run["id"])["artifacts"]


def test_refusals_come_before_any_download_request(cli, fake_fireworks, tmp_path):
    detached = _launch(cli, "--detach")
    r = cli("jobs", "download", detached["id"])
    assert r.exit_code != 0 and "only a succeeded job's weights can be downloaded" in r.stderr
    assert f"job {detached['remote_job_id']} is running" in r.stderr and "Traceback" not in r.output

    run = _launch(cli, "--train-again")
    r = cli("jobs", "download", run["id"], "--checkpoint", "merged")
    assert r.exit_code != 0 and "Fireworks AI serves adapter, not 'merged'" in r.stderr
    r = cli("jobs", "download", run["id"], "--step", "2")
    assert r.exit_code != 0 and "its final adapter only, not a step's (--step 2)" in r.stderr
    fake_fireworks.jobs[run["remote_job_id"]].pop("outputModel")
    r = cli("jobs", "download", run["id"])
    assert r.exit_code != 0 and "names no output model (outputModel)" in r.stderr
    assert fake_fireworks.count("GET", DOWNLOAD) == 0 and fake_fireworks.count("GET", "/signed/.*") == 0
    assert not (Path(run["output_dir"]) / "download").exists()


def test_an_unknown_model_or_an_expired_url_is_one_line_and_writes_nothing(cli, fake_fireworks, tmp_path,
                                                                          monkeypatch, ftx_home):
    from ftx.providers.fireworks import download

    run = _launch(cli)
    model = _model(fake_fireworks, run)
    files = fake_fireworks.model_files.pop(model)
    r = cli("jobs", "download", run["id"], "--out", tmp_path / "a")
    assert r.exit_code != 0 and f"model {model} not found (error code: NOT_FOUND)" in r.stderr, r
    assert not (tmp_path / "a").exists()

    fake_fireworks.serve(model, files)
    real = download.list_files

    def expired(provider, job, step):
        listed = real(provider, job, step)
        fake_fireworks.expire_urls()  # the signed URLs expire before they are fetched
        return listed

    monkeypatch.setattr(download, "list_files", expired)
    r = cli("jobs", "download", run["id"], "--out", tmp_path / "b")
    assert r.exit_code != 0 and "the storage host refused" in r.stderr and "(HTTP 400)" in r.stderr, r
    assert "signed URL may have expired" in r.stderr and "Traceback" not in r.output
    assert "/signed/" in r.stderr and "X-Goog-Signature" not in r.stderr  # the URL shown without its query
    assert not (tmp_path / "b").exists()
    assert fake_fireworks.count("GET", "/signed/.*") == 1  # a refusal is final: not retried
    _nowhere(_tokens(fake_fireworks), Path(str(ftx_home)))  # nor in the registry's warning event


def test_the_fake_download_endpoint_and_its_signed_urls(fake_fireworks, cli):
    import httpx

    run = _launch(cli)
    model = _model(fake_fireworks, run)
    with httpx.Client(base_url=fake_fireworks.url, headers={"Authorization": f"Bearer {_api_key()}"}) as api:
        missing = api.get("/v1/accounts/ftx-test/models/nope:getDownloadEndpoint")
        assert missing.status_code == 404 and missing.json()["error"]["status"] == "NOT_FOUND"
        assert httpx.get(f"{fake_fireworks.url}/v1/{model}:getDownloadEndpoint").status_code == 401  # the key is needed
        answer = api.get(f"/v1/{model}:getDownloadEndpoint").json()
    assert set(answer) == {"filenameToSignedUrls"}  # the SDK's ModelGetDownloadEndpointResponse: its only field
    urls = answer["filenameToSignedUrls"]
    assert set(urls) == {"adapter_config.json", "adapter_model.safetensors"}  # a finished job's default adapter
    url = urls["adapter_config.json"]
    assert httpx.get(url).content == fake_fireworks.model_files[model]["adapter_config.json"]
    assert httpx.get(url, headers={"Authorization": "Bearer x"}).status_code == 200
    assert fake_fireworks.storage_auth == [None, "Bearer x"]
    assert httpx.get(url.replace("X-Goog-Signature=", "X-Goog-Signature=0")).status_code == 403
    fake_fireworks.expire_urls()
    assert httpx.get(url).status_code == 400
    assert _api_key().startswith("fw_")  # this directory's fixture set it (conftest.py)


def test_a_recipe_asking_for_the_adapter_gets_it_when_the_job_succeeds(cli, fake_fireworks, tmp_path):
    """``backends.fireworks.download: adapter`` lands the files as ``ftx jobs download`` does, and
    does not change the launch's identity (asking for the weights is not another job)."""
    from ftx.components import get_backend
    from ftx.recipe import load_recipe

    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"name: fw\nmodel: {{fireworks: accounts/fireworks/models/llama-v3p1-8b-instruct}}\n"
                      f"data: {{train: {ROOT / 'recipes' / 'data' / 'quickstart.jsonl'}}}\n"
                      "backends:\n  fireworks: {download: adapter}\n", encoding="utf-8")
    backend = get_backend("fireworks")
    plain = tmp_path / "plain.yaml"
    plain.write_text(recipe.read_text().split("backends:")[0], encoding="utf-8")
    assert backend.key_target(load_recipe(str(recipe), [], backend="fireworks")) == \
        backend.key_target(load_recipe(str(plain), [], backend="fireworks"))
    r = cli("run", recipe, "--backend", "fireworks", "--yes")
    assert r.exit_code == 0, r
    run = json.loads(cli("runs", "list", "--json").stdout)[0]
    folder = _folder(run)
    assert run["artifacts"]["download:adapter"] == str(folder)
    served = json.loads((folder / ".ftx-download.json").read_text())["served"]
    assert served and all((folder / name).stat().st_size == entry["bytes"] for name, entry in served.items())
    assert fake_fireworks.storage_auth == [None] * len(served)
