#!/usr/bin/env bash
# Installs what building and testing the sidebar needs, idempotently (CI runs it on every build):
# the wasm32 target, wasm-bindgen-cli at exactly the wasm-bindgen version in Cargo.lock (the CLI and
# the library must match), wasm-opt (Debian's binaryen), Chromium (Debian's, for the browser test)
# and a Korean font (Debian's fonts-noto-cjk: without it Hangul is drawn as empty boxes, and the
# browser test that checks real glyphs fails). Each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  echo "== rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# The version of the `wasm-bindgen` package in Cargo.lock.
version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [ -z "$version" ]; then
  echo "wasm-bindgen is not in Cargo.lock" >&2
  exit 1
fi
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$version" ]; then
  echo "== cargo install wasm-bindgen-cli $version"
  # --locked first (reproducible); when a crate of its lock file is no longer in the index
  # (yanked), resolve afresh within the same wasm-bindgen-cli version.
  cargo install --force --locked wasm-bindgen-cli --version "$version" \
    || cargo install --force wasm-bindgen-cli --version "$version"
fi
installed=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')
if [ "$installed" != "$version" ]; then
  echo "wasm-bindgen on PATH is '${installed:-missing}', not $version: is ~/.cargo/bin on PATH?" >&2
  exit 1
fi

missing=()
command -v wasm-opt >/dev/null 2>&1 || missing+=(binaryen)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || missing+=(fonts-noto-cjk)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== apt-get install ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

echo "web tools: $(rustc --version), wasm-bindgen $(wasm-bindgen --version | awk '{print $2}'), $(wasm-opt --version), $(chromium --version 2>/dev/null), Korean fonts: $(fc-list :lang=ko family 2>/dev/null | wc -l)"
