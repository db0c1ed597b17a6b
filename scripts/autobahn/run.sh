#!/usr/bin/env bash
# The Autobahn|Testsuite (PyPI `autobahntestsuite`, Python 2.7) in
# fuzzingclient mode against the plain WebSocket echo server on our own
# frame reader and writer (examples/ws_echo), then the check of its
# results (check.py; allowed non-OK cases in allowed.json).
#
#   scripts/autobahn/run.sh
#
# Installs the suite once into a virtualenv outside the repository
# ($AUTOBAHN_VENV, default ~/.cache/socketio-axum/autobahn-<hash of
# requirements.txt>), from a Python 2.7 interpreter ($PYTHON27, default
# pyenv's 2.7.18). Builds ws_echo in release mode, serves it on a free
# port of 127.0.0.1, runs the cases of fuzzingclient.json, and writes the
# report to target/autobahn/report (ignored by git). Exits non-zero when a
# case is neither OK nor allowed.
set -euo pipefail
# Python 2 is long deprecated; pip and cryptography say so at every call.
export PIP_NO_PYTHON_VERSION_WARNING=1 PYTHONWARNINGS=ignore

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/../.."

# --- the suite, installed once ----------------------------------------------
python27="${PYTHON27:-}"
if [[ -z "$python27" ]]; then
    for candidate in "$(pyenv root 2>/dev/null)/versions/2.7.18/bin/python2.7" \
        "${PYENV_ROOT:-$HOME/.pyenv}/versions/2.7.18/bin/python2.7" \
        "$(command -v python2.7 || true)"; do
        if [[ -x "$candidate" ]]; then
            python27="$candidate"
            break
        fi
    done
fi
if [[ -z "$python27" ]] || ! "$python27" -c 'import sys; assert sys.version_info[:2] == (2, 7)' 2>/dev/null; then
    echo "no Python 2.7 found (set PYTHON27, or install 2.7.18 with pyenv)" >&2
    exit 1
fi

stamp="$(sha256sum "$here/requirements.txt" | cut -c1-12)"
venv="${AUTOBAHN_VENV:-$HOME/.cache/socketio-axum/autobahn-$stamp}"
if [[ ! -x "$venv/bin/wstest" ]]; then
    echo "installing the Autobahn|Testsuite into $venv"
    rm -rf "$venv" "$venv.tools"
    # virtualenv 16 is the last that runs on Python 2.7 by itself; it brings
    # pip 20.3.4, the last pip for 2.7.
    "$python27" -m pip install --quiet --disable-pip-version-check \
        --target "$venv.tools" virtualenv==16.7.12
    PYTHONPATH="$venv.tools" "$python27" -m virtualenv --quiet "$venv"
    rm -rf "$venv.tools"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        -r "$here/requirements.txt"
fi

# --- the server -------------------------------------------------------------
cargo build --release --locked --example ws_echo
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
PORT="$port" target/release/examples/ws_echo &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        break
    fi
    kill -0 "$server" 2>/dev/null || { echo "ws_echo exited" >&2; exit 1; }
    sleep 0.1
done

# --- the suite --------------------------------------------------------------
mkdir -p target/autobahn
rm -rf target/autobahn/report
python3 - "$here/fuzzingclient.json" "$port" > target/autobahn/fuzzingclient.json <<'PY'
import json, sys
spec = json.load(open(sys.argv[1]))
spec["servers"][0]["url"] = "ws://127.0.0.1:%s" % sys.argv[2]
json.dump(spec, sys.stdout, indent=2)
PY
start=$SECONDS
"$venv/bin/wstest" -m fuzzingclient -s target/autobahn/fuzzingclient.json \
    > target/autobahn/wstest.log 2>&1 || {
    tail -n 40 target/autobahn/wstest.log >&2
    exit 1
}
echo "the suite ran in $((SECONDS - start)) s (log: target/autobahn/wstest.log)"
kill -0 "$server" 2>/dev/null || { echo "ws_echo died during the suite" >&2; exit 1; }

python3 "$here/check.py" target/autobahn/report/index.json "$here/allowed.json"
