#!/usr/bin/env bash
# The benchmark suite in one command (docs/benchmarks.md):
#
#   bench/run.sh [--quick] [--reps N] [--only SCENARIOS] [--servers NAMES] [suite options...]
#
# Builds everything in release mode (the generator, our bench_server, the
# socketioxide and floor peers; `npm ci` for the Node peer), then runs the
# suite: each scenario against each server, servers interleaved, the server
# pinned to cpu 0 and the generator to cpu 1 with taskset, 5 repetitions
# (1 with --quick). Prints the markdown table and keeps it, with the raw
# runs, in bench/results/.
#
#   --quick            one short repetition and 2,000 connections: a smoke check
#   --servers LIST     a comma-separated subset of: socketio-axum,socketioxide,node,floor
#   --no-build         use what is built
#   --only cluster     the cluster fan-out (closed loop and fixed rate): three of each
#                      server on one Redis (--redis-url, default redis://127.0.0.1:6379),
#                      all three pinned to cpu 0 unless --cluster-cpu says otherwise;
#                      the floor has no cluster and is skipped
#   --only rooms       rooms: 10,000 sockets (1,000 with --quick) each in a room of its
#                      own and one of 1,000 shared rooms (100 with --quick), 10 sockets
#                      each; echo against join/leave churn,
#                      room broadcasts while churning, a server-side join of all; the
#                      floor has no rooms and is skipped
# Any other option goes to `socketio-bench suite` (see `socketio-bench help`).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

servers="socketio-axum,socketioxide,node,floor"
build=1
quick=""
pass=()
while (($#)); do
    case "$1" in
        --servers) servers="$2"; shift 2 ;;
        --servers=*) servers="${1#*=}"; shift ;;
        --no-build) build=0; shift ;;
        --quick) quick="--quick"; pass+=("$1"); shift ;;
        *) pass+=("$1"); shift ;;
    esac
done

# Ten thousand connections need as many descriptors, in the generator and in
# the servers it starts (they inherit this limit).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

if ((build)); then
    echo "== build (release)" >&2
    cargo build --release -p socketio-bench >&2
    cargo build --release -p socketio-axum-examples --example bench_server >&2
    if [[ ",$servers," == *",socketioxide,"* ]]; then
        cargo build --release --locked --manifest-path bench/peers/socketioxide/Cargo.toml >&2
    fi
    if [[ ",$servers," == *",floor,"* ]]; then
        cargo build --release --locked --manifest-path bench/peers/floor/Cargo.toml >&2
    fi
    if [[ ",$servers," == *",node,"* ]]; then
        npm ci --prefix bench/peers/node --no-audit --no-fund --loglevel=error >&2
    fi
fi

target="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
declare -A command=(
    [socketio-axum]="$target/release/examples/bench_server"
    [socketioxide]="$root/bench/peers/socketioxide/target/release/bench-peer-socketioxide"
    [node]="node $root/bench/peers/node/server.mjs"
    [floor]="$root/bench/peers/floor/target/release/bench-peer-floor"
)
server_args=()
IFS=, read -ra names <<<"$servers"
for name in "${names[@]}"; do
    [[ -n "${command[$name]:-}" ]] || { echo "unknown server $name" >&2; exit 2; }
    server_args+=(--server "$name=${command[$name]}")
done

# Server on cpu 0, generator on cpu 1: each has a core of its own.
if (($(nproc) >= 2)); then
    pin=(taskset -c 1)
    server_cpu=0
else
    echo "warning: fewer than 2 cpus; server and generator share one" >&2
    pin=()
    server_cpu=0
fi

mkdir -p bench/results
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
report="bench/results/$stamp${quick:+-quick}.md"
{
    echo "Run $stamp (UTC), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo '+changes'),"
    echo "$(nproc) cpus ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)), Linux $(uname -r), Node.js $(node --version 2>/dev/null || echo 'absent')."
    echo "Command: \`bench/run.sh${pass[*]:+ ${pass[*]}}\`; servers: $servers."
    echo
} >"$report"

"${pin[@]}" "$target/release/socketio-bench" suite \
    --server-cpu "$server_cpu" \
    --skip floor:polling \
    --skip floor:cluster-closed \
    --skip floor:cluster-rate \
    --skip floor:rooms \
    --out "bench/results/$stamp${quick:+-quick}.jsonl" \
    "${server_args[@]}" "${pass[@]}" | tee -a "$report"
echo "== table: $report; raw runs: bench/results/$stamp${quick:+-quick}.jsonl" >&2
