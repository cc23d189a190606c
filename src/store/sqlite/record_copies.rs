//! The `record_copies` table: each copy sealed with its clear columns (lookup key, peer lookup
//! key, `retain_until`) bound into the associated data, like a message.

use rusqlite::params;

use super::tables::{expiry_column, sql_time, SqlTables};
use crate::clock::Timestamp;
use crate::store::codec;
use crate::store::records::RECORD_COPIES;
use crate::store::types::PeerId;
use crate::store::{RecordCopy, StoreError};

/// Lookup-key domain of the `record_copies.peer` column.
const RECORD_COPIES_PEER: &str = "record_copies.peer";

pub(super) fn put(t: &mut SqlTables<'_>, copy: &RecordCopy) -> Result<(), StoreError> {
    let m = &copy.message;
    let key = t.keys.lookup(RECORD_COPIES, &m.id.0);
    let peer = t.keys.lookup(RECORD_COPIES_PEER, m.peer.as_str().as_bytes());
    let until = copy.retain_until.map(sql_time).transpose()?;
    let sealed =
        t.keys.seal(RECORD_COPIES, &[&key, &peer, &expiry_column(until)], &codec::encode_message(m))?;
    let replaced = t
        .conn
        .prepare_cached("UPDATE record_copies SET peer = ?2, retain_until = ?3, value = ?4 WHERE key = ?1")?
        .execute(params![&key[..], &peer[..], until, sealed])?;
    if replaced > 0 {
        t.wipe.replaced = true;
    } else {
        t.conn
            .prepare_cached(
                "INSERT INTO record_copies (key, peer, retain_until, value) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![&key[..], &peer[..], until, sealed])?;
    }
    Ok(())
}

pub(super) fn of_peer(t: &mut SqlTables<'_>, peer: &PeerId) -> Result<Vec<RecordCopy>, StoreError> {
    let peer_key = t.keys.lookup(RECORD_COPIES_PEER, peer.as_str().as_bytes());
    let mut stmt =
        t.conn.prepare_cached("SELECT key, peer, retain_until, value FROM record_copies WHERE peer = ?1")?;
    let rows = stmt.query_map([&peer_key[..]], |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, Vec<u8>>(1)?,
            r.get::<_, Option<i64>>(2)?,
            r.get::<_, Vec<u8>>(3)?,
        ))
    })?;
    let corrupt = StoreError::Corrupt { table: RECORD_COPIES };
    let mut out = Vec::new();
    for row in rows {
        let (key, peer_column, until, value) = row?;
        let plain = t.keys.open(RECORD_COPIES, &[&key, &peer_column, &expiry_column(until)], &value)?;
        let message = codec::decode_message(&plain, RECORD_COPIES)?;
        if t.keys.lookup(RECORD_COPIES, &message.id.0)[..] != key[..] || message.peer != *peer {
            return Err(corrupt);
        }
        let retain_until =
            until.map(|t| u64::try_from(t).map(Timestamp)).transpose().map_err(|_| corrupt.clone())?;
        out.push(RecordCopy { message, retain_until });
    }
    Ok(out)
}

pub(super) fn purge(t: &mut SqlTables<'_>, now: Timestamp) -> Result<usize, StoreError> {
    let now = i64::try_from(now.0).unwrap_or(i64::MAX);
    let purged =
        t.conn.prepare_cached("DELETE FROM record_copies WHERE retain_until <= ?1")?.execute([now])?;
    t.wipe.deleted |= purged > 0;
    Ok(purged)
}
