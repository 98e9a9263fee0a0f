#!/usr/bin/env bash
# Create .venv and install ftx (editable) with the extras named in $1 (default: local).
# torch is pinned (torch==2.13.0, in the `local` extra) so pip takes the CPU wheel instead of a
# multi-GB CUDA build; it is installed in the same command as everything else that needs it.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-local}"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[${extras}]"
