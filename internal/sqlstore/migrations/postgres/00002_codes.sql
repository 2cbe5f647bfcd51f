-- The schema of migrations/sqlite/00002_codes.sql in PostgreSQL types.

-- +goose Up
CREATE TABLE codes (
    key          text    NOT NULL PRIMARY KEY,
    hash         bytea,            -- the code's HMAC; NULL once consumed
    code_expires bigint  NOT NULL, -- the code is dead from then on
    resend_at    bigint  NOT NULL, -- no new code for the key before then
    expires      bigint  NOT NULL, -- the later of the two: the row is dead from then on
    attempts     integer NOT NULL, -- wrong guesses so far
    void         boolean NOT NULL  -- true once attempts reached the maximum
);

CREATE INDEX codes_expires ON codes (expires);

-- db_now is the server's clock in unix milliseconds, so that instances with
-- skewed clocks agree on every code's windows. statement_timestamp() holds
-- still within a statement, so every use of db_now in one query agrees.
CREATE VIEW db_now AS SELECT floor(extract(epoch FROM statement_timestamp()) * 1000)::bigint AS ms;

-- +goose Down
DROP VIEW db_now;
DROP TABLE codes;
