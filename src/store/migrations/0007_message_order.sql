-- Schema version 7 of the confidant store: message order, and each conversation's own state.
--
-- `messages.sort_at` is the message's place in its conversation (milliseconds since the epoch:
-- the sender's time of sending, never later than the arrival), in the clear so that a page of a
-- conversation is one indexed query; it is bound into the row's sealed value. Rows written before
-- this version hold -1 until they are next written: they come before every other row.
ALTER TABLE messages ADD COLUMN sort_at INTEGER NOT NULL DEFAULT -1;
CREATE INDEX messages_by_peer_order ON messages (peer, sort_at);

-- One row per peer: `key` is the lookup key of the peer id and `value` seals the conversation's
-- state (sequence numbers sent and received, non-delivery notices sent), opaque to the store.
CREATE TABLE conversations (key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL) STRICT;
