#!/usr/bin/env bash
# How closely 2 data-parallel ranks reproduce one process (docs/distributed.md §Exactness): the
# GPT-2 presets (baseline, and W8A8G8 with m and v stored at 8 bits) on builtin:markov for STEPS
# steps, 1 thread per process, run as 1 process, as 2 ranks (--nproc-per-node 2, same global
# batch), as 1 process at 2 threads, and as 1 process in 2 passes of 6 rows (train.rows_per_pass,
# docs/training.md §Passes). Prints, per recipe, the largest relative deviation of train/loss over
# all steps and the relative L2 deviation of all final weights: of 2 ranks and of 2 threads from
# the 1-process run, and of 2 ranks from the 2-pass run. Markdown; needs the set-up's venv
# (safetensors, torch).
#
#   bash tests/bench/ddp_exactness.sh
#
# Environment: LOWBIT (the binary; default build/release or build/dev), PYTHON (default the
# set-up's venv), STEPS (default 50), WS (scratch folder; default a temporary one, removed).
set -euo pipefail
cd "$(dirname "$0")/../.."

STEPS=${STEPS:-50}
source tests/bench/find_lowbit.sh
source packaging/versions.env
PYTHON=${PYTHON:-${LOWBIT_CACHE:-$HOME/.cache/lowbit}/venv-torch-${LOWBIT_TORCH_VERSION}/bin/python}
WS=${WS:-$(mktemp -d)}
trap '[[ -z "${KEEP:-}" ]] && rm -rf "$WS"' EXIT

common=(--set "train.steps=$STEPS" --set "train.warmup_steps=10" --set "train.eval_every=$STEPS"
        --set "train.eval_batches=4" --set "train.checkpoint_every=$STEPS" --set "train.log_every=1"
        --set "train.device=cpu" --progress none)
quantized_adam=(--set "quant.optim_m={bits: 8, granularity: per_channel}"
                --set "quant.optim_v={bits: 8, granularity: per_channel}"
                --set "quant.optim_v_mapping=sqrt")
for recipe in baseline w8a8g8; do
  preset=resources/presets/pretrain/gpt2/$recipe.yaml
  extra=()
  [[ $recipe == w8a8g8 ]] && extra=("${quantized_adam[@]}")
  "$LOWBIT" train "$preset" "${common[@]}" "${extra[@]}" --set train.threads=1 --workspace "$WS/$recipe-one"
  "$LOWBIT" train "$preset" "${common[@]}" "${extra[@]}" --set train.threads=1 --nproc-per-node 2 \
    --workspace "$WS/$recipe-ranks"
  "$LOWBIT" train "$preset" "${common[@]}" "${extra[@]}" --set train.threads=2 --workspace "$WS/$recipe-threads"
  "$LOWBIT" train "$preset" "${common[@]}" "${extra[@]}" --set train.threads=1 --set train.rows_per_pass=6 \
    --workspace "$WS/$recipe-passes"
done >/dev/null

"$PYTHON" - "$WS" "$STEPS" "$(lscpu | sed -n 's/^Model name: *//p')" <<'PY'
import glob, sqlite3, sys
import torch
from safetensors.torch import load_file
ws, steps, cpu = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def losses(run):
    db = sqlite3.connect(f"file:{ws}/{run}/runs.sqlite?mode=ro", uri=True)
    return [v for (v,) in db.execute("SELECT value FROM scalars WHERE key = 'train/loss' ORDER BY step")]

def weights(run):
    path = glob.glob(f"{ws}/{run}/runs/1/checkpoints/step-{steps:07d}/model.safetensors")[0]
    tensors = load_file(path)
    return torch.cat([tensors[k].double().flatten() for k in sorted(tensors)])

print(f"Machine: {cpu}; {steps} steps; GPT-2 presets on builtin:markov, global batch 12.\n")
print("| recipe | loss dev. 2 ranks | loss dev. 2 threads | weight dev. 2 ranks | weight dev. 2 threads "
      "| 2 ranks vs 2 passes: loss dev. | weight dev. |")
print("|---|---|---|---|---|---|---|")

def loss_deviation(base, other):
    a, b = losses(base), losses(other)
    assert len(a) == len(b) == steps
    return max(abs(x - y) / abs(x) for x, y in zip(a, b))

def weight_deviation(base, other):
    w = weights(base)
    return ((w - weights(other)).norm() / w.norm()).item()

for recipe, label in (("baseline", "float32"), ("w8a8g8", "W8A8G8, m and v 8-bit")):
    one, ranks, passes = f"{recipe}-one", f"{recipe}-ranks", f"{recipe}-passes"
    row = [loss_deviation(one, ranks), loss_deviation(one, f"{recipe}-threads"),
           weight_deviation(one, ranks), weight_deviation(one, f"{recipe}-threads"),
           loss_deviation(passes, ranks), weight_deviation(passes, ranks)]
    print("| " + " | ".join([label] + [f"{x:.1e}" if x else "0" for x in row]) + " |")
PY
