#!/usr/bin/env bash
# Benchmark: `fnctl package` vs Info-ZIP's `zip -qr` on the same generated
# tree (FILES files, about MB megabytes; RANDOM_PCT per cent of the files
# random bytes, the rest source-like text).
# Prints a markdown table: median wall time of RUNS runs each (hyperfine),
# peak RSS (GNU time), and whether fnctl's output was byte-identical across
# runs. Needs hyperfine, zip and GNU time (Debian: apt-get install hyperfine zip time).
#
#   bash bench/package.sh            # FILES=10000 MB=160 RANDOM_PCT=25 RUNS=5
set -euo pipefail
cd "$(dirname "$0")/.."
FILES=${FILES:-10000}
MB=${MB:-160}
RANDOM_PCT=${RANDOM_PCT:-25}
RUNS=${RUNS:-5}
for tool in hyperfine zip /usr/bin/time python3; do
    command -v "$tool" >/dev/null || { echo "$tool not found" >&2; exit 1; }
done
cargo build --release --quiet
fnctl="$PWD/target/release/fnctl"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 bench/gen_tree.py "$work/app/src" "$FILES" "$MB" "$RANDOM_PCT"
cat > "$work/app/fnctl.toml" <<TOML
[app]
name = "bench"
runtime = "python3.12"
[functions.big]
source = "src"
handler = "handler.handler"
TOML
input_mb=$(du -sm "$work/app/src" | cut -f1)

hyperfine --runs "$RUNS" --warmup 1 --export-json "$work/h.json" \
    --command-name "fnctl package" "cd $work/app && $fnctl -q package" \
    --command-name "zip -qr" "cd $work/app/src && rm -f $work/z.zip && zip -qr $work/z.zip ." >/dev/null 2>&1

rss() { /usr/bin/time -f %M sh -c "$1" 2>&1 >/dev/null | tail -n 1; }
fnctl_rss=$(rss "cd $work/app && $fnctl -q package")
zip_rss=$(rss "cd $work/app/src && rm -f $work/z.zip && zip -qr $work/z.zip .")
sum1=$(sha256sum "$work/app/.fnctl/dist/aws/big.zip" | cut -d' ' -f1)
(cd "$work/app" && "$fnctl" -q package >/dev/null)
sum2=$(sha256sum "$work/app/.fnctl/dist/aws/big.zip" | cut -d' ' -f1)
fnctl_size=$(stat -c %s "$work/app/.fnctl/dist/aws/big.zip")
zip_size=$(stat -c %s "$work/z.zip")

python3 - "$work/h.json" "$fnctl_rss" "$zip_rss" "$fnctl_size" "$zip_size" "$([ "$sum1" = "$sum2" ] && echo yes || echo NO)" "$FILES" "$input_mb" "$(nproc)" <<'PY'
import json, sys
h = json.load(open(sys.argv[1]))["results"]
f, z = h[0], h[1]
print(f"input: {sys.argv[7]} files, {sys.argv[8]} MB; {sys.argv[9]} cores; median of {len(f['times'])} runs")
print()
print("| tool | median s | peak RSS MB | output MB | byte-identical reruns |")
print("|---|---|---|---|---|")
mb = lambda b: int(b) / 1e6
print(f"| fnctl package | {f['median']:.2f} | {int(sys.argv[2]) / 1024:.0f} | {mb(sys.argv[4]):.1f} | {sys.argv[6]} |")
print(f"| zip -qr | {z['median']:.2f} | {int(sys.argv[3]) / 1024:.0f} | {mb(sys.argv[5]):.1f} | n/a |")
print()
print(f"fnctl / zip time ratio: {f['median'] / z['median']:.2f}; output size ratio: {int(sys.argv[4]) / int(sys.argv[5]):.3f}")
PY
