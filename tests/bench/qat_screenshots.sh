#!/usr/bin/env bash
# The EfficientQAT screenshots of README.md (docs/images/studio-qat-*.png), light and dark, from
# the workspace that tests/bench/qat_results.sh writes: the editor's EfficientQAT mode on the Llama
# source, the phases of its w2g64 EfficientQAT run, and the results table of that source.
#
#   bash tests/bench/qat_screenshots.sh
#   OUT=/tmp/shots WS=/tmp/qat-ws MODEL=gpt2-8m bash tests/bench/qat_screenshots.sh
#
# Environment: OUT (docs/images), WS (the results workspace; default as qat_results.sh), MODEL
# (llama-8m), RUN (the qat run whose phases are shown; default MODEL-efficientqat-w2g64), STUDIO.
set -euo pipefail
cd "$(dirname "$0")/../.."

OUT=${OUT:-docs/images}
WS=${WS:-$HOME/.local/share/lowbit/qat-results}
MODEL=${MODEL:-llama-8m}
RUN=${RUN:-$MODEL-efficientqat-w2g64}
STUDIO=${STUDIO:-build/dev/app/lowbit-studio/lowbit-studio}
[[ -x "$STUDIO" ]] || { echo "qat_screenshots: $STUDIO not built" >&2; exit 2; }
[[ -f "$WS/runs.sqlite" ]] || { echo "qat_screenshots: no workspace at $WS (run qat_results.sh)" >&2; exit 2; }
mkdir -p "$OUT"
settings=$(mktemp -d)
trap 'rm -rf "$settings"' EXIT
export XDG_CONFIG_HOME=$settings

for theme in light dark; do
  "$STUDIO" --workspace "$WS" --theme "$theme" --view qat-editor --runs "$MODEL" \
    --snapshot "$OUT/studio-qat-editor-$theme.png"
  "$STUDIO" --workspace "$WS" --theme "$theme" --view qat-phases --runs "$RUN" \
    --snapshot "$OUT/studio-qat-phases-$theme.png"
  "$STUDIO" --workspace "$WS" --theme "$theme" --view qat-results --runs "$MODEL" \
    --snapshot "$OUT/studio-qat-results-$theme.png"
done
echo "written: $OUT/studio-qat-{editor,phases,results}-{light,dark}.png"
