#!/usr/bin/env bash
# The main job on embedded defaults (SQLite, in-memory live state): seeds the demo tenant and
# shows where its calls go. Extra arguments go to `pbx demo`.
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh
exec .venv/bin/pbx demo "$@"
