#!/usr/bin/env bash
# The browser tests and the benchmark: builds the sidebar bundle and the server, starts
# `almanac demo --serve` on a free local port, waits for its health check, prints the benchmark's
# figures, runs the tests in headless Chromium (node's test runner: the sidebar on the dev page,
# then the API reference at /docs with every request beyond this machine aborted), and stops the
# server; then the sidebar's tests again in Korean on a fresh server (ALMANAC_TEST_LOCALE=ko).
# Screenshots: test-output/browser/<name>.png (English), <name>-ko.png (Korean).
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

# `almanac demo --serve` on a free local port, its log in $out/server-<label>.log; sets $server.
start_server() {
  local label=$1
  port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  export ALMANAC_URL="http://127.0.0.1:$port"
  "$target_dir/debug/almanac" demo --serve --bind "127.0.0.1:$port" --step-ms 60 \
    --sidebar-dir "$root/sidebar/dist" > "$out/server-$label.log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do
    if curl -fsS "$ALMANAC_URL/api/v1/health" > /dev/null 2>&1; then break; fi
    if ! kill -0 "$server" 2>/dev/null; then
      echo "the demo server exited:" >&2
      cat "$out/server-$label.log" >&2
      exit 1
    fi
    sleep 0.2
  done
  curl -fsS "$ALMANAC_URL/api/v1/health" > /dev/null
}

stop_server() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
}
trap stop_server EXIT

cd tests/browser
status=0
# Every flow once per language of the sidebar, each on a fresh demo (the tests fill its sheet): the
# Google account's locale is the dev page's `?locale=`.
for locale in en ko; do
  start_server "$locale"
  if [ "$locale" = en ]; then
    # The benchmark first, on the untouched sample sheet (it only loads the sidebar, creating no job).
    node bench.js
  fi
  files=(sidebar.test.js)
  [ "$locale" = en ] && files+=(docs.test.js)
  echo "== browser tests, locale $locale"
  ALMANAC_TEST_LOCALE=$locale node --test --test-concurrency=1 --test-reporter=spec "${files[@]}" || status=$?
  stop_server
done
if [ "$status" -ne 0 ]; then
  echo "browser tests failed; server logs: $out/server-*.log; screenshots: $out" >&2
fi
exit "$status"
