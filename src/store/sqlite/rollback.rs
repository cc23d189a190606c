//! Rollback detection in the SQLite store: the file's generation, the counter that follows it
//! from outside the file, and recovery from a rolled-back file (PROTOCOL.md, section 11,
//! "Rollback").

use std::path::Path;

use rusqlite::Connection;

use super::options::SqliteOptions;
use super::schema;
use super::tables::SqlTables;
use super::{Locked, SqliteStore};
use crate::store::generation;
use crate::store::keys::StoreKeySource;
use crate::store::ops::Backend;
use crate::store::seal::RecordKeys;
use crate::store::types::Owner;
use crate::store::StoreError;

/// Whether opening refuses a file that the rollback counter is ahead of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Rollback {
    /// Refuse it ([`SqliteStore::open_with`]).
    Refuse,
    /// Open it, to recover ([`SqliteStore::recover_from_rollback`]).
    Recover,
}

impl SqliteStore {
    /// Opens the store at `path` after [`StoreError::RolledBack`], and makes it safe to use
    /// again: in one transaction, checks `owner` as [`crate::store::Store::set_owner`] does (recording
    /// it if the store has none), deletes every session state and every prekey, and sets the
    /// file's generation above both its own and the counter's; then advances the counter to it.
    /// Messages, agreements, peers and their trust, the owner and the identity stay as they are.
    ///
    /// The sessions cannot be kept: a rolled-back session would send again with message keys
    /// (and nonces) it already used, and accept again messages it already received. Each peer's
    /// session is started anew from a fresh prekey bundle of that peer (`Endpoint::start_session`)
    /// and new bundles are published: the bundles in the file may have been used after the copy
    /// was taken, and a replay of such a handshake would start a session again. PROTOCOL.md,
    /// section 11, "Rollback", explains why.
    ///
    /// It works on any store, rolled back or not (for example after a restore from a backup
    /// that the application knows of, without a counter): its sessions are gone either way.
    ///
    /// # Errors
    /// As [`Self::open`] (except [`StoreError::RolledBack`]), and: [`StoreError::OwnerMismatch`]
    /// if the store belongs to another owner; [`StoreError::RollbackCounter`] if the counter
    /// cannot be read. Then no session or prekey was deleted. If only the counter's advance
    /// fails, the recovery stands, and the store tries again after its next write.
    pub fn recover_from_rollback(
        path: impl AsRef<Path>,
        source: &StoreKeySource,
        owner: &Owner,
        options: SqliteOptions,
    ) -> Result<Self, StoreError> {
        let store = Self::open_file(path.as_ref(), source, options, Rollback::Recover)?;
        store.write(|t| generation::recover(t, owner))?;
        Ok(store)
    }

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
