#!/usr/bin/env bash
# Create .venv and install ftx (editable) with the extras named in $1 (default: local).
# torch is pinned (torch==2.13.0, in the `local` extra) so pip takes the CPU wheel instead of a
# multi-GB CUDA build; it is installed in the same command as everything else that needs it.
# Progress: one line per package pip collects or builds (not pip's full log, nor the build
# backend's notices); the full log is kept in .venv/setup.log for when something fails.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-local}"
start=$(date +%s)
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  python3 -m venv .venv
fi
echo "setup: upgrading pip"
.venv/bin/python -m pip install -q --upgrade pip
echo "setup: installing ftx[${extras}] (editable; about a minute on a fresh machine)"
log=.venv/setup.log
if ! .venv/bin/python -m pip install --progress-bar off -e ".[${extras}]" >"$log" 2>&1 < /dev/null; then
  tail -n 40 "$log" >&2
  echo "setup: pip failed; full log in $log" >&2
  exit 1
fi
grep -E "^(Collecting|Building wheel|Successfully installed)" "$log" | sed -E 's/^/setup:   /' | cut -c1-160 || true
echo "setup: done in $(( $(date +%s) - start ))s"
