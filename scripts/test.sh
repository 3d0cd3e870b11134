#!/usr/bin/env bash
# Every test of the project, as README's second command:
#   1. the Rust workspace (unit tests, the emulator's tests, end-to-end tests of the real backend),
#   2. the Apps Script tests (Node's test runner + tsc --checkJs),
#   3. the sidebar in headless Chromium (browser test), after its benchmark's figures.
# It installs what it needs on first run: Node packages, and for the sidebar the wasm32 target,
# wasm-bindgen-cli at the Cargo.lock version, Debian's binaryen and chromium (scripts/install-web-tools.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== Rust: cargo test --workspace"
cargo test --workspace

echo "== Apps Script: Node tests and tsc --checkJs"
bash tests/appsscript/run.sh

echo "== Sidebar: web tools, wasm build, headless Chromium"
bash scripts/install-web-tools.sh
bash sidebar/build.sh
SKIP_SIDEBAR_BUILD=1 bash tests/browser/run.sh
