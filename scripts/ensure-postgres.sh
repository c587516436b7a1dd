#!/usr/bin/env bash
# Makes PostgreSQL's server binaries available for the tests (unless a server URL is given).
set -euo pipefail
if [ -n "${PBX_TEST_POSTGRES_URL:-}" ]; then exit 0; fi
if command -v initdb >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing PostgreSQL from Debian's packages for the tests" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
else
  echo "PostgreSQL server binaries (initdb) not found: install them or set PBX_TEST_POSTGRES_URL" >&2
  exit 1
fi
