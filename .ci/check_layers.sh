#!/usr/bin/env bash
# Enforces the project's layer rules (the Layout table of README.md).
# Include side: no Qt in core/ or kernels/; no LibTorch in kernels/, ui/, or the torch-free
# libraries core/{store,config,data,events}.
# Link side: ui/ and app/lowbit-studio link only the torch-free lowbit_store, lowbit_config and
# lowbit_events (and lowbit_ui) besides Qt and QCustomPlot, and those libraries link nothing of
# the engine. run-tests.sh builds them without LibTorch, and a test reads `ldd lowbit-studio`.
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

# links CMAKELISTS ALLOWED_REGEX: every item of every target_link_libraries() call in the file
# (calls may span lines) must match ALLOWED_REGEX; visibility keywords are always allowed.
links() {
  local file=$1 allowed=$2 item
  local items
  items=$(sed -e 's/#.*//' "${file}" | tr '\n' ' ' |
          grep -oE 'target_link_libraries\([^)]*\)' |
          sed -E 's/^target_link_libraries\([[:space:]]*[^[:space:]]+//; s/\)$//' | tr ' ' '\n' |
          grep -vE '^(|PUBLIC|PRIVATE|INTERFACE)$' || true)
  for item in ${items}; do
    if [[ ! ${item} =~ ${allowed} ]]; then
      echo "layer violation: ${file} links ${item}"; status=1
    fi
  done
}
qt_ui='^(lowbit_ui|lowbit_store|lowbit_config|lowbit_events|Qt6::[A-Za-z]+|QCustomPlotQt6::QCustomPlotQt6)$'
links ui/CMakeLists.txt "${qt_ui}"
links app/lowbit-studio/CMakeLists.txt "${qt_ui}"
torch_free='^(lowbit_store|lowbit_config|lowbit_events|lowbit_data|lowbit_quant_format|nlohmann_json::nlohmann_json|SQLite::SQLite3|yaml-cpp|lowbit::sentencepiece)$'
for dir in core/store core/config core/events core/data; do
  links "${dir}/CMakeLists.txt" "${torch_free}"
done
exit ${status}
