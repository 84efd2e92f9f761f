#!/usr/bin/env bash
# Installs the two Debian packages built by packaging/build-debs.sh on this machine and checks
# them as a user would (docs/packaging.md §Checking): both programs on the PATH, the engine trains
# the default recipe from the package, the studio renders a snapshot without a display, the
# desktop entry and AppStream metadata validate, and the studio loads no LibTorch. Needs root (or
# sudo) for apt; REMOVE=1 uninstalls the packages afterwards.
#
#   bash packaging/check-debs.sh [DEB_DIR]     # default build/package
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
debs=${1:-build/package}
sudo_cmd=()
[[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
log() { echo "[check-debs] $*"; }

shopt -s nullglob
packages=("$debs"/lowbit-engine_*.deb "$debs"/lowbit-studio_*.deb)
[[ ${#packages[@]} -eq 2 ]] || { echo "check-debs: expected lowbit-engine and lowbit-studio .debs in $debs" >&2; exit 2; }
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends desktop-file-utils appstream >/dev/null
log "installing ${packages[*]}"
"${sudo_cmd[@]}" apt-get install -y -qq "$(realpath "${packages[0]}")" "$(realpath "${packages[1]}")" >/dev/null

# Fresh shell lookups: the installed programs, not a build tree's.
hash -r
engine=$(command -v lowbit)
studio=$(command -v lowbit-studio)
log "on the PATH: $engine, $studio"
[[ "$engine" == /usr/bin/lowbit && "$studio" == /usr/bin/lowbit-studio ]]

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log "lowbit train (the default recipe, 30 steps)"
lowbit train --set train.steps=30 --set train.eval_every=30 --progress none --workspace "$work/ws"
lowbit runs show 1 --workspace "$work/ws" | sed -n 1,2p

log "lowbit-studio --snapshot (offscreen)"
QT_QPA_PLATFORM=offscreen lowbit-studio --workspace "$work/ws" --snapshot "$work/charts.png" --view charts --runs 1
[[ -s "$work/charts.png" ]]
log "snapshot: $(stat -c %s "$work/charts.png") bytes"

log "desktop-file-validate"
desktop-file-validate /usr/share/applications/lowbit-studio.desktop
log "appstreamcli validate"
appstreamcli validate --no-net /usr/share/metainfo/io.github.lowbit.studio.metainfo.xml

log "ldd lowbit-studio: no LibTorch"
# Library names only: ldd's load addresses are hex and can contain "c10" by chance.
studio_libraries=$(ldd "$studio" | awk '{ print $1 }')
if grep -E '^lib(torch|c10)' <<<"$studio_libraries"; then
  echo "check-debs: the studio loads LibTorch" >&2
  exit 1
fi
log "ldd lowbit: every library found, LibTorch from /usr/lib/lowbit"
engine_libraries=$(ldd "$engine")
if grep 'not found' <<<"$engine_libraries"; then
  echo "check-debs: the engine misses libraries" >&2
  exit 1
fi
torch_cpu=$(awk '$1 == "libtorch_cpu.so" { print $3 }' <<<"$engine_libraries")
[[ "$(realpath "$torch_cpu")" == /usr/lib/lowbit/libtorch_cpu.so ]]
log "all checks passed"
if [[ -n "${REMOVE:-}" ]]; then
  "${sudo_cmd[@]}" apt-get remove -y -qq lowbit-engine lowbit-studio >/dev/null
fi
