-- Schema version 9 of the confidant store: several devices per person (PROTOCOL.md, section 16).
--
-- `device_lists`: one row per peer whose signed device list this device verified; `key` is the
-- lookup key of the peer id, `value` seals the list's wire bytes (the newest version accepted).
-- A list never replaces one of a greater or equal version.
CREATE TABLE device_lists (key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL) STRICT;

-- `own_devices`: one row, whose `key` is the lookup key of `local`, sealing the wire bytes of the
-- signed list of this device's own person (made by the primary device, received by a linked one).
CREATE TABLE own_devices (key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL) STRICT;
