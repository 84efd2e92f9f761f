#!/usr/bin/env bash
# Data-parallel training on one machine through torchrun (docs/distributed.md §Launching).
#
#   bash packaging/launch/torchrun-one-node.sh RECIPE.yaml [RANKS] [lowbit train options...]
#
# torchrun comes from the set-up's venv (packaging/setup.sh) unless TORCHRUN names another;
# LOWBIT names the engine (default: lowbit on the PATH, as the lowbit-engine package installs it).
# Each rank gets THREADS CPU threads (default: the cores divided by the ranks). The workspace is
# $LOWBIT_WORKSPACE or the default; pass --workspace DIR to choose.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "${here}/../versions.env"

recipe=${1:?usage: torchrun-one-node.sh RECIPE.yaml [RANKS] [options...]}
shift
ranks=2
if [[ "${1:-}" =~ ^[0-9]+$ ]]; then
  ranks=$1
  shift
fi
lowbit=${LOWBIT:-$(command -v lowbit)}
torchrun=${TORCHRUN:-${LOWBIT_CACHE:-$HOME/.cache/lowbit}/venv-torch-${LOWBIT_TORCH_VERSION}/bin/torchrun}
threads=${THREADS:-$(( $(nproc) / ranks > 0 ? $(nproc) / ranks : 1 ))}

exec "$torchrun" --standalone --nproc-per-node="$ranks" --no-python \
  "$lowbit" train "$recipe" --set "train.threads=$threads" "$@"
