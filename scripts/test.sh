#!/usr/bin/env bash
# Every test of the project, as README's second command: the Rust workspace (unit, emulator and
# end-to-end tests) and the Apps Script tests (Node's test runner + tsc --checkJs). It installs the
# Node packages it needs on first run.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== Rust: cargo test --workspace"
cargo test --workspace

echo "== Apps Script: Node tests and tsc --checkJs"
bash tests/appsscript/run.sh
