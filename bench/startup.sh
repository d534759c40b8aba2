#!/usr/bin/env bash
# Benchmark: fnctl's startup — `fnctl --version` and `fnctl validate` on the
# largest example (all-triggers: 3 functions, both providers). Median of RUNS
# runs each (hyperfine, after warm-up). Needs hyperfine (apt-get install hyperfine).
#
#   bash bench/startup.sh            # RUNS=20
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-20}
command -v hyperfine >/dev/null || { echo "hyperfine not found" >&2; exit 1; }
cargo build --release --quiet
fnctl="$PWD/target/release/fnctl"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
hyperfine -N --runs "$RUNS" --warmup 3 --export-json "$out" \
    --command-name "fnctl --version" "$fnctl --version" \
    --command-name "fnctl validate (all-triggers)" "$fnctl --manifest examples/all-triggers/fnctl.toml validate" \
    --command-name "fnctl plan --offline (all-triggers)" "$fnctl --manifest examples/all-triggers/fnctl.toml -q plan --offline" >/dev/null
python3 - "$out" <<'PY'
import json, sys
print("| command | median ms | min ms | max ms |")
print("|---|---|---|---|")
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"| {r['command']} | {r['median'] * 1000:.1f} | {r['min'] * 1000:.1f} | {r['max'] * 1000:.1f} |")
PY
