-- Schema version 1 of the confidant store.
--
-- Every `value` is a sealed record (version ‖ nonce ‖ XChaCha20-Poly1305 ciphertext ‖ tag) whose
-- associated data binds the table name and the row's clear columns. Every `key` and `peer` is an
-- HMAC-SHA256 lookup key: no column holds an identity, an id or anything a user wrote.

-- The one header row: marks the file as a store and holds the wrapped store key.
CREATE TABLE store_header (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    magic TEXT NOT NULL,
    format INTEGER NOT NULL,
    kdf BLOB NOT NULL,
    wrapped_key BLOB NOT NULL
) STRICT;

CREATE TABLE identity (key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL) STRICT;
CREATE TABLE signed_prekeys (key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL) STRICT;
CREATE TABLE one_time_prekeys (key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL) STRICT;
CREATE TABLE kem_prekeys (key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL) STRICT;
CREATE TABLE peers (key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL) STRICT;
CREATE TABLE sessions (key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL) STRICT;
CREATE TABLE agreements (key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL) STRICT;

-- `peer` groups a peer's messages (a lookup key of its own, unlinkable to the other tables);
-- `expires_at` (milliseconds since the epoch) is in the clear so that purging needs no key.
CREATE TABLE messages (
    key BLOB PRIMARY KEY NOT NULL,
    peer BLOB NOT NULL,
    expires_at INTEGER,
    value BLOB NOT NULL
) STRICT;
CREATE INDEX messages_by_peer ON messages (peer);
CREATE INDEX messages_by_expiry ON messages (expires_at) WHERE expires_at IS NOT NULL;
