-- The durable SMS queue (delivery.Store). Times are unix milliseconds (UTC).

-- +goose Up
-- A record is pending until it ends in one of the other states. Its payload
-- carries a live code, so it is dropped when the record ends; the finished
-- row stays until Purge, for the provider and detail it reports.
CREATE TABLE outbox (
    id           TEXT    NOT NULL PRIMARY KEY,
    key          TEXT    NOT NULL,
    payload      BLOB,
    state        TEXT    NOT NULL
        CHECK (state IN ('pending', 'sent', 'failed', 'expired', 'superseded')),
    accepted_at  INTEGER NOT NULL,
    deadline     INTEGER NOT NULL,
    next_at      INTEGER NOT NULL,
    completed_at INTEGER,
    attempts     INTEGER NOT NULL,
    route        INTEGER NOT NULL,
    lease        TEXT,    -- the token of the Claim holding it, if any
    lease_until  INTEGER,
    provider     TEXT    NOT NULL DEFAULT '',
    detail       TEXT    NOT NULL DEFAULT ''
) STRICT;

-- Partial indexes hold only the pending records, the few a Claim or an
-- Enqueue looks at, however many finished ones wait for Purge.
CREATE INDEX outbox_due ON outbox (next_at) WHERE state = 'pending';
CREATE INDEX outbox_pending_key ON outbox (key) WHERE state = 'pending';
CREATE INDEX outbox_completed_at ON outbox (completed_at);

-- +goose Down
DROP TABLE outbox;
