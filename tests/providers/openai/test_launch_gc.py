"""The garbage collector during a hosted launch: the SDK's import (hundreds of thousands of
objects, all kept) would trigger a full collection that scans every example, record and upload
byte string the command holds (~0.3 s at 100k examples), so ``connect`` runs with it paused; it
runs again afterwards and nothing stays frozen (an in-process caller, like this test session,
collects as usual)."""

from __future__ import annotations

import gc

from openai_test_helpers import chat_lines


def test_the_provider_is_connected_with_the_collector_paused(cli, fake_openai, make_recipe, monkeypatch):
    from ftx.providers.openai.backend import OpenAIBackend

    seen: list[bool] = []
    connect = OpenAIBackend.connect

    def watched(self, connection):
        seen.append(gc.isenabled())
        return connect(self, connection)

    monkeypatch.setattr(OpenAIBackend, "connect", watched)
    assert gc.isenabled() and gc.get_freeze_count() == 0
    r = cli("run", make_recipe(train=chat_lines(30)), "--backend", "openai", "--yes", "--detach")
    assert r.exit_code == 0, r
    assert seen == [False] and len(fake_openai.jobs) == 1
    assert gc.isenabled() and gc.get_freeze_count() == 0
