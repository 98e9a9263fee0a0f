"""ftx.environ: variables set for a block and restored after it, whatever the block raised."""

from __future__ import annotations

import os

import pytest

from ftx.environ import environ


def test_values_hold_inside_and_the_old_environment_returns(monkeypatch):
    monkeypatch.setenv("FTX_TEST_WAS_SET", "before")
    monkeypatch.delenv("FTX_TEST_WAS_UNSET", raising=False)
    with pytest.raises(RuntimeError):
        with environ({"FTX_TEST_WAS_SET": "inside", "FTX_TEST_WAS_UNSET": "inside"}):
            assert os.environ["FTX_TEST_WAS_SET"] == os.environ["FTX_TEST_WAS_UNSET"] == "inside"
            raise RuntimeError("the block failed")
    assert os.environ["FTX_TEST_WAS_SET"] == "before"
    assert "FTX_TEST_WAS_UNSET" not in os.environ
