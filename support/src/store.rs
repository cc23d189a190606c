//! Helpers shared by the store tests.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use confidant::store::{
    CounterError, Direction, KdfParams, MessageId, Passphrase, PeerId, RollbackCounter, SessionVersion,
    SqliteOptions, SqliteStore, Store, StoreKeySource, StoredMessage,
};
use confidant::Timestamp;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

/// Argon2id parameters small enough for tests, below the floor that `KdfParams::new` holds new
/// stores to (only the `low-level` feature can make them); never for real use.
pub const TINY_KDF: KdfParams = KdfParams::without_floor(8, 1, 1);

pub use crate::rng::seeded as rng;

pub fn passphrase(text: &str) -> StoreKeySource {
    StoreKeySource::Passphrase { passphrase: Passphrase::new(text.to_owned()), params: TINY_KDF }
}

pub fn app_key(byte: u8) -> StoreKeySource {
    StoreKeySource::key([byte; 32])
}

pub fn peer(name: &str) -> PeerId {
    PeerId::new(name).unwrap()
}

/// The version of the session stored with `peer`: what a write replacing it names.
pub fn session_version<S: Store + ?Sized>(store: &S, peer: &PeerId) -> Option<SessionVersion> {
    store.session(peer).unwrap().map(|stored| stored.version)
}

pub fn message(id: u8, peer: &PeerId, at: u64, expires_at: Option<u64>, body: &[u8]) -> StoredMessage {
    StoredMessage {
        id: MessageId([id; 16]),
        peer: peer.clone(),
        direction: if id.is_multiple_of(2) { Direction::Inbound } else { Direction::Outbound },
        at: Timestamp(at),
        expires_at: expires_at.map(Timestamp),
        read_at: None,
        body: body.to_vec().into(),
    }
}

pub fn db_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("store.db")
}

pub fn create(path: &Path) -> SqliteStore {
    SqliteStore::create(path, &passphrase("correct horse battery staple")).unwrap()
}

pub fn open(path: &Path) -> SqliteStore {
    SqliteStore::open(path, &passphrase("correct horse battery staple")).unwrap()
}

/// The bytes of the database file and of its write-ahead log (empty if there is none).
pub fn raw_files(path: &Path) -> (Vec<u8>, Vec<u8>) {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    (std::fs::read(path).unwrap(), std::fs::read(PathBuf::from(wal)).unwrap_or_default())
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// A rollback counter in memory, standing for the platform's keychain: it outlives the store
/// handles that use it, and copying or restoring a store file does not touch it. It can be told
/// to fail its next reads or advances, to stand for a keychain that is locked, or a process
/// killed between a commit and the advance.
#[derive(Debug, Default)]
pub struct TestCounter {
    value: Mutex<Option<u64>>,
    failing_reads: AtomicU32,
    failing_advances: AtomicU32,
    advances: AtomicU32,
}

impl TestCounter {
    /// A counter that was never advanced.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The stored value.
    pub fn value(&self) -> Option<u64> {
        *self.value.lock().unwrap()
    }

    /// Sets the stored value, as a counter that another store or run left behind.
    pub fn set(&self, value: u64) {
        *self.value.lock().unwrap() = Some(value);
    }

    /// Makes the next `n` reads fail with `CounterError::Unavailable`.
    pub fn fail_reads(&self, n: u32) {
        self.failing_reads.store(n, Ordering::SeqCst);
    }

    /// Makes the next `n` advances fail with `CounterError::Unavailable`, changing nothing.
    pub fn fail_advances(&self, n: u32) {
        self.failing_advances.store(n, Ordering::SeqCst);
    }

    /// How many advances succeeded.
    pub fn advances(&self) -> u32 {
        self.advances.load(Ordering::SeqCst)
    }

    /// Store options with this counter.
    pub fn options(self: &Arc<Self>) -> SqliteOptions {
        SqliteOptions::default().rollback_counter(self.clone())
    }

    fn take_failure(counter: &AtomicU32) -> bool {
        counter.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
    }
}

impl RollbackCounter for TestCounter {
    fn read(&self) -> Result<Option<u64>, CounterError> {
        if Self::take_failure(&self.failing_reads) {
            return Err(CounterError::Unavailable);
        }
        Ok(self.value())
    }

    fn advance(&self, to: u64) -> Result<(), CounterError> {
        if Self::take_failure(&self.failing_advances) {
            return Err(CounterError::Unavailable);
        }
        let mut value = self.value.lock().unwrap();
        *value = Some(value.map_or(to, |stored| stored.max(to)));
        self.advances.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// Copies the store file at `from` to `to`, as someone who can read the file would keep it. The
/// store must be closed (its write-ahead log folded into the file and removed).
pub fn copy_file(from: &Path, to: &Path) {
    let mut wal = from.as_os_str().to_owned();
    wal.push("-wal");
    assert!(!Path::new(&wal).exists(), "close the store before copying its file");
    std::fs::copy(from, to).unwrap();
}

/// Puts the copy at `from` back in place of the store file at `to`, as someone who can write
/// the file would, with no write-ahead log beside it.
pub fn restore_file(from: &Path, to: &Path) {
    for suffix in ["-wal", "-shm"] {
        let mut name = to.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
    std::fs::copy(from, to).unwrap();
}
