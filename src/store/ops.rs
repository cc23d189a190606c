//! The store's rules, written once over a small table interface that each implementation
//! provides ([`Tables`]), inside a read or write transaction that it opens ([`Backend`]).

use zeroize::Zeroizing;

use super::audit;
use super::batch::{Op, PrekeyKind, WriteBatch};
use super::codec;
use super::consts::MAX_PAGE_LEN;
use super::generation;
use super::trust;
use super::types::{
    check_timestamp, MessageId, MessagePage, Owner, PageEntry, PeerId, PeerRecord, SessionVersion,
    StoredAgreement, StoredMessage, StoredSession,
};
use super::StoreError;
use crate::clock::Timestamp;
use crate::error::DecodeError;
use crate::keys::{
    DhPublicKey, IdentityKey, IdentityKeyPair, KemPrekey, OneTimePrekey, PrekeyId, SignedPrekey,
};

/// The key-value tables of the store. Messages have a table of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Kv {
    Owner,
    Identity,
    SignedPrekey,
    OneTimePrekey,
    KemPrekey,
    Peer,
    Session,
    Agreement,
    AutoReply,
    Generation,
    Audit,
    AuditHead,
    Colleague,
    Boundaries,
    Conversation,
    PrekeySchedule,
    LastResortHandshake,
    Repair,
    DeviceList,
    OwnDevices,
}

impl Kv {
    /// The table's name, which is also bound into each sealed value.
    pub(crate) fn table(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Identity => "identity",
            Self::SignedPrekey => "signed_prekeys",
            Self::OneTimePrekey => "one_time_prekeys",
            Self::KemPrekey => "kem_prekeys",
            Self::Peer => "peers",
            Self::Session => "sessions",
            Self::Agreement => "agreements",
            Self::AutoReply => "auto_replies",
            Self::Generation => "generation",
            Self::Audit => super::audit::AUDIT,
            Self::AuditHead => "audit_head",
            Self::Colleague => "colleagues",
            Self::Boundaries => "boundaries",
            Self::Conversation => "conversations",
            Self::PrekeySchedule => "prekey_schedule",
            Self::LastResortHandshake => "last_resort_handshakes",
            Self::Repair => "repairs",
            Self::DeviceList => "device_lists",
            Self::OwnDevices => "own_devices",
        }
    }

    fn prekeys(kind: PrekeyKind) -> Self {
        match kind {
            PrekeyKind::Signed => Self::SignedPrekey,
            PrekeyKind::OneTime => Self::OneTimePrekey,
            PrekeyKind::Kem => Self::KemPrekey,
        }
    }
}

/// Name of the messages table.
pub(crate) const MESSAGES: &str = "messages";
/// Id of the single row of the owner, identity and generation tables.
pub(super) const LOCAL: &[u8] = b"local";

/// A value and the version of its row.
pub(crate) type Versioned = (Zeroizing<Vec<u8>>, SessionVersion);

/// Row-level access to the tables, in plaintext. Ids are the application's own (peer ids,
/// big-endian prekey ids); an implementation may hash and seal them.
pub(crate) trait Tables {
    fn get(&mut self, kv: Kv, id: &[u8]) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError>;
    /// A value and its version.
    fn get_versioned(&mut self, kv: Kv, id: &[u8]) -> Result<Option<Versioned>, StoreError>;
    /// The version of a value, without opening it: a new one after every write of the row.
    fn version(&mut self, kv: Kv, id: &[u8]) -> Result<Option<SessionVersion>, StoreError>;
    fn put(&mut self, kv: Kv, id: &[u8], value: &[u8]) -> Result<(), StoreError>;
    /// Whether a row was deleted.
    fn delete(&mut self, kv: Kv, id: &[u8]) -> Result<bool, StoreError>;
    fn count(&mut self, kv: Kv) -> Result<usize, StoreError>;
    /// Deletes every row of the table of `kv`; how many.
    fn clear(&mut self, kv: Kv) -> Result<usize, StoreError>;
    fn all(&mut self, kv: Kv) -> Result<Vec<Zeroizing<Vec<u8>>>, StoreError>;
    fn message(&mut self, id: &MessageId) -> Result<Option<StoredMessage>, StoreError>;
    /// Inserts a new message; [`StoreError::MessageExists`] if its id is taken.
    fn insert_message(&mut self, message: &StoredMessage) -> Result<(), StoreError>;
    /// Inserts or replaces.
    fn put_message(&mut self, message: &StoredMessage) -> Result<(), StoreError>;
    fn delete_message(&mut self, id: &MessageId) -> Result<bool, StoreError>;
    /// The messages with `peer`, in any order.
    fn messages(&mut self, peer: &PeerId) -> Result<Vec<StoredMessage>, StoreError>;
    /// A page of the messages with `peer` as [`super::Store::messages_page`] describes, in any
    /// order, each with its row's order column (`None`: a row written before the store had one,
    /// which comes before all others); the limit is checked.
    fn messages_page(
        &mut self,
        peer: &PeerId,
        before: Option<Timestamp>,
        limit: usize,
    ) -> Result<Vec<(Option<Timestamp>, PageEntry)>, StoreError>;
    /// Deletes the messages with `expires_at <= now`; how many.
    fn purge(&mut self, now: Timestamp) -> Result<usize, StoreError>;
    /// Asks for the superseded copies of replaced values to be wiped when the transaction
    /// commits, whatever the store's wipe policy. Nothing to do for a store that keeps none.
    fn request_wipe(&mut self) {}
    /// The lowest generation the store may hold now: the rollback counter's value when the store
    /// was opened, or a generation committed since. 0 for a store that has no counter.
    fn generation_floor(&self) -> u64 {
        0
    }
    /// Saves a record copy, replacing one of the same message.
    fn put_record_copy(&mut self, copy: &super::RecordCopy) -> Result<(), StoreError>;
    /// The record copies of messages with `peer`, in any order.
    fn record_copies(&mut self, peer: &PeerId) -> Result<Vec<super::RecordCopy>, StoreError>;
    /// Deletes the record copies with `retain_until <= now`; how many.
    fn purge_record_copies(&mut self, now: Timestamp) -> Result<usize, StoreError>;
    /// The audit trail's chain key ([`super::audit`]).
    fn audit_key(&mut self) -> Result<crate::keys::Secret32, StoreError>;
    /// Notes that the transaction wrote generation `generation`, so that the rollback counter is
    /// advanced to it once the transaction has committed.
    fn wrote_generation(&mut self, _generation: u64) {}
}

/// Runs a closure in a transaction. `write` commits only if the closure succeeds, and holds the
/// store's write lock from its first statement, so that what the closure reads is still current
/// when it writes (SQLite: `BEGIN IMMEDIATE`).
pub(crate) trait Backend {
    fn read<T>(&self, f: impl FnOnce(&mut dyn Tables) -> Result<T, StoreError>) -> Result<T, StoreError>;
    fn write<T>(&self, f: impl FnOnce(&mut dyn Tables) -> Result<T, StoreError>) -> Result<T, StoreError>;
}

fn peer_record(t: &mut dyn Tables, peer: &PeerId) -> Result<Option<PeerRecord>, StoreError> {
    let table = Kv::Peer.table();
    t.get(Kv::Peer, peer.as_str().as_bytes())?.map(|v| codec::decode_peer(&v, table)).transpose()
}

fn put_peer(t: &mut dyn Tables, record: &PeerRecord) -> Result<(), StoreError> {
    t.put(Kv::Peer, record.peer.as_str().as_bytes(), &codec::encode_peer(record))
}

fn apply_op(t: &mut dyn Tables, op: Op) -> Result<(), StoreError> {
    match op {
        Op::PutSession(peer, _, state) => t.put(Kv::Session, peer.as_str().as_bytes(), &state),
        Op::DeleteSession(peer) => t.delete(Kv::Session, peer.as_str().as_bytes()).map(drop),
        Op::PutMessage(message) => t.insert_message(&message),
        Op::ReplaceMessage(message) => match t.message(&message.id)? {
            Some(stored) if stored.peer == message.peer => t.put_message(&message),
            _ => Err(StoreError::UnknownMessage),
        },
        Op::PutConversation(peer, state) => t.put(Kv::Conversation, peer.as_str().as_bytes(), &state),
        Op::DeleteMessage(id) => t.delete_message(&id).map(drop),
        Op::PutPeerIdentity(peer, identity) => {
            let existing = peer_record(t, &peer)?;
            match trust::admit(existing, &peer, &identity)? {
                Some(record) => put_peer(t, &record),
                None => Ok(()),
            }
        }
        Op::PutAgreement(peer, agreement) => {
            t.put(Kv::Agreement, peer.as_str().as_bytes(), &codec::encode_agreement(&agreement))
        }
        Op::PutLastAutoReply(peer, at) => {
            t.put(Kv::AutoReply, peer.as_str().as_bytes(), &codec::encode_last_auto_reply(at))
        }
        Op::PutStanding(peer, bytes) => t.put(Kv::Boundaries, peer.as_str().as_bytes(), &bytes),
        Op::PutPrekey(kind, id, bytes) => t.put(Kv::prekeys(kind), &id.0.to_be_bytes(), &bytes),
        Op::ConsumePrekey(kind, id) => {
            if t.delete(Kv::prekeys(kind), &id.0.to_be_bytes())? {
                Ok(())
            } else {
                Err(StoreError::UnknownPrekey)
            }
        }
        Op::RemovePrekey(kind, id) => t.delete(Kv::prekeys(kind), &id.0.to_be_bytes()).map(drop),
        Op::Audit(at, event) => audit::append(t, at, &event),
        Op::PutRecordCopy(copy) => t.put_record_copy(&copy),
        Op::PutColleague(peer, terms) => t.put(Kv::Colleague, peer.as_str().as_bytes(), &terms),
        Op::AcceptIdentity(peer, identity) => accept_identity_in(t, &peer, &identity),
        Op::PutRepairRecord(peer, bytes) => t.put(Kv::Repair, peer.as_str().as_bytes(), &bytes),
        Op::PutPrekeySchedule(bytes) => t.put(Kv::PrekeySchedule, LOCAL, &bytes),
        Op::PutDeviceList(peer, bytes) => t.put(Kv::DeviceList, peer.as_str().as_bytes(), &bytes),
        Op::PutOwnDevices(bytes) => t.put(Kv::OwnDevices, LOCAL, &bytes),
        Op::MarkLastResortHandshake(id, base_key) => {
            let key = base_key.to_bytes();
            if t.get(Kv::LastResortHandshake, &key)?.is_some() {
                return Err(StoreError::UnknownPrekey);
            }
            let mut value = Vec::with_capacity(4 + 32);
            value.extend_from_slice(&id.0.to_be_bytes());
            value.extend_from_slice(&key);
            t.put(Kv::LastResortHandshake, &key, &value)
        }
        Op::ForgetLastResortHandshake(base_key) => {
            t.delete(Kv::LastResortHandshake, &base_key.to_bytes()).map(drop)
        }
    }
}

/// [`StoreError::Conflict`] unless every session write of `ops` names the version the session
/// has now, before any write of the batch.
fn check_session_versions(t: &mut dyn Tables, ops: &[Op]) -> Result<(), StoreError> {
    for op in ops {
        if let Op::PutSession(peer, replaces, _) = op {
            if t.version(Kv::Session, peer.as_str().as_bytes())? != *replaces {
                return Err(StoreError::Conflict);
            }
        }
    }
    Ok(())
}

pub(crate) fn apply(b: &impl Backend, batch: WriteBatch) -> Result<(), StoreError> {
    b.write(|t| {
        check_session_versions(t, &batch.ops)?;
        let writes_sessions =
            batch.ops.iter().any(|op| matches!(op, Op::PutSession(..) | Op::DeleteSession(..)));
        if writes_sessions {
            // Refuses a file older than the rollback counter before anything of the batch is
            // written.
            generation::advance(t)?;
        }
        if batch.wipe {
            t.request_wipe();
        }
        batch.ops.into_iter().try_for_each(|op| apply_op(t, op))
    })
}

fn stored_owner(t: &mut dyn Tables) -> Result<Option<Owner>, StoreError> {
    let table = Kv::Owner.table();
    t.get(Kv::Owner, LOCAL)?.map(|v| codec::decode_owner(&v, table)).transpose()
}

/// [`StoreError::OwnerMismatch`] unless `stored` is `owner`.
fn check_owner(stored: &Owner, owner: &Owner) -> Result<(), StoreError> {
    if stored == owner {
        Ok(())
    } else {
        Err(StoreError::OwnerMismatch)
    }
}

pub(crate) fn owner(b: &impl Backend) -> Result<Option<Owner>, StoreError> {
    b.read(stored_owner)
}

pub(crate) fn set_owner(b: &impl Backend, owner: &Owner) -> Result<(), StoreError> {
    // A recorded owner is checked in a read transaction, so that opening a store, or refusing
    // to, writes nothing; only a store without an owner takes a write, which checks again.
    if let Some(stored) = b.read(stored_owner)? {
        return check_owner(&stored, owner);
    }
    b.write(|t| record_owner(t, owner))
}

/// Records `owner` if the store has none, checks it otherwise, within a write transaction.
pub(super) fn record_owner(t: &mut dyn Tables, owner: &Owner) -> Result<(), StoreError> {
    match stored_owner(t)? {
        Some(stored) => check_owner(&stored, owner),
        None => t.put(Kv::Owner, LOCAL, &codec::encode_owner(owner)),
    }
}

pub(crate) fn local_identity(b: &impl Backend) -> Result<Option<IdentityKeyPair>, StoreError> {
    b.read(|t| {
        let Some(seed) = t.get(Kv::Identity, LOCAL)? else { return Ok(None) };
        let seed = Zeroizing::new(
            <[u8; 32]>::try_from(seed.as_slice())
                .map_err(|_| StoreError::Corrupt { table: Kv::Identity.table() })?,
        );
        Ok(Some(IdentityKeyPair::from_seed(&seed)))
    })
}

pub(crate) fn set_local_identity(b: &impl Backend, identity: &IdentityKeyPair) -> Result<(), StoreError> {
    b.write(|t| match t.get(Kv::Identity, LOCAL)? {
        Some(seed) if seed.as_slice() == identity.to_seed().as_slice() => Ok(()),
        Some(_) => Err(StoreError::LocalIdentityExists),
        None => t.put(Kv::Identity, LOCAL, identity.to_seed().as_slice()),
    })
}

fn prekey<T>(
    b: &impl Backend,
    kind: PrekeyKind,
    id: PrekeyId,
    decode: impl FnOnce(&[u8]) -> Result<T, DecodeError>,
) -> Result<Option<T>, StoreError> {
    let kv = Kv::prekeys(kind);
    let bytes = b.read(|t| t.get(kv, &id.0.to_be_bytes()))?;
    bytes.map(|v| decode(&v).map_err(|_| StoreError::Corrupt { table: kv.table() })).transpose()
}

pub(crate) fn signed_prekey(b: &impl Backend, id: PrekeyId) -> Result<Option<SignedPrekey>, StoreError> {
    prekey(b, PrekeyKind::Signed, id, SignedPrekey::from_bytes)
}

pub(crate) fn one_time_prekey(b: &impl Backend, id: PrekeyId) -> Result<Option<OneTimePrekey>, StoreError> {
    prekey(b, PrekeyKind::OneTime, id, OneTimePrekey::from_bytes)
}

pub(crate) fn kem_prekey(b: &impl Backend, id: PrekeyId) -> Result<Option<KemPrekey>, StoreError> {
    prekey(b, PrekeyKind::Kem, id, KemPrekey::from_bytes)
}

pub(crate) fn one_time_prekey_count(b: &impl Backend) -> Result<usize, StoreError> {
    b.read(|t| t.count(Kv::OneTimePrekey))
}

pub(crate) fn peer(b: &impl Backend, peer: &PeerId) -> Result<Option<PeerRecord>, StoreError> {
    b.read(|t| peer_record(t, peer))
}

pub(crate) fn peers(b: &impl Backend) -> Result<Vec<PeerRecord>, StoreError> {
    let table = Kv::Peer.table();
    let mut all: Vec<PeerRecord> = b
        .read(|t| t.all(Kv::Peer))?
        .iter()
        .map(|v| codec::decode_peer(v, table))
        .collect::<Result<_, _>>()?;
    all.sort_by(|a, b| a.peer.cmp(&b.peer));
    Ok(all)
}

pub(crate) fn session(b: &impl Backend, peer: &PeerId) -> Result<Option<StoredSession>, StoreError> {
    let stored = b.read(|t| t.get_versioned(Kv::Session, peer.as_str().as_bytes()))?;
    Ok(stored.map(|(state, version)| StoredSession { state, version }))
}

pub(crate) fn message(b: &impl Backend, id: &MessageId) -> Result<Option<StoredMessage>, StoreError> {
    b.read(|t| t.message(id))
}

pub(crate) fn messages(b: &impl Backend, peer: &PeerId) -> Result<Vec<StoredMessage>, StoreError> {
    let mut all = b.read(|t| t.messages(peer))?;
    all.sort_by_key(|m| (m.at, m.id));
    Ok(all)
}

pub(crate) fn messages_page(
    b: &impl Backend,
    peer: &PeerId,
    before: Option<Timestamp>,
    limit: usize,
) -> Result<MessagePage, StoreError> {
    if limit == 0 || limit > MAX_PAGE_LEN {
        return Err(StoreError::InvalidInput("page limit"));
    }
    before.map_or(Ok(()), check_timestamp)?;
    let mut rows = b.read(|t| t.messages_page(peer, before, limit))?;
    rows.sort_by(|(a_order, a), (b_order, b)| {
        let tie = |entry: &PageEntry| match entry {
            PageEntry::Message(message) => message.id.0,
            PageEntry::Damaged(damaged) => {
                let mut bytes = [0u8; 16];
                bytes.copy_from_slice(&damaged.record.0[..16]);
                bytes
            }
        };
        (a_order, a.at(), tie(a)).cmp(&(b_order, b.at(), tie(b)))
    });
    // A full page may have older rows behind it; a short one has none, and nothing comes
    // before the rows without an order column.
    let next = match rows.first() {
        Some((Some(oldest), _)) if rows.len() >= limit => Some(*oldest),
        _ => None,
    };
    Ok(MessagePage { entries: rows.into_iter().map(|(_, entry)| entry).collect(), next })
}

pub(crate) fn conversation(
    b: &impl Backend,
    peer: &PeerId,
) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
    b.read(|t| t.get(Kv::Conversation, peer.as_str().as_bytes()))
}

pub(crate) fn agreement(b: &impl Backend, peer: &PeerId) -> Result<Option<StoredAgreement>, StoreError> {
    let table = Kv::Agreement.table();
    let bytes = b.read(|t| t.get(Kv::Agreement, peer.as_str().as_bytes()))?;
    bytes.map(|v| codec::decode_agreement(&v, table)).transpose()
}

pub(crate) fn last_auto_reply(b: &impl Backend, peer: &PeerId) -> Result<Option<Timestamp>, StoreError> {
    let table = Kv::AutoReply.table();
    let bytes = b.read(|t| t.get(Kv::AutoReply, peer.as_str().as_bytes()))?;
    bytes.map(|v| codec::decode_last_auto_reply(&v, table)).transpose()
}

pub(crate) fn standing(b: &impl Backend, peer: &PeerId) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
    b.read(|t| t.get(Kv::Boundaries, peer.as_str().as_bytes()))
}

pub(crate) fn accept_identity(
    b: &impl Backend,
    peer: &PeerId,
    identity: &IdentityKey,
) -> Result<(), StoreError> {
    b.write(|t| accept_identity_in(t, peer, identity))
}

fn accept_identity_in(t: &mut dyn Tables, peer: &PeerId, identity: &IdentityKey) -> Result<(), StoreError> {
    let existing = peer_record(t, peer)?;
    let changed = existing.as_ref().is_some_and(|record| !record.identity.ct_eq(identity));
    if let Some(record) = trust::accept(existing, peer, identity) {
        put_peer(t, &record)?;
    }
    if changed {
        // The agreement names the old key, so it no longer verifies: it goes with that key.
        t.delete(Kv::Agreement, peer.as_str().as_bytes())?;
    }
    Ok(())
}

pub(crate) fn mark_verified(
    b: &impl Backend,
    peer: &PeerId,
    identity: &IdentityKey,
    at: Timestamp,
) -> Result<(), StoreError> {
    b.write(|t| {
        let record = trust::verify(peer_record(t, peer)?, identity, at)?;
        put_peer(t, &record)
    })
}

pub(crate) fn mark_read(
    b: &impl Backend,
    id: &MessageId,
    at: Timestamp,
    new_expires_at: Option<Timestamp>,
) -> Result<(), StoreError> {
    check_timestamp(at)?;
    new_expires_at.map_or(Ok(()), check_timestamp)?;
    b.write(|t| {
        let mut message = t.message(id)?.ok_or(StoreError::UnknownMessage)?;
        message.read_at = Some(at);
        if new_expires_at.is_some() {
            message.expires_at = new_expires_at;
        }
        t.put_message(&message)
    })
}

pub(crate) fn purge_expired(b: &impl Backend, now: Timestamp) -> Result<usize, StoreError> {
    b.write(|t| {
        let purged = t.purge(now)?;
        if purged > 0 {
            let messages = u64::try_from(purged).unwrap_or(u64::MAX);
            audit::append(t, now, &audit::AuditEvent::Purged { messages })?;
        }
        let records = t.purge_record_copies(now)?;
        if records > 0 {
            let messages = u64::try_from(records).unwrap_or(u64::MAX);
            audit::append(t, now, &audit::AuditEvent::RecordsPurged { messages })?;
        }
        Ok(purged)
    })
}

pub(crate) fn record_copies(b: &impl Backend, peer: &PeerId) -> Result<Vec<super::RecordCopy>, StoreError> {
    let mut all = b.read(|t| t.record_copies(peer))?;
    all.sort_by_key(|c| (c.message.at, c.message.id));
    Ok(all)
}

pub(crate) fn colleague(b: &impl Backend, peer: &PeerId) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
    b.read(|t| t.get(Kv::Colleague, peer.as_str().as_bytes()))
}

pub(crate) fn repair_record(
    b: &impl Backend,
    peer: &PeerId,
) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
    b.read(|t| t.get(Kv::Repair, peer.as_str().as_bytes()))
}

pub(crate) fn device_list(b: &impl Backend, peer: &PeerId) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
    b.read(|t| t.get(Kv::DeviceList, peer.as_str().as_bytes()))
}

pub(crate) fn own_devices(b: &impl Backend) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
    b.read(|t| t.get(Kv::OwnDevices, LOCAL))
}

pub(crate) fn prekey_schedule(b: &impl Backend) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
    b.read(|t| t.get(Kv::PrekeySchedule, LOCAL))
}

fn decode_last_resort_handshake(bytes: &[u8]) -> Result<(PrekeyId, DhPublicKey), StoreError> {
    let corrupt = || StoreError::Corrupt { table: Kv::LastResortHandshake.table() };
    let (id, key) = bytes.split_first_chunk::<4>().ok_or_else(corrupt)?;
    let key = DhPublicKey::from_slice(key).map_err(|_| corrupt())?;
    Ok((PrekeyId(u32::from_be_bytes(*id)), key))
}

pub(crate) fn last_resort_handshake(
    b: &impl Backend,
    base_key: &DhPublicKey,
) -> Result<Option<PrekeyId>, StoreError> {
    b.read(|t| {
        let Some(bytes) = t.get(Kv::LastResortHandshake, &base_key.to_bytes())? else { return Ok(None) };
        decode_last_resort_handshake(&bytes).map(|(id, _)| Some(id))
    })
}

pub(crate) fn last_resort_handshakes(b: &impl Backend) -> Result<Vec<(PrekeyId, DhPublicKey)>, StoreError> {
    b.read(|t| t.all(Kv::LastResortHandshake)?.iter().map(|v| decode_last_resort_handshake(v)).collect())
}

pub(crate) fn audit_log(b: &impl Backend) -> Result<Vec<audit::AuditEntry>, StoreError> {
    b.read(audit::verify)
}

/// Implements [`super::Store`] for a [`Backend`] by calling the functions of this module.
macro_rules! impl_store {
    ($ty:ty) => {
        impl $crate::store::Store for $ty {
            fn owner(&self) -> Result<Option<$crate::store::Owner>, StoreError> {
                ops::owner(self)
            }
            fn set_owner(&self, owner: &$crate::store::Owner) -> Result<(), StoreError> {
                ops::set_owner(self, owner)
            }
            fn local_identity(&self) -> Result<Option<$crate::keys::IdentityKeyPair>, StoreError> {
                ops::local_identity(self)
            }
            fn set_local_identity(&self, identity: &$crate::keys::IdentityKeyPair) -> Result<(), StoreError> {
                ops::set_local_identity(self, identity)
            }
            fn signed_prekey(
                &self,
                id: $crate::keys::PrekeyId,
            ) -> Result<Option<$crate::keys::SignedPrekey>, StoreError> {
                ops::signed_prekey(self, id)
            }
            fn one_time_prekey(
                &self,
                id: $crate::keys::PrekeyId,
            ) -> Result<Option<$crate::keys::OneTimePrekey>, StoreError> {
                ops::one_time_prekey(self, id)
            }
            fn one_time_prekey_count(&self) -> Result<usize, StoreError> {
                ops::one_time_prekey_count(self)
            }
            fn kem_prekey(
                &self,
                id: $crate::keys::PrekeyId,
            ) -> Result<Option<$crate::keys::KemPrekey>, StoreError> {
                ops::kem_prekey(self, id)
            }
            fn peer(&self, peer: &PeerId) -> Result<Option<PeerRecord>, StoreError> {
                ops::peer(self, peer)
            }
            fn peers(&self) -> Result<Vec<PeerRecord>, StoreError> {
                ops::peers(self)
            }
            fn session(&self, peer: &PeerId) -> Result<Option<$crate::store::StoredSession>, StoreError> {
                ops::session(self, peer)
            }
            fn message(&self, id: &MessageId) -> Result<Option<StoredMessage>, StoreError> {
                ops::message(self, id)
            }
            fn messages(&self, peer: &PeerId) -> Result<Vec<StoredMessage>, StoreError> {
                ops::messages(self, peer)
            }
            fn messages_page(
                &self,
                peer: &PeerId,
                before: Option<$crate::clock::Timestamp>,
                limit: usize,
            ) -> Result<$crate::store::MessagePage, StoreError> {
                ops::messages_page(self, peer, before, limit)
            }
            fn conversation(&self, peer: &PeerId) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, StoreError> {
                ops::conversation(self, peer)
            }
            fn agreement(&self, peer: &PeerId) -> Result<Option<StoredAgreement>, StoreError> {
                ops::agreement(self, peer)
            }
            fn last_auto_reply(&self, peer: &PeerId) -> Result<Option<$crate::clock::Timestamp>, StoreError> {
                ops::last_auto_reply(self, peer)
            }
            fn standing(&self, peer: &PeerId) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, StoreError> {
                ops::standing(self, peer)
            }
            fn apply(&self, batch: WriteBatch) -> Result<(), StoreError> {
                ops::apply(self, batch)
            }
            fn accept_identity(
                &self,
                peer: &PeerId,
                identity: &$crate::keys::IdentityKey,
            ) -> Result<(), StoreError> {
                ops::accept_identity(self, peer, identity)
            }
            fn mark_verified(
                &self,
                peer: &PeerId,
                identity: &$crate::keys::IdentityKey,
                at: $crate::clock::Timestamp,
            ) -> Result<(), StoreError> {
                ops::mark_verified(self, peer, identity, at)
            }
            fn mark_read(
                &self,
                id: &MessageId,
                at: $crate::clock::Timestamp,
                new_expires_at: Option<$crate::clock::Timestamp>,
            ) -> Result<(), StoreError> {
                ops::mark_read(self, id, at, new_expires_at)
            }
            fn purge_expired(&self, now: $crate::clock::Timestamp) -> Result<usize, StoreError> {
                ops::purge_expired(self, now)
            }
            fn audit_log(&self) -> Result<Vec<$crate::store::AuditEntry>, StoreError> {
                ops::audit_log(self)
            }
            fn record_copies(&self, peer: &PeerId) -> Result<Vec<$crate::store::RecordCopy>, StoreError> {
                ops::record_copies(self, peer)
            }
            fn colleague(&self, peer: &PeerId) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, StoreError> {
                ops::colleague(self, peer)
            }
            fn repair_record(
                &self,
                peer: &PeerId,
            ) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, StoreError> {
                ops::repair_record(self, peer)
            }
            fn prekey_schedule(&self) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, StoreError> {
                ops::prekey_schedule(self)
            }
            fn device_list(&self, peer: &PeerId) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, StoreError> {
                ops::device_list(self, peer)
            }
            fn own_devices(&self) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, StoreError> {
                ops::own_devices(self)
            }
            fn last_resort_handshake(
                &self,
                base_key: &$crate::keys::DhPublicKey,
            ) -> Result<Option<$crate::keys::PrekeyId>, StoreError> {
                ops::last_resort_handshake(self, base_key)
            }
            fn last_resort_handshakes(
                &self,
            ) -> Result<Vec<($crate::keys::PrekeyId, $crate::keys::DhPublicKey)>, StoreError> {
                ops::last_resort_handshakes(self)
            }
        }
    };
}
pub(crate) use impl_store;
