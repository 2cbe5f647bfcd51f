-- The schema of migrations/sqlite/00003_outbox.sql in PostgreSQL types.

-- +goose Up
-- A record is pending until it ends in one of the other states. Its payload
-- carries a live code, so it is dropped when the record ends; the finished
-- row stays until Purge, for the provider and detail it reports.
CREATE TABLE outbox (
    id           text    NOT NULL PRIMARY KEY,
    key          text    NOT NULL,
    payload      bytea,
    state        text    NOT NULL
        CHECK (state IN ('pending', 'sent', 'failed', 'expired', 'superseded')),
    accepted_at  bigint  NOT NULL,
    deadline     bigint  NOT NULL,
    next_at      bigint  NOT NULL,
    completed_at bigint,
    attempts     integer NOT NULL,
    route        integer NOT NULL,
    lease        text,    -- the token of the Claim holding it, if any
    lease_until  bigint,
    provider     text    NOT NULL DEFAULT '',
    detail       text    NOT NULL DEFAULT ''
);

-- Partial indexes hold only the pending records, the few a Claim or an
-- Enqueue looks at, however many finished ones wait for Purge.
CREATE INDEX outbox_due ON outbox (next_at) WHERE state = 'pending';
CREATE INDEX outbox_pending_key ON outbox (key) WHERE state = 'pending';
CREATE INDEX outbox_completed_at ON outbox (completed_at);

-- +goose Down
DROP TABLE outbox;
