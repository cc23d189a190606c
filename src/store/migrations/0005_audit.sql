-- Schema version 5 of the confidant store: the audit trail.
--
-- `audit` holds one row per entry: `key` is the lookup key of the entry's sequence number
-- (u64 big-endian) and `value` seals `seq ‖ at ‖ chain MAC ‖ event`. `audit_head` holds one row,
-- whose `key` is the lookup key of `local` and whose `value` seals the last entry's sequence
-- number and chain MAC; it is written in the same transaction as each entry. A store upgraded
-- from an earlier version gets the head of an empty trail when it is first opened.
CREATE TABLE audit (key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL) STRICT;
CREATE TABLE audit_head (key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL) STRICT;
