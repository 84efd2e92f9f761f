#!/usr/bin/env bash
# The engine's fp32 training step against the same step written in plain PyTorch
# (torch_reference_step.py), alternating the two processes ROUNDS times so that load on a shared
# machine hits both alike; prints each round and the median of each side and their ratio
# (docs/benchmarks.md, engine step vs PyTorch).
#
#   bash tests/bench/torch_comparison.sh            # THREADS=2 ROUNDS=5 STEPS=40
#
# Environment: TRAIN_BENCH (default build/release or build/dev), PYTHON (default the set-up's
# venv), THREADS, ROUNDS, STEPS.
set -euo pipefail
cd "$(dirname "$0")/../.."
source packaging/versions.env
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-5}
STEPS=${STEPS:-40}
PYTHON=${PYTHON:-${LOWBIT_CACHE:-$HOME/.cache/lowbit}/venv-torch-${LOWBIT_TORCH_VERSION}/bin/python}
if [[ -z "${TRAIN_BENCH:-}" ]]; then
  for candidate in build/release/tests/bench/train_bench build/dev/tests/bench/train_bench; do
    if [[ -x "$candidate" ]]; then TRAIN_BENCH=$candidate; break; fi
  done
fi
[[ -x "${TRAIN_BENCH:-}" ]] || { echo "torch_comparison: build train_bench first" >&2; exit 2; }
[[ -x "$PYTHON" ]] || { echo "torch_comparison: no Python at $PYTHON (run packaging/setup.sh)" >&2; exit 2; }

export OMP_NUM_THREADS=$THREADS
engine=() torch=()
for ((round = 1; round <= ROUNDS; ++round)); do
  e=$("$TRAIN_BENCH" --pytorch-comparison "$STEPS")
  t=$("$PYTHON" tests/bench/torch_reference_step.py --threads "$THREADS" --steps "$STEPS")
  echo "round $round: $e | $t"
  engine+=("$(awk '{print $5}' <<<"$e")")
  torch+=("$(awk '{print $5}' <<<"$t")")
done
python3 - "${engine[*]}" "${torch[*]}" "$THREADS" <<'PY'
import statistics, sys
engine = [float(v) for v in sys.argv[1].split()]
torch = [float(v) for v in sys.argv[2].split()]
e, t = statistics.median(engine), statistics.median(torch)
print(f"median over {len(engine)} rounds, {sys.argv[3]} threads: engine {e:.3f} ms, "
      f"PyTorch {t:.3f} ms, engine / PyTorch = {e / t:.3f}")
PY
