//! The store's tables in SQLite: each value sealed, each lookup column a keyed hash.

use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::clock::Timestamp;
use crate::store::codec;
use crate::store::ops::{Kv, Tables, Versioned, MESSAGES};
use crate::store::seal::RecordKeys;
use crate::store::types::{
    DamagedRecord, MessageId, PageEntry, PeerId, RecordRef, SessionVersion, StoredMessage,
};
use crate::store::StoreError;

/// Lookup-key domain of the `messages.peer` column (distinct from the `peers` table's, so the
/// two cannot be joined without the store key).
const MESSAGES_PEER: &str = "messages.peer";

/// The tables, seen through one open transaction.
pub(super) struct SqlTables<'a> {
    pub(super) conn: &'a Connection,
    pub(super) keys: &'a RecordKeys,
    /// What the transaction left for a wipe to remove.
    pub(super) wipe: Wipe,
    /// The lowest generation the file may hold (see [`Tables::generation_floor`]).
    pub(super) floor: u64,
    /// The generation the transaction wrote, if it wrote one.
    pub(super) generation: Option<u64>,
}

/// What a transaction did that leaves old bytes behind in the write-ahead log or the file, until
/// a checkpoint wipes them.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Wipe {
    /// A value was deleted: wipe at once.
    pub(super) deleted: bool,
    /// A value was replaced: wipe as the policy says.
    pub(super) replaced: bool,
    /// The batch asked for a wipe at once.
    pub(super) requested: bool,
}

/// The columns of one `messages` row.
struct MessageRow {
    key: [u8; 32],
    peer: [u8; 32],
    expires_at: Option<i64>,
    sort_at: i64,
    sealed: Vec<u8>,
}

/// `sort_at` of a row written before schema version 7 had the column.
const NO_ORDER: i64 = -1;

/// The clear columns of a row, as bound into its associated data: `key`, `peer`, the expiry
/// column, and, for a row with an order column, `sort_at` as a big-endian `i64` (a row without
/// one keeps the associated data it was sealed with before the column existed).
fn message_aad(key: &[u8], peer: &[u8], expires_at: Option<i64>, sort_at: i64) -> Vec<Vec<u8>> {
    let mut parts = vec![key.to_vec(), peer.to_vec(), expiry_column(expires_at)];
    if sort_at != NO_ORDER {
        parts.push(sort_at.to_be_bytes().to_vec());
    }
    parts
}

/// The columns a message query selects, in the order [`SqlTables::message_rows`] reads them.
const MESSAGE_COLUMNS: &str = "key, peer, expires_at, value, sort_at";

/// The `expires_at` column as bound into a message's associated data: `0x00` or `0x01 ‖ u64`.
pub(super) fn expiry_column(expires_at: Option<i64>) -> Vec<u8> {
    match expires_at {
        None => vec![0],
        Some(t) => [&[1u8][..], &t.to_be_bytes()].concat(),
    }
}

/// The version of a row: the first 16 bytes of SHA-256 over its sealed value. Every write seals
/// under a fresh random nonce, so every write gives a new version, and nothing is stored for it.
fn version_of(sealed: &[u8]) -> SessionVersion {
    let digest = Sha256::digest(sealed);
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    SessionVersion::from_bytes(bytes)
}

pub(super) fn sql_time(t: Timestamp) -> Result<i64, StoreError> {
    i64::try_from(t.0).map_err(|_| StoreError::InvalidInput("timestamp"))
}

impl<'a> SqlTables<'a> {
    /// The tables in the transaction (or autocommit reads) of `conn`, with `floor` as the
    /// lowest generation the file may hold.
    pub(super) fn new(conn: &'a Connection, keys: &'a RecordKeys, floor: u64) -> Self {
        Self { conn, keys, wipe: Wipe::default(), floor, generation: None }
    }
}

impl SqlTables<'_> {
    /// The lookup key of `id` in the table of `kv`, and the sealed value of its row.
    fn sealed(&self, kv: Kv, id: &[u8]) -> Result<([u8; 32], Option<Vec<u8>>), StoreError> {
        let table = kv.table();
        let key = self.keys.lookup(table, id);
        let sql = format!("SELECT value FROM {table} WHERE key = ?1");
        let value = self.conn.prepare_cached(&sql)?.query_row([&key[..]], |r| r.get(0)).optional()?;
        Ok((key, value))
    }

    /// Opens one message row and checks that its plaintext agrees with its clear columns.
    fn open_message(&self, row: &RawRow) -> Result<StoredMessage, StoreError> {
        let corrupt = StoreError::Corrupt { table: MESSAGES };
        let aad = message_aad(&row.key, &row.peer, row.expires_at, row.sort_at);
        let parts: Vec<&[u8]> = aad.iter().map(Vec::as_slice).collect();
        let plain = self.keys.open(MESSAGES, &parts, &row.value)?;
        let message = codec::decode_message(&plain, MESSAGES)?;
        let agrees = self.keys.lookup(MESSAGES, &message.id.0)[..] == row.key[..]
            && self.keys.lookup(MESSAGES_PEER, message.peer.as_str().as_bytes())[..] == row.peer[..]
            && message.expires_at.map(sql_time).transpose()? == row.expires_at
            && (row.sort_at == NO_ORDER || sql_time(message.at)? == row.sort_at);
        if agrees {
            Ok(message)
        } else {
            Err(corrupt)
        }
    }

    /// The columns of a message's row, its value sealed.
    fn seal_message(&mut self, m: &StoredMessage) -> Result<MessageRow, StoreError> {
        let key = self.keys.lookup(MESSAGES, &m.id.0);
        let peer = self.keys.lookup(MESSAGES_PEER, m.peer.as_str().as_bytes());
        let expires_at = m.expires_at.map(sql_time).transpose()?;
        let sort_at = sql_time(m.at)?;
        let plain = codec::encode_message(m);
        let aad = message_aad(&key, &peer, expires_at, sort_at);
        let parts: Vec<&[u8]> = aad.iter().map(Vec::as_slice).collect();
        let sealed = self.keys.seal(MESSAGES, &parts, &plain)?;
        Ok(MessageRow { key, peer, expires_at, sort_at, sealed })
    }

    /// The rows a query selecting [`MESSAGE_COLUMNS`] returns, unopened.
    fn raw_rows(&self, sql: &str, args: impl rusqlite::Params) -> Result<Vec<RawRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map(args, |r| {
            Ok(RawRow {
                key: r.get(0)?,
                peer: r.get(1)?,
                expires_at: r.get(2)?,
                value: r.get(3)?,
                sort_at: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn message_rows(&self, sql: &str, arg: &[u8]) -> Result<Vec<StoredMessage>, StoreError> {
        self.raw_rows(sql, [arg])?.iter().map(|row| self.open_message(row)).collect()
    }
}

/// One `messages` row as read, before it is opened.
struct RawRow {
    key: Vec<u8>,
    peer: Vec<u8>,
    expires_at: Option<i64>,
    value: Vec<u8>,
    sort_at: i64,
}

impl RawRow {
    /// The row as a page entry: its message, or, if it does not open, a damaged record.
    fn entry(self, tables: &SqlTables<'_>) -> (Option<Timestamp>, PageEntry) {
        let order = u64::try_from(self.sort_at).ok().map(Timestamp);
        match tables.open_message(&self) {
            Ok(message) => (order, PageEntry::Message(message)),
            Err(_) => {
                let mut record = [0u8; 32];
                let len = self.key.len().min(32);
                record[..len].copy_from_slice(&self.key[..len]);
                (order, PageEntry::Damaged(DamagedRecord { record: RecordRef(record), at: order }))
            }
        }
    }
}

impl Tables for SqlTables<'_> {
    fn get(&mut self, kv: Kv, id: &[u8]) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        let (key, value) = self.sealed(kv, id)?;
        value.map(|v| self.keys.open(kv.table(), &[&key], &v)).transpose()
    }

    fn get_versioned(&mut self, kv: Kv, id: &[u8]) -> Result<Option<Versioned>, StoreError> {
        let (key, value) = self.sealed(kv, id)?;
        value.map(|v| Ok((self.keys.open(kv.table(), &[&key], &v)?, version_of(&v)))).transpose()
    }

    fn version(&mut self, kv: Kv, id: &[u8]) -> Result<Option<SessionVersion>, StoreError> {
        Ok(self.sealed(kv, id)?.1.map(|v| version_of(&v)))
    }

    fn put(&mut self, kv: Kv, id: &[u8], value: &[u8]) -> Result<(), StoreError> {
        let table = kv.table();
        let key = self.keys.lookup(table, id);
        let sealed = self.keys.seal(table, &[&key], value)?;
        let update = format!("UPDATE {table} SET value = ?2 WHERE key = ?1");
        if self.conn.prepare_cached(&update)?.execute(params![&key[..], sealed])? > 0 {
            // A superseded generation record holds nothing but an older count: it waits for the
            // next wipe rather than cause one.
            self.wipe.replaced |= kv != Kv::Generation;
        } else {
            let insert = format!("INSERT INTO {table} (key, value) VALUES (?1, ?2)");
            self.conn.prepare_cached(&insert)?.execute(params![&key[..], sealed])?;
        }
        Ok(())
    }

    fn delete(&mut self, kv: Kv, id: &[u8]) -> Result<bool, StoreError> {
        let table = kv.table();
        let key = self.keys.lookup(table, id);
        let sql = format!("DELETE FROM {table} WHERE key = ?1");
        let deleted = self.conn.prepare_cached(&sql)?.execute([&key[..]])? > 0;
        self.wipe.deleted |= deleted;
        Ok(deleted)
    }

    fn count(&mut self, kv: Kv) -> Result<usize, StoreError> {
        let sql = format!("SELECT count(*) FROM {}", kv.table());
        let n: i64 = self.conn.prepare_cached(&sql)?.query_row([], |r| r.get(0))?;
        usize::try_from(n).map_err(|_| StoreError::Corrupt { table: kv.table() })
    }

    fn clear(&mut self, kv: Kv) -> Result<usize, StoreError> {
        let sql = format!("DELETE FROM {}", kv.table());
        let deleted = self.conn.prepare_cached(&sql)?.execute([])?;
        self.wipe.deleted |= deleted > 0;
        Ok(deleted)
    }

    fn all(&mut self, kv: Kv) -> Result<Vec<Zeroizing<Vec<u8>>>, StoreError> {
        let table = kv.table();
        let sql = format!("SELECT key, value FROM {table}");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (key, value) = row?;
            out.push(self.keys.open(table, &[&key], &value)?);
        }
        Ok(out)
    }

    fn message(&mut self, id: &MessageId) -> Result<Option<StoredMessage>, StoreError> {
        let key = self.keys.lookup(MESSAGES, &id.0);
        let sql = "SELECT key, peer, expires_at, value, sort_at FROM messages WHERE key = ?1";
        Ok(self.message_rows(sql, &key)?.pop())
    }

    fn insert_message(&mut self, m: &StoredMessage) -> Result<(), StoreError> {
        let row = self.seal_message(m)?;
        let mut insert = self.conn.prepare_cached(
            "INSERT INTO messages (key, peer, expires_at, value, sort_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        // One statement: the primary key refuses a taken id (and the statement alone is undone).
        match insert.execute(params![&row.key[..], &row.peer[..], row.expires_at, row.sealed, row.sort_at]) {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                    || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
            {
                Err(StoreError::MessageExists)
            }
            other => other.map(drop).map_err(StoreError::from),
        }
    }

    fn put_message(&mut self, m: &StoredMessage) -> Result<(), StoreError> {
        let row = self.seal_message(m)?;
        let mut update = self.conn.prepare_cached(
            "UPDATE messages SET peer = ?2, expires_at = ?3, value = ?4, sort_at = ?5 WHERE key = ?1",
        )?;
        if update.execute(params![&row.key[..], &row.peer[..], row.expires_at, row.sealed, row.sort_at])? > 0
        {
            self.wipe.replaced = true;
        } else {
            let mut insert = self.conn.prepare_cached(
                "INSERT INTO messages (key, peer, expires_at, value, sort_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            insert.execute(params![&row.key[..], &row.peer[..], row.expires_at, row.sealed, row.sort_at])?;
        }
        Ok(())
    }

    fn delete_message(&mut self, id: &MessageId) -> Result<bool, StoreError> {
        let key = self.keys.lookup(MESSAGES, &id.0);
        let deleted =
            self.conn.prepare_cached("DELETE FROM messages WHERE key = ?1")?.execute([&key[..]])? > 0;
        self.wipe.deleted |= deleted;
        Ok(deleted)
    }

    fn messages(&mut self, peer: &PeerId) -> Result<Vec<StoredMessage>, StoreError> {
        let peer_key = self.keys.lookup(MESSAGES_PEER, peer.as_str().as_bytes());
        let sql = "SELECT key, peer, expires_at, value, sort_at FROM messages WHERE peer = ?1";
        self.message_rows(sql, &peer_key)
    }

    fn messages_page(
        &mut self,
        peer: &PeerId,
        before: Option<Timestamp>,
        limit: usize,
    ) -> Result<Vec<(Option<Timestamp>, PageEntry)>, StoreError> {
        let peer_key = self.keys.lookup(MESSAGES_PEER, peer.as_str().as_bytes());
        let before = before.map_or(Ok(i64::MAX), sql_time)?;
        let limit = i64::try_from(limit).map_err(|_| StoreError::InvalidInput("page limit"))?;
        // The order column of the oldest of the newest `limit` rows before `before`, then every
        // row from it on: a page never splits one value of the column.
        let oldest: Option<i64> = self
            .conn
            .prepare_cached(
                "SELECT min(sort_at) FROM (SELECT sort_at FROM messages WHERE peer = ?1 AND sort_at < ?2 \
                 ORDER BY sort_at DESC LIMIT ?3)",
            )?
            .query_row(params![&peer_key[..], before, limit], |r| r.get(0))?;
        let Some(oldest) = oldest else { return Ok(Vec::new()) };
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE peer = ?1 AND sort_at >= ?2 AND sort_at < ?3"
        );
        let rows = self.raw_rows(&sql, params![&peer_key[..], oldest, before])?;
        Ok(rows.into_iter().map(|row| row.entry(self)).collect())
    }

    fn purge(&mut self, now: Timestamp) -> Result<usize, StoreError> {
        let now = i64::try_from(now.0).unwrap_or(i64::MAX);
        let mut stmt = self.conn.prepare_cached("DELETE FROM messages WHERE expires_at <= ?1")?;
        let purged = stmt.execute([now])?;
        self.wipe.deleted |= purged > 0;
        Ok(purged)
    }

    fn put_record_copy(&mut self, copy: &crate::store::RecordCopy) -> Result<(), StoreError> {
        super::record_copies::put(self, copy)
    }

    fn record_copies(&mut self, peer: &PeerId) -> Result<Vec<crate::store::RecordCopy>, StoreError> {
        super::record_copies::of_peer(self, peer)
    }

    fn purge_record_copies(&mut self, now: Timestamp) -> Result<usize, StoreError> {
        super::record_copies::purge(self, now)
    }

    fn audit_key(&mut self) -> Result<crate::keys::Secret32, StoreError> {
        Ok(self.keys.audit())
    }

    fn request_wipe(&mut self) {
        self.wipe.requested = true;
    }

    fn generation_floor(&self) -> u64 {
        self.floor
    }

    fn wrote_generation(&mut self, generation: u64) {
        self.generation = Some(generation);
    }
}
