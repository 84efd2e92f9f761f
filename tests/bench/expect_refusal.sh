#!/usr/bin/env bash
# expect_refusal.sh TEXT BENCHMARK ARGS...: passes when BENCHMARK ARGS... exits with the bad-input
# code 2 and its output names TEXT (the option it refused). Both are needed: gpu_bench also exits 2
# on a machine without a GPU, whatever its arguments.
set -u
text="$1"
shift
output="$("$@" 2>&1)"
status=$?
if [[ ${status} -ne 2 ]]; then
  echo "expected exit code 2, got ${status}: ${output}" >&2
  exit 1
fi
if [[ "${output}" != *"${text}"* ]]; then
  echo "expected the output to name '${text}': ${output}" >&2
  exit 1
fi
