#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine: `bash tests/run.sh [pytest args]`.
# Installs what the tests need, starts the real Asterisk 22 sandbox (as root), runs
# pytest over everything (unit, simulator, live Asterisk, notebooks, browser), and
# fails if pytest collects no test. Without root the Asterisk and browser tests skip
# with a one-line reason; with CI=true they never skip.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n==> %s\n' "$*"; }
is_root() { [ "$(id -u)" = 0 ]; }

# Debian's system Python refuses pip installs (PEP 668): use a venv unless one is active.
if [ -z "${VIRTUAL_ENV:-}" ]; then
    if [ ! -x .venv/bin/python ]; then
        say "creating .venv"
        if ! python3 -m venv .venv 2>/dev/null; then
            rm -rf .venv
            if is_root; then
                apt-get update -qq
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
                python3 -m venv .venv
            else
                echo "python3 cannot create a venv: install it with 'sudo apt-get install python3-venv'" >&2
                exit 1
            fi
        fi
    fi
    # shellcheck disable=SC1091
    source .venv/bin/activate
fi
PY=python

say "Python packages (pip install -e '.[test,bench]')"
"$PY" -m pip install --disable-pip-version-check -q -e '.[test,bench]'

if is_root; then
    need=()
    command -v debootstrap >/dev/null || need+=(debootstrap)
    [ -x /usr/bin/chromium ] || need+=(chromium)
    command -v openssl >/dev/null || need+=(openssl)
    if [ ${#need[@]} -gt 0 ]; then
        say "Debian packages: ${need[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    fi
    say "Asterisk 22 sandbox (tests/asterisk/sandbox.sh start)"
    bash tests/asterisk/sandbox.sh start
    if [ "${AMILAB_KEEP_SANDBOX:-}" != 1 ]; then
        trap 'bash tests/asterisk/sandbox.sh stop >/dev/null 2>&1 || true' EXIT
    fi
else
    say "not root: the real-Asterisk and browser tests will skip (run as root to include them)"
fi

# The notebook tests run kernels named python3; ipykernel's wheel ships that spec.
jupyter kernelspec list 2>/dev/null | grep -qw python3 || "$PY" -m ipykernel install --sys-prefix

say "pytest"
set +e
"$PY" -m pytest -ra "$@"
rc=$?
set -e
if [ "$rc" = 5 ]; then
    echo "pytest collected no tests: that is a failure" >&2
    exit 1
fi
exit "$rc"
