#!/usr/bin/env bash
# The project's one test command: installs what the tests need, then runs the checks and tests.
# Usage: bash tests/run.sh [pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

# The Python to test with: $PYTHON when set; else the active virtual environment's; else README's .venv when
# there is one (so a venv that is not activated is still the one used); else python on PATH.
if [ -z "${PYTHON:-}" ]; then
  if [ -z "${VIRTUAL_ENV:-}" ] && [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python; fi
fi
echo "Testing with $("$PYTHON" -c 'import sys; print(sys.executable)')"

# Debian packages for the browser tests: chromium, an emoji font so screenshots show the notices' icons, and a
# Chinese font for the Chinese page;
# haproxy for the tests of deploy/ (several replicas behind it).
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
[ -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || need+=(fonts-noto-color-emoji)
[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei)  # the Chinese page
command -v openssl >/dev/null || need+=(openssl)  # a self-signed certificate for the TLS test (test_network.py)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing ${need[*]} for the browser tests…"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "Not root, so the browser tests' Debian packages are not installed: ${need[*]}." >&2
    echo "Run 'sudo apt-get install -y ${need[*]}' to run them too; the other tests run now, and" >&2
    echo "pytest lists the browser tests as skipped, with this reason." >&2
  fi
fi

"$PYTHON" -m pip install -q --disable-pip-version-check -r requirements-dev.txt
"$PYTHON" -m ruff check .
"$PYTHON" -m mypy

# The page's scripts and styles (secondme/web/static), linted by Biome (biome.jsonc), pinned in package.json and
# package-lock.json and installed from npm into node_modules/.
if command -v npm >/dev/null; then
  npm ci --no-audit --no-fund --loglevel=error
  npx --no-install biome ci
else
  echo "Biome skipped: npm is not installed, so secondme/web/static is not linted (install Node.js 20+ with npm)." >&2
fi

# Known vulnerabilities in the pinned run-time requirements. pip-audit asks PyPI's JSON API for each
# pinned release (pypi.org/pypi/NAME/VERSION/json); where that cannot be reached (some networks serve only
# the package index), say so rather than pass blind.
probe='import re, urllib.request
name, version = re.search(r"^([A-Za-z0-9_.-]+)==(\S+)", open("requirements.txt").read(), re.M).groups()
urllib.request.urlopen(f"https://pypi.org/pypi/{name}/{version}/json", timeout=5)'
if "$PYTHON" -c "$probe" 2>/dev/null
then
  "$PYTHON" -m pip_audit --strict --no-deps --disable-pip --progress-spinner off -r requirements.txt
else
  echo "pip-audit skipped: PyPI's vulnerability data (pypi.org/pypi/NAME/VERSION/json) is not reachable from here."
fi

# Test files run in parallel, one per core, two or three at a time (pytest-xdist); a file's tests stay together,
# and the browser tests run one at a time (tests/conftest.py groups them). Pass -n 0 to run them one by one.
workers=$("$PYTHON" -c "import os; print(min(max(len(os.sched_getaffinity(0)), 2), 3))")
"$PYTHON" -m pytest -n "$workers" --dist loadgroup "$@"
