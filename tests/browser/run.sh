#!/usr/bin/env bash
# The browser tests and the benchmark: builds the sidebar bundle and the server, starts
# `almanac demo --serve` on a free local port, waits for its health check, prints the benchmark's
# figures, runs the tests in headless Chromium (node's test runner: the sidebar on the dev page,
# then the API reference at /docs with every request beyond this machine aborted), and stops the
# server.
# Needs the tools of scripts/install-web-tools.sh and Node ≥ 20.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
target_dir=${CARGO_TARGET_DIR:-$root/target}
out=${TEST_OUTPUT_DIR:-$root/test-output/browser}
mkdir -p "$out"

if [ "${SKIP_SIDEBAR_BUILD:-}" != 1 ]; then
  bash sidebar/build.sh
fi
cargo build --bin almanac
(cd tests/browser && npm ci --no-audit --no-fund --silent)

port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
export ALMANAC_URL="http://127.0.0.1:$port"
"$target_dir/debug/almanac" demo --serve --bind "127.0.0.1:$port" --step-ms 60 \
  --sidebar-dir "$root/sidebar/dist" > "$out/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT

for _ in $(seq 1 100); do
  if curl -fsS "$ALMANAC_URL/api/v1/health" > /dev/null 2>&1; then break; fi
  if ! kill -0 "$server" 2>/dev/null; then
    echo "the demo server exited:" >&2
    cat "$out/server.log" >&2
    exit 1
  fi
  sleep 0.2
done
curl -fsS "$ALMANAC_URL/api/v1/health" > /dev/null

cd tests/browser
# The benchmark first, on the untouched sample sheet (it only loads the sidebar, creating no job).
node bench.js
status=0
node --test --test-concurrency=1 --test-reporter=spec sidebar.test.js docs.test.js || status=$?
if [ "$status" -ne 0 ]; then
  echo "browser tests failed; server log: $out/server.log; screenshots: $out" >&2
fi
exit "$status"
