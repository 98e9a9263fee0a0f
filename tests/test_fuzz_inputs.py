"""Fuzzing (hypothesis) of the data readers and the recipe loader: whatever the bytes, the
outcome is records, located problems or one FtxError, never another exception."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from ftx.errors import FtxError

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

_json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20))
_json = st.recursive(_json_leaf, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                         st.dictionaries(st.text(max_size=8), kids, max_size=4)),
                     max_leaves=20)
_role = st.sampled_from(["user", "assistant", "system", "tool", "bot", ""])
_message = st.fixed_dictionaries({"role": _role, "content": st.one_of(st.text(max_size=30), _json)})
_record = st.one_of(_json, st.fixed_dictionaries({"messages": st.lists(_message, max_size=4)}),
                    st.fixed_dictionaries({"prompt": st.text(max_size=20), "completion": _json}))
_nasty = st.sampled_from(["1" * 5000, "[" * 2000, "{" * 1500 + "}" * 1500, '"\\ud800"', "\x00", "\ufeff",
                          '"unterminated', "NaN", "-Infinity", "1e99999", ",", "\n\n", "\r"])


def _lines(records: list, junk: list[str]) -> str:
    out = [json.dumps(r) for r in records] + junk
    return "\n".join(out) + "\n"


def _exercise(path: Path) -> None:
    from ftx.data.load import iter_parsed
    from ftx.data.readers import read_records
    from ftx.data.validate import validate_file

    try:
        for record in read_records(str(path)):
            assert record.error is None or isinstance(record.error, str)
        list(iter_parsed(str(path)))
        validate_file(str(path))
    except FtxError:
        pass


@SETTINGS
@given(records=st.lists(_record, max_size=5), junk=st.lists(st.one_of(_nasty, st.text(max_size=40)), max_size=3),
       suffix=st.sampled_from([".jsonl", ".json", ".csv"]), raw=st.binary(max_size=200), as_bytes=st.booleans())
def test_data_readers_give_only_clean_errors(records, junk, suffix, raw, as_bytes):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"data{suffix}"
        if as_bytes:
            path.write_bytes(raw)
        elif suffix == ".json":
            path.write_text("[" + ",".join([json.dumps(r) for r in records] + junk) + "]", encoding="utf-8",
                            errors="surrogatepass")
        elif suffix == ".csv":
            path.write_text("messages,prompt\n" + "".join(f'"{json.dumps(r)}",{j!r}\n' for r, j in
                                                          zip(records, junk + [""] * len(records))),
                            encoding="utf-8", errors="surrogatepass")
        else:
            path.write_text(_lines(records, junk), encoding="utf-8", errors="surrogatepass")
        _exercise(path)


RECIPE = {"name": "fz", "model": {"local": "ftx/tiny-llama"}, "data": {"train": "t.jsonl"},
          "method": {"name": "lora"}, "hyperparameters": {"epochs": 1}}
_yaml_junk = st.sampled_from(["&a [*a]", "!!python/object:os.system x", "[" * 500, "? ", "- - -", "\t",
                              "a: &x [1]\nb: [*x, *x]", "name: !!binary AAAA", "<<: 5", "\x00", "{a: 1, a: 2}",
                              "%YAML 9.9", "---\n---", ".inf", "true", "2**40", "'''"])


@SETTINGS
@given(changes=st.dictionaries(st.sampled_from(["name", "model", "data", "method", "hyperparameters", "eval",
                                                 "backends", "objective", "output_dir", "extra"]),
                               _json, max_size=3),
       junk=st.lists(st.one_of(_yaml_junk, st.text(max_size=30)), max_size=2),
       raw=st.binary(max_size=120), as_bytes=st.booleans(), overrides=st.lists(
           st.sampled_from(["hyperparameters.epochs=true", "hyperparameters.seed=99999999999",
                            "backends=[a]", "data.format=zz", "method.r=-1", "x", "=", "a.b.c=[1"]), max_size=2))
def test_the_recipe_loader_gives_only_clean_errors(changes, junk, raw, as_bytes, overrides):
    import yaml

    from ftx.recipe import load_recipe

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.yaml"
        if as_bytes:
            path.write_bytes(raw)
        else:
            text = yaml.safe_dump({**RECIPE, **changes}, allow_unicode=True) + "\n".join(junk)
            path.write_text(text, encoding="utf-8", errors="surrogatepass")
        for backend in ("local", None):
            try:
                load_recipe(path, overrides, backend=backend)
            except FtxError as exc:
                assert all("Traceback" not in line for line in exc.lines())
