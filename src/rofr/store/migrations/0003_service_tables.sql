-- The service's own tables (rofr serve), kept in the event log's database so that one backup
-- holds everything and one migrator versions it. None of them is part of the hash chain:
-- they are credentials, caches of answers and delivery bookkeeping, all rebuildable or
-- re-issuable, while the event log alone is the record.

-- API keys: only the SHA-256 of the key is stored; the key itself is shown once.
CREATE TABLE api_keys (
    key_hash   TEXT PRIMARY KEY,
    key_id     TEXT NOT NULL UNIQUE,
    party      TEXT NOT NULL,
    role       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

-- Idempotency keys: the first answer to a POST, replayed for a repeat with the same body.
CREATE TABLE idempotency (
    party        TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    request_hash TEXT    NOT NULL,
    status       INTEGER NOT NULL,
    body         TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    PRIMARY KEY (party, key)
);

-- Where each party wants its notices, and the secret that signs them (HMAC-SHA256).
CREATE TABLE webhooks (
    party  TEXT PRIMARY KEY,
    url    TEXT NOT NULL,
    secret TEXT NOT NULL
);

-- Projections' read positions in the event log (the outbox is one).
CREATE TABLE projections (
    name     TEXT PRIMARY KEY,
    position INTEGER NOT NULL
);

-- The outbox: one notice per (event position, party), written from the log by a projection,
-- so a crash between an event and its notice loses nothing (the projection re-reads).
CREATE TABLE notices (
    position        INTEGER NOT NULL,
    party           TEXT    NOT NULL,
    event_type      TEXT    NOT NULL,
    body            TEXT    NOT NULL,  -- canonical JSON sent to the webhook
    state           TEXT    NOT NULL,  -- pending | delivered | dead
    attempts        INTEGER NOT NULL,
    next_attempt_at TEXT    NOT NULL,
    PRIMARY KEY (position, party)
);
CREATE INDEX notices_due ON notices (state, next_attempt_at);

-- Every delivery attempt, kept (the delivery log).
CREATE TABLE deliveries (
    position     INTEGER NOT NULL,
    party        TEXT    NOT NULL,
    attempt      INTEGER NOT NULL,
    url          TEXT    NOT NULL,
    at           TEXT    NOT NULL,
    http_status  INTEGER,
    error        TEXT    NOT NULL,
    PRIMARY KEY (position, party, attempt)
);
