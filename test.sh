#!/usr/bin/env bash
# The whole test suite: lint, types, and pytest on SQLite and on a real PostgreSQL and Redis that
# the suite starts itself (installed here from Debian's packages when the machine lacks them).
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh
scripts/ensure-postgres.sh
scripts/ensure-redis.sh
scripts/ensure-media-tools.sh
scripts/ensure-browser.sh
.venv/bin/ruff check .
.venv/bin/mypy
exec .venv/bin/python -m pytest -q "$@"
