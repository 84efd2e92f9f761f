-- Schema version 5: block_ap (docs/workspace-schema.md, "Block-AP"). One row per block and epoch of
-- an EfficientQAT run's Block-AP phase (docs/efficientqat.md §Block-AP): the reconstruction
-- losses, learning rates, time and peak memory. `step` is the run's step counter after the
-- epoch, so a resumed run rewinds these rows with the others. Version 1 created a block_ap table
-- that no engine ever wrote (no step, no learning-rate groups): it is replaced.
DROP INDEX IF EXISTS block_ap_by_block;
DROP TABLE IF EXISTS block_ap;
CREATE TABLE block_ap (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id            INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step              INTEGER NOT NULL,
    block             INTEGER NOT NULL,  -- 0-based
    epoch             INTEGER NOT NULL,  -- 1-based
    train_loss        REAL,              -- mean MSE over the epoch's batches (NULL: NaN)
    val_loss          REAL,              -- MSE on the validation windows after the epoch
    quant_lr          REAL NOT NULL,
    weight_lr         REAL NOT NULL,
    seconds           REAL NOT NULL,
    peak_memory_bytes INTEGER NOT NULL,
    wall_time         REAL NOT NULL      -- seconds since the run first started
);
CREATE INDEX block_ap_by_run ON block_ap (run_id, block, epoch);
