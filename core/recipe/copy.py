"""Copy a shipped recipe and the data files it names, so the user owns both."""

from __future__ import annotations

import shutil
from pathlib import Path

from ..errors import RecipeError
from .shipped import find_recipe
from .yamlmap import load_yaml


def copy_recipe(source: str, dest: str, force: bool = False) -> list[Path]:
    src = find_recipe(source)
    dst = Path(dest)
    data = load_yaml(src.read_text(encoding="utf-8"), str(src)).data or {}
    refs = [v for k, v in (data.get("data") or {}).items() if k in ("train", "validation") and v]
    test = (data.get("eval") or {}).get("test") if isinstance(data.get("eval"), dict) else None
    refs += [test] if isinstance(test, str) else []  # the held-out test set travels with the recipe
    copies = [(src, dst)] + [(src.parent / ref, dst.parent / ref) for ref in refs
                             if not Path(ref).is_absolute() and (src.parent / ref).is_file()]
    existing = [str(d) for _, d in copies if d.exists()]
    if existing and not force:
        raise RecipeError(f"would overwrite {', '.join(existing)} (use --force)")
    written = []
    for s, d in copies:
        d.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(s, d)
        written.append(d)
    return written
