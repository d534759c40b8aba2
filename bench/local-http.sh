#!/usr/bin/env bash
# Benchmark: `fnctl dev` serving a hello handler vs the same handler behind a
# plain Python HTTP server, under wrk on loopback. Prints one markdown table
# (median of RUNS runs for each row). Needs wrk (Debian: apt-get install wrk),
# Python 3 with awslambdaric (.venv-test, made by .ci/run or scripts/try.sh).
#
#   bash bench/local-http.sh            # RUNS=5 DURATION=5s by default
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
DURATION=${DURATION:-5s}
py="$PWD/.venv-test/bin/python"
command -v wrk >/dev/null || { echo "wrk not found: apt-get install wrk" >&2; exit 1; }
"$py" -c "import awslambdaric" || { echo "run .ci/run or scripts/try.sh first (awslambdaric)" >&2; exit 1; }
cargo build --release --quiet
fnctl="$PWD/target/release/fnctl"

free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$1/hello/x" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }

# wrk's report -> "rps p50_ms p99_ms"
measure() {
    local url=$1 conns=$2
    wrk -t1 -c"$conns" -d"$DURATION" --latency "$url" | "$py" -c '
import re, sys
text = sys.stdin.read()
def ms(label):
    m = re.search(r"^\s*" + str(label) + r"%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    v, unit = float(m.group(1)), m.group(2)
    return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
errors = re.search(r"Socket errors: (.*)", text)
if non2xx or errors:
    sys.exit("bad responses: " + text)
print(f"{rps:.0f} {ms(50):.2f} {ms(99):.2f}")
'
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

run_case() {   # name conns url -> table row
    local name=$1 conns=$2 url=$3 rps=() p50=() p99=()
    curl -fs "$url" >/dev/null   # warm
    for _ in $(seq 1 "$RUNS"); do
        read -r r a b < <(measure "$url" "$conns")
        rps+=("$r"); p50+=("$a"); p99+=("$b")
    done
    printf '| %s | %s | %s | %s | %s |\n' "$name" "$conns" \
        "$(printf '%s\n' "${rps[@]}" | median)" \
        "$(printf '%s\n' "${p50[@]}" | median)" \
        "$(printf '%s\n' "${p99[@]}" | median)"
}

pids=()
cleanup() { for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done; for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

dev_port=$(free_port)
(cd bench/hello && FNCTL_PYTHON="$py" exec "$fnctl" -q dev --port "$dev_port" --no-watch --max-workers 4 >/dev/null 2>&1) &
pids+=($!)
base_port=$(free_port)
"$py" bench/baseline_server.py "$base_port" bench/hello 2>/dev/null &
pids+=($!)
wait_port "$dev_port" || { echo "fnctl dev did not start" >&2; exit 1; }
wait_port "$base_port" || { echo "baseline did not start" >&2; exit 1; }

echo "| server | connections | requests/s | p50 ms | p99 ms |"
echo "|---|---|---|---|---|"
for conns in 1 8; do
    run_case "fnctl dev (awslambdaric workers)" "$conns" "http://127.0.0.1:$dev_port/hello/bench"
    run_case "plain Python server, same handler" "$conns" "http://127.0.0.1:$base_port/hello/bench"
done
