-- The schema of migrations/sqlite in PostgreSQL types. Times are unix
-- milliseconds (UTC) in bigint columns, as in SQLite, so that one query text
-- and one scan serve both engines.

-- +goose Up
-- An identity column, like SQLite's AUTOINCREMENT, never hands out the id of
-- a deleted user again; ALWAYS refuses an id from the client.
CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    mobile        text   NOT NULL UNIQUE, -- E.164
    name          text   NOT NULL,
    password_hash text   NOT NULL,
    avatar_url    text   NOT NULL DEFAULT '',
    created_at    bigint NOT NULL
);

-- Only the SHA-256 of a session id is kept.
CREATE TABLE sessions (
    id_hash    bytea  NOT NULL PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at bigint NOT NULL,
    last_seen  bigint NOT NULL,
    expires_at bigint NOT NULL
);

CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX sessions_user_id ON sessions (user_id);

CREATE TABLE settings (
    name  text  NOT NULL PRIMARY KEY,
    value bytea NOT NULL
);

-- +goose Down
DROP TABLE settings;
DROP TABLE sessions;
DROP TABLE users;
