#!/usr/bin/env bash
# GPU checks of the headless engine, in two halves, so that the GPU machine (which has CUDA, a
# CUDA PyTorch and compute-sanitizer, but neither Qt nor the Debian -dev libraries) spends its
# time on running, not on compiling:
#   bash tests/bench/run_on_gpu.sh pack
#     on the development machine: configures and builds build/gpu (Release, headless, CUDA), then
#     packs the GPU test binaries, the benchmarks and the engine, stripped, with the Debian
#     libraries they load (not LibTorch, CUDA or the C library: the GPU machine has those) into
#     .devbuild/lowbit-gpu.tar.xz (ignored by git);
#   bash tests/bench/run_on_gpu.sh run [test|sanitize|bench|train|profile]...
#     on the GPU machine, with .devbuild/ carried there: unpacks it, points the loader at the
#     machine's own LibTorch (the python3 there must hold the same torch version as
#     packaging/versions.env pins), then runs every gpu-labelled test binary and compute-sanitizer
#     memcheck and racecheck on the CUDA kernel tests (side by side), the GPU benchmarks one at a
#     time, short CUDA training runs and (step profile) Nsight Compute on the benchmark's
#     kernels. The logs end up in $OUT/gpu-logs.tar.gz (default $OUT:
#     /tmp/lowbit-gpu-out); a summary table comes last.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "${root}" || exit 1
results="${OUT:-/tmp/lowbit-gpu-out}"
out=/tmp/lowbit-gpu-logs
pack=.devbuild/lowbit-gpu.tar.xz
build=build/gpu
# Binaries that run there, relative to the build folder: the gpu-labelled test binaries (their
# tests all skip without a device), the benchmarks with a CUDA path, the engine.
gpu_tests=(tests/kernels/kernels_gpu_test tests/kernels/kernels_quantized_adam_gpu_test
           tests/quant/quant_gpu_test tests/optim/optim_gpu_test tests/telemetry/telemetry_gpu_test
           tests/dist/dist_gpu_test)
kernel_tests=(tests/kernels/kernels_gpu_test tests/kernels/kernels_quantized_adam_gpu_test)
benches=(tests/bench/gpu_bench tests/bench/optim_bench)
engine=app/lowbit/lowbit

do_pack() {
  local venv torch_dir
  source packaging/versions.env
  venv="${LOWBIT_VENV:-${HOME}/.cache/lowbit/venv-torch-${LOWBIT_TORCH_VERSION}}"
  torch_dir="$("${venv}/bin/python" -c \
      'import torch.utils; print(torch.utils.cmake_prefix_path)')/Torch"
  # The CUDA targets are LibTorch's TORCH_CUDA_ARCH_LIST (cmake/LowbitTorch.cmake; sm_80 to sm_90
  # unless set), which also covers the H100 and H200.
  cmake -S . -B "${build}" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLOWBIT_GUI=OFF -DLOWBIT_CUDA=ON \
        -DTorch_DIR="${torch_dir}" -DLOWBIT_PYTHON="${venv}/bin/python" >/dev/null || return 1
  cmake --build "${build}" --target "${gpu_tests[@]##*/}" "${benches[@]##*/}" lowbit || return 1
  local stage
  stage="$(mktemp -d)"
  mkdir -p "${stage}/bin" "${stage}/lib" .devbuild
  local binary
  for binary in "${gpu_tests[@]}" "${benches[@]}" "${engine}"; do
    mkdir -p "${stage}/bin/$(dirname "${binary}")"
    strip -o "${stage}/bin/${binary}" "${build}/${binary}" || return 1
  done
  # The Debian libraries the binaries load: everything ldd resolves under /usr/lib or /lib that
  # is not the C runtime (the GPU machine's own is newer).
  local c_runtime='/(libc|libm|libpthread|libdl|librt|libutil|libresolv'
  c_runtime+='|libstdc\+\+|libgcc_s|ld-linux[^/]*)\.so'
  ldd "${stage}"/bin/*/*/* "${stage}/bin/${engine}" 2>/dev/null \
    | awk '$3 ~ /^\/(usr\/)?lib\// {print $3}' | sort -u | grep -vE "${c_runtime}" \
    | while read -r lib; do cp -L "${lib}" "${stage}/lib/"; done
  tar -C "${stage}" -cJf "${pack}" bin lib || return 1
  rm -rf "${stage}"
  ls -l "${pack}"
}

unpack() {
  local torch_lib cuda_libs
  [[ -f "${pack}" ]] || { echo "no ${pack}: run 'pack' on the development machine"; return 1; }
  rm -rf /tmp/lowbit-gpu && mkdir -p /tmp/lowbit-gpu || return 1
  tar -C /tmp/lowbit-gpu -xJf "${pack}" || return 1
  torch_lib="$(python3 -c \
      'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')"
  # The CUDA runtime the binaries were linked against, from the wheel's nvidia packages.
  cuda_libs="$(python3 - <<'PY'
import glob, os, torch
site = os.path.dirname(os.path.dirname(torch.__file__))
found = glob.glob(os.path.join(site, "nvidia", "**", "libcudart.so*"), recursive=True)
print(":".join(sorted({os.path.dirname(p) for p in found})))
PY
)"
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)'
  # Set after python3 has run: only our binaries load the packed libraries.
  local before="${LD_LIBRARY_PATH:-}"
  LD_LIBRARY_PATH="/tmp/lowbit-gpu/lib:${torch_lib}:${cuda_libs}:/usr/local/cuda/lib64"
  export LD_LIBRARY_PATH="${LD_LIBRARY_PATH}${before:+:${before}}"
  bin=/tmp/lowbit-gpu/bin
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader \
      || echo "nvidia-smi: no GPU found"
}

# Test cases with the given gtest verdict in a log: the per-case lines, which end in "(N ms)"
# (the closing summary lists failed and skipped cases a second time, without it).
count_cases() {
  grep -cE "^\[ *$1 *\] .* \([0-9]+ ms\)$" "$2"
}

# Every gpu-labelled test binary, and the sanitizers on the kernel tests, side by side.
do_test_and_sanitize() {
  local test tool pids=() names=() logs=()
  for test in "${gpu_tests[@]}"; do
    logs+=("${out}/$(basename "${test}").log") names+=("test $(basename "${test}")")
    timeout 200 "${bin}/${test}" >"${logs[-1]}" 2>&1 &
    pids+=($!)
  done
  for test in "${kernel_tests[@]}"; do
    for tool in memcheck racecheck; do
      logs+=("${out}/$(basename "${test}")-${tool}.log") names+=("${tool} $(basename "${test}")")
      timeout 180 compute-sanitizer --tool "${tool}" --error-exitcode 9 "${bin}/${test}" \
          >"${logs[-1]}" 2>&1 &
      pids+=($!)
    done
  done
  local i rc status=0
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}"
    rc=$?
    printf '%-48s exit %3d  ok %4d  failed %3d  skipped %3d\n' "${names[$i]}" "${rc}" \
      "$(count_cases OK "${logs[$i]}")" "$(count_cases FAILED "${logs[$i]}")" \
      "$(count_cases SKIPPED "${logs[$i]}")" | tee -a "${out}/summary.txt"
    ((rc == 0)) || status=1
  done
  grep -h -A3 "^\[  FAILED\|ERROR SUMMARY\|RACECHECK SUMMARY" "${logs[@]}" | head -40
  return ${status}
}

do_bench() {
  "${bin}/tests/bench/gpu_bench" --part kernels 2>&1 | tee "${out}/gpu_bench_kernels.log" | tail -32
  "${bin}/tests/bench/gpu_bench" --part steps 2>&1 | tee "${out}/gpu_bench_steps.log" | tail -14
  "${bin}/tests/bench/optim_bench" 2>&1 | tee "${out}/optim_bench.log" | tail -16
}

# Nsight Compute on one launch of each CUDA fake-quant and quantized-AdamW kernel that gpu_bench
# runs at 64 Mi values (clocks left as the card has them): duration, throughput, occupancy.
do_profile() {
  local kernel
  for kernel in map_vec block_vec warp_vec one_pass; do
    ncu --clock-control none --kernel-name "regex:${kernel}" --launch-skip 3 --launch-count 1 \
        --section SpeedOfLight --section Occupancy --section LaunchStats \
        --section MemoryWorkloadAnalysis --section WarpStateStats \
        "${bin}/tests/bench/gpu_bench" --part kernels --rounds 3 >"${out}/ncu-${kernel}.log" 2>&1
    echo "--- ${kernel}: exit $?"
    grep -E "^  [a-z_]+.*\\(|Duration|Throughput|Registers Per|Occupancy|Block Size|Grid Size" \
        "${out}/ncu-${kernel}.log" | head -14
  done
}

do_train() {
  local ws=/tmp/lowbit-gpu-ws lowbit="${bin}/${engine}"
  rm -rf "${ws}"
  "${lowbit}" train resources/presets/pretrain/gpt2/w8a8g8.yaml --workspace "${ws}" \
      --device cuda --set train.steps=200 --set train.eval_every=100 --progress none \
      --name gpt2-w8a8g8-cuda 2>&1 | tail -4
  "${lowbit}" train resources/presets/pretrain/gpt2/w8a8g8.yaml --workspace "${ws}" \
      --device cuda --set train.steps=200 --set train.eval_every=100 --progress none \
      --set train.precision=bf16 --set quant.forward_gemm=int8 --name gpt2-w8a8g8-int8-bf16 \
      2>&1 | tail -4
  # Data-parallel on the GPU: two ranks (on one GPU they share it through Gloo; on two, NCCL),
  # started by torchrun and by the engine itself. torchrun (Python) must not see the packed
  # libraries, so it starts the engine through a wrapper that sets them.
  local wrapper=/tmp/lowbit-gpu/lowbit-with-libs
  printf '#!/bin/sh\nLD_LIBRARY_PATH="%s" exec "%s" "$@"\n' "${LD_LIBRARY_PATH}" "${lowbit}" \
      >"${wrapper}"
  chmod +x "${wrapper}"
  local small=(--workspace "${ws}" --device cuda --set train.steps=60 --set train.warmup_steps=10
               --set train.eval_every=30 --progress none)
  env -u LD_LIBRARY_PATH python3 -m torch.distributed.run --standalone --nproc-per-node=2 \
      --no-python "${wrapper}" train "${small[@]}" --name torchrun-2-ranks-cuda 2>&1 | tail -3
  "${lowbit}" train "${small[@]}" --nproc-per-node 2 --name nproc-2-ranks-cuda 2>&1 | tail -3
  "${lowbit}" runs list --workspace "${ws}" 2>&1 | tail -6
}

mode="${1:-run}"
shift || true
if [[ "${mode}" == pack ]]; then
  do_pack
  exit $?
fi
steps=("$@")
[[ ${#steps[@]} -eq 0 ]] && steps=(test bench train)
rm -rf "${out}" && mkdir -p "${out}" "${results}"
unpack || exit 1
for step in "${steps[@]}"; do
  echo "=== ${step}"
  case "${step}" in
    test) do_test_and_sanitize ;;
    sanitize) do_test_and_sanitize ;;
    bench) do_bench ;;
    train) do_train ;;
    profile) do_profile ;;
    *) echo "unknown step ${step}"; exit 2 ;;
  esac || echo "step ${step} failed"
done
tar -czf "${results}/gpu-logs.tar.gz" -C "${out}" .
cat "${out}/summary.txt" 2>/dev/null
