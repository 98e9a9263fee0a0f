"""The console script freezes what is alive when the interpreter shuts down, after the other
exit handlers: shutdown's full garbage collections then skip it (after a command on a large
data set, millions of objects scanned again for nothing). A process that calls ``main`` and goes
on keeps collecting as before."""

from __future__ import annotations

import json
import subprocess
import sys

DRIVER = """
import atexit, gc, json, sys
seen = {}
atexit.register(lambda: print(json.dumps({**seen, "at_exit": gc.get_freeze_count() > 0})))
sys.argv = ["ftx", "--version"]
from ftx.cli import main
for _ in range(2):
    try:
        main()
    except SystemExit:
        pass
seen["after_main"] = gc.get_freeze_count()
seen["enabled"] = gc.isenabled()
"""


def test_the_console_script_freezes_only_when_the_process_ends():
    proc = subprocess.run([sys.executable, "-c", DRIVER], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {"after_main": 0, "enabled": True, "at_exit": True}
