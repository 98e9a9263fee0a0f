"""The core's side of downloads served as several files (``ftx.hosted.served_files``), without a
provider: the listing checks, the landing, and the registration rule for ``downloads``."""

from __future__ import annotations

from pathlib import Path

import pytest

from ftx.errors import BackendError
from ftx.hosted import HostedBackend, HostedProvider, RemoteFile, TransientError
from ftx.hosted.served_files import check_listing, combined_sha256, land_files
from ftx.hosted.unpack import UnsafeArchive


def _files(*names: str) -> list[RemoteFile]:
    return [RemoteFile(name, lambda name=name: iter([name.encode()])) for name in names]


def test_paths_are_normalised_and_unsafe_ones_refuse_the_whole_list(tmp_path):
    checked = check_listing(_files("./a.json", "sub//b.bin", "sub\\c.bin"), tmp_path, "the list", (".mine",))
    assert [f.path for f in checked] == ["a.json", "sub/b.bin", "sub/c.bin"]
    for names, why in [(("a", "../b"), "would land outside"), (("/abs",), "an absolute path"),
                       (("a", "./a"), "'a' twice"), (("a", "a/b"), "'a' both as a file and as a folder"),
                       ((".mine",), "a name ftx keeps"), (("",), "not a file name"), (("d/",), "not a file name"),
                       (("a\x00b",), "not a file name")]:
        with pytest.raises(UnsafeArchive, match=why):
            check_listing(_files(*names), tmp_path, "the list", (".mine",))
    with pytest.raises(BackendError, match="holds no files"):
        check_listing([], tmp_path, "the list", ())
    assert list(tmp_path.iterdir()) == []


def test_a_broken_file_is_streamed_again_from_its_start_and_the_others_are_not(tmp_path, monkeypatch):
    monkeypatch.setenv("FTX_RETRY_WAIT", "0.01")
    opened: list[str] = []

    def stream(name: str, data: bytes, breaks: list[int]):
        def chunks():
            opened.append(name)
            yield data[:3]
            if breaks:
                breaks.pop()
                raise TransientError("cut")
            yield data[3:]
        return chunks

    files = [RemoteFile("a", stream("a", b"alpha", [])), RemoteFile("w/b", stream("b", b"bravo!", [1]))]
    placed, served = land_files(files, tmp_path, "the test", lambda: None)
    assert placed == ["a", "w/b"] and opened == ["a", "b", "b"]
    assert (tmp_path / "a").read_bytes() == b"alpha" and (tmp_path / "w" / "b").read_bytes() == b"bravo!"
    assert served["w/b"]["bytes"] == 6 and sorted(p.name for p in tmp_path.iterdir()) == ["a", "w"]
    assert len(combined_sha256(served)) == 64


def test_nothing_gets_a_final_name_unless_all_files_are_complete(tmp_path):
    def fails():
        yield b"half"
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        land_files([*_files("a", "sub/b"), RemoteFile("z", fails)], tmp_path, "the test", lambda: None)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "sub").symlink_to(tmp_path.parent)  # a link in the way: refused before anything moves
    with pytest.raises(UnsafeArchive, match="in the way"):
        land_files(_files("a", "sub/b"), tmp_path, "the test", lambda: None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub"] and not (tmp_path.parent / "b").exists()


class _Base(HostedProvider):
    downloads = ("adapter",)

    def upload(self, file): ...
    def find_job(self, client_key): ...
    def create_job(self, prepared, refs): ...
    def get_job(self, job_id): ...
    def list_jobs(self, limit=20): ...
    def cancel_job(self, job_id): ...


class _Files(_Base):
    def download_files(self, job, checkpoint, step=None):
        return []


@pytest.mark.parametrize("provider,problem", [(_Base, "implements neither download() nor download_files()"),
                                              (_Files, None)])
def test_a_provider_declaring_downloads_implements_one_of_the_two(provider, problem):
    class Backend(HostedBackend):
        name = "dl-test"

        def connect(self, connection):
            return provider()

    Backend.provider = provider
    found = Backend().registration_problem()
    assert (found is None) if problem is None else (problem in str(found))


def test_a_served_path_lands_where_it_says(tmp_path: Path):
    placed, _ = land_files(check_listing(_files("x/y/z.bin"), tmp_path, "the list", ()), tmp_path, "t", lambda: None)
    assert placed == ["x/y/z.bin"] and (tmp_path / "x" / "y" / "z.bin").read_bytes() == b"x/y/z.bin"


def test_two_names_for_one_file_undo_the_landing(tmp_path, monkeypatch):
    """On a case-insensitive disk "A" and "a" are one file: the second is refused, the first undone."""
    real = Path.exists
    monkeypatch.setattr(Path, "exists", lambda self: real(self) or (self.name == "b" and real(self.parent / "a")))
    with pytest.raises(BackendError, match="another file of the download has its name"):
        land_files(_files("a", "b"), tmp_path, "the test", lambda: None)
    assert list(tmp_path.iterdir()) == []
