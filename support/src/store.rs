//! Helpers shared by the store tests.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use confidant::store::{
    Direction, KdfParams, MessageId, Passphrase, PeerId, SessionVersion, SqliteStore, Store, StoreKeySource,
    StoredMessage,
};
use confidant::Timestamp;
use std::path::{Path, PathBuf};

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
