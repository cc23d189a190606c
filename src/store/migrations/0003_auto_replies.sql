-- Schema version 3 of the confidant store: when the last auto-reply went to each peer.
--
-- One row per peer that was sent an auto-reply: `key` is the lookup key of the peer id and `value`
-- seals the time of the last auto-reply. It is the auto-reply rate limit's own state, kept apart
-- from the auto-reply messages, which may expire and be purged sooner than the limit's window.
CREATE TABLE auto_replies (key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL) STRICT;
