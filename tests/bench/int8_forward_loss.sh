#!/usr/bin/env bash
# The int8 forward GEMM against fake quantization over a whole run
# (docs/quantized-pretraining.md §Int8 forward GEMM): the GPT-2 W8A8G8 preset trained for its 2000
# steps with seeds 1, 2, 3, once with each forward GEMM, then per seed the final validation loss of
# both and their difference, beside the seed spread of the fake-quant runs, in Markdown.
#
#   bash tests/bench/int8_forward_loss.sh
#   SEEDS=1 EXTRA="--set train.steps=200" bash tests/bench/int8_forward_loss.sh   # a quick look
#
# Environment: LOWBIT (the binary; default build/release or build/dev), DATA (corpus; default
# tinyshakespeare), WS (workspace; default ~/.local/share/lowbit/int8-forward), SEEDS, JOBS (runs
# at a time), EXTRA (more --set arguments). Re-running adds runs; use a fresh WS for a fresh table.
set -euo pipefail
cd "$(dirname "$0")/../.."

SEEDS=${SEEDS:-1,2,3}
JOBS=${JOBS:-1}
DATA=${DATA:-$(realpath -m ../shared/data/tinyshakespeare.txt)}
WS=${WS:-$HOME/.local/share/lowbit/int8-forward}
PRESET=resources/presets/pretrain/gpt2/w8a8g8.yaml
source tests/bench/find_lowbit.sh
[[ -f "$DATA" ]] || { echo "int8_forward_loss: corpus $DATA not found (set DATA)" >&2; exit 2; }

# shellcheck disable=SC2086  # EXTRA is a list of arguments
for gemm in fake_quant int8; do
  echo "== forward_gemm $gemm"
  "$LOWBIT" sweep "$PRESET" --vary "seed=$SEEDS" --set "data.train=$DATA" \
    --set "quant.forward_gemm=$gemm" ${EXTRA:-} --group "int8-forward $gemm" --jobs "$JOBS" \
    --progress none --workspace "$WS"
done
echo
python3 - "$WS/runs.sqlite" <<'PY'
import json, sqlite3, statistics, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
final = {}  # (gemm, seed) -> final val/loss of the newest completed run
for run_id, group, recipe in db.execute(
        "SELECT id, group_name, recipe_json FROM runs WHERE group_name LIKE 'int8-forward %' "
        "AND status = 'completed' ORDER BY id"):
    row = db.execute("SELECT value FROM scalars WHERE run_id = ? AND key = 'val/loss' "
                     "ORDER BY step DESC LIMIT 1", (run_id,)).fetchone()
    if row:
        final[(group.split()[-1], json.loads(recipe)["seed"])] = row[0]
seeds = sorted({seed for _, seed in final})
print("| seed | fake-quant val loss | int8 val loss | int8 - fake |")
print("|---|---|---|---|")
diffs = []
for seed in seeds:
    fake, int8 = final.get(("fake_quant", seed)), final.get(("int8", seed))
    if fake is None or int8 is None:
        continue
    diffs.append(int8 - fake)
    print(f"| {seed} | {fake:.4f} | {int8:.4f} | {int8 - fake:+.4f} |")
fakes = [final[("fake_quant", s)] for s in seeds if ("fake_quant", s) in final]
if diffs:
    print(f"\nmean difference {statistics.fmean(diffs):+.4f} over {len(diffs)} seeds", end="")
    if len(fakes) > 1:
        print(f"; seed sd of the fake-quant runs {statistics.stdev(fakes):.4f}", end="")
    print()
PY
