#!/usr/bin/env bash
# GPU checks of the headless engine, in two halves:
#   bash tests/bench/run_on_gpu.sh prepare
#     on the development machine (Debian 12, network to Debian's mirrors): downloads the .deb
#     files of the Debian libraries the headless build needs into .devdeps/ (ignored by git), for
#     a GPU machine that has CMake, nvcc, compute-sanitizer and PyTorch but none of them;
#   bash tests/bench/run_on_gpu.sh [build|test|sanitize|bench|train|all]...
#     on the GPU machine, with .devdeps/ carried there: unpacks the .debs into a private prefix,
#     builds the headless engine (Release, CUDA), runs every gpu-labelled test, compute-sanitizer
#     memcheck and racecheck on the CUDA kernel tests, the benchmarks (which print their ratios)
#     and short CUDA training runs, one of them on two ranks. Logs go to $OUT (default
#     /tmp/lowbit-gpu-out).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "${root}"
out="${OUT:-/tmp/lowbit-gpu-out}"
prefix=/tmp/lowbit-deps
build=build/gpu
# The -dev packages of the headless build and the runtime libraries they link, with their
# Debian 12 names (packaging/setup.sh installs the same set on a development machine).
debs=(libyaml-cpp-dev libyaml-cpp0.7 nlohmann-json3-dev libcli11-dev libspdlog-dev libspdlog1.10
      libfmt-dev libfmt9 libsentencepiece-dev libsentencepiece0 libsqlite3-dev libsqlite3-0
      libgtest-dev libgmock-dev libbenchmark-dev libbenchmark1debian libhwy-dev libhwy1
      libgloo-dev ninja-build)
# The CUDA kernel tests (ctest label gpu, binaries named *_gpu_test).
kernel_tests=(tests/kernels/kernels_gpu_test tests/kernels/kernels_quantized_adam_gpu_test)

do_prepare() {
  mkdir -p .devdeps
  (cd .devdeps && apt-get download "${debs[@]}") || return 1
  ls .devdeps
}

setup_prefix() {
  mkdir -p "${prefix}"
  local deb
  for deb in .devdeps/*.deb; do
    [[ -f "${deb}" ]] || { echo "no .deb files in .devdeps/: run 'prepare' first"; return 1; }
    dpkg -x "${deb}" "${prefix}"
  done
  sed -i "s|^prefix=/usr|prefix=${prefix}/usr|" "${prefix}"/usr/lib/x86_64-linux-gnu/pkgconfig/*.pc
  export CMAKE_PREFIX_PATH="${prefix}/usr"
  export PKG_CONFIG_PATH="${prefix}/usr/lib/x86_64-linux-gnu/pkgconfig"
  export LD_LIBRARY_PATH="${prefix}/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
  export CPATH="${prefix}/usr/include"
  export PATH="${prefix}/usr/bin:${PATH}"
}

do_build() {
  local torch_dir
  torch_dir="$(python3 -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')/Torch"
  cmake -S . -B "${build}" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLOWBIT_GUI=OFF \
        -DTorch_DIR="${torch_dir}" -DLOWBIT_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=native \
        -DLOWBIT_PYTHON="$(command -v python3)" >"${out}/configure.log" 2>&1 \
    || { tail -30 "${out}/configure.log"; return 1; }
  cmake --build "${build}" -j "$(nproc)" >"${out}/build.log" 2>&1 \
    || { grep -m5 -B2 -A8 "error" "${out}/build.log"; return 1; }
  echo "build ok"
}

do_test() {
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  ctest --test-dir "${build}" -L gpu --output-on-failure 2>&1 | tee "${out}/ctest-gpu.log" | tail -20
}

do_sanitize() {
  local test tool status=0
  for test in "${kernel_tests[@]}"; do
    for tool in memcheck racecheck; do
      compute-sanitizer --tool "${tool}" --error-exitcode 9 "${build}/${test}" \
          >"${out}/$(basename "${test}")-${tool}.log" 2>&1
      local rc=$?
      echo "$(basename "${test}") ${tool}: exit ${rc} ($(grep -c '^\[       OK' \
          "${out}/$(basename "${test}")-${tool}.log") cases ok)"
      ((rc == 0)) || status=1
    done
  done
  return ${status}
}

do_bench() {
  local bench
  for bench in tests/kernels/kernels_bench tests/bench/train_bench tests/bench/optim_bench \
               tests/bench/telemetry_bench; do
    [[ -x "${build}/${bench}" ]] || continue
    "${build}/${bench}" 2>&1 | tee "${out}/$(basename "${bench}").log" | tail -25
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
  # Data-parallel on the GPU: two ranks (on one GPU they share it and use Gloo; on two, NCCL).
  "${build}/app/lowbit/lowbit" train --workspace "${ws}" --device cuda --progress none \
      --nproc-per-node 2 --set train.steps=100 --set train.eval_every=50 --name ddp 2>&1 | tail -5
  python3 - "${ws}/runs.sqlite" <<'PY'
import json, sqlite3, sys
row = sqlite3.connect(sys.argv[1]).execute(
    "SELECT status, summary_json FROM runs WHERE name = 'ddp'").fetchone()
summary = json.loads(row[1])
print("ddp run:", row[0], "world_size", summary.get("world_size"),
      "gradient_collectives", summary.get("gradient_collectives"))
PY
}

steps=("$@")
[[ ${#steps[@]} -eq 0 || "${steps[0]}" == all ]] && steps=(build test sanitize bench train)
if [[ "${steps[0]}" == prepare ]]; then
  do_prepare
  exit $?
fi
mkdir -p "${out}"
setup_prefix || exit 1
for step in "${steps[@]}"; do
  echo "=== ${step}"
  "do_${step}" || { echo "step ${step} failed"; exit 1; }
done
