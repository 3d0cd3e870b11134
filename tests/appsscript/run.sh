#!/usr/bin/env bash
# Tests and type-check of the Apps Script side (appsscript/), as CI runs them. Needs Node 20+ and npm;
# installs exactly the locked dev dependencies, so it works the same from a fresh clone, every time.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
npm test
npm run typecheck
