"""Near-duplicate detection: ftx's index (numpy fingerprints, and its pure-Python twin) against
``datasketch`` (MinHash + MinHashLSH, the best-known library) on the same examples, same run.

Each side gets the same normalized words of generated chat examples (``make_chat_file``) with 2%
planted near copies (one word changed; those at exact Jaccard >= 0.8 are the ground truth) and indexes them; reported: CPU microseconds per example
(index + query/report), the memory the index holds (tracemalloc) and how many planted copies each
found. datasketch is measured only when it is importable (it is no ftx dependency).

Then the index at launch scale (``--index-examples``, default 100,000 generated chat examples, the
last 10% as the validation set): add every example, report each set's duplicates, check the leaks,
as ``ftx run --dry-run`` does. Timed in child processes (CPU of the index work only, the data read
first), interleaved: this checkout against the index as it was before it worked a chunk at a time
(``BEFORE``, read from git; skipped outside a git checkout), with the findings of both compared.
The data has 1% exact copies and 1% one-word edits planted at random places.

Writes benchmarks/results/dedupe.json. Run: .venv/bin/python benchmarks/bench_dedupe.py [--examples 20000]
[--index-examples 100000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_foundation import make_chat_file  # noqa: E402
from results_file import write_result  # noqa: E402


def _examples(n: int):
    from ftx.data.load import iter_examples
    from ftx.data.minhash import near_words, shingle_hashes
    from ftx.example import Example, Message

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "chat.jsonl"
        make_chat_file(path, n)
        data = list(iter_examples(str(path)))
    rng = random.Random(0)
    planted = []
    for i in rng.sample(range(n), n // 50):
        m = data[i].messages
        words = m[2].content.split()
        words[len(words) // 2] = "CHANGED"
        copy = Example([m[0], m[1], Message("assistant", " ".join(words))])
        # Ground truth: planted copies whose exact shingle Jaccard reaches the 0.8 threshold (one
        # changed word in a short example leaves less).
        a, b = shingle_hashes(near_words(data[i])), shingle_hashes(near_words(copy))
        if len(a & b) / len(a | b) >= 0.8:
            planted.append((i, len(data)))
        data.append(copy)
    return data, planted


def _measure(fn):
    """(CPU seconds, bytes the index holds, planted copies found): timed without tracing, then
    run again under tracemalloc for the memory (tracing slows allocation-heavy code ~10x)."""
    started = time.process_time()
    kept, found = fn()
    cpu = time.process_time() - started
    del kept
    tracemalloc.start()
    kept, _ = fn()
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del kept
    return cpu, held, found


def ftx_index(data, planted, numpy: bool):
    os.environ["FTX_DEDUPE_NUMPY"] = "1" if numpy else "0"
    from ftx.data.dedupe import DedupeIndex

    def run():
        index = DedupeIndex()
        for i, e in enumerate(data):
            index.add(e, where=str(i))
        report = index.report()
        pairs = {tuple(sorted(int(x) for x in g.lines)) for g in report.near_groups}
        return index, sum(1 for a, b in planted if (a, b) in pairs)

    return _measure(run)


def datasketch_index(data, planted):
    from datasketch import MinHash, MinHashLSH

    from ftx.data.minhash import SHINGLE, near_words

    def run():
        lsh = MinHashLSH(threshold=0.8, num_perm=128)
        template = MinHash(num_perm=128)  # permutations made once and shared, as its docs advise
        hashes = {}
        for i, e in enumerate(data):
            words = near_words(e)
            shingles = {" ".join(words[j:j + SHINGLE]).encode() for j in range(max(1, len(words) - SHINGLE + 1))}
            m = MinHash(num_perm=128, permutations=template.permutations, scheme=template.scheme)
            m.update_batch(shingles)
            lsh.insert(i, m)
            hashes[i] = m
        found = sum(1 for a, b in planted if b in lsh.query(hashes[a]))
        return (lsh, hashes), found

    return _measure(run)


BEFORE = "d4c02b7"  # the last commit whose index fingerprinted one example per add() call
ROOT = HERE.parent


def _child(path: str, validation_share: float) -> None:
    """In a child process: read ``path``, then time the index work of a launch's plan (print JSON)."""
    from ftx.data.dedupe import DedupeIndex
    from ftx.data.load import iter_examples

    data = list(iter_examples(path))
    import numpy  # noqa: F401  (imported by the data read on a real launch; not timed here)

    cut = len(data) - int(len(data) * validation_share)
    started = time.process_time()
    index = DedupeIndex()
    for example in data[:cut]:
        index.add(example, side=0)
    train = index.report(side=0)
    for example in data[cut:]:
        index.add(example, side=1)
    validation = index.report(side=1)
    leaks = index.leaks()
    cpu = time.process_time() - started
    findings = {"train": train.to_dict(max_groups=10**9), "validation": validation.to_dict(max_groups=10**9),
                "leaks": leaks.to_dict()}
    print(json.dumps({"cpu_s": cpu, "examples": len(data), "validation": len(data) - cut, "findings": findings}))


def _before_tree(tmp: Path) -> Path | None:
    """A folder whose ``ftx`` package is ``core/`` at commit ``BEFORE``, with that commit's
    ``plugins/`` and ``providers/`` as its subpackages (as pyproject maps them: without them the
    editable install would import today's, which may need names the old core lacks); None
    outside git."""
    try:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", BEFORE, "core", "plugins", "providers"],
                                 capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    import io
    import tarfile

    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(tmp / "tree", filter="data")
    for sub in ("plugins", "providers"):
        (tmp / "tree" / "core" / sub).symlink_to(tmp / "tree" / sub)
    (tmp / "pkg").mkdir()
    (tmp / "pkg" / "ftx").symlink_to(tmp / "tree" / "core")
    return tmp / "pkg"


def _plant(path: Path, share: float = 0.01, seed: int = 1) -> None:
    """Add exact copies and one-word edits of ``share`` of the lines each, at random places (so
    both sets get copies, and some validation examples copy training ones)."""
    rng = random.Random(seed)
    lines = path.read_text().splitlines()
    copies = []
    for i in rng.sample(range(len(lines)), int(len(lines) * share)):
        copies.append(lines[i])
    for i in rng.sample(range(len(lines)), int(len(lines) * share)):
        record = json.loads(lines[i])
        words = record["messages"][2]["content"].split()
        words[len(words) // 2] = "changed"
        record["messages"][2]["content"] = " ".join(words)
        copies.append(json.dumps(record))
    for line in copies:
        lines.insert(rng.randrange(len(lines) + 1), line)
    path.write_text("\n".join(lines) + "\n")


def _compare(before: dict, now: dict) -> dict:
    """Which findings of the two indexes agree (exact ones must; near ones may differ by the
    chance of the LSH, since the word hash changed)."""
    def exact_leaks(f):
        return [leak for leak in f["leaks"]["leaks"] if leak["kind"] == "exact"]

    return {"exact": all(before[s]["exact_groups"] == now[s]["exact_groups"] for s in ("train", "validation")),
            "exact_leaks": exact_leaks(before) == exact_leaks(now),
            "near_duplicates": [before["train"]["near_duplicates"] + before["validation"]["near_duplicates"],
                                now["train"]["near_duplicates"] + now["validation"]["near_duplicates"]],
            "leaks": [before["leaks"]["leaked"], now["leaks"]["leaked"]], "all": before == now}


def index_at_scale(n: int, repeats: int) -> dict:
    """The launch's index work on ``n`` examples: this checkout vs ``BEFORE``, interleaved."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "chat.jsonl"
        make_chat_file(path, n)
        _plant(path)
        variants = {"ftx": None, "before": _before_tree(Path(tmp))}
        runs: dict[str, list[dict]] = {name: [] for name, tree in variants.items() if name == "ftx" or tree}
        for _ in range(repeats):
            for name in runs:
                env = dict(os.environ)
                env.pop("FTX_DEDUPE_NUMPY", None)
                if variants[name] is not None:
                    env["PYTHONPATH"] = str(variants[name])
                done = subprocess.run([sys.executable, __file__, "--child", str(path)], env=env,
                                      capture_output=True, text=True, check=True)
                runs[name].append(json.loads(done.stdout))
    n = runs["ftx"][0]["examples"]
    out: dict = {"examples": n, "validation": runs["ftx"][0]["validation"], "repeats": repeats,
                 "before_commit": BEFORE if "before" in runs else None, "variants": {}}
    for name, results in runs.items():
        cpu = [r["cpu_s"] for r in results]
        out["variants"][name] = {"cpu_s": round(statistics.median(cpu), 3), "cpu_s_per_repeat": [round(c, 3) for c in cpu],
                                 "us_per_example": round(statistics.median(cpu) / n * 1e6, 1)}
    f = runs["ftx"][0]["findings"]
    out["findings"] = {"exact_duplicates": f["train"]["exact_duplicates"] + f["validation"]["exact_duplicates"],
                       "near_duplicates": f["train"]["near_duplicates"] + f["validation"]["near_duplicates"],
                       "leaks": f["leaks"]["leaked"]}
    if "before" in runs:
        out["ratio"] = round(out["variants"]["before"]["cpu_s"] / out["variants"]["ftx"]["cpu_s"], 2)
        out["agreement"] = _compare(runs["before"][0]["findings"], f)
    for name, v in out["variants"].items():
        print(f"  index of {n:,} examples, {name}: {v['cpu_s']} s CPU (per repeat {v['cpu_s_per_repeat']})", flush=True)
    if "ratio" in out:
        print(f"  before / ftx: {out['ratio']}x; findings (before vs ftx): {out['agreement']}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=20_000)
    parser.add_argument("--index-examples", type=int, default=100_000, help="0: skip the index at launch scale")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(HERE / "results" / "dedupe.json"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, 0.1)
        return
    data, planted = _examples(args.examples)
    rows = {}
    for name, fn in (("ftx_numpy", lambda: ftx_index(data, planted, True)),
                     ("ftx_pure_python", lambda: ftx_index(data, planted, False)),
                     ("datasketch", lambda: datasketch_index(data, planted))):
        try:
            cpu, held, found = fn()
        except ImportError as exc:
            print(f"  {name}: not measured ({exc})")
            continue
        rows[name] = {"us_per_example": round(cpu / len(data) * 1e6, 1), "index_mb": round(held / 2**20, 1),
                      "bytes_per_example": round(held / len(data)), "planted_found": found}
        print(f"  {name}: {rows[name]['us_per_example']} us/example, {rows[name]['index_mb']} MB, "
              f"{found}/{len(planted)} planted copies found", flush=True)
    result = {"examples": len(data), "planted": len(planted), "variants": rows,
              "load_average": [round(x, 2) for x in os.getloadavg()]}
    if args.index_examples:
        result["index_at_scale"] = index_at_scale(args.index_examples, args.repeats)
        result["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    if "datasketch" in rows:
        import datasketch

        result["datasketch_version"] = getattr(datasketch, "__version__", "?")
    out = write_result(args.out, result)
    print(f"-> {out}")


if __name__ == "__main__":
    main()
