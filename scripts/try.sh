#!/usr/bin/env bash
# The two-minute tour: build fnctl, run the bundled Python HTTP API locally
# with `fnctl dev` (AWS's own runtime client, no cloud account), call a few
# routes, then stop. Needs Rust (cargo) and Python 3 with venv/pip.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== building fnctl"
cargo build --quiet
fnctl="$PWD/target/debug/fnctl"

# The local runtime runs handlers with awslambdaric, AWS's Python runtime
# interface client; keep it in a project-local virtualenv.
if ! .venv-test/bin/python -c "import awslambdaric" 2>/dev/null; then
    echo "== installing awslambdaric into .venv-test"
    [ -x .venv-test/bin/python ] || python3 -m venv .venv-test
    .venv-test/bin/pip install --quiet 'awslambdaric>=3,<5'
fi
export FNCTL_PYTHON="$PWD/.venv-test/bin/python"

example=examples/python-http-api
echo "== validating and planning $example (offline)"
"$fnctl" --manifest "$example/fnctl.toml" validate
"$fnctl" --manifest "$example/fnctl.toml" plan --offline --provider aws --quiet | tail -n 1

echo "== fnctl dev"
log=$(mktemp)
(cd "$example" && exec "$fnctl" dev --port 0 >"$log" 2>&1) &
dev_pid=$!
trap 'kill -INT "$dev_pid" 2>/dev/null || true; wait "$dev_pid" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 100); do
    grep -q "^listening on " "$log" && break
    sleep 0.1
done
base=$(sed -n 's/^listening on //p' "$log" | head -n 1)
[ -n "$base" ] || { cat "$log"; echo "fnctl dev did not start" >&2; exit 1; }

for path in /users /users/1 /users/2/files/report.pdf /users/99; do
    printf '\n$ curl %s%s\n' "$base" "$path"
    curl -s -w '\n(HTTP %{http_code})\n' "$base$path"
done

printf '\n== what fnctl dev printed\n'
cat "$log"
printf '\nTo keep it running: cd %s && FNCTL_PYTHON=%s %s dev\n' "$example" "$FNCTL_PYTHON" "$fnctl"
