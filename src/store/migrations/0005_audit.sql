-- Schema version 5 of the confidant store: the audit trail.
--
-- `audit` holds one row per entry: `key` is the lookup key of the entry's sequence number
-- (u64 big-endian) and `value` seals `seq ‖ at ‖ chain MAC ‖ event`. `audit_head` holds one row,
-- whose `key` is the lookup key of `local` and whose `value` seals the last entry's sequence
-- number and chain MAC; it is written in the same transaction as each entry. A store upgraded
-- from an earlier version gets the head of an empty trail when it is first opened.
CREATE TABLE audit (key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL) STRICT;
CREATE TABLE audit_head (key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL) STRICT;

-- Record copies: what the clinician's device keeps of a message beyond its lifespan, under the
-- agreed retention. `key` is the lookup key of the message id, `peer` a lookup key of the peer
-- id of its own domain, and `retain_until` (milliseconds since the epoch) is in the clear so
-- that purging needs no key; NULL keeps the copy until it is exported for the record.
CREATE TABLE record_copies (
    key BLOB PRIMARY KEY NOT NULL,
    peer BLOB NOT NULL,
    retain_until INTEGER,
    value BLOB NOT NULL
) STRICT;
CREATE INDEX record_copies_by_peer ON record_copies (peer);

-- Colleagues: the signed terms of each clinician-clinician colleague relation. `key` is the
-- lookup key of the colleague's peer id; `value` seals the signed terms.
CREATE TABLE colleagues (key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL) STRICT;
