#!/usr/bin/env bash
# Prepares a Debian 12 machine (with the CUDA toolkit) to build and test Lowbit Studio.
# Idempotent: installs only what is missing; the Python environment that carries LibTorch is
# cached outside the clone, in ${LOWBIT_CACHE:-~/.cache/lowbit}, keyed by the pinned versions.
# Prints nothing but progress on stderr; the last line on stdout is the venv path.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "${here}/versions.env"

cache="${LOWBIT_CACHE:-${HOME}/.cache/lowbit}"
venv="${cache}/venv-torch-${LOWBIT_TORCH_VERSION}"
log() { echo "[setup] $*" >&2; }

debian_packages=(
  build-essential cmake ninja-build ccache pkg-config clang-format
  qt6-base-dev libqcustomplot-dev libgl-dev
  libsqlite3-dev sqlite3
  libgtest-dev libgmock-dev libbenchmark-dev
  libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev
  libsentencepiece-dev libhwy-dev
  libgloo-dev desktop-file-utils appstream
  xvfb xauth x11-apps
)

missing=()
for p in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq >&2
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
else
  log "Debian packages present"
fi

stamp="${venv}/.lowbit-ready"
want="torch==${LOWBIT_TORCH_VERSION} transformers==${LOWBIT_TRANSFORMERS_VERSION} safetensors==${LOWBIT_SAFETENSORS_VERSION} numpy==${LOWBIT_NUMPY_VERSION}"
if [[ -f "${stamp}" && "$(cat "${stamp}")" == "${want}" ]]; then
  log "Python environment ready: ${venv}"
else
  log "creating Python environment ${venv} (${want})"
  mkdir -p "${cache}"
  python3 -m venv "${venv}"
  "${venv}/bin/python" -m pip install -q --upgrade pip >&2
  # shellcheck disable=SC2086
  "${venv}/bin/python" -m pip install -q ${want} >&2
  echo "${want}" >"${stamp}"
fi
echo "${venv}"
