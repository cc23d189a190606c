-- Schema version 6 of the confidant store: where each agreement stands on this device.
--
-- One row per peer: `key` is the lookup key of the peer id and `value` seals the protobuf
-- `confidant.agreement.Standing` (PROTOCOL.md, section 10.5): the support plans both parties
-- signed, the plans ended early, the end of the agreement, and the client messages counted
-- against the caps. It is kept apart from the messages, which expire and are purged sooner.
CREATE TABLE boundaries (key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL) STRICT;
