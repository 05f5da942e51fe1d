#!/usr/bin/env bash
# First contact with amilab on a fresh Debian (or any Linux) with Python 3.11+:
#
#   scripts/demo.sh                  install into .venv, open JupyterLab on the quickstart
#   scripts/demo.sh --no-browser     ... extra arguments go to JupyterLab (--ip, --port, ...)
#   scripts/demo.sh --headless       install, then the terminal demo instead (no browser);
#                                    extra arguments go to it (--seconds 10, --traffic 5)
#
# Uses the active virtualenv if there is one, else creates .venv in the repository.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
say() { printf '==> %s\n' "$*"; }
die() { printf 'demo.sh: %s\n' "$*" >&2; exit 1; }

headless=0
args=()
for arg in "$@"; do
    if [ "$arg" = --headless ]; then headless=1; else args+=("$arg"); fi
done

command -v "$PY" >/dev/null || die "$PY not found: install Python 3.11 or newer (apt-get install python3)"
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "amilab needs Python 3.11 or newer; $PY is $("$PY" -V 2>&1)"

if [ -n "${VIRTUAL_ENV:-}" ]; then
    say "using the active virtualenv $VIRTUAL_ENV"
    venv_py=$(command -v python)
else
    if [ ! -x .venv/bin/python ]; then
        # Debian splits venv (and its pip) out of python3 itself.
        if ! "$PY" -c 'import venv, ensurepip' 2>/dev/null; then
            pkg="python3-venv"
            if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
                say "installing $pkg (apt-get)"
                apt-get update -qq
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null
            else
                die "Python's venv module is missing: sudo apt-get install $pkg (then run this again)"
            fi
        fi
        say "creating .venv"
        "$PY" -m venv .venv
    fi
    venv_py=.venv/bin/python
fi

say "installing amilab with its notebook extra (pip install -e '.[notebook]')"
"$venv_py" -m pip install --disable-pip-version-check -q -e '.[notebook]'

if [ "$headless" = 1 ]; then
    exec "$venv_py" -m amilab demo ${args[@]+"${args[@]}"}
fi
exec "$venv_py" -m amilab lab ${args[@]+"${args[@]}"}
