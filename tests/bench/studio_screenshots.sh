#!/usr/bin/env bash
# The studio screenshots of README.md (docs/images/studio-*.png), from real runs:
#  - two runs of the tiny GPT-2 on a text corpus, the fp32 baseline and the W8A8G8 preset of
#    resources/presets/pretrain/gpt2/ (STEPS steps, telemetry every 20 steps), trained once into
#    the workspace WS and reused when WS already holds them;
#  - each view (runs, editor, charts, histograms) rendered by `lowbit-studio --snapshot`, light
#    and dark;
#  - the whole window under Xvfb while a live run streams in: `lowbit-studio --demo` on the same
#    workspace, captured LIVE_AFTER seconds after it opened (studio-live-<theme>.png).
#
#   bash tests/bench/studio_screenshots.sh            # into docs/images
#   OUT=/tmp/shots WS=/tmp/shots-ws bash tests/bench/studio_screenshots.sh
#
# Needs the dev build (build/dev), xvfb-run, xwd and netpbm (xwdtopnm, pnmtopng:
# apt-get install xvfb x11-apps netpbm sqlite3). Environment: OUT, WS, DATA (corpus; default
# ../shared/data/tinyshakespeare.txt), STEPS (300), LIVE_AFTER (seconds, 40).
set -euo pipefail
cd "$(dirname "$0")/../.."

OUT=${OUT:-docs/images}
WS=${WS:-$HOME/.local/share/lowbit/studio-screenshots}
DATA=${DATA:-$(realpath -m ../shared/data/tinyshakespeare.txt)}
STEPS=${STEPS:-300}
LIVE_AFTER=${LIVE_AFTER:-40}
LOWBIT=${LOWBIT:-build/dev/app/lowbit/lowbit}
STUDIO=${STUDIO:-build/dev/app/lowbit-studio/lowbit-studio}
for tool in "$LOWBIT" "$STUDIO"; do
  [[ -x "$tool" ]] || { echo "studio_screenshots: $tool not built (cmake --build --preset dev)" >&2; exit 2; }
done
for tool in xvfb-run xwd xwdtopnm pnmtopng sqlite3; do
  command -v "$tool" >/dev/null || { echo "studio_screenshots: $tool not found (apt-get install xvfb x11-apps netpbm sqlite3)" >&2; exit 2; }
done
[[ -f "$DATA" ]] || { echo "studio_screenshots: corpus $DATA not found (set DATA)" >&2; exit 2; }
mkdir -p "$OUT" "$WS"
# The studio's saved layout and theme must not leak in from the user's settings.
settings=$(mktemp -d)
trap 'rm -rf "$settings"' EXIT
export XDG_CONFIG_HOME=$settings

train() {  # train NAME PRESET: once per workspace
  local name=$1 preset=$2
  if "$LOWBIT" runs show "$name" --workspace "$WS" >/dev/null 2>&1; then
    echo "== $name: already in $WS"
    return
  fi
  echo "== training $name ($STEPS steps)"
  "$LOWBIT" train "resources/presets/pretrain/gpt2/$preset.yaml" --name "$name" \
    --set "data.train=$DATA" --set "train.steps=$STEPS" --set train.eval_every=50 \
    --set telemetry.every=20 --workspace "$WS" --progress none
}
train baseline baseline
train w8a8g8 w8a8g8

for theme in light dark; do
  for view in runs editor charts histograms; do
    args=(--workspace "$WS" --theme "$theme" --view "$view" --snapshot "$OUT/studio-$view-$theme.png")
    case $view in
      editor) args+=(--runs w8a8g8) ;;
      charts) args+=(--runs baseline,w8a8g8) ;;
      histograms) args+=(--runs w8a8g8 --layer blocks.1.attn.qkv --kind W) ;;
    esac
    "$STUDIO" "${args[@]}"
    echo "$OUT/studio-$view-$theme.png"
  done
done

# The live window: the studio opens a copy of the workspace (the demo run is not kept) and
# launches the demo run, and the screen is captured LIVE_AFTER seconds later while the run
# trains. The run outlives the studio (launches are detached), so it is then stopped as the
# studio's Stop does (SIGTERM: it checkpoints).
for theme in light dark; do
  rm -rf "$settings/live-ws"
  cp -r "$WS" "$settings/live-ws"
  xvfb-run -a -s "-screen 0 1600x1000x24" bash -c '
    "$1" --workspace "$2" --theme "$3" --demo -- --set train.steps=2000 &
    studio=$!
    sleep "$4"
    xwd -root -silent | xwdtopnm 2>/dev/null | pnmtopng >"$5"
    kill "$studio"
    wait "$studio" || true' \
    live "$STUDIO" "$settings/live-ws" "$theme" "$LIVE_AFTER" "$OUT/studio-live-$theme.png"
  echo "$OUT/studio-live-$theme.png"
  db="$settings/live-ws/runs.sqlite"
  for pid in $(sqlite3 "$db" "SELECT pid FROM runs WHERE status = 'running' AND pid IS NOT NULL"); do
    kill -TERM "$pid" 2>/dev/null || true
  done
  while [[ -n $(sqlite3 "$db" "SELECT id FROM runs WHERE status = 'running'") ]]; do sleep 2; done
done
