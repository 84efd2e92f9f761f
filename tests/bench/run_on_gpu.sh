#!/usr/bin/env bash
# Builds the headless engine on a GPU machine that has CMake, nvcc and PyTorch but none of our
# Debian libraries (carried as .deb files in .devdeps/ and unpacked into a private prefix), then
# runs the gpu-labelled tests, the benchmarks and a short CUDA training run. Results go to $OUT
# when it is set. Usage: bash tests/bench/run_on_gpu.sh [build|test|bench|train|all]...
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "${root}"
out="${OUT:-/tmp/lowbit-gpu-out}"
mkdir -p "${out}"
prefix=/tmp/lowbit-deps
build=build/gpu

setup_prefix() {
  mkdir -p "${prefix}"
  for deb in .devdeps/*.deb; do dpkg -x "${deb}" "${prefix}"; done
  sed -i "s|^prefix=/usr|prefix=${prefix}/usr|" "${prefix}"/usr/lib/x86_64-linux-gnu/pkgconfig/*.pc
  export CMAKE_PREFIX_PATH="${prefix}/usr"
  export PKG_CONFIG_PATH="${prefix}/usr/lib/x86_64-linux-gnu/pkgconfig"
  export LD_LIBRARY_PATH="${prefix}/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
  export CPATH="${prefix}/usr/include"
}

do_build() {
  local torch_dir
  torch_dir="$(python3 -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')/Torch"
  cmake -S . -B "${build}" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLOWBIT_GUI=OFF \
        -DTorch_DIR="${torch_dir}" -DCMAKE_CUDA_ARCHITECTURES=90 -DLOWBIT_CUDA=ON \
        -DLOWBIT_PYTHON="$(command -v python3)" >"${out}/configure.log" 2>&1 \
    || { tail -30 "${out}/configure.log"; return 1; }
  cmake --build "${build}" -j 16 --target lowbit kernels_gpu_test kernels_bench train_bench >"${out}/build.log" 2>&1 || { grep -m5 -B2 -A8 "error" "${out}/build.log"; return 1; }
  echo "build ok"
}

do_test() {
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  # The gtest binary directly: it prints every case and its skip/fail status.
  "${build}/tests/kernels/kernels_gpu_test" 2>&1 | tee "${out}/kernels-gpu-test.log" | tail -15
}

do_bench() {
  for bench in "${build}/tests/kernels/kernels_bench" "${build}/tests/bench/train_bench"; do
    [[ -x "${bench}" ]] && "${bench}" 2>&1 | tee "${out}/$(basename "${bench}").log" | tail -25
  done
}

do_train() {
  local ws=/tmp/lowbit-gpu-ws
  rm -rf "${ws}"
  "${build}/app/lowbit/lowbit" train --workspace "${ws}" --device cuda --progress none \
      --set train.steps=300 --set train.eval_every=100 2>&1 | tail -5
  "${build}/app/lowbit/lowbit" train --workspace "${ws}" --device cuda --progress none \
      --set train.steps=300 --set train.eval_every=100 --set train.precision=bf16 \
      --set model.family=llama --name llama-bf16 2>&1 | tail -5
}

setup_prefix
steps=("$@")
[[ ${#steps[@]} -eq 0 || "${steps[0]}" == all ]] && steps=(build test bench train)
for step in "${steps[@]}"; do
  echo "=== ${step}"
  "do_${step}" || { echo "step ${step} failed"; exit 1; }
done
