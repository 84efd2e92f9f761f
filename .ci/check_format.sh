#!/usr/bin/env bash
# Fails when a C++/CUDA source is not clang-formatted (config: .clang-format) or when a tracked
# text file has trailing whitespace or lacks a final newline (images and PDFs are not text).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mapfile -t sources < <(git ls-files --cached --others --exclude-standard \
    '*.h' '*.cpp' '*.cu' '*.cuh' | grep -v '^build/' || true)
status=0
if ((${#sources[@]})); then
  clang-format --dry-run -Werror "${sources[@]}" || status=1
fi
while IFS= read -r file; do
  [[ -f "${file}" ]] || continue
  case "${file}" in LICENSE|*.png|*.ico|*.svg|*.pdf) continue ;; esac
  if grep -nE '[[:space:]]+$' "${file}" >/dev/null; then
    echo "trailing whitespace: ${file}"; status=1
  fi
  if [[ -s "${file}" && "$(tail -c1 "${file}" | od -An -c | tr -d ' ')" != '\n' ]]; then
    echo "no final newline: ${file}"; status=1
  fi
done < <(git ls-files --cached --others --exclude-standard | grep -v '^build/')
exit ${status}
