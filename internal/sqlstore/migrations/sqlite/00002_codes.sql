-- Verification codes, kept in the database rather than in memory so that a
-- code outlives a restart, as the queued SMS that carries it does. Times are
-- unix milliseconds by the database's clock (db_now), as in
-- migrations/postgres.

-- +goose Up
CREATE TABLE codes (
    key          TEXT    NOT NULL PRIMARY KEY,
    hash         BLOB,             -- the code's HMAC; NULL once consumed
    code_expires INTEGER NOT NULL, -- the code is dead from then on
    resend_at    INTEGER NOT NULL, -- no new code for the key before then
    expires      INTEGER NOT NULL, -- the later of the two: the row is dead from then on
    attempts     INTEGER NOT NULL, -- wrong guesses so far
    void         INTEGER NOT NULL  -- 1 once attempts reached the maximum
) STRICT, WITHOUT ROWID;

CREATE INDEX codes_expires ON codes (expires);

-- db_now is the clock the code queries read, in unix milliseconds; its
-- PostgreSQL twin reads the server's clock, so that one query text serves
-- both engines. SQLite's 'now' holds still within a statement's step, all
-- that these one-row statements take.
CREATE VIEW db_now AS SELECT CAST(unixepoch('subsec') * 1000 AS INTEGER) AS ms;

-- +goose Down
DROP VIEW db_now;
DROP TABLE codes;
