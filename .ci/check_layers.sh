#!/usr/bin/env bash
# Enforces the include side of the project's layer rules (the Layout table of README.md): no Qt
# in core/ or kernels/; no LibTorch in kernels/, ui/, or the torch-free libraries
# core/{store,config,data}.
# The link side is enforced by CMake (those targets never link torch; see run-tests.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
status=0
check() {  # check DESCRIPTION PATTERN PATHS...
  local description=$1 pattern=$2; shift 2
  local hits
  hits=$(grep -rnE "${pattern}" "$@" --include='*.h' --include='*.cpp' --include='*.cu' \
         --include='*.cuh' 2>/dev/null || true)
  if [[ -n "${hits}" ]]; then
    echo "layer violation: ${description}"; echo "${hits}"; status=1
  fi
}
check "Qt included under core/ or kernels/" '#include[[:space:]]*<Q' core kernels
check "LibTorch included in a torch-free layer" '#include[[:space:]]*<(torch|ATen|c10)/' \
  kernels ui core/store core/config core/data
check "core/ included from ui/" '#include[[:space:]]*"lowbit/(model|train|io|eval|util)/' ui
exit ${status}
