#!/usr/bin/env bash
# Builds the sidebar bundle into sidebar/dist, offline and reproducibly (see ARCHITECTURE.md, "The
# sidebar's build"): cargo (profile release-wasm) → wasm-bindgen --target web → wasm-opt -Oz, then
# an index.html that boots the bundle and precompressed .gz files for the server.
# Needs the tools of scripts/install-web-tools.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir=${CARGO_TARGET_DIR:-target}
out=sidebar/dist
profile=release-wasm

cargo build -p almanac-sidebar --target wasm32-unknown-unknown --profile "$profile" --locked
rm -rf "$out"
mkdir -p "$out"
wasm-bindgen --target web --no-typescript --out-dir "$out" --out-name almanac_sidebar \
  "$target_dir/wasm32-unknown-unknown/$profile/almanac_sidebar.wasm"
# Rust ≥ 1.82 emits bulk-memory and non-trapping float-to-int instructions for wasm32.
wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --strip-debug --strip-producers \
  -o "$out/almanac_sidebar_bg.wasm" "$out/almanac_sidebar_bg.wasm"

cat > "$out/index.html" <<'HTML'
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=300, initial-scale=1">
<title>Almanac</title>
</head>
<body>
<div id="almanac"></div>
<script type="module">
  // Local use only: in a sheet, Apps Script's Sidebar.html loads the bundle and provides
  // google.script.run. Without it the sidebar says so.
  import init from './almanac_sidebar.js';
  init();
</script>
</body>
</html>
HTML

for f in "$out"/almanac_sidebar.js "$out"/almanac_sidebar_bg.wasm "$out"/index.html; do
  gzip -9 -n -k -f "$f"
done

raw=$(( $(stat -c %s "$out/almanac_sidebar_bg.wasm") + $(stat -c %s "$out/almanac_sidebar.js") ))
gz=$(( $(stat -c %s "$out/almanac_sidebar_bg.wasm.gz") + $(stat -c %s "$out/almanac_sidebar.js.gz") ))
echo "sidebar bundle in $out: wasm+js $raw bytes raw, $gz bytes gzip"
