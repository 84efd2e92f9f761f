"""The EfficientQAT results table in Markdown, read from a workspace written by qat_results.sh.

    python3 tests/bench/qat_results_table.py WORKSPACE MODEL [MODEL ...]

One table per source model: the full-precision row (the source run's own perplexities, stored by
`lowbit eval`), then per grid the runs named MODEL-METHOD-GRID. Perplexities are the final
eval/val/ppl (the source's held-out split) and eval/test/ppl (WikiText-2 test) scalars; bits per
weight, the packed bytes of the block linears, wall and CPU time and peak resident memory come
from each run's summary (the FP row's time is its pretraining's). Standard library only.
"""

import json
import platform
import sqlite3
import sys

METHODS = [("rtn", "RTN"), ("gptq", "GPTQ"), ("blockap", "Block-AP"),
           ("efficientqat", "Block-AP + E2E-QP")]
GRIDS = ["w4g128", "w3g128", "w2g64"]


def final_scalar(db, run_id, key):
    row = db.execute("SELECT value FROM scalars WHERE run_id = ? AND key = ? "
                     "ORDER BY step DESC, id DESC LIMIT 1", (run_id, key)).fetchone()
    return row[0] if row and row[0] is not None else None


def run_by_name(db, name):
    return db.execute("SELECT id, status, summary_json, started_at, ended_at FROM runs "
                      "WHERE name = ? ORDER BY id DESC LIMIT 1", (name,)).fetchone()


def minutes(seconds):
    return None if seconds is None else seconds / 60


def number(value, digits=2):
    return "—" if value is None else f"{value:.{digits}f}"


def cpu_name():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def table(db, model):
    source = run_by_name(db, model)
    if source is None:
        return f"no run named {model}\n"
    source_id, _, source_summary, started, ended = source
    summary = json.loads(source_summary or "{}")
    pretraining = ended - started if started and ended else None
    # The FP row's block linears in fp32: 4 bytes per weight the quantized rows packed.
    fp32_bytes = None
    lines = [f"**{model}** ({summary.get('parameters', 0) / 1e6:.2f}M parameters, run {source_id})",
             "",
             "| grid | method | held-out ppl | WikiText-2 test ppl | bits/weight | block linears MB "
             "| wall / CPU time (min) | peak RSS (GiB) |",
             "|---|---|---|---|---|---|---|---|"]
    rows = []
    for grid in GRIDS:
        for method, label in METHODS:
            run = run_by_name(db, f"{model}-{method}-{grid}")
            if run is None:
                continue
            run_id, status, run_summary, _, _ = run
            s = json.loads(run_summary or "{}")
            if s.get("packed_weights"):
                fp32_bytes = 4 * s["packed_weights"]
            shown = label if status == "completed" else f"{label} ({status})"
            packed = s.get("packed_bytes")
            rss = s.get("peak_rss_bytes")
            rows.append(
                f"| {grid} | {shown} | {number(final_scalar(db, run_id, 'eval/val/ppl'))} "
                f"| {number(final_scalar(db, run_id, 'eval/test/ppl'))} "
                f"| {number(s.get('bits_per_param'), 3)} "
                f"| {number(None if packed is None else packed / 1e6)} "
                f"| {number(minutes(s.get('elapsed_s')), 1)} / {number(minutes(s.get('cpu_s')), 1)} "
                f"| {number(None if rss is None else rss / 2**30)} |")
    rss = summary.get("peak_rss_bytes")
    lines.append(
        f"| — | FP (fp32) | {number(final_scalar(db, source_id, 'eval/val/ppl'))} "
        f"| {number(final_scalar(db, source_id, 'eval/test/ppl'))} | 32 "
        f"| {number(None if fp32_bytes is None else fp32_bytes / 1e6)} "
        f"| {number(minutes(pretraining), 1)} / — (pretraining) "
        f"| {number(None if rss is None else rss / 2**30)} |")
    return "\n".join(lines + rows) + "\n"


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    db = sqlite3.connect(f"file:{sys.argv[1]}/runs.sqlite?mode=ro", uri=True)
    print(f"Machine: {cpu_name()}, {platform.system()} {platform.release()}")
    print()
    for model in sys.argv[2:]:
        print(table(db, model))


if __name__ == "__main__":
    main()
