//! The values the store holds: its owner, peers, messages, agreements.

use zeroize::Zeroizing;

use super::consts::{MAX_AGREEMENT_LEN, MAX_BODY_LEN, MAX_PEER_ID_LEN};
use super::StoreError;
use crate::clock::Timestamp;
use crate::keys::IdentityKey;
use crate::role::Role;

/// A peer, named by a stable identifier the application chooses (for example an account id).
///
/// The store never writes it in the clear: lookups use a keyed hash of it.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(String);

impl PeerId {
    /// A peer id from the application's identifier.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] if `id` is empty or longer than
    /// [`MAX_PEER_ID_LEN`](super::consts::MAX_PEER_ID_LEN) bytes.
    pub fn new(id: impl Into<String>) -> Result<Self, StoreError> {
        let id = id.into();
        if id.is_empty() || id.len() > MAX_PEER_ID_LEN {
            return Err(StoreError::InvalidInput("peer id"));
        }
        Ok(Self(id))
    }

    /// The identifier.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PeerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PeerId(..)")
    }
}

/// Who a store belongs to: the role of the device's user and the local id by which peers know
/// them (the id that enters the safety numbers).
///
/// A store records its owner once ([`super::Store::set_owner`]) and refuses every other owner
/// from then on ([`StoreError::OwnerMismatch`]), so that a store created for one role or local
/// id is never used as another one's. Local ids compare byte for byte: `"dr-lee"` and `"DR-LEE"`
/// are different owners (normalize ids, for example to NFC, before handing them over).
#[derive(Clone, PartialEq, Eq)]
pub struct Owner {
    role: Role,
    local_id: String,
}

impl Owner {
    /// The owner with `role` and `local_id`.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] if `local_id` is empty or longer than
    /// [`MAX_PEER_ID_LEN`](super::consts::MAX_PEER_ID_LEN) bytes (the peers know the owner by
    /// this id, so it follows the rules of a [`PeerId`]).
    pub fn new(role: Role, local_id: impl Into<String>) -> Result<Self, StoreError> {
        let local_id = local_id.into();
        if local_id.is_empty() || local_id.len() > MAX_PEER_ID_LEN {
            return Err(StoreError::InvalidInput("local id"));
        }
        Ok(Self { role, local_id })
    }

    /// The owner's role.
    #[must_use]
    pub fn role(&self) -> Role {
        self.role
    }

    /// The owner's local id.
    #[must_use]
    pub fn local_id(&self) -> &str {
        &self.local_id
    }
}

impl std::fmt::Debug for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Owner").field("role", &self.role).finish_non_exhaustive()
    }
}

pub use crate::content::MessageId;

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Received from the peer.
    Inbound,
    /// Sent to the peer.
    Outbound,
}

/// A message as the store keeps it.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// The message id.
    pub id: MessageId,
    /// The peer the message was exchanged with.
    pub peer: PeerId,
    /// Which way it went.
    pub direction: Direction,
    /// Its place in the conversation: when it was sent or received (the endpoint stores the
    /// sender's time of sending, never later than the arrival). Pages of a conversation
    /// ([`super::Store::messages_page`]) are ordered by it.
    pub at: Timestamp,
    /// When it is to be deleted, if ever ([`super::Store::purge_expired`]).
    pub expires_at: Option<Timestamp>,
    /// When the user read it, if they did ([`super::Store::mark_read`]).
    pub read_at: Option<Timestamp>,
    /// The serialized content, opaque to the store. Zeroized on drop.
    pub body: Zeroizing<Vec<u8>>,
}

impl StoredMessage {
    pub(crate) fn check(&self) -> Result<(), StoreError> {
        if self.body.len() > MAX_BODY_LEN {
            return Err(StoreError::InvalidInput("message body"));
        }
        check_timestamp(self.at)?;
        self.expires_at.map_or(Ok(()), check_timestamp)?;
        self.read_at.map_or(Ok(()), check_timestamp)
    }
}

impl std::fmt::Debug for StoredMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredMessage")
            .field("id", &self.id)
            .field("direction", &self.direction)
            .field("at", &self.at)
            .field("expires_at", &self.expires_at)
            .field("read_at", &self.read_at)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// Where a stored record sits in its table, for reporting a record that cannot be opened.
///
/// Opaque: in [`super::SqliteStore`] the row's lookup key (a keyed hash, which tells nothing
/// without the store key), in [`super::MemoryStore`] the message id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordRef(pub(crate) [u8; 32]);

impl RecordRef {
    /// The reference's bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for RecordRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RecordRef({})", crate::codec::hex_prefix(&self.0))
    }
}

/// A stored message record that does not authenticate or decode: reported, not returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DamagedRecord {
    /// Which record.
    pub record: RecordRef,
    /// Its place in the conversation ([`StoredMessage::at`], from the row's clear column), if the
    /// row has one.
    pub at: Option<Timestamp>,
}

/// One row of a [`MessagePage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageEntry {
    /// A message.
    Message(StoredMessage),
    /// A record that could not be opened; the other rows are returned all the same.
    Damaged(DamagedRecord),
}

impl PageEntry {
    /// The entry's place in the conversation, if known.
    #[must_use]
    pub fn at(&self) -> Option<Timestamp> {
        match self {
            Self::Message(message) => Some(message.at),
            Self::Damaged(damaged) => damaged.at,
        }
    }
}

/// A page of a conversation ([`super::Store::messages_page`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessagePage {
    /// The rows, oldest first.
    pub entries: Vec<PageEntry>,
    /// Pass as `before` for the next older page; `None` when no older row exists.
    pub next: Option<Timestamp>,
}

/// Timestamps are kept as SQLite integers, so they must fit in an `i64`.
pub(crate) fn check_timestamp(at: Timestamp) -> Result<(), StoreError> {
    i64::try_from(at.0).map(|_| ()).map_err(|_| StoreError::InvalidInput("timestamp"))
}

/// Whether the user compared safety numbers with a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// Not verified: the identity was trusted on first use, or a new identity was accepted.
    Unverified,
    /// The user compared safety numbers for the stored identity at the given time.
    Verified {
        /// When the verification was recorded.
        at: Timestamp,
    },
}

/// What the store knows about a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerRecord {
    /// The peer.
    pub peer: PeerId,
    /// The identity key the store trusts for the peer.
    pub identity: IdentityKey,
    /// Whether that identity was verified.
    pub verification: Verification,
}

/// Which stored state of a session a read returned, and which one a write replaces.
///
/// Every write of a session gives it a new version, even a write of the same bytes, and a
/// version is never given again to another state of that session in the same store.
/// [`super::Store::session`] returns the version with the state, and
/// [`WriteBatch::put_session`](super::WriteBatch::put_session) names the version it replaces:
/// if the session was written since (by another thread, or by another process on the same file),
/// the batch fails with [`StoreError::Conflict`] and writes nothing.
///
/// Opaque: [`super::SqliteStore`] uses the first 16 bytes of SHA-256 over the sealed record (which
/// holds a fresh random nonce on every write), so versions are not stored and tell a holder of
/// the file nothing; [`super::MemoryStore`] counts its writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionVersion([u8; 16]);

impl SessionVersion {
    pub(crate) fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }
}

/// A session state as the store holds it, and its version.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredSession {
    /// The serialized session, opaque to the store. Zeroized on drop.
    pub state: Zeroizing<Vec<u8>>,
    /// The version of this state: name it in
    /// [`WriteBatch::put_session`](super::WriteBatch::put_session) when saving the state that
    /// follows from it.
    pub version: SessionVersion,
}

impl std::fmt::Debug for StoredSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSession")
            .field("len", &self.state.len())
            .field("version", &self.version)
            .finish()
    }
}

/// A communication agreement with a peer, serialized by the agreement layer.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredAgreement {
    /// Version of the agreement (increases with each amendment).
    pub version: u32,
    /// The serialized, signed agreement, opaque to the store. Zeroized on drop.
    pub bytes: Zeroizing<Vec<u8>>,
}

impl StoredAgreement {
    pub(crate) fn check(&self) -> Result<(), StoreError> {
        if self.bytes.len() > MAX_AGREEMENT_LEN {
            return Err(StoreError::InvalidInput("agreement"));
        }
        Ok(())
    }
}

impl std::fmt::Debug for StoredAgreement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredAgreement")
            .field("version", &self.version)
            .field("len", &self.bytes.len())
            .finish()
    }
}
