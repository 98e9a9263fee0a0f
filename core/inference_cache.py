"""The response cache of paid inference: an answer is bought once per (model, prompt, parameters).

A SQLite file in the ftx home (``cache/inference.db``). Keys are sha256 of the backend, the
service it reached (no credentials), the model id, the prompt and the decoding parameters;
values are the answer and its token usage. Each answer is stored the moment it arrives, so an
evaluation that dies half-way pays again only for what it never received.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from .home import ftx_home


def prompt_json(prompt: Any) -> Any:
    if isinstance(prompt, str):
        return prompt
    return [{"role": m.role, "content": m.content or ""} for m in prompt]


def cache_key(backend: str, service: str | None, model: str, prompt: Any, params: dict[str, Any]) -> str:
    blob = json.dumps({"backend": backend, "service": service or "", "model": model, "prompt": prompt_json(prompt),
                       "params": params}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ResponseCache:
    def __init__(self, path: Path | None = None):
        self.path = path or (ftx_home() / "cache" / "inference.db")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, answer TEXT NOT NULL, "
                           "usage TEXT, created_at TEXT DEFAULT CURRENT_TIMESTAMP)")
        self._conn.commit()

    def get(self, key: str) -> tuple[str, dict[str, Any]] | None:
        with self._lock:
            row = self._conn.execute("SELECT answer, usage FROM answers WHERE key = ?", (key,)).fetchone()
        return None if row is None else (row[0], json.loads(row[1] or "{}"))

    def put(self, key: str, answer: str, usage: dict[str, Any] | None = None) -> None:
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO answers (key, answer, usage) VALUES (?, ?, ?)",
                               (key, answer, json.dumps(usage or {})))
            self._conn.commit()

    def close(self) -> None:
        with self._lock:
            self._conn.close()
