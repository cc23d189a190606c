//! The store in one SQLite file.
//!
//! The connection runs in WAL mode with `synchronous = FULL` (a committed batch survives a power
//! loss), `secure_delete = ON` (deleted cells and freed pages are overwritten with zeros),
//! `auto_vacuum = FULL` (freed pages are cut off the end of the file) and `temp_store = MEMORY`.
//!
//! A *wipe* is a checkpoint that copies the newest pages, whose deleted cells are zeroed, into the
//! database file and leaves no older page in the write-ahead log, so that no older copy of a
//! deleted or replaced value stays in either file: `wal_checkpoint(TRUNCATE)` empties the log.
//! Under [`WipePolicy::EveryWrite`], when the log holds only the transaction just committed
//! (because the write before it ended with a wipe), the wipe is `wal_checkpoint(RESTART)`
//! instead, with `journal_size_limit = 0`: the next transaction overwrites the log from its start
//! and cuts it to its own size, which costs a fraction of truncating the log and growing it again
//! on every write. A wipe follows every transaction that deleted a value; after a transaction that
//! only replaced values, the [`WipePolicy`] decides.
//!
//! A write that starts the log again over a single transaction of this handle's, already in the
//! synced database file (no other connection has committed since, by `PRAGMA data_version`), runs
//! with `synchronous = OFF`, and the wipe after it (which syncs the log before copying it, then
//! the database file) makes it durable before it returns: two syncs per wiped write instead of
//! four. PROTOCOL.md, section 11, "Transactions and durability", gives the reasoning.

mod file;
mod options;
mod record_copies;
mod rollback;
mod schema;
mod tables;

pub use options::{SqliteOptions, WipePolicy};

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};

use super::audit;
use super::batch::WriteBatch;
use super::consts::{STORE_FORMAT_VERSION, STORE_MAGIC};
use super::generation;
use super::keys::{self, StoreKey, StoreKeySource, Wrapped};
use super::ops::{self, impl_store, Backend, Tables};
use super::seal::RecordKeys;
use super::types::{MessageId, PeerId, PeerRecord, StoredAgreement, StoredMessage};
use super::StoreError;
use rollback::Rollback;
use tables::SqlTables;

/// How many distinct statements a connection keeps prepared (the store uses about 50; SQLite
/// would otherwise parse evicted ones again on every call).
const STATEMENT_CACHE: usize = 64;

/// The connection and its wipe state, used under one lock.
struct Locked {
    conn: Connection,
    /// Committed transactions whose replaced values have not been wiped yet.
    pending: u32,
    /// Whether the last write ended with a complete wipe, so that the next transaction starts
    /// the write-ahead log again and the log then holds nothing but that transaction.
    fresh_log: bool,
    /// Whether a wipe after a transaction that started the log afresh may be a restart (the
    /// connection runs with `journal_size_limit = 0`).
    restart_wipes: bool,
    /// The lowest generation the file may hold: the larger of the rollback counter's value and
    /// the file's generation when the store was opened, raised by every generation committed
    /// through this handle since. A write of session state that finds less refuses.
    floor: u64,
    /// The rollback counter's value as this handle last read or advanced it. While it is below
    /// `floor`, the counter is advanced after each write.
    counter_at: u64,
    /// `Some(v)` when the log holds at most one transaction, all of it copied into the database
    /// file and synced there, and SQLite's data version (`PRAGMA data_version`, which changes
    /// when another connection commits) was `v` when that transaction began. A write that finds
    /// the same version when it begins starts the log again over that one transaction, and may
    /// leave the syncs to the wipe that follows it (see [`SqliteStore::run`]).
    single: Option<i64>,
    /// Whether the connection runs with `synchronous = OFF` (during a deferred write only).
    synchronous_off: bool,
    /// The write-ahead log's path, for syncing it when SQLite did not.
    wal: PathBuf,
    /// Writes that ran with `synchronous = OFF`, and those of them that synced the log here.
    #[cfg(test)]
    deferred_writes: u32,
    #[cfg(test)]
    own_syncs: u32,
}

/// A [`super::Store`] in an encrypted SQLite file.
pub struct SqliteStore {
    locked: Mutex<Locked>,
    store_key: StoreKey,
    keys: RecordKeys,
    options: SqliteOptions,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

/// Settings of every connection (the persistent ones are set again harmlessly).
fn configure(conn: &Connection, options: &SqliteOptions) -> Result<(), StoreError> {
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Database("the file system does not support WAL mode".into()));
    }
    conn.execute_batch(
        "PRAGMA synchronous = FULL; PRAGMA secure_delete = ON; PRAGMA temp_store = MEMORY;
         PRAGMA cell_size_check = ON; PRAGMA foreign_keys = ON;",
    )?;
    // A restart wipe relies on the first transaction in a restarted log cutting the file to its
    // own size. Without restart wipes, SQLite's own restarts overwrite the log in place, as they
    // do by default, instead of shrinking it and growing it again.
    let journal_size_limit = if restart_wipes(options) { 0 } else { -1 };
    conn.pragma_update(None, "journal_size_limit", journal_size_limit)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(())
}

/// Whether wipes may be restarts under `options` (see [`Checkpoint::Restart`]).
fn restart_wipes(options: &SqliteOptions) -> bool {
    options.wipe.max_pending() == 0
}

/// How a wipe empties the write-ahead log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Checkpoint {
    /// The log holds only the last transaction, whose pages hold no superseded value: copy it
    /// into the file and wait until no reader uses the log, so that the next transaction writes
    /// the log again from its start and, with `journal_size_limit = 0`, cuts it to its own
    /// size. The log file is overwritten in place instead of truncated and grown again, which
    /// is several times cheaper on the file systems we measured.
    Restart,
    /// Copy the log into the file and truncate it to zero bytes.
    Truncate,
}

/// Wipes with `mode`. Returns whether the checkpoint completed (it does not while another
/// connection reads).
fn checkpoint(conn: &Connection, mode: Checkpoint) -> Result<bool, StoreError> {
    let sql = match mode {
        Checkpoint::Restart => "PRAGMA wal_checkpoint(RESTART)",
        Checkpoint::Truncate => "PRAGMA wal_checkpoint(TRUNCATE)",
    };
    let busy: i64 = conn.prepare_cached(sql)?.query_row([], |r| r.get(0))?;
    Ok(busy == 0)
}

fn remove_files(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(Path::new(&name));
    }
}

impl SqliteStore {
    /// Creates a new store file at `path`, protected by `source`. A passphrase is stretched with
    /// Argon2id using the parameters in `source`. The store key, the salt and every nonce are
    /// drawn from the operating system's generator, each when it is needed (PROTOCOL.md,
    /// section 11, "Randomness"). The new store has no owner until [`super::Store::set_owner`]
    /// records one.
    ///
    /// # Errors
    /// [`StoreError::AlreadyExists`] if a file is at `path`; [`StoreError::InvalidInput`] if the
    /// passphrase is empty or too long, or Argon2 refuses the KDF parameters;
    /// [`StoreError::KdfAboveCeiling`] if they are above the store's ceiling;
    /// [`StoreError::Random`] if the operating system delivers no random bytes;
    /// [`StoreError::Io`] or [`StoreError::Database`] if the file cannot be written. In every
    /// case no file is left behind.
    pub fn create(path: impl AsRef<Path>, source: &StoreKeySource) -> Result<Self, StoreError> {
        Self::create_with(path, source, SqliteOptions::default())
    }

    /// [`Self::create`] with `options`: a [`WipePolicy`] other than the default, or a
    /// [`RollbackCounter`](crate::store::RollbackCounter). The new store's generation starts at
    /// the counter's value (0 if it was never advanced), so that a counter left over from a
    /// deleted store does not take the new one for a rolled-back file.
    ///
    /// # Errors
    /// As [`Self::create`], and [`StoreError::RollbackCounter`] if the counter cannot be read
    /// (no file is created).
    pub fn create_with(
        path: impl AsRef<Path>,
        source: &StoreKeySource,
        options: SqliteOptions,
    ) -> Result<Self, StoreError> {
        let path = path.as_ref();
        if path.exists() {
            return Err(StoreError::AlreadyExists);
        }
        let counter = options.counter().read().map_err(StoreError::RollbackCounter)?.unwrap_or(0);
        let store_key = StoreKey::generate()?;
        let wrapped = keys::wrap(source, &store_key)?;
        let keys = RecordKeys::derive(&store_key);
        let created = Self::create_file(path, &wrapped, &keys, counter, &options);
        match created {
            Ok(conn) => Ok(Self::from_parts(path, conn, store_key, keys, options, counter, counter)),
            Err(e) => {
                remove_files(path);
                Err(e)
            }
        }
    }

    fn create_file(
        path: &Path,
        wrapped: &Wrapped,
        keys: &RecordKeys,
        generation: u64,
        options: &SqliteOptions,
    ) -> Result<Connection, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags)?;
        conn.execute_batch("PRAGMA auto_vacuum = FULL;")?;
        configure(&conn, options)?;
        let tx = conn.transaction()?;
        schema::create(&tx)?;
        tx.execute(
            "INSERT INTO store_header (id, magic, format, kdf, wrapped_key) VALUES (1, ?1, ?2, ?3, ?4)",
            params![STORE_MAGIC, STORE_FORMAT_VERSION, wrapped.kdf, wrapped.key],
        )?;
        generation::set(&mut SqlTables::new(&tx, keys, 0), generation)?;
        audit::init(&mut SqlTables::new(&tx, keys, 0))?;
        tx.commit()?;
        Ok(conn)
    }

    /// Opens the store at `path` with `source`, then brings its schema up to date. Opening with a
    /// passphrase takes one Argon2id run with the parameters recorded in the file.
    ///
    /// Opening does not check who the store belongs to: call [`super::Store::set_owner`] next,
    /// as `Endpoint::open` does, before using it.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if there is no file; [`StoreError::NotAStore`] if it is not a
    /// confidant store; [`StoreError::Truncated`] if it is shorter than its header says;
    /// [`StoreError::NewerSchema`] or [`StoreError::UnsupportedFormat`] if a newer library wrote
    /// it; [`StoreError::KdfAboveCeiling`] if the header asks for Argon2id costs above the
    /// store's ceiling (refused before Argon2id runs; PROTOCOL.md, section 11, "Argon2id
    /// parameters"); [`StoreError::WrongKey`] if `source` does not open it;
    /// [`StoreError::Corrupt`] naming `store_header` if the header row is damaged, or
    /// `generation` if the generation record is ([`Self::recover_from_rollback`] replaces it).
    /// In each of these cases the file was not modified.
    ///
    /// It opens with no rollback counter: a file replaced by an older copy of itself is not
    /// detected ([`Self::open_with`] takes one).
    pub fn open(path: impl AsRef<Path>, source: &StoreKeySource) -> Result<Self, StoreError> {
        Self::open_with(path, source, SqliteOptions::default())
    }

    /// [`Self::open`] with `options`: a [`WipePolicy`] other than the default, or a
    /// [`RollbackCounter`](crate::store::RollbackCounter).
    ///
    /// With a counter, the file's generation is compared with it before anything is written:
    /// a counter ahead of the file means that the file was replaced by an older copy of itself,
    /// and the open is refused. A file ahead of the counter (the process ended between a commit
    /// and the counter's advance) advances the counter; if that fails, the store opens all the
    /// same and tries again after its next write. PROTOCOL.md, section 11, "Rollback".
    ///
    /// # Errors
    /// As [`Self::open`], and: [`StoreError::RolledBack`] if the counter is ahead of the file's
    /// generation; [`StoreError::RollbackCounter`] if the counter cannot be read. In both cases
    /// the file was not modified.
    pub fn open_with(
        path: impl AsRef<Path>,
        source: &StoreKeySource,
        options: SqliteOptions,
    ) -> Result<Self, StoreError> {
        Self::open_file(path.as_ref(), source, options, Rollback::Refuse)
    }

    fn open_file(
        path: &Path,
        source: &StoreKeySource,
        options: SqliteOptions,
        rollback: Rollback,
    ) -> Result<Self, StoreError> {
        file::check(path)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags)?;
        let store_key = Self::unlock(&conn, source)?;
        configure(&conn, &options)?;
        let keys = RecordKeys::derive(&store_key);
        let version = schema::version(&conn)?;
        // The counter first, then the file: another process may commit a generation and advance
        // the counter in between, and then the file read after it holds that generation too.
        let counter = options.counter().read().map_err(StoreError::RollbackCounter)?;
        let file = match Self::file_generation(&conn, &keys, version) {
            // Recovery replaces a generation record that does not open.
            Err(StoreError::Corrupt { .. }) if rollback == Rollback::Recover => 0,
            file => file?,
        };
        let counter = match counter {
            Some(counter) if counter > file && rollback == Rollback::Refuse => {
                return Err(StoreError::RolledBack { file, counter });
            }
            Some(counter) => counter,
            None => 0,
        };
        schema::upgrade(&mut conn, version)?;
        // Wipe whatever a crash or an earlier run left in the write-ahead log.
        let wiped = checkpoint(&conn, Checkpoint::Truncate)?;
        let mut store = Self::from_parts(path, conn, store_key, keys, options, file.max(counter), counter);
        let locked = store.locked.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner);
        locked.fresh_log = wiped;
        if !wiped {
            // Another connection reads the file: the next write tries again.
            locked.pending = u32::MAX;
        }
        // A file ahead of the counter: the last run ended between a commit and the advance.
        Self::advance_counter(&store.options, locked);
        if version < schema::AUDIT_SCHEMA {
            // A file from before the audit trail gets the head of an empty one.
            store.write(audit::init)?;
        }
        Ok(store)
    }

    /// Reads the header and unwraps the store key, writing nothing.
    fn unlock(conn: &Connection, source: &StoreKeySource) -> Result<StoreKey, StoreError> {
        let has_header: bool = conn
            .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'store_header'")?
            .exists([])?;
        if !has_header {
            return Err(StoreError::NotAStore);
        }
        let version = schema::version(conn)?;
        schema::check_version(version)?;
        let header = conn
            .query_row("SELECT magic, format, kdf, wrapped_key FROM store_header WHERE id = 1", [], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                ))
            })
            .optional()
            .map_err(|e| match StoreError::from(e) {
                StoreError::Database(_) => StoreError::Corrupt { table: "store_header" },
                other => other,
            })?;
        let Some((magic, format, kdf, key)) = header else { return Err(StoreError::NotAStore) };
        if magic != STORE_MAGIC {
            return Err(StoreError::NotAStore);
        }
        if format != i64::from(STORE_FORMAT_VERSION) {
            return Err(StoreError::UnsupportedFormat(u32::try_from(format).unwrap_or(u32::MAX)));
        }
        keys::unwrap(source, &Wrapped { kdf, key })
    }

    fn from_parts(
        path: &Path,
        conn: Connection,
        store_key: StoreKey,
        keys: RecordKeys,
        options: SqliteOptions,
        floor: u64,
        counter_at: u64,
    ) -> Self {
        // A new file's log holds the creating transaction, which superseded nothing.
        let restart_wipes = restart_wipes(&options);
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        let locked = Locked {
            conn,
            pending: 0,
            fresh_log: false,
            restart_wipes,
            floor,
            counter_at,
            single: None,
            synchronous_off: false,
            wal: PathBuf::from(wal),
            #[cfg(test)]
            deferred_writes: 0,
            #[cfg(test)]
            own_syncs: 0,
        };
        Self { locked: Mutex::new(locked), store_key, keys, options }
    }

    /// The options the store was created or opened with.
    #[must_use]
    pub fn options(&self) -> SqliteOptions {
        self.options.clone()
    }

    /// Wipes now every superseded copy of a replaced value that the [`WipePolicy`] let wait (see
    /// PROTOCOL.md, section 11, "Deletion"). Returns whether the wipe completed: it does not
    /// while another connection reads the file, and the next write then tries again.
    ///
    /// # Errors
    /// [`StoreError::Database`] if the file cannot be written.
    pub fn wipe(&self) -> Result<bool, StoreError> {
        let mut locked = self.lock();
        Self::wipe_locked(&mut locked, Checkpoint::Truncate)
    }

    /// Wipes after a committed transaction. A restart is enough when the transaction started the
    /// log afresh over nothing but one transaction already in the synced database file (`alone`),
    /// so that the log now holds it alone, and restart wipes are on.
    fn wipe_after_commit(locked: &mut Locked, alone: bool) -> Result<bool, StoreError> {
        let restart = alone && locked.fresh_log && locked.restart_wipes;
        let mode = if restart { Checkpoint::Restart } else { Checkpoint::Truncate };
        Self::wipe_locked(locked, mode)
    }

    fn wipe_locked(locked: &mut Locked, mode: Checkpoint) -> Result<bool, StoreError> {
        // Until a wipe completes, the next write tries again, with a truncation.
        locked.pending = u32::MAX;
        locked.fresh_log = false;
        locked.single = None;
        // The checkpoint syncs the log, then the database file, only with `synchronous` on.
        synchronous(locked, true)?;
        let wiped = checkpoint(&locked.conn, mode)?;
        if wiped {
            locked.pending = 0;
            locked.fresh_log = true;
        }
        Ok(wiped)
    }

    /// Re-wraps the store key under a key-encryption key from `new` (a new passphrase, new
    /// Argon2id parameters, or a switch between passphrase and platform key). No record is
    /// re-encrypted; the old wrapped key is wiped from the file. The new salt and nonce come from
    /// the operating system's generator.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] if the passphrase is empty or too long, or Argon2 refuses the
    /// KDF parameters; [`StoreError::KdfAboveCeiling`] if they are above the store's ceiling;
    /// [`StoreError::Random`] if the operating system delivers no random bytes;
    /// [`StoreError::Database`] if the file cannot be written. In every case the old passphrase
    /// still opens the store.
    pub fn change_passphrase(&self, new: &StoreKeySource) -> Result<(), StoreError> {
        let wrapped = keys::wrap(new, &self.store_key)?;
        let mut locked = self.lock();
        let tx = locked.conn.transaction()?;
        tx.execute(
            "UPDATE store_header SET kdf = ?1, wrapped_key = ?2 WHERE id = 1",
            params![wrapped.kdf, wrapped.key],
        )?;
        tx.commit()?;
        // Committed: the new passphrase opens the store now. A failed wipe of the old wrapped key
        // is retried at the next write and on drop, as for any write.
        let _ = Self::wipe_after_commit(&mut locked, false);
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, Locked> {
        // Transactions roll back when dropped, so a poisoned lock holds a consistent connection.
        self.locked.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn run<T>(
        &self,
        commit: bool,
        f: impl FnOnce(&mut dyn Tables) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut guard = self.lock();
        let locked = &mut *guard;
        if !commit {
            let tx = locked.conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
            return f(&mut SqlTables::new(&tx, &self.keys, locked.floor));
        }
        // A write whose log will hold it alone, and which a wipe follows, leaves its syncs to that
        // wipe (PROTOCOL.md, section 11, "Transactions and durability").
        let deferred = locked.restart_wipes && locked.fresh_log && locked.single.is_some();
        let out = Self::write_locked(locked, &self.keys, &self.options, deferred, f);
        // Every other statement (a wipe, an explicit one, the one on drop) runs synced.
        let restored = synchronous(locked, true);
        let out = out?;
        restored?;
        Ok(out)
    }

    /// One write transaction, then what follows its commit: the rollback counter, the wipe the
    /// policy asks for, and, for a write whose syncs were deferred, the sync of the log.
    fn write_locked<T>(
        locked: &mut Locked,
        keys: &RecordKeys,
        options: &SqliteOptions,
        mut deferred: bool,
        f: impl FnOnce(&mut dyn Tables) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        synchronous(locked, !deferred)?;
        // A write holds SQLite's write lock from its first statement, so that what it reads (the
        // session versions it compares) is still current when it writes: a writer on another
        // connection waits for it, or fails with a busy error, and never interleaves.
        let mut tx = locked.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut began = data_version(&tx)?;
        // Another connection committed since this handle's last wipe: the log may hold more than
        // one transaction, and SQLite must sync the new log's header before its frames.
        let alone = locked.single == Some(began);
        if deferred && !alone {
            drop(tx);
            deferred = false;
            synchronous(locked, true)?;
            tx = locked.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            began = data_version(&tx)?;
        }
        let mut tables = SqlTables::new(&tx, keys, locked.floor);
        let out = f(&mut tables)?;
        let (wipe, generation) = (tables.wipe, tables.generation);
        tx.commit()?;
        if let Some(generation) = generation {
            locked.floor = locked.floor.max(generation);
        }
        // The batch is committed; the counter's failure does not fail the call, and a counter
        // that fails is advanced after the next write (PROTOCOL.md, section 11, "Rollback").
        Self::advance_counter(options, locked);
        let pending = locked.pending.saturating_add(u32::from(wipe.replaced));
        let wiped = if wipe.deleted || wipe.requested || pending > options.wipe.max_pending() {
            // A wipe that fails (an I/O error, or a reader on another connection) is tried again
            // at the next write and when the store is dropped: `wipe_locked` leaves the pending
            // count above any bound until a wipe completes. It does not fail the call, unless
            // the batch is not yet durable (below).
            let wiped = Self::wipe_after_commit(locked, alone).unwrap_or(false);
            if wiped {
                locked.single = Some(began);
            }
            wiped
        } else {
            locked.pending = pending;
            locked.fresh_log = false;
            locked.single = None;
            false
        };
        // A completed wipe synced the log before copying it into the file. Otherwise the log of
        // a deferred write is synced here, before the write is reported as saved.
        if deferred && !wiped {
            std::fs::File::open(&locked.wal)?.sync_all()?;
        }
        #[cfg(test)]
        {
            locked.deferred_writes += u32::from(deferred);
            locked.own_syncs += u32::from(deferred && !wiped);
        }
        Ok(out)
    }
}

/// Sets `PRAGMA synchronous` to `FULL` (`on`) or `OFF`, outside any transaction.
fn synchronous(locked: &mut Locked, on: bool) -> Result<(), StoreError> {
    if locked.synchronous_off == on {
        let sql = if on { "PRAGMA synchronous = FULL" } else { "PRAGMA synchronous = OFF" };
        locked.conn.prepare_cached(sql)?.execute([])?;
        locked.synchronous_off = !on;
    }
    Ok(())
}

/// `PRAGMA data_version`: changes when another connection commits.
fn data_version(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.prepare_cached("PRAGMA data_version")?.query_row([], |r| r.get(0))?)
}

impl Drop for SqliteStore {
    /// Wipes what the [`WipePolicy`] let wait (SQLite's own close would also checkpoint, and
    /// delete the write-ahead log).
    fn drop(&mut self) {
        let locked = self.locked.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner);
        if locked.pending > 0 && synchronous(locked, true).is_ok() {
            let _ = checkpoint(&locked.conn, Checkpoint::Truncate);
        }
    }
}

impl Backend for SqliteStore {
    fn read<T>(&self, f: impl FnOnce(&mut dyn Tables) -> Result<T, StoreError>) -> Result<T, StoreError> {
        self.run(false, f)
    }

    fn write<T>(&self, f: impl FnOnce(&mut dyn Tables) -> Result<T, StoreError>) -> Result<T, StoreError> {
        self.run(true, f)
    }
}

impl_store!(SqliteStore);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn session(store: &SqliteStore, peer: &PeerId, fill: u8) {
        let replaces = store.session(peer).unwrap().map(|s| s.version);
        let mut batch = WriteBatch::new();
        batch.put_session(peer, replaces, &[fill; 300]).unwrap();
        store.apply(batch).unwrap();
    }

    fn counts(store: &SqliteStore) -> (u32, u32, bool) {
        let locked = store.lock();
        (locked.deferred_writes, locked.own_syncs, locked.synchronous_off)
    }

    #[test]
    fn only_a_write_whose_log_holds_it_alone_defers_its_syncs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let a = SqliteStore::create(&path, &StoreKeySource::key([1; 32])).unwrap();
        let p = PeerId::new("p").unwrap();
        // A new session replaces nothing and is not wiped; the first wipe does not know what the
        // log held before it, and truncates it.
        session(&a, &p, 1);
        session(&a, &p, 2);
        assert_eq!(counts(&a), (0, 0, false));
        session(&a, &p, 3);
        session(&a, &p, 4);
        assert_eq!(counts(&a), (2, 0, false), "deferred, synced by the wipe, and FULL again after");

        // Another connection's commit: the next write runs synced and truncates the log.
        let b = SqliteStore::open(&path, &StoreKeySource::key([1; 32])).unwrap();
        session(&b, &PeerId::new("q").unwrap(), 5);
        session(&a, &p, 6);
        assert_eq!(counts(&a).0, 2);
        session(&a, &p, 7);
        assert_eq!(counts(&a), (3, 0, false));

        // A deferred write that replaces nothing is not wiped: it syncs the log itself, and the
        // write after it, which finds more than one transaction in the log, runs synced.
        let mut batch = WriteBatch::new();
        batch
            .put_message(StoredMessage {
                id: MessageId([9; 16]),
                peer: p.clone(),
                direction: crate::store::Direction::Inbound,
                at: crate::clock::Timestamp(1),
                expires_at: None,
                read_at: None,
                body: b"kept".to_vec().into(),
            })
            .unwrap();
        a.apply(batch).unwrap();
        assert_eq!(counts(&a), (4, 1, false));
        session(&a, &p, 8);
        assert_eq!(counts(&a), (4, 1, false));
        drop((a, b));
        let a = SqliteStore::open(&path, &StoreKeySource::key([1; 32])).unwrap();
        assert_eq!(a.session(&p).unwrap().unwrap().state.as_slice(), &[8; 300]);
        assert!(a.message(&MessageId([9; 16])).unwrap().is_some());
    }

    #[test]
    fn bounded_policy_never_defers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let options = SqliteOptions::with_wipe(WipePolicy::Bounded { transactions: 2 });
        let a = SqliteStore::create_with(&path, &StoreKeySource::key([1; 32]), options).unwrap();
        let p = PeerId::new("p").unwrap();
        for fill in 0..8 {
            session(&a, &p, fill);
        }
        assert_eq!(counts(&a), (0, 0, false));
    }
}
