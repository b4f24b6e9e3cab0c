#!/usr/bin/env bash
# First command of the README: set everything up (scripts/setup.sh: .venv + pinned requirements +
# the package) and start the app on 0.0.0.0:7860 with the built-in example (astronaut photo + a
# synthetic sentence) preselected in the Generate tab. Ctrl+C stops it.
#
# Settings (environment, see demo/config.py): FACIAL_PORT, FACIAL_HOST, FACIAL_CHECKPOINT (folder or
# Hugging Face repo id), FACIAL_MAX_UPLOAD_MB, FACIAL_MAX_AUDIO_S, FACIAL_MAX_CLIP_S, FACIAL_CONCURRENCY,
# FACIAL_DATA_ROOT (default: this repository).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export GRADIO_ANALYTICS_ENABLED="${GRADIO_ANALYTICS_ENABLED:-False}"
export FACIAL_HOST="${FACIAL_HOST:-0.0.0.0}" FACIAL_PORT="${FACIAL_PORT:-7860}" FACIAL_EXAMPLE="${FACIAL_EXAMPLE:-1}"
# folders typed in the Benchmark / User-study tabs must lie here (the server listens on all interfaces)
export FACIAL_DATA_ROOT="${FACIAL_DATA_ROOT:-$PWD}"
echo "Starting the FACIAL app — open http://localhost:${FACIAL_PORT}/ once it says it is running (listening on ${FACIAL_HOST}:${FACIAL_PORT})."
exec .venv/bin/python app.py
