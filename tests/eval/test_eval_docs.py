"""The backend-inference example in docs/plugins.md runs, and ftx eval can use the backend it adds."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

from ftx.testing import register_plugin

DOC = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def example_module() -> types.ModuleType:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Backend inference", 1)[1].split("\n## ", 1)[0]
    code = section.split("```python\n", 1)[1].split("\n```", 1)[0]
    module = types.ModuleType("ftx_docs_example_inference")
    sys.modules[module.__name__] = module
    exec(compile(code, "<docs/plugins.md ## Backend inference>", "exec"), module.__dict__)
    return module


def test_backend_inference_example(ftx_home, tmp_path, cli):
    from ftx.components import get_backend
    from ftx.example import Message
    from ftx.inference import GenerationParams, ModelRef

    module = example_module()
    try:
        with register_plugin(module, "echo-docs"):
            backend = get_backend("echo")
            gen = backend.generator(ModelRef("echo", "base", "echo-1"), GenerationParams(max_new_tokens=2))
            assert gen.generate(["hello world", [Message("user", "a question")]]) == ["hello wo", "a questi"]
            assert gen.estimate_cost(["x"]) is None  # free
            rows = "".join(json.dumps({"messages": [{"role": "user", "content": f"say {w}"},
                                                    {"role": "assistant", "content": f"say {w}"}]}) + "\n"
                           for w in ("a", "b", "c", "d", "e", "f"))
            (tmp_path / "train.jsonl").write_text(rows)
            (tmp_path / "test.jsonl").write_text(rows.replace("say", "tell"))
            recipe = tmp_path / "r.yaml"
            recipe.write_text("name: echo\nmodel: {echo: echo-1}\ndata: {train: train.jsonl}\n"
                              "eval: {test: test.jsonl, metrics: [exact_match], bootstrap: 100,\n"
                              "       generation: {max_new_tokens: 4}}\n")
            r = cli("eval", recipe, "--backend", "echo", "--baseline-only", "--json")
            assert r.exit_code == 0, r.stderr
            report = json.loads(r.stdout)
            assert report["systems"]["zero_shot"]["scores"]["exact_match"]["value"] == 100.0
    finally:
        sys.modules.pop(module.__name__, None)
