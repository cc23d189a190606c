//! [`Endpoint`]: the library's endpoint over an encrypted SQLite file and the system clock, as
//! one object that Python, Kotlin and Swift share between threads.

use std::sync::Arc;

use confidant::store::{Store, StoreKeySource};
use zeroize::Zeroize;

use crate::error::ConfidantError;
use crate::terms::AgreementTerms;
use crate::types::{
    message_id, peer_id, BatchItem, Draft, HistoryEntry, HistoryPage, Incoming, Outgoing, PrekeyRotation,
    Role, SafetyNumber,
};

/// One device's end of its conversations, over its encrypted store file.
///
/// Every method is safe to call from several threads at once: operations on the same peer run one
/// after the other, on different peers side by side. Open one endpoint per file, and drop it (in
/// Python, drop the last reference) to close the file.
///
/// Time is the system clock and randomness the operating system's: an app never passes either.
#[derive(uniffi::Object)]
pub struct Endpoint {
    pub(crate) inner: confidant::Endpoint,
}

#[uniffi::export]
impl Endpoint {
    /// Opens the store file at `path` with `passphrase` (stretched with Argon2id), creating it,
    /// with a new identity, if there is no file there. `role` and `local_id` (how peers know this
    /// device's user, for example an account id) are recorded in a new store, and an existing
    /// store opens only with the same ones.
    ///
    /// # Errors
    /// [`ConfidantError::WrongPassphrase`], [`ConfidantError::OwnerMismatch`],
    /// [`ConfidantError::InvalidInput`] for an empty or too long `local_id`, or
    /// [`ConfidantError::Store`] if the file cannot be opened or created.
    #[uniffi::constructor]
    pub fn open(
        path: String,
        passphrase: String,
        role: Role,
        local_id: String,
    ) -> Result<Arc<Self>, ConfidantError> {
        Self::open_with_source(&path, &StoreKeySource::passphrase(passphrase), role, local_id)
    }

    /// [`Self::open`] with a 32-byte key from the platform keystore (the Android Keystore, the iOS
    /// Keychain) in place of a passphrase.
    ///
    /// # Errors
    /// As [`Self::open`]; [`ConfidantError::InvalidInput`] if `key` is not 32 bytes.
    #[uniffi::constructor]
    pub fn open_with_key(
        path: String,
        mut key: Vec<u8>,
        role: Role,
        local_id: String,
    ) -> Result<Arc<Self>, ConfidantError> {
        let bytes = <[u8; 32]>::try_from(key.as_slice());
        key.zeroize();
        let Ok(mut bytes) = bytes else { return Err(ConfidantError::invalid("key: not 32 bytes")) };
        let source = StoreKeySource::key(bytes);
        bytes.zeroize();
        Self::open_with_source(&path, &source, role, local_id)
    }

    /// This device's public identity key (32 bytes).
    pub fn identity_key(&self) -> Vec<u8> {
        self.inner.identity_key().to_bytes().to_vec()
    }

    /// This device's role.
    pub fn role(&self) -> Role {
        match self.inner.role() {
            confidant::Role::Clinician => Role::Clinician,
            confidant::Role::Client => Role::Client,
        }
    }

    /// A fresh, single-use prekey bundle to hand to one peer, who starts a session from it.
    ///
    /// # Errors
    /// [`ConfidantError::Store`] if it cannot be saved.
    pub fn prekey_bundle(&self) -> Result<Vec<u8>, ConfidantError> {
        Ok(self.inner.prekey_bundle()?)
    }

    /// Starts a session with `peer` from the prekey bundle it published. The peer's identity is
    /// trusted on first contact and remembered.
    ///
    /// # Errors
    /// [`ConfidantError::Malformed`] for bytes that are not a bundle,
    /// [`ConfidantError::HandshakeFailed`] for a bad signature or key,
    /// [`ConfidantError::IdentityChanged`] if `peer` presented another identity before,
    /// [`ConfidantError::InvalidInput`] for an empty or too long peer id.
    pub fn start_session(&self, peer: String, bundle: Vec<u8>) -> Result<(), ConfidantError> {
        Ok(self.inner.start_session(&peer_id(peer)?, &bundle)?)
    }

    /// Proposes `terms` to the client `peer` (clinician only), between this device's identity and
    /// the one stored for `peer`. Returns the envelope carrying the signed proposal.
    ///
    /// # Errors
    /// [`ConfidantError::WrongRole`] on a client's device; [`ConfidantError::NoSession`] before a
    /// session with `peer`; [`ConfidantError::AgreementRefused`] for terms that break a rule or do
    /// not replace the agreement in force.
    pub fn propose_agreement(&self, peer: String, terms: AgreementTerms) -> Result<Vec<u8>, ConfidantError> {
        let peer = peer_id(peer)?;
        if self.inner.role() != confidant::Role::Clinician {
            return Err(ConfidantError::WrongRole);
        }
        let record = self.inner.store().peer(&peer)?.ok_or(ConfidantError::NoSession)?;
        let terms = terms.to_library(self.inner.identity_key(), record.identity)?;
        Ok(self.inner.propose_agreement(&peer, terms)?)
    }

    /// Accepts the proposal that arrived in message `proposal` (its 16-byte id, from
    /// `Received.AgreementProposed`), client only. Returns the envelope that tells the clinician;
    /// the agreement is in force on this device at once.
    ///
    /// # Errors
    /// [`ConfidantError::WrongRole`] on a clinician's device; [`ConfidantError::ProposalNotOpen`]
    /// if the message is not an open proposal from `peer`; [`ConfidantError::AgreementRefused`] if
    /// it does not verify.
    pub fn accept_agreement(&self, peer: String, proposal: Vec<u8>) -> Result<Vec<u8>, ConfidantError> {
        Ok(self.inner.accept_agreement(&peer_id(peer)?, message_id(&proposal)?)?)
    }

    /// Sends `draft` to `peer` if the agreement allows it. A message outside the agreement is not
    /// sent: that is a decision ([`crate::Decision::OutOfScope`], no envelope), not an error.
    ///
    /// # Errors
    /// [`ConfidantError::NoSession`], [`ConfidantError::NoAgreement`],
    /// [`ConfidantError::InvalidContent`] for a draft of a category only the library sends,
    /// [`ConfidantError::InvalidInput`] for a `reply_to` that is not 16 bytes.
    pub fn send(&self, peer: String, draft: Draft) -> Result<Outgoing, ConfidantError> {
        let peer = peer_id(peer)?;
        let mut library_draft = confidant::Draft::new(draft.category.to_draft_category(), draft.text);
        if let Some(reply_to) = draft.reply_to {
            library_draft = library_draft.reply_to(message_id(&reply_to)?);
        }
        if draft.request_acknowledgement {
            library_draft = library_draft.request_acknowledgement();
        }
        if let Some(original) = draft.corrects {
            library_draft = library_draft.correcting(message_id(&original)?);
        }
        let sent = self.inner.send(&peer, library_draft)?;
        Ok(Outgoing {
            decision: sent.decision.try_into()?,
            envelope: sent.envelope,
            message_id: sent.message_id.map(crate::types::id_bytes),
        })
    }

    /// Receives one envelope from `peer`: decrypts it, applies the agreement and the expiry rules,
    /// and saves the new session state with the message. Send [`Incoming::replies`] back to the
    /// peer.
    ///
    /// # Errors
    /// [`ConfidantError::Malformed`] for garbage, [`ConfidantError::DecryptionFailed`] for a
    /// forged or tampered envelope, [`ConfidantError::Duplicate`] for a replay,
    /// [`ConfidantError::NoSession`], [`ConfidantError::UnknownPrekey`],
    /// [`ConfidantError::IdentityChanged`], and the agreement errors for agreement messages that
    /// do not fit. On any error nothing changed.
    pub fn receive(&self, peer: String, envelope: Vec<u8>) -> Result<Incoming, ConfidantError> {
        self.inner.receive(&peer_id(peer)?, &envelope)?.try_into()
    }

    /// Receives a queue of envelopes from `peer` and saves all of them in one transaction. Each
    /// envelope gets its own result, in order: what [`Self::receive`] would have returned or
    /// thrown for it after the envelopes before it.
    ///
    /// # Errors
    /// A store error while loading or saving; then nothing was received.
    pub fn receive_batch(
        &self,
        peer: String,
        envelopes: Vec<Vec<u8>>,
    ) -> Result<Vec<BatchItem>, ConfidantError> {
        let results = self.inner.receive_batch(&peer_id(peer)?, &envelopes)?;
        Ok(results.into_iter().map(BatchItem::from_result).collect())
    }

    /// Records that the user read message `message_id` from `peer`. Returns a read-receipt
    /// envelope to send when the agreement enables receipts; `None` otherwise or when already
    /// read.
    ///
    /// # Errors
    /// [`ConfidantError::UnknownMessage`], [`ConfidantError::MessageExpired`],
    /// [`ConfidantError::InvalidInput`] for an id that is not 16 bytes.
    pub fn mark_read(&self, peer: String, message_id: Vec<u8>) -> Result<Option<Vec<u8>>, ConfidantError> {
        Ok(self.inner.mark_read(&peer_id(peer)?, crate::types::message_id(&message_id)?)?)
    }

    /// The conversation with `peer`, oldest first, without expired messages.
    ///
    /// # Errors
    /// [`ConfidantError::Store`] if the store cannot be read.
    pub fn history(&self, peer: String) -> Result<Vec<HistoryEntry>, ConfidantError> {
        self.inner.history(&peer_id(peer)?)?.into_iter().map(HistoryEntry::try_from).collect()
    }

    /// One page of the conversation with `peer`, oldest first, in the senders' order, with gaps
    /// and damaged records in their place: the newest page for `before_ms` = `None`, else the
    /// page before the one whose `before_ms` this is.
    ///
    /// # Errors
    /// [`ConfidantError::InvalidInput`] if `limit` is 0 or too large; [`ConfidantError::Store`]
    /// if the store cannot be read.
    pub fn history_page(
        &self,
        peer: String,
        before_ms: Option<u64>,
        limit: u32,
    ) -> Result<HistoryPage, ConfidantError> {
        let before = before_ms.map(confidant::HistoryCursor::from_millis);
        let limit =
            usize::try_from(limit).map_err(|_| ConfidantError::InvalidInput { reason: "limit".into() })?;
        self.inner.history_page(&peer_id(peer)?, before, limit)?.try_into()
    }

    /// Confirms to `peer` that the user read and understood message `message_id`, which asked
    /// for it. Returns the envelope to send (sent whatever the agreement says about receipts).
    ///
    /// # Errors
    /// [`ConfidantError::InvalidInput`] if the message did not ask, was acknowledged already or
    /// is not the peer's.
    pub fn acknowledge(&self, peer: String, message_id: Vec<u8>) -> Result<Vec<u8>, ConfidantError> {
        Ok(self.inner.acknowledge(&peer_id(peer)?, crate::types::message_id(&message_id)?)?)
    }

    /// Recalls message `message_id`, sent by this device to `peer`. Returns the envelope to send;
    /// the peer's answer marks the message in the history.
    ///
    /// # Errors
    /// [`ConfidantError::InvalidInput`] if it is not a message this device sent to `peer`, or
    /// was recalled already.
    pub fn recall(&self, peer: String, message_id: Vec<u8>) -> Result<Vec<u8>, ConfidantError> {
        Ok(self.inner.recall(&peer_id(peer)?, crate::types::message_id(&message_id)?)?)
    }

    /// The safety number to compare with `peer` in person.
    ///
    /// # Errors
    /// [`ConfidantError::UnknownPeer`] before any session with `peer`.
    pub fn safety_number(&self, peer: String) -> Result<SafetyNumber, ConfidantError> {
        Ok(self.inner.safety_number(&peer_id(peer)?)?.into())
    }

    /// Compares `scanned` (the peer's QR code, [`SafetyNumber::scannable`]) with the safety
    /// number, and records the peer as verified if they match. Returns whether they matched.
    ///
    /// # Errors
    /// [`ConfidantError::UnknownPeer`] before any session with `peer`.
    pub fn verify_peer(&self, peer: String, scanned: Vec<u8>) -> Result<bool, ConfidantError> {
        Ok(self.inner.verify_peer(&peer_id(peer)?, &scanned)?)
    }

    /// The safety number this device would have with `peer` if `peer`'s identity key were
    /// `identity_key` (32 bytes): for a changed key, the number to show the user before
    /// [`Self::accept_new_identity`]. The offered key comes from the refused bundle or envelope
    /// ([`crate::bundle_identity_key`], [`crate::envelope_identity_key`]).
    ///
    /// # Errors
    /// [`ConfidantError::InvalidInput`] for a peer id or key that is not valid.
    pub fn safety_number_with(
        &self,
        peer: String,
        identity_key: Vec<u8>,
    ) -> Result<SafetyNumber, ConfidantError> {
        let key = crate::types::identity_key(&identity_key)?;
        Ok(self.inner.safety_number_with(&peer_id(peer)?, &key).into())
    }

    /// Trusts `identity_key` (32 bytes) as `peer`'s identity key from now on, after the user
    /// agreed to the change, and returns the safety number with the new key, to compare again.
    /// Until then a bundle or handshake with another key than the trusted one fails with
    /// [`ConfidantError::IdentityChanged`].
    ///
    /// In one step: the new key replaces the old one, unverified; the agreement in force is
    /// retired (it names the old key); the sessions with the old key are deleted. Messages with
    /// `peer` then wait for a new session and a new agreement. Accepting the key already trusted
    /// changes nothing.
    ///
    /// # Errors
    /// [`ConfidantError::UnknownPeer`] if no identity is known for `peer` yet;
    /// [`ConfidantError::InvalidInput`] for a peer id or key that is not valid;
    /// [`ConfidantError::Store`]. Nothing changed on error.
    pub fn accept_new_identity(
        &self,
        peer: String,
        identity_key: Vec<u8>,
    ) -> Result<SafetyNumber, ConfidantError> {
        let key = crate::types::identity_key(&identity_key)?;
        Ok(self.inner.accept_new_identity(&peer_id(peer)?, &key)?.into())
    }

    /// This device's current last-resort bundle: unlike [`Self::prekey_bundle`], any number of
    /// peers may start sessions from it, until [`Self::rotate_prekeys`] replaces it (and for a
    /// grace period after). Publish it for when the single-use bundles ran out or were handed
    /// out twice; a session from it is less protected against replay than one from a
    /// single-use bundle. Made on first use.
    ///
    /// # Errors
    /// [`ConfidantError::Store`]; [`ConfidantError::Randomness`].
    pub fn last_resort_bundle(&self) -> Result<Vec<u8>, ConfidantError> {
        Ok(self.inner.last_resort_bundle()?)
    }

    /// Rotates the last-resort prekeys: call it regularly (for example daily, and at start-up).
    /// When the current pair is old enough, or there is none, a new one is made; a replaced pair
    /// is still accepted for a grace period, after which a rotation deletes its private keys.
    /// Publish [`PrekeyRotation::bundle`] in place of the previous last-resort bundle.
    ///
    /// # Errors
    /// [`ConfidantError::Store`] (then nothing changed); [`ConfidantError::Randomness`].
    pub fn rotate_prekeys(&self) -> Result<PrekeyRotation, ConfidantError> {
        Ok(self.inner.rotate_prekeys()?.into())
    }

    /// A repair request to send to `peer`, through the transport as its own kind of message,
    /// after [`Self::receive`] from `peer` failed with an error whose
    /// [`ConfidantError::suggests_repair`] is true. The peer passes it to
    /// [`Self::accept_repair_request`], which starts a new session and sends its recent
    /// messages again. Signed by this device's identity key; it carries this device's
    /// last-resort bundle.
    ///
    /// # Errors
    /// [`ConfidantError::InvalidInput`] for a peer id that is not valid;
    /// [`ConfidantError::Store`]; [`ConfidantError::Randomness`].
    pub fn repair_request(&self, peer: String) -> Result<Vec<u8>, ConfidantError> {
        Ok(self.inner.repair_request(&peer_id(peer)?)?)
    }

    /// Accepts `peer`'s repair request: checks it, starts a new session from the bundle it
    /// carries, and returns the messages this device sent to `peer` recently (those not expired,
    /// within the resend window) encrypted again on the new session, oldest first: hand them to
    /// the transport in that order. The peer stores each once; a copy it already has fails on
    /// its side with [`ConfidantError::Duplicate`].
    ///
    /// # Errors
    /// [`ConfidantError::Malformed`] for bytes that are not a repair request;
    /// [`ConfidantError::InvalidRepairRequest`]; [`ConfidantError::RepairTooSoon`];
    /// [`ConfidantError::UnknownPeer`] if no identity is known for `peer`;
    /// [`ConfidantError::IdentityChanged`] if it is signed by another key than the trusted one;
    /// [`ConfidantError::HandshakeFailed`] for a bundle that cannot be used. Nothing changed on
    /// error.
    pub fn accept_repair_request(
        &self,
        peer: String,
        request: Vec<u8>,
    ) -> Result<Vec<Vec<u8>>, ConfidantError> {
        Ok(self.inner.accept_repair_request(&peer_id(peer)?, &request)?)
    }

    /// Deletes every message whose time has come, leaving no copy in the file. Returns how many.
    ///
    /// # Errors
    /// [`ConfidantError::Store`]; then nothing was deleted.
    pub fn purge_expired(&self) -> Result<u64, ConfidantError> {
        Ok(u64::try_from(self.inner.purge_expired()?).unwrap_or(u64::MAX))
    }

    /// The conversation with `peer` (every message not yet expired, or only those of
    /// `message_ids`) as a FHIR R4 `Bundle` of `Communication` resources, in JSON: for the
    /// clinical record on the clinician's device, the client's own copy on the client's. The
    /// export is recorded in the device's audit trail.
    ///
    /// # Errors
    /// [`ConfidantError::UnknownMessage`] if a message id is not in the conversation or has
    /// expired; [`ConfidantError::InvalidInput`] for an id that is not 16 bytes;
    /// [`ConfidantError::Store`] if the store cannot be read or written.
    pub fn export_record(
        &self,
        peer: String,
        message_ids: Option<Vec<Vec<u8>>>,
    ) -> Result<String, ConfidantError> {
        let selection = selection(message_ids)?;
        let json = self.inner.export_record(&peer_id(peer)?, &selection)?;
        Ok(json.as_str().to_owned())
    }

    /// The conversation with `peer` as a plain transcript: text, or with `html` an HTML page
    /// whose every text is escaped. Recorded in the audit trail.
    ///
    /// # Errors
    /// As [`Self::export_record`].
    pub fn export_transcript(
        &self,
        peer: String,
        message_ids: Option<Vec<Vec<u8>>>,
        html: bool,
    ) -> Result<String, ConfidantError> {
        use confidant::records::transcript::TranscriptFormat;
        let format = if html { TranscriptFormat::Html } else { TranscriptFormat::Text };
        let text = self.inner.export_transcript(&peer_id(peer)?, &selection(message_ids)?, format)?;
        Ok(text.as_str().to_owned())
    }

    /// How many entries the device's audit trail holds, after checking its hash chain.
    ///
    /// # Errors
    /// [`ConfidantError::Store`] if an entry was removed, reordered or altered.
    pub fn audit_log_len(&self) -> Result<u64, ConfidantError> {
        Ok(u64::try_from(self.inner.audit_log()?.len()).unwrap_or(u64::MAX))
    }
}

/// The identity key (32 bytes) of the device that published `bundle`, a prekey bundle or a
/// last-resort bundle: after [`Endpoint::start_session`] failed with
/// [`ConfidantError::IdentityChanged`], the key to show with [`Endpoint::safety_number_with`] and
/// to pass to [`Endpoint::accept_new_identity`] if the user agrees.
///
/// # Errors
/// [`ConfidantError::Malformed`] for bytes that are not a bundle.
#[uniffi::export]
pub fn bundle_identity_key(bundle: Vec<u8>) -> Result<Vec<u8>, ConfidantError> {
    let bundle = confidant::session::PrekeyBundle::from_bytes(&bundle).map_err(confidant::Error::from)?;
    Ok(bundle.identity_key().to_bytes().to_vec())
}

/// The identity key (32 bytes) of the sender of `envelope` if it starts a session (a handshake);
/// `None` for an envelope on an existing session. After [`Endpoint::receive`] failed with
/// [`ConfidantError::IdentityChanged`], the key to show with [`Endpoint::safety_number_with`] and
/// to pass to [`Endpoint::accept_new_identity`] if the user agrees.
///
/// # Errors
/// [`ConfidantError::Malformed`] for bytes that are not an envelope.
#[uniffi::export]
pub fn envelope_identity_key(envelope: Vec<u8>) -> Result<Option<Vec<u8>>, ConfidantError> {
    use confidant::session::Envelope as E;
    match E::from_bytes(&envelope).map_err(confidant::Error::from)? {
        E::Prekey(handshake) => Ok(Some(handshake.identity_key().to_bytes().to_vec())),
        E::Message(_) => Ok(None),
    }
}

/// The messages to export: all, or those of `ids`.
fn selection(ids: Option<Vec<Vec<u8>>>) -> Result<confidant::records::Selection, ConfidantError> {
    match ids {
        None => Ok(confidant::records::Selection::All),
        Some(ids) => Ok(confidant::records::Selection::Messages(
            ids.iter().map(|id| message_id(id)).collect::<Result<_, _>>()?,
        )),
    }
}

impl Endpoint {
    fn open_with_source(
        path: &str,
        source: &StoreKeySource,
        role: Role,
        local_id: String,
    ) -> Result<Arc<Self>, ConfidantError> {
        let inner = confidant::Endpoint::open(path, source, role.into(), local_id)?;
        Ok(Arc::new(Self { inner }))
    }
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint").field("inner", &self.inner).finish()
    }
}
