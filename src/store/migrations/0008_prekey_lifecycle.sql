-- Schema version 8 of the confidant store: last-resort prekeys and their rotation.
--
-- `prekey_schedule` holds one row, whose `key` is the lookup key of `local` and whose `value`
-- seals the device's last-resort schedule (which signed and post-quantum prekeys are last-resort
-- ones, when they were made, and when the retired ones stop being accepted). It names prekeys by
-- id; the private keys stay in `signed_prekeys` and `kem_prekeys`.
CREATE TABLE prekey_schedule (key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL) STRICT;

-- One row per handshake a last-resort prekey completed: `key` is the lookup key of the
-- initiator's base key, `value` seals `signed prekey id (u32be) ‖ base key (32)`. A handshake
-- whose base key is here is a replay. The rows of a prekey are deleted with its private key.
CREATE TABLE last_resort_handshakes (key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL) STRICT;

-- Session repairs: one row per peer whose sessions were repaired. `key` is the lookup key of the
-- peer id; `value` seals `u64be time of the last accepted request (the requester's clock) ‖
-- u64be time of the last repair (this device's clock)`, which the rate limit and the replay
-- check read.
CREATE TABLE repairs (key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL) STRICT;
