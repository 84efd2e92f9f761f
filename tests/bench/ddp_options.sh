#!/usr/bin/env bash
# The distributed: options on two CPU ranks (docs/distributed.md §Compressed gradients,
# §Sharded optimizer state): the GPT-2 W8A8G8 preset with m and v stored at 8 bits, 2 ranks at 1
# thread each, global batch 24: exact fp32 gradient averaging, bf16, int8 and int8 with error
# feedback, each at SEEDS seeds, and fp32 with the optimizer state sharded at the first seed.
# Traffic and memory (first seed): the gradient bytes each rank sends per step as the engine
# counts them, the bytes that crossed the loopback interface per step and rank (/proc/net/dev,
# everything on the machine included), the optimizer state each rank holds, the median
# tokens/s. Loss: the final validation loss per seed, its mean, and the mean difference from
# fp32 at the same seeds. Prints Markdown.
#
#   bash tests/bench/ddp_options.sh
#
# Environment: LOWBIT (the binary; default build/release or build/dev), DATA (corpus; default
# tinyshakespeare), STEPS (default 300), SEEDS (default "1 2 3"), WS (scratch workspace, default a temporary folder,
# removed at the end unless KEEP is set).
set -euo pipefail
cd "$(dirname "$0")/../.."

STEPS=${STEPS:-300}
SEEDS=${SEEDS:-1 2 3}
DATA=${DATA:-$(realpath -m ../shared/data/tinyshakespeare.txt)}
PRESET=resources/presets/pretrain/gpt2/w8a8g8.yaml
source tests/bench/find_lowbit.sh
[[ -f "$DATA" ]] || { echo "ddp_options: corpus $DATA not found (set DATA)" >&2; exit 2; }
WS=${WS:-$(mktemp -d)}
mkdir -p "$WS"
trap '[[ -z "${KEEP:-}" ]] && rm -rf "$WS"' EXIT

common=(--set "data.train=$DATA" --set "train.steps=$STEPS" --set "train.threads=1"
        --set "train.batch_size=24" --set "train.eval_every=$STEPS" --set "train.eval_batches=8"
        --set "train.checkpoint_every=$STEPS" --set "train.log_every=1" --set "train.device=cpu"
        --set "quant.optim_m.bits=8" --set "quant.optim_v.bits=8"
        --progress none --nproc-per-node 2)
declare -A settings=(
  [fp32]=""
  [bf16]="distributed.gradient_allreduce=bf16"
  [int8]="distributed.gradient_allreduce=int8"
  [int8-feedback]="distributed.gradient_allreduce=int8 distributed.error_feedback=true"
  [fp32-sharded]="distributed.shard_optimizer_states=true"
)
order=(fp32 bf16 int8 int8-feedback fp32-sharded)
loopback_bytes() { awk '$1 == "lo:" {print $10}' /proc/net/dev; }
runs="$WS/runs.txt"
: >"$runs"
# Prepare the corpus cache once, outside the measured runs.
"$LOWBIT" train "$PRESET" "${common[@]}" --set train.steps=1 --set train.warmup_steps=0 \
  --workspace "$WS/warm" >/dev/null
first_seed=${SEEDS%% *}
for seed in $SEEDS; do
  for name in "${order[@]}"; do
    [[ $name == fp32-sharded && $seed != "$first_seed" ]] && continue
    extra=(--set "seed=$seed")
    for setting in ${settings[$name]}; do extra+=(--set "$setting"); done
    before=$(loopback_bytes)
    "$LOWBIT" train "$PRESET" "${common[@]}" "${extra[@]}" --workspace "$WS/warm" >/dev/null
    after=$(loopback_bytes)
    echo "$name $seed $((after - before))" >>"$runs"
  done
done

python3 - "$runs" "$WS/warm/runs.sqlite" "$STEPS" "$(nproc)" \
    "$(lscpu | sed -n 's/^Model name: *//p')" <<'PY'
import json, sqlite3, statistics, sys
runs = [line.split() for line in open(sys.argv[1])]
db = sqlite3.connect(f"file:{sys.argv[2]}?mode=ro", uri=True)
steps = int(sys.argv[3])
rows = {}
losses = {}
# Run 1 prepared the cache; the measured runs follow in order.
for run_id, (name, seed, loopback) in enumerate(runs, start=2):
    summary = json.loads(db.execute("SELECT summary_json FROM runs WHERE id = ?",
                                    (run_id,)).fetchone()[0])
    series = lambda key: [v for (v,) in db.execute(
        "SELECT value FROM scalars WHERE run_id = ? AND key = ? ORDER BY step", (run_id, key))]
    losses.setdefault(name, {})[seed] = series("val/loss")[-1]
    if name in rows:
        continue
    rows[name] = {
        "sent": summary["gradient_bytes_sent"] / steps,
        "loopback": int(loopback) / steps / 2,
        "state": summary["optimizer_state_bytes_per_rank"],
        "tokens_per_s": statistics.median(series("throughput/tokens_per_s")[10:]),
    }
base = rows["fp32"]
print(f"Machine: {sys.argv[5]}, {sys.argv[4]} cores; 2 ranks x 1 thread, global batch 24, "
      f"{steps} steps per run, GPT-2 W8A8G8 with 8-bit m and v.\n")
print("| gradients | sent KiB/step/rank | ÷ fp32 | loopback KiB/step/rank "
      "| state KiB rank 0 / rank 1 | tokens/s |")
print("|---|---|---|---|---|---|")
for name, r in rows.items():
    print(f"| {name} | {r['sent'] / 1024:.1f} | {r['sent'] / base['sent']:.3f} | "
          f"{r['loopback'] / 1024:.1f} | {r['state'][0] / 1024:.0f} / {r['state'][1] / 1024:.0f} "
          f"| {r['tokens_per_s']:.0f} |")
seeds = sorted(losses["fp32"])
print("\n| gradients | " + " | ".join(f"val loss, seed {s}" for s in seeds) +
      " | mean | mean Δ vs fp32 |")
print("|---|" + "---|" * (len(seeds) + 2))
for name, by_seed in losses.items():
    common = [s for s in seeds if s in by_seed]
    mean = statistics.mean(by_seed[s] for s in common)
    delta = statistics.mean(by_seed[s] - losses["fp32"][s] for s in common)
    cells = " | ".join(f"{by_seed[s]:.4f}" if s in by_seed else "" for s in seeds)
    print(f"| {name} | {cells} | {mean:.4f} | {delta:+.4f} |")
PY
