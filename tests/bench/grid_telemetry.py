#!/usr/bin/env python3
# Telemetry columns of the quantized-pretraining reproduction table
# (resources/presets/pretrain/README.md), read from a workspace that tests/bench/pretrain_grid.sh
# filled: per configuration (the runs of one group whose names differ only in "seed=N"), for each
# tensor kind the configuration quantizes, the fraction of non-zero values that quantize to zero
# ("underflow") and the SQNR at the last telemetry step, averaged over the quantized layers and
# then over the seeds; and the largest pre-clip gradient norm after step 200, averaged over the
# seeds. Standard library only.
#
#   python3 tests/bench/grid_telemetry.py WORKSPACE [GROUP]   (GROUP default: "pretrain-grid gpt2")
import json
import re
import sqlite3
import statistics
import sys

KINDS = ["weight", "activation", "grad_output", "optim_m", "optim_v"]
LETTER = {"weight": "W", "activation": "A", "grad_output": "G", "optim_m": "m", "optim_v": "v"}


def quantized_kinds(recipe):
    quant = recipe.get("quant", {})
    return [k for k in KINDS if quant.get(k, {}).get("bits", 32) <= 8]


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: grid_telemetry.py WORKSPACE [GROUP]")
    group = sys.argv[2] if len(sys.argv) > 2 else "pretrain-grid gpt2"
    db = sqlite3.connect(f"file:{sys.argv[1]}/runs.sqlite?mode=ro", uri=True)
    runs = db.execute(
        "SELECT id, name, recipe_json FROM runs WHERE group_name = ? AND status = 'completed'"
        " ORDER BY created_at, id", (group,)).fetchall()
    configurations = {}  # label -> list of per-run rows
    for run_id, name, recipe_json in runs:
        label = re.sub(r" ?\[ *\]", "", re.sub(r" ?\bseed=[0-9]+", "", name)).strip()
        kinds = quantized_kinds(json.loads(recipe_json))
        row = {"kinds": kinds, "underflow": {}, "sqnr": {}}
        (last_step,) = db.execute("SELECT max(step) FROM tensor_stats WHERE run_id = ?",
                                  (run_id,)).fetchone()
        for kind in kinds:
            underflow, sqnr = db.execute(
                "SELECT avg(underflow_fraction), avg(sqnr_db) FROM tensor_stats"
                " WHERE run_id = ? AND step = ? AND tensor_kind = ?",
                (run_id, last_step, kind)).fetchone()
            row["underflow"][kind] = underflow
            row["sqnr"][kind] = sqnr
        (row["max_grad_norm"],) = db.execute(
            "SELECT max(value) FROM scalars WHERE run_id = ? AND key = 'grad_norm' AND step > 200",
            (run_id,)).fetchone()
        configurations.setdefault(label, []).append(row)

    print("| configuration | seeds | underflow | SQNR (dB) | max grad norm |")
    print("|---|---|---|---|---|")
    for label, rows in configurations.items():
        kinds = rows[0]["kinds"]

        def mean_of(field, kind):
            values = [r[field][kind] for r in rows if r[field].get(kind) is not None]
            return statistics.fmean(values) if values else float("nan")

        many = len(kinds) > 1
        underflow = ", ".join((f"{LETTER[k]} " if many else "") + f"{mean_of('underflow', k):.3f}"
                              for k in kinds) or "—"
        sqnr = " / ".join(f"{mean_of('sqnr', k):.1f}" for k in kinds) or "—"
        grad = statistics.fmean(r["max_grad_norm"] for r in rows)
        print(f"| {label} | {len(rows)} | {underflow} | {sqnr} | {grad:.1f} |")


if __name__ == "__main__":
    main()
