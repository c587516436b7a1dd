#!/usr/bin/env bash
# Makes Debian's Chromium available for the browser tests (Playwright drives it; it never downloads one).
set -euo pipefail
if [ -n "${PBX_TEST_CHROMIUM:-}" ]; then exit 0; fi
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing chromium from Debian's packages for the browser tests" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "/usr/bin/chromium not found: install Debian's chromium or set PBX_TEST_CHROMIUM to a Chromium binary" >&2
  exit 1
fi
