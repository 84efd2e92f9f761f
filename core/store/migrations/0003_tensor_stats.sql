-- Schema version 3: one statistics row per (run, step, layer, tensor kind) in tensor_stats, and
-- histogram rows that hold only their bins (docs/workspace-schema.md, "Telemetry"). Before, each
-- of a tensor's two histogram rows repeated its statistics and the quantizer metrics lived in a
-- third table, quant_stats; both are folded into tensor_stats here.

CREATE TABLE tensor_stats (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id             INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step               INTEGER NOT NULL,
    layer              TEXT NOT NULL,
    tensor_kind        TEXT NOT NULL,
    -- The quantizer the step applied, as JSON with the recipe's names ({"bits": 8,
    -- "granularity": "per_token", ...}); NULL when the tensor stayed in full precision, '{}' for
    -- rows migrated from schema 2, which did not record it. qn..qp: its integer codes.
    quantizer          TEXT,
    qn                 INTEGER,
    qp                 INTEGER,
    n                  INTEGER NOT NULL DEFAULT 0,
    min                REAL,
    max                REAL,
    sum                REAL,
    sumsq              REAL,
    nan_count          INTEGER NOT NULL DEFAULT 0,
    inf_count          INTEGER NOT NULL DEFAULT 0,
    zero_count         INTEGER NOT NULL DEFAULT 0,
    clipped_low        INTEGER NOT NULL DEFAULT 0,  -- values the grid clamped below qn
    clipped_high       INTEGER NOT NULL DEFAULT 0,  -- and above qp
    sqnr_db            REAL,
    mse                REAL,
    clip_fraction      REAL,
    underflow_fraction REAL,
    scale_min          REAL,
    scale_max          REAL,
    absmax_over_sigma  REAL,
    kurtosis           REAL
);
CREATE UNIQUE INDEX tensor_stats_by_tensor ON tensor_stats (run_id, layer, tensor_kind, step);
CREATE INDEX tensor_stats_by_step ON tensor_stats (run_id, step);

INSERT INTO tensor_stats (run_id, step, layer, tensor_kind, quantizer, qn, qp, n, min, max, sum,
                          sumsq, nan_count, inf_count, zero_count, clipped_low, clipped_high,
                          sqnr_db, mse, clip_fraction, underflow_fraction, scale_min, scale_max,
                          absmax_over_sigma, kurtosis)
SELECT u.run_id, u.step, u.layer, u.tensor_kind,
       CASE WHEN g.id IS NULL THEN NULL ELSE '{}' END,
       CAST(g.bin_lo + 0.5 AS INTEGER), CAST(g.bin_hi - 0.5 AS INTEGER),
       u.n, u.min, u.max, u.sum, u.sumsq, u.nan_count, u.inf_count, u.zero_count,
       COALESCE(g.clipped_low, 0), COALESCE(g.clipped_high, 0),
       q.sqnr_db, q.mse, q.clip_fraction, q.underflow_fraction, q.scale_min, q.scale_max,
       q.absmax_over_sigma, q.kurtosis
FROM histograms u
LEFT JOIN histograms g
       ON g.run_id = u.run_id AND g.step = u.step AND g.layer = u.layer
      AND g.tensor_kind = u.tensor_kind AND g.bin_scheme = 'grid'
LEFT JOIN quant_stats q
       ON q.run_id = u.run_id AND q.step = u.step AND q.layer = u.layer
      AND q.tensor_kind = u.tensor_kind
WHERE u.bin_scheme = 'uniform';

-- What stays with a histogram: its bins, and the values outside them (the log2 scheme's
-- magnitudes below 2^bin_lo or at least 2^bin_hi; always 0 for the uniform and grid schemes).
ALTER TABLE histograms ADD COLUMN below INTEGER NOT NULL DEFAULT 0;
ALTER TABLE histograms ADD COLUMN above INTEGER NOT NULL DEFAULT 0;
UPDATE histograms SET below = clipped_low, above = clipped_high WHERE bin_scheme = 'log2';
ALTER TABLE histograms DROP COLUMN n;
ALTER TABLE histograms DROP COLUMN min;
ALTER TABLE histograms DROP COLUMN max;
ALTER TABLE histograms DROP COLUMN sum;
ALTER TABLE histograms DROP COLUMN sumsq;
ALTER TABLE histograms DROP COLUMN nan_count;
ALTER TABLE histograms DROP COLUMN inf_count;
ALTER TABLE histograms DROP COLUMN zero_count;
ALTER TABLE histograms DROP COLUMN clipped_low;
ALTER TABLE histograms DROP COLUMN clipped_high;
DROP INDEX quant_stats_by_step;
DROP TABLE quant_stats;
