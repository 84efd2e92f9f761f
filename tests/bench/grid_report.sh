#!/usr/bin/env bash
# The report of the pretraining grid, docs/reports/pretrain-grid.pdf: every completed run of the
# grid's sweep group (tests/bench/pretrain_grid.sh fills GRID_WS), the three baseline seeds first
# so that the baseline is the reference of every difference, made headless by
# `lowbit-studio --report`. The grid's database is copied with sqlite3's .backup first, so this
# build never opens (or upgrades) the grid's own workspace. PAGES=DIR also writes each page as a
# PNG, to look at.
#
#   bash tests/bench/grid_report.sh
#   GRID_WS=/path/to/grid OUT=/tmp/grid.pdf PAGES=/tmp/pages bash tests/bench/grid_report.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

GRID_WS=${GRID_WS:-$HOME/.local/share/lowbit/pretrain-grid}
GROUP=${GROUP:-pretrain-grid gpt2}
OUT=${OUT:-docs/reports/pretrain-grid.pdf}
STUDIO=${STUDIO:-build/dev/app/lowbit-studio/lowbit-studio}
[[ -x "$STUDIO" ]] || { echo "grid_report: $STUDIO not built (cmake --build --preset dev)" >&2; exit 2; }
command -v sqlite3 >/dev/null || { echo "grid_report: sqlite3 not found (apt-get install sqlite3)" >&2; exit 2; }
[[ -f "$GRID_WS/runs.sqlite" ]] || { echo "grid_report: no grid workspace at $GRID_WS (run tests/bench/pretrain_grid.sh or set GRID_WS)" >&2; exit 2; }
copy=$(mktemp -d)
trap 'rm -rf "$copy"' EXIT
sqlite3 "$GRID_WS/runs.sqlite" ".backup '$copy/runs.sqlite'"
runs=$(sqlite3 "$copy/runs.sqlite" "SELECT group_concat(id) FROM (SELECT id FROM runs
  WHERE group_name = '$GROUP' AND status = 'completed'
  ORDER BY name NOT LIKE 'gpt2-baseline %', name)")
[[ -n $runs ]] || { echo "grid_report: no completed run of group '$GROUP' in $GRID_WS" >&2; exit 2; }
echo "grid_report: $(tr ',' '\n' <<<"$runs" | wc -l) runs of '$GROUP'"
mkdir -p "$(dirname "$OUT")"
args=(--workspace "$copy" --report "$OUT" --runs "$runs")
[[ -n ${PAGES:-} ]] && args+=(--report-pages "$PAGES")
"$STUDIO" "${args[@]}"
echo "$OUT"
