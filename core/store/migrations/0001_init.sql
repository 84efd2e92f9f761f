-- Schema version 1 of the Lowbit workspace database (docs/workspace-schema.md).
-- Row tables use AUTOINCREMENT so ids are never reused after truncate_after(): the GUI follows
-- tables by "rows since id N" and must see rows re-recorded by a resumed run.
-- REAL columns are nullable because SQLite stores NaN as NULL (a diverged loss is NaN).

CREATE TABLE runs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT NOT NULL DEFAULT '',
    kind            TEXT NOT NULL DEFAULT 'train',
    status          TEXT NOT NULL DEFAULT 'created'
                    CHECK (status IN ('created', 'running', 'completed', 'stopped', 'killed',
                                      'failed', 'diverged')),
    recipe_json     TEXT NOT NULL DEFAULT '{}',
    parent_run_id   INTEGER REFERENCES runs(id) ON DELETE SET NULL,
    fork_step       INTEGER,
    tags            TEXT NOT NULL DEFAULT '',
    notes           TEXT NOT NULL DEFAULT '',
    group_name      TEXT NOT NULL DEFAULT '',
    created_at      REAL NOT NULL,
    started_at      REAL,
    ended_at        REAL,
    host            TEXT NOT NULL DEFAULT '',
    build_info_json TEXT NOT NULL DEFAULT '{}',
    summary_json    TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX runs_by_name ON runs (name, created_at);
CREATE INDEX runs_by_parent ON runs (parent_run_id);

CREATE TABLE scalars (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id    INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    key       TEXT NOT NULL,
    step      INTEGER NOT NULL,
    tokens    INTEGER NOT NULL DEFAULT 0,
    wall_time REAL,
    value     REAL
);
CREATE INDEX scalars_by_key ON scalars (run_id, key, step);
CREATE INDEX scalars_by_row ON scalars (run_id, id);

CREATE TABLE histograms (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step         INTEGER NOT NULL,
    layer        TEXT NOT NULL,
    tensor_kind  TEXT NOT NULL,
    bin_scheme   TEXT NOT NULL,
    bin_lo       REAL,
    bin_hi       REAL,
    counts       BLOB NOT NULL,  -- little-endian int64 per bin
    n            INTEGER NOT NULL DEFAULT 0,
    min          REAL,
    max          REAL,
    sum          REAL,
    sumsq        REAL,
    nan_count    INTEGER NOT NULL DEFAULT 0,
    inf_count    INTEGER NOT NULL DEFAULT 0,
    zero_count   INTEGER NOT NULL DEFAULT 0,
    clipped_low  INTEGER NOT NULL DEFAULT 0,
    clipped_high INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX histograms_by_tensor ON histograms (run_id, layer, tensor_kind, step);
CREATE INDEX histograms_by_step ON histograms (run_id, step);

CREATE TABLE quant_stats (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id             INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step               INTEGER NOT NULL,
    layer              TEXT NOT NULL,
    tensor_kind        TEXT NOT NULL,
    sqnr_db            REAL,
    mse                REAL,
    clip_fraction      REAL,
    underflow_fraction REAL,
    scale_min          REAL,
    scale_max          REAL,
    absmax_over_sigma  REAL,
    kurtosis           REAL
);
CREATE INDEX quant_stats_by_step ON quant_stats (run_id, step);

CREATE TABLE block_ap (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    block        INTEGER NOT NULL,
    epoch        INTEGER NOT NULL,
    recon_loss   REAL,
    val_loss     REAL,
    lr           REAL,
    seconds      REAL,
    memory_bytes INTEGER
);
CREATE INDEX block_ap_by_block ON block_ap (run_id, block, epoch);

CREATE TABLE events (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id    INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step      INTEGER NOT NULL,
    wall_time REAL,
    kind      TEXT NOT NULL,
    text      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_by_row ON events (run_id, id);

CREATE TABLE checkpoints (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step       INTEGER NOT NULL,
    kind       TEXT NOT NULL DEFAULT 'checkpoint',
    path       TEXT NOT NULL,  -- relative to the workspace root
    bytes      INTEGER NOT NULL DEFAULT 0,
    sha256     TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL
);
CREATE INDEX checkpoints_by_step ON checkpoints (run_id, step);

CREATE TABLE artifacts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step       INTEGER NOT NULL DEFAULT 0,
    kind       TEXT NOT NULL,
    path       TEXT NOT NULL,  -- relative to the workspace root
    bytes      INTEGER NOT NULL DEFAULT 0,
    sha256     TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL
);
CREATE INDEX artifacts_by_run ON artifacts (run_id, id);
