#!/usr/bin/env bash
# Makes redis-server available for the tests (unless a server URL is given).
set -euo pipefail
if [ -n "${PBX_TEST_REDIS_URL:-}" ]; then exit 0; fi
if command -v redis-server >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing redis-server from Debian's packages for the tests" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
else
  echo "redis-server not found: install it or set PBX_TEST_REDIS_URL" >&2
  exit 1
fi
