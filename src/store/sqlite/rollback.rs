//! Rollback detection in the SQLite store: the file's generation, and the counter that follows
//! it from outside the file (PROTOCOL.md, section 11, "Rollback").

use rusqlite::Connection;

use super::options::SqliteOptions;
use super::schema;
use super::tables::SqlTables;
use super::{Locked, SqliteStore};
use crate::store::generation;
use crate::store::ops::Backend;
use crate::store::seal::RecordKeys;
use crate::store::StoreError;

impl SqliteStore {
    /// The store's generation: it increases by one in every transaction that writes session
    /// state (PROTOCOL.md, section 11, "Rollback"). The rollback counter follows it.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] naming `generation` if its record does not authenticate or
    /// decode; [`StoreError::Database`] if the file cannot be read.
    pub fn generation(&self) -> Result<u64, StoreError> {
        self.read(generation::stored)
    }

    /// Advances the rollback counter to the highest generation this handle knows was committed,
    /// if it is behind it. A failure leaves it behind, and the next write tries again: the write
    /// that committed stands either way.
    pub(super) fn advance_counter(options: &SqliteOptions, locked: &mut Locked) {
        if locked.counter_at < locked.floor && options.counter().advance(locked.floor).is_ok() {
            locked.counter_at = locked.floor;
        }
    }

    /// The generation of the file at schema `version`, read before anything is written: 0 for
    /// a file from before generations were kept (schema 3 or older) and for one without a
    /// generation record.
    pub(super) fn file_generation(
        conn: &Connection,
        keys: &RecordKeys,
        version: u32,
    ) -> Result<u64, StoreError> {
        if version < schema::GENERATION_SCHEMA {
            return Ok(0);
        }
        generation::stored(&mut SqlTables::new(conn, keys, 0))
    }
}
