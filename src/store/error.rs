//! The store's error type.

use thiserror::Error as ThisError;

use super::rollback::CounterError;

/// Why a store operation failed.
///
/// After any error the store is exactly as it was before the call: a failed write changes nothing.
/// No variant carries key bytes or plaintext.
#[derive(Debug, ThisError, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreError {
    /// No store file exists at the path given to open.
    #[error("no store file at this path")]
    NotFound,
    /// A file already exists at the path given to create.
    #[error("a file already exists at this path")]
    AlreadyExists,
    /// The file is not a confidant store: not a SQLite database, or one without a store header.
    #[error("the file is not a confidant store")]
    NotAStore,
    /// The file is shorter than its own header says: it was truncated.
    #[error("the store file is truncated")]
    Truncated,
    /// SQLite reports the file's structure as damaged.
    #[error("the store file is damaged")]
    FileCorrupt,
    /// The file was written by a newer version of this library, with a schema it does not know.
    #[error("store schema version {found} is newer than the supported version {supported}")]
    NewerSchema {
        /// Schema version found in the file.
        found: u32,
        /// Highest schema version this library knows.
        supported: u32,
    },
    /// The file's key-wrapping format version is not known to this library.
    #[error("unsupported store format version {0}")]
    UnsupportedFormat(u32),
    /// The passphrase or key does not open this store. The file was not changed.
    #[error("wrong passphrase or key")]
    WrongKey,
    /// Argon2id parameters for a new wrap are below the store's floor
    /// ([`MIN_KDF_MEMORY_KIB`](crate::store::consts::MIN_KDF_MEMORY_KIB),
    /// [`MIN_KDF_ITERATIONS`](crate::store::consts::MIN_KDF_ITERATIONS),
    /// [`MIN_KDF_PARALLELISM`](crate::store::consts::MIN_KDF_PARALLELISM)): a passphrase
    /// stretched with less falls too easily to a search. Nothing was made or written.
    #[error("the Argon2id parameters are below the store's floor")]
    KdfBelowFloor,
    /// Argon2id parameters ask for more memory, passes or lanes than the store allows
    /// ([`MAX_KDF_MEMORY_KIB`](crate::store::consts::MAX_KDF_MEMORY_KIB),
    /// [`MAX_KDF_ITERATIONS`](crate::store::consts::MAX_KDF_ITERATIONS),
    /// [`MAX_KDF_PARALLELISM`](crate::store::consts::MAX_KDF_PARALLELISM)). Given for a new wrap,
    /// nothing was written. Read from a file's header, the file was refused before Argon2id ran
    /// (the header is authenticated only by the unwrap that Argon2id's output enables, so
    /// whoever can write the file could otherwise make every open allocate and compute without
    /// limit), and it was not modified.
    #[error("the Argon2id parameters exceed the store's ceiling")]
    KdfAboveCeiling,
    /// A record of the named table failed to authenticate or decode: it was tampered with,
    /// truncated, or moved from another row or table.
    #[error("corrupt record in table {table}")]
    Corrupt {
        /// The table holding the bad record.
        table: &'static str,
    },
    /// A session write named a version of the session that is no longer the stored one: another
    /// writer (another thread, or another process on the same file) saved or deleted the session
    /// after this one read it. Nothing of the batch was written. Read the session again
    /// ([`crate::store::Store::session`]) and redo the work from the state it returns; never save
    /// the state derived from the stale one, whose message keys the other writer may have used.
    #[error("the session was written by another writer since it was read")]
    Conflict,
    /// A peer presented an identity key other than the one stored for it. Accept the new key with
    /// `Endpoint::accept_new_identity` (or [`crate::store::Store::accept_identity`]) once the
    /// user has agreed.
    #[error("the peer's identity key changed")]
    IdentityChanged,
    /// The operation needs a peer that the store does not know.
    #[error("unknown peer")]
    UnknownPeer,
    /// The operation needs a message that the store does not hold.
    #[error("unknown message")]
    UnknownMessage,
    /// A prekey to be consumed is not in the store (already used, or never stored).
    #[error("unknown prekey")]
    UnknownPrekey,
    /// A message with this id is already stored.
    #[error("a message with this id is already stored")]
    MessageExists,
    /// A different local identity is already stored; it is never replaced.
    #[error("a different local identity is already stored")]
    LocalIdentityExists,
    /// The store belongs to another owner: it records another role or another local id (compared
    /// byte for byte) than the one it was opened with. Nothing was written; the recorded owner
    /// ([`crate::store::Store::owner`]) is never replaced.
    #[error("the store belongs to another role or local id")]
    OwnerMismatch,
    /// The store file is older than a state it was seen in: its generation (raised with every
    /// write of session state) is behind the [`RollbackCounter`](crate::store::RollbackCounter)
    /// kept outside the file. Someone replaced the file with an older copy of itself, or put back
    /// an older copy of its generation record. Going on from its session states would use again
    /// message keys that were already used, so the file was refused and not modified (or, for a
    /// write, nothing of it was written). [`SqliteStore::recover_from_rollback`] deletes its
    /// sessions so that the store can be used again (PROTOCOL.md, section 11, "Rollback").
    ///
    /// The two numbers are counts of session-writing transactions, not secrets.
    ///
    /// [`SqliteStore::recover_from_rollback`]: crate::store::SqliteStore::recover_from_rollback
    #[error("the store file was rolled back: generation {file} is behind the rollback counter's {counter}")]
    RolledBack {
        /// The generation the file holds.
        file: u64,
        /// The generation the file held at least once: the counter's value, or a generation
        /// this handle committed.
        counter: u64,
    },
    /// The [`RollbackCounter`](crate::store::RollbackCounter) could not be read, so whether the
    /// file was rolled back cannot be told; the file was not opened, created or modified.
    #[error("rollback counter: {0}")]
    RollbackCounter(CounterError),
    /// An argument is out of range (the name says which); nothing was written.
    #[error("invalid input: {0}")]
    InvalidInput(&'static str),
    /// The operating system's random number generator did not deliver random bytes (the store
    /// key, salts and record nonces come from it, never from a generator the caller passes).
    /// Nothing was written.
    #[error("the operating system's random number generator failed")]
    Random,
    /// A file-system operation failed.
    #[error("file system: {0:?}")]
    Io(std::io::ErrorKind),
    /// SQLite failed for another reason (for example, the file is locked or the disk is full).
    #[error("database: {0}")]
    Database(String),
}

impl From<std::io::Error> for StoreError {
    fn from(error: std::io::Error) -> Self {
        Self::Io(error.kind())
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        match error.sqlite_error_code() {
            Some(ErrorCode::NotADatabase) => Self::NotAStore,
            Some(ErrorCode::DatabaseCorrupt) => Self::FileCorrupt,
            Some(ErrorCode::CannotOpen) => Self::NotFound,
            _ => Self::Database(error.to_string()),
        }
    }
}
