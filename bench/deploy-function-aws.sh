#!/usr/bin/env bash
# `deploy -f` against a full deploy of the same one-function code change, on
# moto.
#
# For each size in SIZES, the app of bench/deploy-aws.sh (N Python functions,
# each with an HTTP route and an hourly schedule) is deployed cold once per
# run; then f1's code is changed and deployed with a full `fnctl deploy`,
# changed again and deployed with `fnctl deploy -f f1`. Prints a markdown
# table: median of RUNS runs per cell, the API calls (all / mutating) fnctl
# reports for each, and the ratio of the medians. Needs .venv-test (moto),
# made by .ci/run, and bc.
#
#   bash bench/deploy-function-aws.sh   # FNCTL=path/to/fnctl SIZES="50" RUNS=5 CONCURRENCY=8
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES:-50}
RUNS=${RUNS:-5}
CONCURRENCY=${CONCURRENCY:-8}
py="$PWD/.venv-test/bin/python"
[ -x .venv-test/bin/moto_server ] || { echo "run .ci/run first (moto in .venv-test)" >&2; exit 1; }
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
trap 'kill $moto 2>/dev/null || true; wait $moto 2>/dev/null || true; rm -rf "$work"' EXIT
endpoint="http://127.0.0.1:$port"
for _ in $(seq 1 100); do curl -fs -X POST "$endpoint/moto-api/config" -d '{"lambda":{"use_docker":false}}' >/dev/null 2>&1 && break; sleep 0.2; done
export AWS_ENDPOINT_URL="$endpoint" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true CI=true

reset_moto() {
    curl -fs -X POST "$endpoint/moto-api/reset" >/dev/null
    curl -fs -X POST "$endpoint/moto-api/config" -d '{"lambda":{"use_docker":false}}' >/dev/null
}

make_app() {  # dir n: the app of bench/deploy-aws.sh
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

calls() {  # "all/mutating" calls of the last fnctl JSON report
    "$py" -c 'import json,sys; d=json.load(open(sys.argv[1]))["deployments"][0]; print(str(d["api_calls"]) + "/" + str(d["mutating_calls"]))' "$work/last.json"
}

echo "--concurrency $CONCURRENCY; median of $RUNS runs"
echo
echo "| functions | full deploy of one change s | calls (all/mutating) | deploy -f s | calls (all/mutating) | deploy -f / full |"
echo "|---|---|---|---|---|---|"
for n in $SIZES; do
    full=(); one=(); full_calls=""; one_calls=""
    for run in $(seq 1 "$RUNS"); do
        reset_moto
        make_app "$work/app" "$n"
        cd "$work/app"
        seconds "$fnctl" -o json deploy --concurrency "$CONCURRENCY" >/dev/null
        printf '\n# full %s\n' "$run" >> src/f1/handler.py
        full+=("$(seconds "$fnctl" -o json deploy --concurrency "$CONCURRENCY")")
        full_calls=$(calls)
        printf '\n# one %s\n' "$run" >> src/f1/handler.py
        one+=("$(seconds "$fnctl" -o json deploy --concurrency "$CONCURRENCY" -f f1)")
        one_calls=$(calls)
        cd - >/dev/null
    done
    f=$(printf '%s\n' "${full[@]}" | median)
    o=$(printf '%s\n' "${one[@]}" | median)
    printf '| %s | %s | %s | %s | %s | %.2f |\n' "$n" "$f" "$full_calls" "$o" "$one_calls" "$(echo "$o / $f" | bc -l)"
done
