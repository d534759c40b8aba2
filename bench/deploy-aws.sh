#!/usr/bin/env bash
# Benchmark: deploy time on AWS (moto_server on loopback) as the app grows.
# For each size in SIZES, an app of N Python functions, each with an HTTP route
# and a schedule, is deployed cold, redeployed unchanged (no-op) and
# redeployed after one function's code changed. Prints a markdown table:
# median of RUNS runs per cell (moto is reset between cold runs), and the
# mutating calls fnctl reports for the no-op. For the sizes in
# BASELINE_SIZES, the same resources are also created by
# bench/baseline-awscli.sh (the AWS CLI, one call at a time) on a fresh
# moto, side by side in the same run. Needs .venv-test (moto), made by
# .ci/run, and bc; the AWS CLI is installed into .venv-bench on first use.
#
# The baseline runs in the first BASELINE_RUNS runs of a size (each CLI
# call starts a Python interpreter, about a second here, so 50 functions
# take about ten minutes per run).
#
#   bash bench/deploy-aws.sh   # SIZES="10 50 200" RUNS=5 BASELINE_SIZES=50 BASELINE_RUNS=5 CONCURRENCY=8
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES:-"10 50 200"}
RUNS=${RUNS:-5}
BASELINE_SIZES=${BASELINE_SIZES:-50}
BASELINE_RUNS=${BASELINE_RUNS:-$RUNS}
CONCURRENCY=${CONCURRENCY:-8}
py="$PWD/.venv-test/bin/python"
[ -x .venv-test/bin/moto_server ] || { echo "run .ci/run first (moto in .venv-test)" >&2; exit 1; }
if [ ! -x .venv-bench/bin/aws ]; then
    python3 -m venv .venv-bench && .venv-bench/bin/pip install --quiet awscli
fi
export AWS="$PWD/.venv-bench/bin/aws"
cargo build --release --quiet
fnctl="$PWD/target/release/fnctl"
work=$(mktemp -d)
port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
MOTO_IAM_LOAD_MANAGED_POLICIES=true .venv-test/bin/moto_server -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null || true; wait $moto 2>/dev/null || true; rm -rf "$work"' EXIT
endpoint="http://127.0.0.1:$port"
for _ in $(seq 1 100); do curl -fs -X POST "$endpoint/moto-api/config" -d '{"lambda":{"use_docker":false}}' >/dev/null 2>&1 && break; sleep 0.2; done
export AWS_ENDPOINT_URL="$endpoint" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true CI=true

reset_moto() {
    curl -fs -X POST "$endpoint/moto-api/reset" >/dev/null
    curl -fs -X POST "$endpoint/moto-api/config" -d '{"lambda":{"use_docker":false}}' >/dev/null
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

echo "| functions | cold deploy s | no-op redeploy s | no-op / cold | no-op mutating calls | one-change redeploy s | AWS CLI baseline s | fnctl cold / baseline |"
echo "|---|---|---|---|---|---|---|---|"
for n in $SIZES; do
    cold=(); noop=(); change=(); base=(); mutating=0
    for run in $(seq 1 "$RUNS"); do
        reset_moto
        make_app "$work/app" "$n"
        cd "$work/app"
        cold+=("$(seconds "$fnctl" -o json deploy --concurrency "$CONCURRENCY")")
        noop+=("$(seconds "$fnctl" -o json deploy --concurrency "$CONCURRENCY")")
        mutating=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["deployments"][0]["mutating_calls"])' "$work/last.json")
        printf '\n# change %s\n' "$run" >> src/f1/handler.py
        change+=("$(seconds "$fnctl" -o json deploy --concurrency "$CONCURRENCY")")
        cd - >/dev/null
        if [[ " $BASELINE_SIZES " == *" $n "* ]] && [ "$run" -le "$BASELINE_RUNS" ]; then
            reset_moto
            base+=("$(seconds bash bench/baseline-awscli.sh "$work/app" "$n")")
        fi
    done
    c=$(printf '%s\n' "${cold[@]}" | median)
    o=$(printf '%s\n' "${noop[@]}" | median)
    x=$(printf '%s\n' "${change[@]}" | median)
    ratio=$(echo "$o / $c" | bc -l)
    if [ ${#base[@]} -gt 0 ]; then
        b=$(printf '%s\n' "${base[@]}" | median)
        vs=$(printf '%.2f' "$(echo "$c / $b" | bc -l)")
    else
        b="-"; vs="-"
    fi
    printf '| %s | %s | %s | %.2f | %s | %s | %s | %s |\n' "$n" "$c" "$o" "$ratio" "$mutating" "$x" "$b" "$vs"
done
