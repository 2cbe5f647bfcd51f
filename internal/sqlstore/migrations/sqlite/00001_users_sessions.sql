-- Times are unix milliseconds (UTC) in INTEGER columns: exact, sortable and
-- the same in PostgreSQL (bigint).

-- +goose Up
-- AUTOINCREMENT keeps the id of a deleted user from ever being handed out again.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    mobile        TEXT    NOT NULL UNIQUE, -- E.164
    name          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    avatar_url    TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL
) STRICT;

-- Only the SHA-256 of a session id is kept.
CREATE TABLE sessions (
    id_hash    BLOB    NOT NULL PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX sessions_user_id ON sessions (user_id);

CREATE TABLE settings (
    name  TEXT NOT NULL PRIMARY KEY,
    value BLOB NOT NULL
) STRICT;

-- +goose Down
DROP TABLE settings;
DROP TABLE sessions;
DROP TABLE users;
