-- Schema version 2: run liveness (docs/workspace-schema.md, "Liveness"). The engine process that
-- owns a run records its pid (host is already in runs.host) and refreshes heartbeat_at (unix
-- seconds) with every write batch, so readers can tell a `running` run whose process is gone:
-- same host, pid not alive; other host, heartbeat older than a limit.
ALTER TABLE runs ADD COLUMN pid INTEGER;
ALTER TABLE runs ADD COLUMN heartbeat_at REAL;
