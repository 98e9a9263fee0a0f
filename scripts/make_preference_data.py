"""Build recipes/data/preferences.jsonl (used by recipes/dpo.yaml) from the quickstart data.

Each pair keeps a quickstart question, its correct answer as ``chosen`` and another question's answer
as ``rejected``, so a model that learned the task prefers ``chosen``. Deterministic (seeded).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "recipes" / "data"


def main(n: int = 200, seed: int = 7) -> None:
    rows = [json.loads(line) for line in (DATA / "quickstart.jsonl").read_text().splitlines() if line.strip()]
    pairs = [(r["messages"][0]["content"], r["messages"][-1]["content"]) for r in rows]
    rng = random.Random(seed)
    out = []
    for question, answer in rng.sample(pairs, min(n, len(pairs))):
        wrong = answer
        while wrong == answer:
            wrong = rng.choice(pairs)[1]
        out.append({"prompt": question, "chosen": answer, "rejected": wrong})
    (DATA / "preferences.jsonl").write_text("".join(json.dumps(o) + "\n" for o in out))
    print(f"wrote {len(out)} pairs to {DATA / 'preferences.jsonl'}")


if __name__ == "__main__":
    main()
