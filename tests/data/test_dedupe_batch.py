"""The duplicate index works a chunk at a time in numpy (ftx.data.dedupe_batch) and gives exactly
what the per-example pure-Python functions give: the same exact hashes, the same normalized words
and word ids, hence the same reports and leaks, on every kind of example (plain chat, tool calls,
weights, preference pairs, non-ASCII text, odd roles, system-only and empty examples)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import pytest

np = pytest.importorskip("numpy")

from ftx.data import dedupe, minhash  # noqa: E402
from ftx.data.dedupe_batch import Chunk  # noqa: E402
from ftx.example import Example, Message, Source  # noqa: E402

VOCAB = ["alpha", "Bravo", "charlie!", "délta", "echo", "你好", "Kelvin\u212a", "x_y", "foo-bar", "42",
         "naïve", "ÜBER", "a.b", "supercalifragilistic", "tab\there"]
CALL = [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]


def diverse(n: int, seed: int) -> list[Example]:
    """``n`` examples of every shape, then exact copies and one-word edits of some, shuffled."""
    rng = random.Random(seed)

    def text(k: int) -> str:
        pool = VOCAB[:9] if rng.random() < 0.8 else VOCAB
        return " ".join(rng.choice(pool) for _ in range(k))

    out = []
    for i in range(n):
        src = Source("d.jsonl" if i % 7 else "e.jsonl", i + 1)
        msgs = [Message("system", "Sys " + text(3))] if rng.random() < 0.7 else []
        msgs.append(Message(rng.choice(["user", "user", "human-ish", "developer"]),
                            text(rng.randint(0, 12)) if rng.random() < 0.95 else None))
        msgs.append(Message("assistant", text(rng.randint(1, 60)), weight=rng.choice([None, None, None, 0, 1])))
        shape = rng.random()
        if shape < 0.1:
            msgs += [Message("assistant", None, tool_calls=CALL), Message("tool", "result " + text(2), tool_call_id="c1")]
        if shape > 0.95:
            e = Example(msgs[:-1], kind="preference", chosen=[Message("assistant", text(10))],
                        rejected=[Message("assistant", text(10))], source=src)
        elif shape > 0.93:
            e = Example([Message("system", text(5))], source=src)  # text in the system prompt only
        elif shape > 0.92:
            e = Example([], source=src)
        else:
            e = Example(msgs, source=src, meta={"i": i})
        out.append(e)
    for j in range(0, n, 17):  # exact copies (meta differs)
        e = out[j]
        out.append(Example(e.messages, kind=e.kind, chosen=e.chosen, rejected=e.rejected, source=Source("d.jsonl", 10_000 + j)))
    for j in range(3, n, 23):  # near copies: a word added to the assistant's text
        e = out[j]
        msgs = [Message(m.role, m.content + " changed" if m.content and m.role == "assistant" else m.content,
                        m.name, m.weight, m.tool_calls, m.tool_call_id) for m in e.messages]
        out.append(Example(msgs, kind=e.kind, chosen=e.chosen, rejected=e.rejected, source=Source("d.jsonl", 20_000 + j)))
    rng.shuffle(out)
    return out


def test_chunk_exact_hashes_and_words_equal_the_per_example_functions():
    data = diverse(1500, 2)
    chunk = Chunk(data)
    assert chunk.exact_hashes() == [minhash.exact_hash(e) for e in data]
    keep = np.ones(len(data), dtype=bool)
    keep[::3] = False
    ids, counts = chunk.near_ids(keep)
    kept = [e for e, k in zip(data, keep) if k]
    assert counts.tolist() == [len(minhash.near_words(e)) for e in kept]
    assert ids.tolist() == [i for e in kept for i in minhash.word_ids(minhash.near_words(e))]
    assert counts.min() == 0  # empty examples were among them


def test_an_all_ascii_chunk_takes_the_one_translate_path_and_agrees():
    data = [Example([Message("system", "S"), Message("user", f"Q{i}: What's UP?"), Message("assistant", "ok " * i)])
            for i in range(300)]
    ids, counts = Chunk(data).near_ids(np.ones(len(data), dtype=bool))
    assert ids.tolist() == [i for e in data for i in minhash.word_ids(minhash.near_words(e))]
    assert counts.tolist() == [len(minhash.near_words(e)) for e in data]


def test_exact_hash_ignores_meta_and_none_text_but_not_roles_kinds_or_fields():
    def chat(*messages, kind="chat", **kw):
        return Example(list(messages), kind=kind, **kw)

    base = chat(Message("user", "hi"), Message("assistant", None))
    same = [chat(Message("user", "hi"), Message("assistant", ""), meta={"id": 3}), base]
    other = [chat(Message("assistant", "hi"), Message("assistant", None)), chat(Message("user", "hi")),
             chat(Message("user", "hi"), Message("assistant", None), kind="completion"),
             chat(Message("user", "hi"), Message("assistant", None, weight=0)),
             chat(Message("user", "hi"), Message("assistant", None), tools=[{"type": "function"}]),
             chat(Message("user", "h"), Message("assistant", "i"))]
    hashes = Chunk(same + other).exact_hashes()
    assert hashes[0] == hashes[1] == minhash.exact_hash(base)
    assert len(set(hashes[1:])) == len(other) + 1


def test_the_chunked_and_pure_python_indexes_report_the_same(monkeypatch):
    data = diverse(3000, 3)
    cut = int(len(data) * 0.8)

    def findings():
        index = dedupe.DedupeIndex()
        for k, e in enumerate(data[:cut]):
            index.add(e, where=f"L{k}" if k % 5 == 0 else None)
        train = index.report(side=0).to_dict(max_groups=10**6)
        for e in data[cut:]:
            index.add(e, side=1)
        return [train, index.report(side=1).to_dict(max_groups=10**6), index.report().to_dict(max_groups=10**6),
                index.leaks().to_dict()]

    chunked = findings()
    monkeypatch.setenv("FTX_DEDUPE_NUMPY", "0")
    assert findings() == chunked
    train, validation, both, leaks = chunked
    assert train["exact_duplicates"] > 100 and train["near_duplicates"] > 50
    assert validation["exact_duplicates"] > 0 and leaks["leaked"] > 50
    assert any(g["lines"][0].startswith("L") for g in both["exact_groups"] + both["near_groups"])


def test_the_memory_bound_cuts_both_twins_at_the_same_example(monkeypatch):
    data = diverse(3000, 4)
    monkeypatch.setenv("FTX_DEDUPE_MAX_MB", "0.6")
    chunked = dedupe.find_duplicates(data).to_dict(max_groups=10**6)
    monkeypatch.setenv("FTX_DEDUPE_NUMPY", "0")
    assert dedupe.find_duplicates(data).to_dict(max_groups=10**6) == chunked
    assert chunked["near_limited"] and 0 < chunked["near_checked"] < len(data)


SCRIPT = """
import json, sys
sys.path.insert(0, {tests!r})
from test_dedupe_batch import diverse
from ftx.data.dedupe import find_duplicates
print(json.dumps(find_duplicates(diverse(1000, 5)).to_dict(max_groups=10**6)))
"""


def test_exact_classes_do_not_depend_on_python_hash_seed():
    # Exact hashes build on Python's seeded string hash: only their equality may matter.
    outputs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", SCRIPT.format(tests=os.path.dirname(__file__))], env=env,
                              capture_output=True, text=True, check=True)
        outputs.append(json.loads(done.stdout))
    assert outputs[0] == outputs[1]
    assert outputs[0]["exact_duplicates"] >= 50 and outputs[0]["near_duplicates"] > 10
