"""Build recipes/data/feedback.jsonl (used by recipes/kto.yaml) from the quickstart data.

KTO learns from unpaired feedback: each record is one answer with a thumbs up or down. Each
quickstart question appears once, either with its correct answer (``label: true``) or with another
question's answer (``label: false``), so no question has both and the data holds no pairs; about
60% are desirable, as collected feedback usually leans. Deterministic (seeded).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "recipes" / "data"


def main(n: int = 200, seed: int = 11, desirable: float = 0.6) -> None:
    rows = [json.loads(line) for line in (DATA / "quickstart.jsonl").read_text().splitlines() if line.strip()]
    pairs = [(r["messages"][0]["content"], r["messages"][-1]["content"]) for r in rows]
    rng = random.Random(seed)
    out = []
    for question, answer in rng.sample(pairs, min(n, len(pairs))):
        if rng.random() < desirable:
            out.append({"prompt": question, "completion": answer, "label": True})
            continue
        wrong = answer
        while wrong == answer:
            wrong = rng.choice(pairs)[1]
        out.append({"prompt": question, "completion": wrong, "label": False})
    (DATA / "feedback.jsonl").write_text("".join(json.dumps(o) + "\n" for o in out))
    good = sum(o["label"] for o in out)
    print(f"wrote {len(out)} examples ({good} desirable, {len(out) - good} undesirable) to {DATA / 'feedback.jsonl'}")


if __name__ == "__main__":
    main()
