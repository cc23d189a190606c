-- Schema version 4 of the confidant store: the store's generation.
--
-- One row, whose `key` is the lookup key of `local` and whose `value` seals the generation: a
-- number that increases by one in every transaction that writes session state, and which a
-- rollback counter kept outside the file follows. A store upgraded from version 3 has no row,
-- which reads as generation 0, until its first write of session state.
CREATE TABLE generation (key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL) STRICT;
