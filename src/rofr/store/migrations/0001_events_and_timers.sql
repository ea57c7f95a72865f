-- The event log and the durable timers.
-- Positions are assigned by the store inside its write transaction (head + 1), not by an
-- autoincrement, so the same rule works on every backend and gaps cannot appear.
CREATE TABLE events (
    position    INTEGER PRIMARY KEY,
    stream      TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    type        TEXT    NOT NULL,
    data        TEXT    NOT NULL,  -- canonical JSON (rofr.values.canonical_bytes)
    recorded_at TEXT    NOT NULL,  -- ISO 8601 UTC, microseconds, 'Z'
    prev_hash   TEXT    NOT NULL,
    hash        TEXT    NOT NULL
);

-- Last line of defence for optimistic concurrency: even a writer that skipped the version
-- check cannot store two events at one (stream, version).
CREATE UNIQUE INDEX events_stream_version ON events (stream, version);

CREATE TABLE timers (
    timer_id TEXT PRIMARY KEY,
    due      TEXT NOT NULL,  -- fixed-width ISO 8601 UTC, so text order is time order
    stream   TEXT NOT NULL,
    data     TEXT NOT NULL   -- canonical JSON
);
