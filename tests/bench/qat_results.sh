#!/usr/bin/env bash
# The EfficientQAT results table (docs/efficientqat.md §Results): the source models of
# tests/bench/qat_sources/ pretrained with `lowbit train`, each quantized on the grids of
# resources/presets/efficientqat/ with RTN, GPTQ, Block-AP alone and Block-AP + E2E-QP, every
# model scored on the source's held-out split and on WikiText-2's test text; then the table in
# Markdown with time and peak memory per method (qat_results_table.py).
#
#   bash tests/bench/qat_results.sh
#   MODELS=llama-8m GRIDS=w2g64 bash tests/bench/qat_results.sh
#
# Environment: LOWBIT (the binary; default build/release or build/dev), DATA (the folder holding
# tinyshakespeare.txt and wikitext-2/), WS (workspace; default ~/.local/share/lowbit/qat-results),
# MODELS, GRIDS, METHODS (rtn gptq blockap efficientqat), EXTRA (more --set arguments for every
# run, e.g. "--set train.device=cuda"). A run already completed in WS is kept, a stopped or killed
# one is resumed, so an interrupted script goes on where it stopped.
set -euo pipefail
cd "$(dirname "$0")/../.."

DATA=${DATA:-$(realpath -m ../shared/data)}
WS=${WS:-$HOME/.local/share/lowbit/qat-results}
MODELS=${MODELS:-llama-8m gpt2-8m}
GRIDS=${GRIDS:-w4g128 w3g128 w2g64}
METHODS=${METHODS:-rtn gptq blockap efficientqat}
source tests/bench/find_lowbit.sh
TRAIN_TEXT="[$DATA/tinyshakespeare.txt, $DATA/wikitext-2/valid.txt]"
TEST_TEXT=$DATA/wikitext-2/test.txt
for file in "$DATA/tinyshakespeare.txt" "$DATA/wikitext-2/valid.txt" "$TEST_TEXT"; do
  [[ -f "$file" ]] || { echo "qat_results: corpus $file not found (set DATA)" >&2; exit 2; }
done

# The status of the run named $1 in WS ("" when there is none).
run_status() {
  [[ -f "$WS/runs.sqlite" ]] || return 0
  python3 - "$WS/runs.sqlite" "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
row = db.execute("SELECT status FROM runs WHERE name = ? ORDER BY id DESC LIMIT 1", (sys.argv[2],)).fetchone()
print(row[0] if row else "")
PY
}

# shellcheck disable=SC2086  # EXTRA is a list of arguments
for model in $MODELS; do
  if [[ "$(run_status "$model")" != completed ]]; then
    echo "== pretraining $model"
    "$LOWBIT" train "tests/bench/qat_sources/$model.yaml" --set "data.train=$TRAIN_TEXT" ${EXTRA:-} \
      --group qat-sources --progress none --workspace "$WS"
  fi
  # The full-precision row: perplexity of the source on the same corpora, stored on its run.
  read -r data_dir has_fp_rows < <(python3 - "$WS/runs.sqlite" "$model" <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
run_id, summary = db.execute("SELECT id, summary_json FROM runs WHERE name = ? ORDER BY id DESC",
                             (sys.argv[2],)).fetchone()
rows = db.execute("SELECT count(*) FROM scalars WHERE run_id = ? AND key IN "
                  "('eval/val/ppl', 'eval/test/ppl')", (run_id,)).fetchone()[0]
print(json.loads(summary)["data_dir"], rows)
PY
)
  if [[ "$has_fp_rows" -lt 2 ]]; then
    "$LOWBIT" eval "$model" --data "$data_dir/val.bin" --workspace "$WS"
    "$LOWBIT" eval "$model" --data "$TEST_TEXT" --workspace "$WS"
  fi
  for grid in $GRIDS; do
    for method in $METHODS; do
      name="$model-$method-$grid"
      case $method in
        rtn|gptq) settings=(--set "qat.method=$method") ;;
        blockap) settings=(--set qat.e2e_qp.epochs=0) ;;
        efficientqat) settings=() ;;
        *) echo "qat_results: unknown method $method" >&2; exit 2 ;;
      esac
      case "$(run_status "$name")" in
        completed) continue ;;
        "") echo "== $name"
            "$LOWBIT" qat "resources/presets/efficientqat/$grid.yaml" --set "qat.source=$model" \
              --set "qat.eval=[$TEST_TEXT]" "${settings[@]}" ${EXTRA:-} --name "$name" \
              --group "qat $model" --progress none --workspace "$WS" ;;
        *) echo "== $name (resumed)"
           "$LOWBIT" qat --resume "$name" --progress none --workspace "$WS" ;;
      esac
    done
  done
done
echo
python3 tests/bench/qat_results_table.py "$WS" $MODELS
