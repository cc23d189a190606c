//! The encrypted on-device store: the local identity, prekeys, peers and their trust state,
//! session states, messages, agreements, and when the last auto-reply went to each peer.
//!
//! [`SqliteStore`] keeps them in one SQLite file in which every value is sealed with
//! XChaCha20-Poly1305 under a random store key, and every lookup column is a keyed hash. The
//! store key is wrapped by a key-encryption key from a passphrase (Argon2id) or from the
//! platform keystore. [`MemoryStore`] follows the same rules in memory. Both implement [`Store`];
//! PROTOCOL.md, section 11, describes the file format and what a holder of the file can see.
//!
//! A store remembers who it belongs to: [`Store::set_owner`] records its [`Owner`] (the role and
//! local id of the device's user) the first time, and refuses any other owner afterwards with
//! [`StoreError::OwnerMismatch`], so that a clinician's store is never opened as a client's, or
//! under another local id, which would change the safety numbers. `Endpoint::new` and
//! `Endpoint::open` call it every time; PROTOCOL.md, section 11, "The owner", states the rule.
//!
//! All writes of one operation go through [`Store::apply`] with a [`WriteBatch`], which is saved
//! all together or not at all: a received message is stored in the same transaction as the
//! session state that decrypted it. Deleted and expired messages leave no copy of their bytes in
//! the file or its write-ahead log once the write returns. Superseded copies of *replaced* values
//! (older session states, earlier versions of a message) are wiped as the store's [`WipePolicy`]
//! says: after every write by default ([`WipePolicy::EveryWrite`]), or within a bounded number of
//! transactions ([`WipePolicy::Bounded`], chosen with [`SqliteOptions`]), and in every case by
//! the next deletion or purge. PROTOCOL.md, section 11, "Deletion", states the exact promise.
//!
//! Session writes are compare-and-swap: [`Store::session`] returns a state with its
//! [`SessionVersion`], and [`WriteBatch::put_session`] names the version it replaces (`None` for
//! a new session). If another writer (a thread, or another process on the same file, such as an
//! app's notification extension) saved the session in between, the whole batch fails with
//! [`StoreError::Conflict`] and nothing of it is written: two writers never both save a state
//! derived from the same one, which would have them encrypt with the same message keys, and no
//! update is lost. PROTOCOL.md, section 11, "Concurrent writers", states the rule.
//!
//! A store file replaced by an older copy of itself would make the device use message keys
//! again. [`SqliteStore`] keeps a generation, sealed in the file and raised by every write of
//! session state, and a [`RollbackCounter`] the application keeps outside the file (a keychain
//! item, given with [`SqliteOptions::rollback_counter`]) follows it: a file behind its counter is
//! refused with [`StoreError::RolledBack`], and [`SqliteStore::recover_from_rollback`] deletes
//! its sessions so that new ones are started. Without a counter ([`NoRollbackCounter`], the
//! default) a rolled-back file is not detected. PROTOCOL.md, section 11, "Rollback", states the
//! rule and what it does not cover.
//!
//! ```
//! # fn main() -> Result<(), confidant::store::StoreError> {
//! use confidant::store::{
//!     Direction, MemoryStore, MessageId, PeerId, Store, StoreError, StoredMessage, WriteBatch,
//! };
//! use confidant::Timestamp;
//!
//! let store = MemoryStore::new();
//! let peer = PeerId::new("client-42")?;
//! let mut batch = WriteBatch::new();
//! // `None`: there is no session with this peer yet.
//! batch.put_session(&peer, None, b"serialized session")?.put_message(StoredMessage {
//!     id: MessageId([1; 16]),
//!     peer: peer.clone(),
//!     direction: Direction::Inbound,
//!     at: Timestamp(1_000),
//!     expires_at: Some(Timestamp(2_000)),
//!     read_at: None,
//!     body: b"content".to_vec().into(),
//! })?;
//! store.apply(batch)?;
//! assert_eq!(store.messages(&peer)?.len(), 1);
//!
//! // A session write names the version it replaces, as read with the state.
//! let stored = store.session(&peer)?.expect("saved above");
//! let mut next = WriteBatch::new();
//! next.put_session(&peer, Some(stored.version), b"next state")?;
//! store.apply(next)?;
//! // Another write from the same, now stale, version fails and writes nothing.
//! let mut stale = WriteBatch::new();
//! stale.put_session(&peer, Some(stored.version), b"a state derived from the old one")?;
//! assert_eq!(store.apply(stale), Err(StoreError::Conflict));
//! assert_eq!(store.purge_expired(Timestamp(2_000))?, 1);
//! # Ok(())
//! # }
//! ```

pub(crate) mod audit;
mod batch;
mod codec;
pub mod consts;
mod error;
mod generation;
mod kdf;
mod keys;
mod memory;
mod ops;
mod random;
mod records;
mod rollback;
mod seal;
mod sqlite;
mod trust;
mod types;

#[cfg(feature = "low-level")]
pub(crate) use keys::StoreKey;
#[cfg(feature = "low-level")]
pub(crate) use seal::RecordKeys;

pub use audit::{AuditEntry, AuditEvent, ExportKind};
pub use batch::WriteBatch;
pub use error::StoreError;
pub use kdf::KdfParams;
pub use keys::{KeyEncryptionKey, Passphrase, StoreKeySource};
pub use memory::MemoryStore;
pub use records::RecordCopy;
pub use rollback::{CounterError, NoRollbackCounter, RollbackCounter};
pub use sqlite::{SqliteOptions, SqliteStore, WipePolicy};
pub use types::{
    DamagedRecord, Direction, MessageId, MessagePage, Owner, PageEntry, PeerId, PeerRecord, RecordRef,
    SessionVersion, StoredAgreement, StoredMessage, StoredSession, Verification,
};

use crate::clock::Timestamp;
use crate::keys::{IdentityKey, IdentityKeyPair, KemPrekey, OneTimePrekey, PrekeyId, SignedPrekey};

/// Storage for everything a device keeps between runs.
///
/// Every method either succeeds or leaves the store exactly as it was. Implementations are
/// `Send + Sync`: one store may be shared between threads (for example in an `Arc`).
pub trait Store: Send + Sync {
    /// Who the store belongs to, if an owner was recorded ([`Self::set_owner`]).
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] naming `owner` if the stored record does not authenticate or
    /// decode; [`StoreError::Database`] if the file cannot be read.
    fn owner(&self) -> Result<Option<Owner>, StoreError>;

    /// Records `owner` as the store's owner if none is recorded yet; checks it otherwise.
    /// Recording the same owner again does nothing and writes nothing. Call it whenever the store
    /// is opened (`Endpoint::new` does), so that a store is never used under another role or
    /// local id than the one it was created for.
    ///
    /// A store created before owners were recorded has none: the first owner it is opened with
    /// becomes its owner.
    ///
    /// # Errors
    /// [`StoreError::OwnerMismatch`] if another owner is recorded (another role, or a local id
    /// that differs in any byte); it is never replaced, and nothing is written.
    /// [`StoreError::Corrupt`] naming `owner` if the stored record does not authenticate or
    /// decode; [`StoreError::Database`] if the file cannot be read or written.
    fn set_owner(&self, owner: &Owner) -> Result<(), StoreError>;

    /// The device's own identity, if one was stored.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] if the stored record does not authenticate; [`StoreError::Database`]
    /// if the file cannot be read.
    fn local_identity(&self) -> Result<Option<IdentityKeyPair>, StoreError>;

    /// Stores the device's own identity. Storing the same identity again does nothing.
    ///
    /// # Errors
    /// [`StoreError::LocalIdentityExists`] if a different identity is stored; it is never replaced.
    fn set_local_identity(&self, identity: &IdentityKeyPair) -> Result<(), StoreError>;

    /// The signed prekey with `id`.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] if the stored record does not authenticate or decode.
    fn signed_prekey(&self, id: PrekeyId) -> Result<Option<SignedPrekey>, StoreError>;

    /// The one-time prekey with `id`, if it was not consumed.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] if the stored record does not authenticate or decode.
    fn one_time_prekey(&self, id: PrekeyId) -> Result<Option<OneTimePrekey>, StoreError>;

    /// How many one-time prekeys are left (to decide when to publish more).
    ///
    /// # Errors
    /// [`StoreError::Database`] if the file cannot be read.
    fn one_time_prekey_count(&self) -> Result<usize, StoreError>;

    /// The post-quantum prekey with `id`.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] if the stored record does not authenticate or decode.
    fn kem_prekey(&self, id: PrekeyId) -> Result<Option<KemPrekey>, StoreError>;

    /// What the store knows about `peer`: its trusted identity and verification state.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] if the stored record does not authenticate or decode.
    fn peer(&self, peer: &PeerId) -> Result<Option<PeerRecord>, StoreError>;

    /// Every known peer, ordered by peer id.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] if a stored record does not authenticate or decode.
    fn peers(&self) -> Result<Vec<PeerRecord>, StoreError>;

    /// The serialized session with `peer`, and its version: the write that saves the state
    /// following from it names that version
    /// ([`WriteBatch::put_session`]), so that it fails, rather than overwrite, if another writer
    /// saved the session in between.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] if the stored record does not authenticate (for example, it was
    /// moved from another peer's row).
    fn session(&self, peer: &PeerId) -> Result<Option<StoredSession>, StoreError>;

    /// The message with `id`.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] if the stored record does not authenticate or decode.
    fn message(&self, id: &MessageId) -> Result<Option<StoredMessage>, StoreError>;

    /// The messages exchanged with `peer`, ordered by time, then id.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] if a stored record does not authenticate or decode.
    fn messages(&self, peer: &PeerId) -> Result<Vec<StoredMessage>, StoreError>;

    /// A page of the conversation with `peer`: of the messages whose [`StoredMessage::at`] is
    /// before `before` (all of them for `None`), the newest `limit`, and with them every other
    /// message of the same `at` as the oldest of those (a page never splits a millisecond, so
    /// that the endpoint can order each millisecond's messages itself). Oldest first; ties in an
    /// order of the store's choosing, the same on every call. A record that does not
    /// authenticate or decode is reported as [`PageEntry::Damaged`] in its place, and the others
    /// are returned. One indexed query ([`SqliteStore`]: `messages_by_peer_order`).
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] if `limit` is 0 or above
    /// [`consts::MAX_PAGE_LEN`]; [`StoreError::Database`] if the file cannot be read.
    fn messages_page(
        &self,
        peer: &PeerId,
        before: Option<Timestamp>,
        limit: usize,
    ) -> Result<MessagePage, StoreError>;

    /// The state of the conversation with `peer`, as last saved with
    /// [`WriteBatch::put_conversation`]: opaque to the store.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] naming `conversations` if the stored record does not authenticate;
    /// [`StoreError::Database`] if the file cannot be read.
    fn conversation(&self, peer: &PeerId) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, StoreError>;

    /// The agreement with `peer`.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] if the stored record does not authenticate or decode.
    fn agreement(&self, peer: &PeerId) -> Result<Option<StoredAgreement>, StoreError>;

    /// When the last auto-reply to `peer` went out, as recorded with
    /// [`WriteBatch::put_last_auto_reply`]: the auto-reply rate limit's state. It does not depend
    /// on the auto-reply messages, which may expire and be purged sooner than the limit's window.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] naming `auto_replies` if the stored record does not authenticate
    /// or decode; [`StoreError::Database`] if the file cannot be read.
    fn last_auto_reply(&self, peer: &PeerId) -> Result<Option<Timestamp>, StoreError>;

    /// Where the agreement with `peer` stands, as recorded with [`WriteBatch::put_standing`]: the
    /// encoded [`crate::agreement::Standing`] (support plans, the end, the counts for the caps).
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] naming `boundaries` if the stored record does not authenticate;
    /// [`StoreError::Database`] if the file cannot be read.
    fn standing(&self, peer: &PeerId) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, StoreError>;

    /// Saves every write of `batch` in one transaction, or none of them.
    ///
    /// The versions named by the batch's session writes are compared with the stored ones inside
    /// that transaction, before anything is written; [`SqliteStore`] begins it as
    /// `BEGIN IMMEDIATE`, so that a writer on another connection to the same file waits for it
    /// (up to SQLite's busy timeout of 5 seconds) instead of interleaving.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] if a session write names a version that is no longer the stored
    /// one (another writer saved the session since it was read);
    /// [`StoreError::IdentityChanged`] if a peer presented a different identity than the stored
    /// one; [`StoreError::MessageExists`] if a message id is taken; [`StoreError::UnknownPrekey`]
    /// if a prekey to consume is gone; [`StoreError::Corrupt`] if a record the batch reads does
    /// not authenticate; [`StoreError::Database`] if the file cannot be written. In every case
    /// nothing of the batch was saved.
    fn apply(&self, batch: WriteBatch) -> Result<(), StoreError>;

    /// Trusts `identity` for `peer` from now on (after the user accepted a changed key). A key
    /// other than the stored one starts unverified, and the agreement with `peer` is deleted in
    /// the same transaction: it names the old key, so it would never verify again, and a new one
    /// is proposed and signed with the new key. Accepting the stored key changes nothing.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] if the stored record does not authenticate. Nothing changed.
    fn accept_identity(&self, peer: &PeerId, identity: &IdentityKey) -> Result<(), StoreError>;

    /// Records that the user compared safety numbers with `peer` for `identity` at `at`.
    ///
    /// # Errors
    /// [`StoreError::UnknownPeer`] if the peer is not known; [`StoreError::IdentityChanged`] if
    /// `identity` is not the stored key (the verification was of another key).
    fn mark_verified(&self, peer: &PeerId, identity: &IdentityKey, at: Timestamp) -> Result<(), StoreError>;

    /// Records that the user read message `id` at `at`, and, if `new_expires_at` is `Some`,
    /// sets its expiry (for messages that expire a while after they are read). `None` leaves the
    /// expiry as it was.
    ///
    /// # Errors
    /// [`StoreError::UnknownMessage`] if no such message is stored; [`StoreError::InvalidInput`]
    /// if a timestamp does not fit in an `i64`.
    fn mark_read(
        &self,
        id: &MessageId,
        at: Timestamp,
        new_expires_at: Option<Timestamp>,
    ) -> Result<(), StoreError>;

    /// Deletes every message whose expiry is at or before `now`, and every record copy whose
    /// retention ended at or before it, leaving no copy of either in the file. Returns how many
    /// messages were deleted; the audit trail records both counts.
    ///
    /// # Errors
    /// [`StoreError::Database`] if the file cannot be written; then nothing was deleted.
    fn purge_expired(&self, now: Timestamp) -> Result<usize, StoreError>;

    /// The audit trail, oldest entry first, after checking its hash chain against the stored
    /// head (PROTOCOL.md, section 15). A purge that deleted messages adds a [`AuditEvent::Purged`] entry in
    /// its own transaction; other entries are added with [`WriteBatch::audit`].
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] naming `audit` if an entry was removed, reordered or altered, or
    /// the head is missing or disagrees with the entries; [`StoreError::Database`] if the file
    /// cannot be read.
    fn audit_log(&self) -> Result<Vec<AuditEntry>, StoreError>;

    /// The record copies of messages exchanged with `peer` ([`RecordCopy`]), ordered by the
    /// message's time, then id. They are not part of [`Self::messages`].
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] naming `record_copies` if a stored copy does not authenticate or
    /// decode.
    fn record_copies(&self, peer: &PeerId) -> Result<Vec<RecordCopy>, StoreError>;

    /// The signed terms of the colleague relation with `peer`, as saved with
    /// [`WriteBatch::put_colleague`].
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] naming `colleagues` if the stored record does not authenticate.
    fn colleague(&self, peer: &PeerId) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, StoreError>;

    /// The repair record of `peer`, as saved with [`WriteBatch::put_repair_record`] (opaque to
    /// the store).
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] naming `repairs` if the stored record does not authenticate.
    fn repair_record(&self, peer: &PeerId) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, StoreError>;

    /// The signed device list of `peer`, as saved with [`WriteBatch::put_device_list`] (opaque
    /// to the store).
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] naming `device_lists` if the stored record does not authenticate.
    fn device_list(&self, peer: &PeerId) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, StoreError>;

    /// The signed device list of this device's own person, as saved with
    /// [`WriteBatch::put_own_devices`] (opaque to the store).
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] naming `own_devices` if the stored record does not authenticate.
    fn own_devices(&self) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, StoreError>;

    /// The device's last-resort prekey schedule, as saved with
    /// [`WriteBatch::put_prekey_schedule`] (opaque to the store).
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] naming `prekey_schedule` if the stored record does not authenticate.
    fn prekey_schedule(&self) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, StoreError>;

    /// The signed prekey whose last-resort handshake with initiator base key `base_key` was
    /// recorded ([`WriteBatch::mark_last_resort_handshake`]), if any.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] naming `last_resort_handshakes` if the record does not open.
    fn last_resort_handshake(
        &self,
        base_key: &crate::keys::DhPublicKey,
    ) -> Result<Option<PrekeyId>, StoreError>;

    /// Every recorded last-resort handshake: the signed prekey it used and its base key.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] naming `last_resort_handshakes` if a record does not open.
    fn last_resort_handshakes(&self) -> Result<Vec<(PrekeyId, crate::keys::DhPublicKey)>, StoreError>;
}
