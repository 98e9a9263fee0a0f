#!/usr/bin/env bash
# Install ftx with every extra and the dev tools, then run the whole test suite (no network needed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh "all,dev"
bash scripts/postgres.sh  # server binaries for the PostgreSQL registry tests (they start their own server)
export HF_HUB_OFFLINE=1
.venv/bin/python -m pytest "$@"
