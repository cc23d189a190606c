//! A set of writes that the store saves all together or not at all.

use zeroize::Zeroizing;

use super::audit::{self, AuditEvent};
use super::consts::{MAX_CONVERSATION_LEN, MAX_SESSION_LEN};
use super::records::RecordCopy;
use super::types::{MessageId, PeerId, SessionVersion, StoredAgreement, StoredMessage};
use super::StoreError;
use crate::clock::Timestamp;
use crate::keys::{DhPublicKey, IdentityKey, KemPrekey, OneTimePrekey, PrekeyId, SignedPrekey};

/// The kinds of prekeys a device keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PrekeyKind {
    Signed,
    OneTime,
    Kem,
}

/// One write of a batch.
pub(crate) enum Op {
    /// The state, if the stored version is still the one named (`None`: no session).
    PutSession(PeerId, Option<SessionVersion>, Zeroizing<Vec<u8>>),
    DeleteSession(PeerId),
    PutMessage(StoredMessage),
    /// Replaces a message that must be stored.
    ReplaceMessage(StoredMessage),
    DeleteMessage(MessageId),
    PutConversation(PeerId, Zeroizing<Vec<u8>>),
    PutPeerIdentity(PeerId, IdentityKey),
    PutAgreement(PeerId, StoredAgreement),
    PutLastAutoReply(PeerId, Timestamp),
    PutStanding(PeerId, Zeroizing<Vec<u8>>),
    PutPrekey(PrekeyKind, PrekeyId, Zeroizing<Vec<u8>>),
    /// Removes a prekey that must be present.
    ConsumePrekey(PrekeyKind, PrekeyId),
    /// Removes a prekey if it is present.
    RemovePrekey(PrekeyKind, PrekeyId),
    /// Appends an entry to the audit trail.
    Audit(Timestamp, AuditEvent),
    /// Saves a record copy, replacing one of the same message.
    PutRecordCopy(RecordCopy),
    /// Saves the signed terms of a colleague relation.
    PutColleague(PeerId, Zeroizing<Vec<u8>>),
    PutPrekeySchedule(Zeroizing<Vec<u8>>),
    PutRepairRecord(PeerId, Zeroizing<Vec<u8>>),
    PutDeviceList(PeerId, Zeroizing<Vec<u8>>),
    PutOwnDevices(Zeroizing<Vec<u8>>),
    /// The user accepted a new identity for the peer (as [`super::Store::accept_identity`]).
    AcceptIdentity(PeerId, IdentityKey),
    /// Records a last-resort handshake; fails if its base key is recorded.
    MarkLastResortHandshake(PrekeyId, DhPublicKey),
    ForgetLastResortHandshake(DhPublicKey),
}

/// Writes that [`super::Store::apply`] saves in one transaction: all of them, or none.
///
/// Writes are applied in the order they were added. Receiving a message is typically one batch
/// holding the new session state and the message (and, on a first message, the consumed one-time
/// prekey and the peer's identity); sending is the session state and the outbound message; a
/// queue of received envelopes can be one batch.
#[derive(Default)]
pub struct WriteBatch {
    pub(crate) ops: Vec<Op>,
    /// Whether superseded copies of replaced values must be wiped when the batch commits.
    pub(crate) wipe: bool,
}

impl WriteBatch {
    /// An empty batch.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of writes in the batch.
    #[must_use]
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Adds every write of `other` after the writes already in this batch (and its request to
    /// wipe, if it has one).
    pub fn append(&mut self, other: WriteBatch) -> &mut Self {
        self.ops.extend(other.ops);
        self.wipe |= other.wipe;
        self
    }

    /// Asks the store to wipe every superseded copy of a replaced value (older session states,
    /// earlier versions of messages) when this batch commits, whatever its
    /// [`WipePolicy`](super::WipePolicy). The endpoint asks for it when it saves a session state
    /// after a message it does not keep (refused, or expired on arrival), so that no older state
    /// that could decrypt that message again stays on disk.
    pub fn wipe_superseded(&mut self) -> &mut Self {
        self.wipe = true;
        self
    }

    /// Whether [`Self::wipe_superseded`] was called on this batch or one appended to it.
    #[must_use]
    pub fn wipes_superseded(&self) -> bool {
        self.wipe
    }

    /// Whether the batch holds no writes.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Saves `state` as the serialized session with `peer`, in place of the state whose version
    /// is `replaces`: the version [`Store::session`](super::Store::session) returned with the
    /// state `state` was derived from, or `None` if it returned no session (a new session).
    ///
    /// This is a compare-and-swap. When the batch is applied, before anything of it is written,
    /// the stored session's version must still be `replaces` (and with `None`, there must still
    /// be no session with `peer`). Otherwise another writer saved the session since it was read,
    /// and [`Store::apply`](super::Store::apply) fails with [`StoreError::Conflict`] and writes
    /// nothing of the batch. Then read the session again and redo the work from the state it
    /// returns; never save the state derived from the stale one, whose message keys the other
    /// writer may have used as well.
    ///
    /// Every session write of a batch is compared with the versions as the batch begins: two
    /// writes for one peer in one batch (for example after [`Self::append`]) both name the
    /// version that was read, and a [`Self::delete_session`] earlier in the batch does not
    /// change what a later write must name.
    ///
    /// There is no unconditional session write: a writer that wants to replace whatever is
    /// stored (a new session from a prekey bundle) reads the version first and names it.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] if `state` is larger than
    /// [`MAX_SESSION_LEN`](super::consts::MAX_SESSION_LEN); the batch is unchanged.
    pub fn put_session(
        &mut self,
        peer: &PeerId,
        replaces: Option<SessionVersion>,
        state: &[u8],
    ) -> Result<&mut Self, StoreError> {
        if state.len() > MAX_SESSION_LEN {
            return Err(StoreError::InvalidInput("session state"));
        }
        self.ops.push(Op::PutSession(peer.clone(), replaces, Zeroizing::new(state.to_vec())));
        Ok(self)
    }

    /// Deletes the session with `peer`, if there is one, whatever its version. A writer that read
    /// the deleted state then fails with [`StoreError::Conflict`] when it saves its next one.
    pub fn delete_session(&mut self, peer: &PeerId) -> &mut Self {
        self.ops.push(Op::DeleteSession(peer.clone()));
        self
    }

    /// Saves a new message. Applying fails with [`StoreError::MessageExists`] if its id is taken.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] if the body is larger than
    /// [`MAX_BODY_LEN`](super::consts::MAX_BODY_LEN) or a timestamp does not fit in an `i64`.
    pub fn put_message(&mut self, message: StoredMessage) -> Result<&mut Self, StoreError> {
        message.check()?;
        self.ops.push(Op::PutMessage(message));
        Ok(self)
    }

    /// Replaces a stored message (same id) with `message`: its state changed (for example, it
    /// was acknowledged). Applying fails with [`StoreError::UnknownMessage`] if it is not stored.
    ///
    /// # Errors
    /// As [`Self::put_message`].
    pub fn replace_message(&mut self, message: StoredMessage) -> Result<&mut Self, StoreError> {
        message.check()?;
        self.ops.push(Op::ReplaceMessage(message));
        Ok(self)
    }

    /// Saves `state` as the state of the conversation with `peer` (opaque to the store; see
    /// [`super::Store::conversation`]).
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] if `state` is longer than
    /// [`MAX_CONVERSATION_LEN`](super::consts::MAX_CONVERSATION_LEN).
    pub fn put_conversation(&mut self, peer: &PeerId, state: &[u8]) -> Result<&mut Self, StoreError> {
        if state.len() > MAX_CONVERSATION_LEN {
            return Err(StoreError::InvalidInput("conversation"));
        }
        self.ops.push(Op::PutConversation(peer.clone(), Zeroizing::new(state.to_vec())));
        Ok(self)
    }

    /// Deletes a message, if it is stored, leaving no copy of it in the file.
    pub fn delete_message(&mut self, id: MessageId) -> &mut Self {
        self.ops.push(Op::DeleteMessage(id));
        self
    }

    /// Records the identity key `peer` presented. On first contact it is stored as unverified;
    /// the same key again changes nothing; a different key makes the whole batch fail with
    /// [`StoreError::IdentityChanged`].
    pub fn put_peer_identity(&mut self, peer: &PeerId, identity: &IdentityKey) -> &mut Self {
        self.ops.push(Op::PutPeerIdentity(peer.clone(), *identity));
        self
    }

    /// Saves the agreement with `peer`, replacing any earlier one.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] if it is larger than
    /// [`MAX_AGREEMENT_LEN`](super::consts::MAX_AGREEMENT_LEN).
    pub fn put_agreement(
        &mut self,
        peer: &PeerId,
        agreement: StoredAgreement,
    ) -> Result<&mut Self, StoreError> {
        agreement.check()?;
        self.ops.push(Op::PutAgreement(peer.clone(), agreement));
        Ok(self)
    }

    /// Records that the last auto-reply to `peer` went out at `at`, replacing any earlier time:
    /// the auto-reply rate limit's state, kept apart from the auto-reply messages themselves
    /// ([`super::Store::last_auto_reply`]).
    pub fn put_last_auto_reply(&mut self, peer: &PeerId, at: Timestamp) -> &mut Self {
        self.ops.push(Op::PutLastAutoReply(peer.clone(), at));
        self
    }

    /// Saves where the agreement with `peer` stands (the encoded
    /// [`crate::agreement::Standing`]), replacing the earlier record ([`super::Store::standing`]).
    pub fn put_standing(&mut self, peer: &PeerId, standing: Zeroizing<Vec<u8>>) -> &mut Self {
        self.ops.push(Op::PutStanding(peer.clone(), standing));
        self
    }

    /// Saves a signed prekey, replacing one with the same id.
    pub fn put_signed_prekey(&mut self, prekey: &SignedPrekey) -> &mut Self {
        self.ops.push(Op::PutPrekey(PrekeyKind::Signed, prekey.id(), prekey.to_bytes()));
        self
    }

    /// Saves a one-time prekey, replacing one with the same id.
    pub fn put_one_time_prekey(&mut self, prekey: &OneTimePrekey) -> &mut Self {
        self.ops.push(Op::PutPrekey(PrekeyKind::OneTime, prekey.id(), prekey.to_bytes()));
        self
    }

    /// Saves a post-quantum prekey, replacing one with the same id.
    pub fn put_kem_prekey(&mut self, prekey: &KemPrekey) -> &mut Self {
        self.ops.push(Op::PutPrekey(PrekeyKind::Kem, prekey.id(), prekey.to_bytes()));
        self
    }

    /// Deletes a one-time prekey that a handshake used. Applying fails with
    /// [`StoreError::UnknownPrekey`] if it is not stored (for example, it was already used).
    pub fn consume_one_time_prekey(&mut self, id: PrekeyId) -> &mut Self {
        self.ops.push(Op::ConsumePrekey(PrekeyKind::OneTime, id));
        self
    }

    /// Deletes a one-time post-quantum prekey that a handshake used. Applying fails with
    /// [`StoreError::UnknownPrekey`] if it is not stored.
    pub fn consume_kem_prekey(&mut self, id: PrekeyId) -> &mut Self {
        self.ops.push(Op::ConsumePrekey(PrekeyKind::Kem, id));
        self
    }

    /// Deletes a signed prekey (after rotation), if it is stored.
    pub fn remove_signed_prekey(&mut self, id: PrekeyId) -> &mut Self {
        self.ops.push(Op::RemovePrekey(PrekeyKind::Signed, id));
        self
    }

    /// Appends `event`, which happened at `at`, to the audit trail, in the same transaction as
    /// the batch's other writes.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] if the event lists more than
    /// [`MAX_AUDIT_MESSAGES`](super::consts::MAX_AUDIT_MESSAGES) message ids or `at` does not fit
    /// in an `i64`; the batch is unchanged.
    pub fn audit(&mut self, at: Timestamp, event: AuditEvent) -> Result<&mut Self, StoreError> {
        audit::check_event(&event)?;
        super::types::check_timestamp(at)?;
        self.ops.push(Op::Audit(at, event));
        Ok(self)
    }

    /// Saves a record copy of a message, replacing an earlier copy of the same message.
    ///
    /// # Errors
    /// As [`Self::put_message`]; the batch is unchanged.
    pub fn put_record_copy(&mut self, copy: RecordCopy) -> Result<&mut Self, StoreError> {
        copy.check()?;
        self.ops.push(Op::PutRecordCopy(copy));
        Ok(self)
    }

    /// Saves the signed terms of the colleague relation with `peer`, replacing earlier ones.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] if they are larger than
    /// [`MAX_AGREEMENT_LEN`](super::consts::MAX_AGREEMENT_LEN).
    pub fn put_colleague(&mut self, peer: &PeerId, terms: &[u8]) -> Result<&mut Self, StoreError> {
        if terms.len() > super::consts::MAX_AGREEMENT_LEN {
            return Err(StoreError::InvalidInput("colleague terms"));
        }
        self.ops.push(Op::PutColleague(peer.clone(), Zeroizing::new(terms.to_vec())));
        Ok(self)
    }

    /// Trusts `identity` for `peer` after the user accepted it, as
    /// [`super::Store::accept_identity`] does, in this batch's transaction.
    pub fn accept_identity(&mut self, peer: &PeerId, identity: &IdentityKey) -> &mut Self {
        self.ops.push(Op::AcceptIdentity(peer.clone(), *identity));
        self
    }

    /// Saves the repair record of `peer` (opaque to the store), replacing the old one.
    pub fn put_repair_record(&mut self, peer: &PeerId, record: &[u8]) -> &mut Self {
        self.ops.push(Op::PutRepairRecord(peer.clone(), Zeroizing::new(record.to_vec())));
        self
    }

    /// Saves the signed device list of `peer` (opaque to the store), replacing the old one.
    pub fn put_device_list(&mut self, peer: &PeerId, list: &[u8]) -> &mut Self {
        self.ops.push(Op::PutDeviceList(peer.clone(), Zeroizing::new(list.to_vec())));
        self
    }

    /// Saves the signed device list of this device's own person (opaque to the store),
    /// replacing the old one.
    pub fn put_own_devices(&mut self, list: &[u8]) -> &mut Self {
        self.ops.push(Op::PutOwnDevices(Zeroizing::new(list.to_vec())));
        self
    }

    /// Saves the device's last-resort prekey schedule (opaque to the store), replacing the old one.
    pub fn put_prekey_schedule(&mut self, schedule: &[u8]) -> &mut Self {
        self.ops.push(Op::PutPrekeySchedule(Zeroizing::new(schedule.to_vec())));
        self
    }

    /// Records that the handshake with initiator base key `base_key` used last-resort signed
    /// prekey `id`. Applying fails with [`StoreError::UnknownPrekey`] if a handshake with that
    /// base key is already recorded (a replay).
    pub fn mark_last_resort_handshake(&mut self, id: PrekeyId, base_key: &DhPublicKey) -> &mut Self {
        self.ops.push(Op::MarkLastResortHandshake(id, *base_key));
        self
    }

    /// Deletes the record of the last-resort handshake with base key `base_key`, if stored.
    pub fn forget_last_resort_handshake(&mut self, base_key: &DhPublicKey) -> &mut Self {
        self.ops.push(Op::ForgetLastResortHandshake(*base_key));
        self
    }

    /// Deletes a post-quantum prekey (after rotation), if it is stored.
    pub fn remove_kem_prekey(&mut self, id: PrekeyId) -> &mut Self {
        self.ops.push(Op::RemovePrekey(PrekeyKind::Kem, id));
        self
    }
}

impl std::fmt::Debug for WriteBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteBatch").field("writes", &self.ops.len()).field("wipe", &self.wipe).finish()
    }
}
