#!/usr/bin/env bash
# Builds the two Debian packages, lowbit-engine and lowbit-studio (docs/packaging.md), from a
# release build of this checkout against the set-up's pinned LibTorch (or Torch_DIR):
#
#   bash packaging/build-debs.sh            # -> build/package/lowbit-{engine,studio}_*.deb
#   sudo apt install ./build/package/lowbit-*.deb
#
# BUILD_DIR (default build/package) may name an already configured build folder instead, e.g.
# BUILD_DIR=build/dev to package the development build.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash packaging/setup.sh >/dev/null
build=${BUILD_DIR:-build/package}
if [[ "$build" == build/package ]]; then
  cmake --preset package >/dev/null
  cmake --build --preset package
else
  cmake --build "$build"
fi
(cd "$build" && cpack -G DEB)
ls -l "$build"/lowbit-*.deb
