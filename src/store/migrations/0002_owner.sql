-- Schema version 2 of the confidant store: the store's owner.
--
-- One row, whose `key` is the lookup key of `local` and whose `value` seals the role and the
-- local id the store was created for. A store upgraded from version 1 has no row until it is
-- first opened with an owner, which it then keeps.
CREATE TABLE owner (key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL) STRICT;
