#!/usr/bin/env bash
# The screenshots of the studio's diagnosis views in README.md (docs/images/studio-*.png):
#  - compare, quantization health, cross-run histograms and trade-off, rendered by
#    `lowbit-studio --snapshot` under Xvfb, light and dark, from a copy of the pretraining-grid
#    workspace that tests/bench/pretrain_grid.sh fills (GRID_WS; the copy is made with sqlite3's
#    .backup, so the grid's own database is never opened by this build);
#  - the divergence sentinel's alert on a diverging run: the whole window under Xvfb while the
#    engine trains the v8 per-channel preset at a learning rate it does not survive (LR, no
#    clipping), captured a few seconds after the run diverged and the alert was stored.
#
#   bash tests/bench/diagnose_screenshots.sh            # into docs/images
#   OUT=/tmp/shots GRID_WS=/path/to/grid bash tests/bench/diagnose_screenshots.sh
#
# Needs the dev build (build/dev), xvfb-run, xwd, netpbm and sqlite3 (apt-get install xvfb
# x11-apps netpbm sqlite3). Environment: OUT, GRID_WS (default
# ~/.local/share/lowbit/pretrain-grid), GROUP (the grid's sweep group, "pretrain-grid gpt2"),
# DATA (corpus of the diverging run; default ../shared/data/tinyshakespeare.txt), LR (0.004: with
# one thread, the run's loss turns NaN near step 165 on that corpus).
set -euo pipefail
cd "$(dirname "$0")/../.."

OUT=${OUT:-docs/images}
GRID_WS=${GRID_WS:-$HOME/.local/share/lowbit/pretrain-grid}
GROUP=${GROUP:-pretrain-grid gpt2}
DATA=${DATA:-$(realpath -m ../shared/data/tinyshakespeare.txt)}
LR=${LR:-0.004}
STUDIO=${STUDIO:-build/dev/app/lowbit-studio/lowbit-studio}
[[ -x "$STUDIO" ]] || { echo "diagnose_screenshots: $STUDIO not built (cmake --build --preset dev)" >&2; exit 2; }
for tool in xvfb-run xwd xwdtopnm pnmtopng sqlite3; do
  command -v "$tool" >/dev/null || { echo "diagnose_screenshots: $tool not found (apt-get install xvfb x11-apps netpbm sqlite3)" >&2; exit 2; }
done
[[ -f "$GRID_WS/runs.sqlite" ]] || { echo "diagnose_screenshots: no grid workspace at $GRID_WS (run tests/bench/pretrain_grid.sh or set GRID_WS)" >&2; exit 2; }
[[ -f "$DATA" ]] || { echo "diagnose_screenshots: corpus $DATA not found (set DATA)" >&2; exit 2; }
mkdir -p "$OUT"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export XDG_CONFIG_HOME=$scratch/config  # no saved layout or theme from the user's settings
grid=$scratch/grid
mkdir -p "$grid"
sqlite3 "$GRID_WS/runs.sqlite" ".backup '$grid/runs.sqlite'"

# The completed runs of one preset, seeds ascending, as a comma-separated id list.
ids() {
  sqlite3 "$grid/runs.sqlite" "SELECT group_concat(id) FROM (SELECT id FROM runs
    WHERE group_name = '$GROUP' AND status = 'completed' AND name LIKE 'gpt2-$1 [seed=%'
    ORDER BY name)"
}
first() { ids "$1" | cut -d, -f1; }
for preset in baseline w8a8g8 w4-per-tensor a4-per-token; do
  [[ -n $(ids "$preset") ]] || { echo "diagnose_screenshots: no completed $preset run in $GRID_WS" >&2; exit 2; }
done

snapshot() {  # snapshot NAME THEME ARGS...
  local name=$1 theme=$2
  shift 2
  QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" \
    "$STUDIO" --workspace "$grid" --theme "$theme" --snapshot "$OUT/studio-$name-$theme.png" "$@"
  echo "$OUT/studio-$name-$theme.png"
}
for theme in light dark; do
  snapshot compare "$theme" --view compare \
    --runs "$(ids baseline),$(ids w8a8g8),$(ids w4-per-tensor),$(ids a4-per-token)"
  snapshot health "$theme" --view health --runs "$(first a4-per-token)" --kind A --metric underflow
  snapshot crossrun "$theme" --view crossrun --runs "$(first w4-per-tensor),$(first baseline)" \
    --layer blocks.1.mlp.fc1 --kind W
  snapshot tradeoff "$theme" --view tradeoff
done

# The sentinel: a fresh workspace, the diverging run started by the engine, the studio watching it
# (its workspace worker judges every running run, whoever launched it).
LOWBIT=${LOWBIT:-build/dev/app/lowbit/lowbit}
[[ -x "$LOWBIT" ]] || { echo "diagnose_screenshots: $LOWBIT not built" >&2; exit 2; }
for theme in light dark; do
  ws=$scratch/sentinel-$theme
  rm -rf "$ws"
  "$LOWBIT" train resources/presets/pretrain/gpt2/v8-per-channel.yaml --name v8-high-lr \
    --set "data.train=$DATA" --set train.steps=400 --set "train.lr=$LR" --set "train.min_lr=$LR" \
    --set train.grad_clip=0 --set train.warmup_steps=20 --set train.log_every=5 \
    --set train.eval_every=100 --set telemetry.every=20 --set train.threads=1 \
    --workspace "$ws" --progress none \
    >"$scratch/engine-$theme.log" 2>&1 &
  engine=$!
  # The studio opens the workspace once the engine has created it and recorded the run.
  until [[ -n $(sqlite3 "$ws/runs.sqlite" "SELECT id FROM runs" 2>/dev/null) ]]; do sleep 0.2; done
  xvfb-run -a -s "-screen 0 1600x1000x24" bash -c '
    "$1" --workspace "$2" --theme "$3" &
    studio=$!
    db="$2/runs.sqlite"
    for _ in $(seq 900); do
      sleep 1
      status=$(sqlite3 "$db" "SELECT status FROM runs ORDER BY id DESC LIMIT 1" 2>/dev/null || true)
      alerts=$(sqlite3 "$db" "SELECT count(*) FROM run_alerts" 2>/dev/null || echo 0)
      [[ $status != running && $status != created && -n $status && $alerts -gt 0 ]] && break
    done
    sleep 4  # the alerts dock and the charts catch up
    xwd -root -silent | xwdtopnm 2>/dev/null | pnmtopng >"$4"
    kill "$studio"
    wait "$studio" || true' \
    sentinel "$STUDIO" "$ws" "$theme" "$OUT/studio-sentinel-$theme.png"
  wait "$engine" || true  # exit 3: diverged
  sqlite3 "$ws/runs.sqlite" "SELECT 'run ' || id || ' ' || status FROM runs;
    SELECT 'alert at step ' || step || ': ' || message FROM run_alerts"
  echo "$OUT/studio-sentinel-$theme.png"
done
