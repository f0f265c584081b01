#!/usr/bin/env bash
# Headless Chromium for the browser tests (tests/test_web_browser.py): the Debian packages, since
# playwright's own browser download is not available here. The Python `playwright` package comes
# from the `test` extra in pyproject.toml and drives /usr/bin/chromium.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-browser: no /usr/bin/chromium and no apt-get; install Chromium yourself (browser tests will skip unless HEP_REQUIRE_BROWSER is set)" >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-browser: not root and no sudo; install chromium yourself" >&2; exit 0; fi
fi
echo "installing chromium (Debian packages) for the browser tests ..." >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
test -x /usr/bin/chromium
