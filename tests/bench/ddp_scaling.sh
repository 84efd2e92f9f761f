#!/usr/bin/env bash
# Weak scaling of data-parallel training on the CPU (docs/distributed.md §Scaling): the GPT-2
# W8A8G8 preset at 1 thread per process, 1 rank at batch 12 against 2 ranks at global batch 24
# (12 rows per rank), alternated ROUNDS times. Per configuration the median over rounds of the
# run's median tokens/s (steps after the first 10), process wall and CPU seconds, and, for 2
# ranks, the seconds per step in collectives (waiting for the peer included) and the bytes per
# step handed to allreduce. Prints Markdown.
#
#   bash tests/bench/ddp_scaling.sh
#
# Environment: LOWBIT (the binary; default build/release or build/dev), DATA (corpus; default
# tinyshakespeare), STEPS (default 60), ROUNDS (default 3), WS (scratch workspace, default a
# temporary folder, removed at the end).
set -euo pipefail
cd "$(dirname "$0")/../.."

STEPS=${STEPS:-60}
ROUNDS=${ROUNDS:-3}
DATA=${DATA:-$(realpath -m ../shared/data/tinyshakespeare.txt)}
PRESET=resources/presets/pretrain/gpt2/w8a8g8.yaml
source tests/bench/find_lowbit.sh
[[ -f "$DATA" ]] || { echo "ddp_scaling: corpus $DATA not found (set DATA)" >&2; exit 2; }
WS=${WS:-$(mktemp -d)}
trap '[[ -z "${KEEP:-}" ]] && rm -rf "$WS"' EXIT

common=(--set "data.train=$DATA" --set "train.steps=$STEPS" --set "train.threads=1"
        --set "train.warmup_steps=10" --set "train.eval_every=$STEPS" --set "train.eval_batches=2"
        --set "train.checkpoint_every=$STEPS" --set "train.log_every=1" --set "train.device=cpu"
        --progress none)
times="$WS/times.txt"
: >"$times"
for round in $(seq 1 "$ROUNDS"); do
  for ranks in 1 2; do
    ws="$WS/r$round-n$ranks"
    launch=()
    [[ $ranks -gt 1 ]] && launch=(--nproc-per-node "$ranks")
    start=$(date +%s.%N)
    # CPU seconds of the launcher and every rank: the children's rusage, read after they end.
    cpu=$( { /usr/bin/time -f "%U %S" "$LOWBIT" train "$PRESET" "${common[@]}" \
              --set "train.batch_size=$((12 * ranks))" "${launch[@]}" --workspace "$ws" \
              >/dev/null; } 2>&1 | tail -1)
    end=$(date +%s.%N)
    echo "$ranks $ws $start $end $cpu" >>"$times"
  done
done

python3 - "$times" "$STEPS" "$(nproc)" "$(lscpu | sed -n 's/^Model name: *//p')" <<'PY'
import json, sqlite3, statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
steps = int(sys.argv[2])
by_ranks = {}
for ranks, ws, start, end, user, system in rows:
    db = sqlite3.connect(f"file:{ws}/runs.sqlite?mode=ro", uri=True)
    rates = [v for (v,) in db.execute(
        "SELECT value FROM scalars WHERE key = 'throughput/tokens_per_s' AND step > 10")]
    summary = json.loads(db.execute("SELECT summary_json FROM runs").fetchone()[0])
    by_ranks.setdefault(int(ranks), []).append({
        "tokens_per_s": statistics.median(rates),
        "wall": float(end) - float(start),
        "cpu": float(user) + float(system),
        "comm": summary.get("communication_seconds", 0.0) / steps,
        "bytes": summary.get("allreduce_bytes", 0) / steps,
    })
med = lambda ranks, key: statistics.median(r[key] for r in by_ranks[ranks])
print(f"Machine: {sys.argv[4]}, {sys.argv[3]} cores; {len(by_ranks[1])} alternating rounds, "
      f"{steps} steps per run, 1 thread per rank, 12 rows per rank.\n")
print("| ranks | tokens/s (median) | run wall s | run CPU s | collectives ms/step | allreduce MiB/step |")
print("|---|---|---|---|---|---|")
for ranks in sorted(by_ranks):
    print(f"| {ranks} | {med(ranks, 'tokens_per_s'):.0f} | {med(ranks, 'wall'):.1f} | "
          f"{med(ranks, 'cpu'):.1f} | {1e3 * med(ranks, 'comm'):.2f} | "
          f"{med(ranks, 'bytes') / 2**20:.2f} |")
print(f"\nweak scaling, 2 ranks / 1 rank tokens/s: "
      f"{med(2, 'tokens_per_s') / med(1, 'tokens_per_s'):.2f}")
PY
