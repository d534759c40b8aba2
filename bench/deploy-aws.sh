#!/usr/bin/env bash
# Benchmark: deploy time on AWS (moto_server on loopback) as the app grows.
# For each size in SIZES, an app of N Python functions, each with an HTTP route
# and a schedule, is deployed cold, redeployed unchanged (no-op) and
# redeployed after one function's code changed. Prints a markdown table:
# median of RUNS runs per cell (moto is reset between cold runs), the API
# calls fnctl reports (cold: all; no-op: reads, and reads per function) and
# the mutating calls of the no-op.
#
# Baselines, side by side in the same run, each on a freshly reset moto:
# BASELINE lists them ("boto3", "awscli", both, or "none").
# bench/baseline_boto3.py makes the same resources with boto3 one call at a
# time in one process; bench/baseline-awscli.sh with the AWS CLI, which
# starts an interpreter per call (about a second here, so 50 functions take
# about ten minutes per run). A baseline runs for the sizes in
# BASELINE_SIZES, in the first BASELINE_RUNS runs of a size.
#
# LATENCY_MS > 0 puts bench/latency_proxy.py between moto and every client
# (fnctl and the baselines): each request waits that long first, standing
# in for the network distance to AWS. Needs .venv-test (moto, boto3), made by
# .ci/run, and bc; the AWS CLI is installed into .venv-bench when asked for.
#
#   bash bench/deploy-aws.sh   # FNCTL=path/to/fnctl SIZES="10 50 200" RUNS=5 BASELINE=boto3 BASELINE_SIZES=50 BASELINE_RUNS=5 CONCURRENCY=8 LATENCY_MS=0
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES:-"10 50 200"}
RUNS=${RUNS:-5}
BASELINE=${BASELINE:-boto3}
BASELINE_SIZES=${BASELINE_SIZES:-50}
BASELINE_RUNS=${BASELINE_RUNS:-$RUNS}
CONCURRENCY=${CONCURRENCY:-8}
LATENCY_MS=${LATENCY_MS:-0}
py="$PWD/.venv-test/bin/python"
[ -x .venv-test/bin/moto_server ] || { echo "run .ci/run first (moto in .venv-test)" >&2; exit 1; }
if [[ " $BASELINE " == *" awscli "* ]] && [ ! -x .venv-bench/bin/aws ]; then
    python3 -m venv .venv-bench && .venv-bench/bin/pip install --quiet awscli
fi
export AWS="$PWD/.venv-bench/bin/aws"
# FNCTL: a prebuilt binary to measure instead (e.g. an older build, side by side).
if [ -n "${FNCTL:-}" ]; then
    fnctl=$FNCTL
else
    cargo build --release --quiet
    fnctl="$PWD/target/release/fnctl"
fi
work=$(mktemp -d)
port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
MOTO_IAM_LOAD_MANAGED_POLICIES=true .venv-test/bin/moto_server -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
moto=$!
proxy=""
trap 'kill $moto $proxy 2>/dev/null || true; wait $moto $proxy 2>/dev/null || true; rm -rf "$work"' EXIT
endpoint="http://127.0.0.1:$port"
for _ in $(seq 1 100); do curl -fs -X POST "$endpoint/moto-api/config" -d '{"lambda":{"use_docker":false}}' >/dev/null 2>&1 && break; sleep 0.2; done
client_endpoint=$endpoint
if [ "$LATENCY_MS" != 0 ]; then
    pport=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "$py" bench/latency_proxy.py "$pport" "$endpoint" "$LATENCY_MS" &
    proxy=$!
    client_endpoint="http://127.0.0.1:$pport"
    for _ in $(seq 1 100); do curl -fs "$client_endpoint/moto-api/" >/dev/null 2>&1 && break; sleep 0.2; done
fi
# Resets go to moto directly; every client goes through the proxy, if any.
export AWS_ENDPOINT_URL="$client_endpoint" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true CI=true

reset_moto() {
    curl -fs -X POST "$endpoint/moto-api/reset" >/dev/null
    curl -fs -X POST "$endpoint/moto-api/config" -d '{"lambda":{"use_docker":false}}' >/dev/null
    # moto's first request to a service after a reset builds its backend
    # (seconds in all): paid here, not by whichever client comes first.
    "$py" bench/warm_moto.py "$endpoint"
}

make_app() {  # dir n
    local dir=$1 n=$2
    rm -rf "$dir" && mkdir -p "$dir"
    {
        echo '[app]'; echo 'name = "bench"'; echo 'runtime = "python3.12"'
        echo '[providers.aws]'; echo 'region = "us-east-1"'
        for i in $(seq 1 "$n"); do
            echo "[functions.f$i]"; echo "source = \"src/f$i\""; echo 'handler = "handler.handler"'
            echo "[[functions.f$i.triggers]]"; echo 'type = "http"'; echo 'method = "GET"'; echo "path = \"/f$i/{id}\""
            echo "[[functions.f$i.triggers]]"; echo 'type = "schedule"'; echo 'schedule = "rate(1 hour)"'
            mkdir -p "$dir/src/f$i"
            printf 'def handler(event, context):\n    return {"statusCode": 200, "body": "f%s"}\n' "$i" > "$dir/src/f$i/handler.py"
        done
    } > "$dir/fnctl.toml"
}

seconds() {  # command... -> elapsed seconds, fails the script on error
    local start end
    start=$(date +%s.%N)
    "$@" >"$work/last.json" 2>"$work/last.err" || { cat "$work/last.err" >&2; exit 1; }
    end=$(date +%s.%N)
    echo "$end - $start" | bc -l
}

median() { sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]}'; }

calls() {  # field of the last fnctl JSON report
    "$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["deployments"][0][sys.argv[2]])' "$work/last.json" "$1"
}

echo "latency per call: ${LATENCY_MS} ms; --concurrency $CONCURRENCY; baselines: $BASELINE"
echo
echo "| functions | cold deploy s | cold calls | no-op redeploy s | no-op reads | no-op reads / function | no-op mutating calls | one-change redeploy s | baseline | baseline s | baseline calls | fnctl cold / baseline |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for n in $SIZES; do
    cold=(); noop=(); change=(); mutating=0; cold_calls=0; reads=0
    declare -A base=() base_calls=()
    for run in $(seq 1 "$RUNS"); do
        reset_moto
        make_app "$work/app" "$n"
        cd "$work/app"
        cold+=("$(seconds "$fnctl" -o json deploy --concurrency "$CONCURRENCY")")
        cold_calls=$(calls api_calls)
        noop+=("$(seconds "$fnctl" -o json deploy --concurrency "$CONCURRENCY")")
        mutating=$(calls mutating_calls)
        reads=$(( $(calls api_calls) - mutating ))
        printf '\n# change %s\n' "$run" >> src/f1/handler.py
        change+=("$(seconds "$fnctl" -o json deploy --concurrency "$CONCURRENCY")")
        cd - >/dev/null
        if [[ " $BASELINE_SIZES " == *" $n "* ]] && [ "$run" -le "$BASELINE_RUNS" ]; then
            for b in $BASELINE; do
                [ "$b" = none ] && continue
                reset_moto
                case $b in
                    boto3) t=$(seconds "$py" bench/baseline_boto3.py "$work/app" "$n")
                           base_calls[$b]=$(sed -n 's/^calls=//p' "$work/last.err") ;;
                    awscli) t=$(seconds bash bench/baseline-awscli.sh "$work/app" "$n")
                            base_calls[$b]=$(( 5 + 12 * n )) ;;
                    *) echo "unknown baseline $b" >&2; exit 1 ;;
                esac
                base[$b]="${base[$b]:-} $t"
            done
        fi
    done
    c=$(printf '%s\n' "${cold[@]}" | median)
    o=$(printf '%s\n' "${noop[@]}" | median)
    x=$(printf '%s\n' "${change[@]}" | median)
    per=$(echo "$reads / $n" | bc -l)
    row() {  # baseline name, seconds, calls, ratio
        printf '| %s | %s | %s | %s | %s | %.2f | %s | %s | %s | %s | %s | %s |\n' \
            "$n" "$c" "$cold_calls" "$o" "$reads" "$per" "$mutating" "$x" "$1" "$2" "$3" "$4"
    }
    if [ ${#base[@]} -eq 0 ]; then
        row - - - -
    else
        for b in "${!base[@]}"; do
            bs=$(printf '%s\n' ${base[$b]} | median)
            row "$b" "$bs" "${base_calls[$b]}" "$(printf '%.2f' "$(echo "$c / $bs" | bc -l)")"
        done
    fi
    unset base base_calls
done
