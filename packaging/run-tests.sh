#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine (with the CUDA toolkit): set-up, the format and
# layering checks, a torch-free build of the libraries the GUI links (proves they need no
# LibTorch), the full build (GUI, engine, CUDA kernels when nvcc is found) and ctest.
# `.ci/run` calls exactly this script. Extra arguments go to ctest (e.g. -L cpu, -R Store).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${root}"

bash packaging/setup.sh >/dev/null
bash .ci/check_format.sh
bash .ci/check_layers.sh

# Torch-free libraries (store, config, data, kernels) and their tests, without LibTorch or Qt.
cmake -S . -B build/torch-free -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DLOWBIT_ENGINE=OFF -DLOWBIT_GUI=OFF -DLOWBIT_BENCHMARKS=OFF >/dev/null
cmake --build build/torch-free -j 2

cmake --preset dev >/dev/null
cmake --build --preset dev -j 2
# The tests labelled gpu compare the CUDA kernels with the CPU references; without a GPU they
# cannot run, so they are left out of the count rather than reported as skipped.
ctest_args=()
if ! nvidia-smi -L >/dev/null 2>&1; then
  echo "[tests] no GPU visible: tests labelled gpu are not run (on a GPU machine: ctest --preset dev -L gpu)"
  ctest_args=(-LE gpu)
fi
ctest --preset dev "${ctest_args[@]}" "$@"
