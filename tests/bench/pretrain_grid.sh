#!/usr/bin/env bash
# Reproduction table of the quantized-pretraining grid (the table in
# resources/presets/pretrain/README.md): every preset of resources/presets/pretrain/<family>/
# trained with several seeds on a text corpus, one run group, then the table of final validation
# loss mean ± sd and divergences, and the telemetry columns (grid_telemetry.py), in Markdown.
#
#   bash tests/bench/pretrain_grid.sh                 # gpt2, seeds 1,2,3, tinyshakespeare
#   FAMILY=llama SEEDS=1 JOBS=4 bash tests/bench/pretrain_grid.sh
#
# Environment: LOWBIT (the binary; default build/dev or build/release), DATA (corpus), WS
# (workspace; default ~/.local/share/lowbit/pretrain-grid), FAMILY, SEEDS, JOBS (runs at a time),
# ONLY (a glob of preset names, e.g. 'w8*'), EXTRA (more --set arguments, e.g. "--set
# train.device=cuda"). Re-running adds runs to the same group; use a fresh WS for a fresh table.
set -euo pipefail
cd "$(dirname "$0")/../.."

FAMILY=${FAMILY:-gpt2}
SEEDS=${SEEDS:-1,2,3}
JOBS=${JOBS:-1}
ONLY=${ONLY:-*}
DATA=${DATA:-$(realpath -m ../shared/data/tinyshakespeare.txt)}
WS=${WS:-$HOME/.local/share/lowbit/pretrain-grid}
GROUP="pretrain-grid ${FAMILY}"
source tests/bench/find_lowbit.sh
[[ -f "$DATA" ]] || { echo "pretrain_grid: corpus $DATA not found (set DATA)" >&2; exit 2; }

# shellcheck disable=SC2086  # EXTRA is a list of arguments
for preset in resources/presets/pretrain/"$FAMILY"/$ONLY.yaml; do
  echo "== $(basename "$preset" .yaml)"
  # A diverged run is a result; a failed one is reported by the sweep and the table.
  "$LOWBIT" sweep "$preset" --vary "seed=$SEEDS" --set "data.train=$DATA" ${EXTRA:-} \
    --group "$GROUP" --jobs "$JOBS" --progress none --workspace "$WS" || true
done
echo
"$LOWBIT" runs aggregate --group "$GROUP" --markdown --workspace "$WS"
echo
# The telemetry columns of the same table (underflow, SQNR, max grad norm), from the workspace.
python3 tests/bench/grid_telemetry.py "$WS" "$GROUP"
