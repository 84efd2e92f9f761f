-- Schema version 4: alerts (docs/workspace-schema.md, "Alerts"). The studio's divergence sentinel
-- records what it saw in a run: a NaN, a loss spike, a gradient-norm blow-up, a quantizer that
-- clips or underflows too much. The studio is this table's only writer; the engine never writes
-- it, so a run's own rows keep one writer.
CREATE TABLE run_alerts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step       INTEGER NOT NULL,
    rule       TEXT NOT NULL,  -- non_finite, loss_spike, grad_norm_blowup, clip, underflow
    subject    TEXT NOT NULL,  -- the scalar key, or "layer kind" for a tensor's statistics
    value      REAL,           -- what was seen (NULL for NaN)
    threshold  REAL,           -- the limit it crossed (NULL for non_finite)
    message    TEXT NOT NULL,
    created_at REAL NOT NULL   -- unix seconds
);
CREATE INDEX run_alerts_by_run ON run_alerts (run_id, step);
