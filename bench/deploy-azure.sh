#!/usr/bin/env bash
# Benchmark: deploy time on Azure (the ARM + scm test server on loopback) as
# the app grows: cold, no-op and one-change deploys of an app of N Python
# functions (an HTTP route and a timer each), median of RUNS runs, each run
# on a fresh server. The server is test support code, so the harness is an
# ignored test (tests/it/bench.rs); it runs the release build of fnctl.
#
#   bash bench/deploy-azure.sh          # SIZES="10 50 200" RUNS=5
set -euo pipefail
cd "$(dirname "$0")/.."
export SIZES=${SIZES:-"10 50 200"} RUNS=${RUNS:-5}
cargo build --release --quiet
export FNCTL_BENCH_BIN="$PWD/target/release/fnctl"
cargo test --quiet --test it bench::azure_deploy_scaling -- --ignored --nocapture 2>/dev/null \
    | grep '^|'
