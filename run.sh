#!/usr/bin/env bash
# The main job on embedded defaults: the controller (`pbx up`) with SQLite, in-memory live state
# and, since no Asterisk is configured, the simulator in-process. It seeds the demo company,
# places two simulated calls through the whole stack, prints each step, then serves until
# Ctrl-C (health: http://127.0.0.1:8080/health). Extra arguments go to `pbx up`.
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh
exec .venv/bin/pbx up "$@"
