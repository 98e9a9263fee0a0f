#!/usr/bin/env bash
# Install ftx with the local backend and fine-tune the embedded tiny model, offline, on CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh local,eval
export HF_HUB_OFFLINE=1
.venv/bin/ftx run quickstart --backend local "$@"
