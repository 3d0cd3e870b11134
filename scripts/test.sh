#!/usr/bin/env bash
# Every test of the project, as README's second command:
#   0. a throwaway PostgreSQL (scripts/postgres.sh: Debian's package, a cluster in /tmp) unless
#      ALMANAC_TEST_POSTGRES_URL already names one; with ALMANAC_NO_POSTGRES=1 it is left out and
#      the PostgreSQL tests say they did not run (outside CI only),
#   1. the Rust workspace (unit tests, the emulator's tests, end-to-end tests of the real backend,
#      the store's tests on both databases, the replicas' tests on PostgreSQL), then the
#      end-to-end tests once more with the backend on PostgreSQL,
#   2. the Apps Script tests (Node's test runner + tsc --checkJs),
#   3. the sidebar in headless Chromium (browser test, in English then in Korean, axe-core on every
#      screen), after its benchmark's figures.
# It installs what it needs on first run: Node packages, and for the sidebar the wasm32 target,
# wasm-bindgen-cli at the Cargo.lock version, Debian's binaryen, chromium and fonts-noto-cjk
# (scripts/install-web-tools.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${ALMANAC_TEST_POSTGRES_URL:-}" ] && [ -z "${ALMANAC_NO_POSTGRES:-}" ]; then
  echo "== PostgreSQL for the tests (scripts/postgres.sh)"
  if PG_ENV="$(bash scripts/postgres.sh)"; then
    eval "$PG_ENV"
  elif [ -n "${CI:-}" ]; then
    echo "PostgreSQL could not be started, and CI must run the PostgreSQL tests" >&2
    exit 1
  else
    echo "PostgreSQL could not be started: the tests run on SQLite, and the PostgreSQL tests say they did not run" >&2
  fi
fi

echo "== Rust: cargo test --workspace"
cargo test --workspace

if [ -n "${ALMANAC_TEST_POSTGRES_URL:-}" ]; then
  echo "== Rust: the end-to-end tests again, the backend on PostgreSQL"
  # `replicas::` always runs on PostgreSQL: it ran in the pass above; running it twice only
  # doubles its time (and its exposure to a loaded machine).
  ALMANAC_TEST_DATABASE=postgres cargo test -p almanac-tests --test e2e -- --skip replicas::
fi

echo "== Apps Script: Node tests and tsc --checkJs"
bash tests/appsscript/run.sh

echo "== Sidebar: web tools, wasm build, headless Chromium"
bash scripts/install-web-tools.sh
bash sidebar/build.sh
SKIP_SIDEBAR_BUILD=1 bash tests/browser/run.sh
