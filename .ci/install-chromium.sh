#!/bin/sh
# Installs Debian's chromium for the browser test of /docs (test/docs/docs-page.test.ts), unless
# /usr/bin/chromium is already there. Idempotent and quiet; run as root (CI containers are).
set -eu

if [ -x /usr/bin/chromium ]; then
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends chromium >/dev/null

# Fail here rather than in a test that would only skip. (Debian's wrapper script prints shell
# warnings of its own on some machines; only the exit status matters.)
/usr/bin/chromium --version >/dev/null 2>&1 || { echo "install-chromium: /usr/bin/chromium does not run" >&2; exit 1; }
