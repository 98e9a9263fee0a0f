"""Near-duplicate detection: ftx's index (numpy fingerprints, and its pure-Python twin) against
``datasketch`` (MinHash + MinHashLSH, the best-known library) on the same examples, same run.

Each side gets the same normalized words of generated chat examples (``make_chat_file``) with 2%
planted near copies (one word changed; those at exact Jaccard >= 0.8 are the ground truth) and indexes them; reported: CPU microseconds per example
(index + query/report), the memory the index holds (tracemalloc) and how many planted copies each
found. datasketch is measured only when it is importable (it is no ftx dependency).

Writes benchmarks/results/dedupe.json. Run: .venv/bin/python benchmarks/bench_dedupe.py [--examples 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=20_000)
    parser.add_argument("--out", default=str(HERE / "results" / "dedupe.json"))
    args = parser.parse_args()
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
    if "datasketch" in rows:
        import datasketch

        result["datasketch_version"] = getattr(datasketch, "__version__", "?")
    out = write_result(args.out, result)
    print(f"-> {out}")


if __name__ == "__main__":
    main()
