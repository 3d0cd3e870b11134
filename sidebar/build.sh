#!/usr/bin/env bash
# Builds the sidebar bundle into sidebar/dist, offline and reproducibly (see ARCHITECTURE.md, "The
# sidebar's build"): cargo (profile release-wasm) → wasm-opt -Os → wasm-bindgen --target web, then
# an index.html with boot.js that boots the bundle, and precompressed .gz files for the server.
# Needs the tools of scripts/install-web-tools.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir=${CARGO_TARGET_DIR:-target}
out=sidebar/dist
profile=release-wasm

cargo build -p almanac-sidebar --target wasm32-unknown-unknown --profile "$profile" --locked
rm -rf "$out"
mkdir -p "$out"
# wasm-opt runs on cargo's output, before wasm-bindgen: Debian's binaryen (108) mis-exports
# wasm-bindgen's externref table after -Oz (the export then names the funcref table and the module
# fails to start). Optimising first keeps reference types and loses under 1 % of size.
# Rust >= 1.82 emits bulk-memory, sign-ext, non-trapping float-to-int and reference types for wasm32.
# -Os, not -Oz: -Oz adds binaryen's merge-similar-functions pass, which merges wasm-bindgen's
# look-alike descriptor functions so that wasm-bindgen then panics ("failed to find `0` in function
# table"); which code trips it depends on the imports, so the pass is left out altogether.
optimised=$(mktemp --suffix=.wasm)
trap 'rm -f "$optimised"' EXIT
wasm-opt -Os --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --strip-debug --strip-producers \
  -o "$optimised" "$target_dir/wasm32-unknown-unknown/$profile/almanac_sidebar.wasm"
wasm-bindgen --target web --no-typescript --out-dir "$out" --out-name almanac_sidebar "$optimised"

# The boot script is a file, not inline: the bundle's Content-Security-Policy allows scripts from
# the backend itself only ('self', plus 'wasm-unsafe-eval' for the module).
cat > "$out/boot.js" <<'JS'
// Local use only: in a sheet, Apps Script's Sidebar.html loads the bundle and provides
// google.script.run. Without it the sidebar says so.
import init from './almanac_sidebar.js';
init();
JS
cat > "$out/index.html" <<'HTML'
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=300, initial-scale=1">
<title>Almanac</title>
<link rel="icon" href="data:,">
</head>
<body>
<div id="almanac"></div>
<script type="module" src="./boot.js"></script>
</body>
</html>
HTML

for f in "$out"/almanac_sidebar.js "$out"/almanac_sidebar_bg.wasm "$out"/index.html "$out"/boot.js; do
  gzip -9 -n -k -f "$f"
done

raw=$(( $(stat -c %s "$out/almanac_sidebar_bg.wasm") + $(stat -c %s "$out/almanac_sidebar.js") ))
gz=$(( $(stat -c %s "$out/almanac_sidebar_bg.wasm.gz") + $(stat -c %s "$out/almanac_sidebar.js.gz") ))
echo "sidebar bundle in $out: wasm+js $raw bytes raw, $gz bytes gzip"
