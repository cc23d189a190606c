//! Receiving: envelope bytes → decode → session decrypt (on a copy) → policy and expiry check →
//! store (session + message, one transaction) → the app.

use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::error::Result;
use super::notices;
use super::pending::Pending;
use super::sequence::SequenceState;
use super::sessions::SessionSet;
use super::{Endpoint, EndpointError, Incoming, Received, ReceivedMessage};
use crate::agreement::{Role, SignedAgreement, Standing, UnverifiedAgreement};
use crate::category::CategoryKind;
use crate::clock::{Clock, Timestamp};
use crate::content::{Category, Content, Receipt, ReceiptKind};
use crate::expiry::{Arrival, Lifespan};
use crate::keys::IdentityKey;
use crate::policy::{
    auto_reply_text, classify_content_in, counts_against_caps, notification_preview, AutoReplyLimiter,
    Decision, OutOfScopeReason,
};
use crate::session::Session;
use crate::store::{
    AuditEvent, Direction, PeerId, SessionVersion, Store, StoredAgreement, StoredMessage, WriteBatch,
};
use crate::wire::Envelope;

/// What one conversation's receive path reads and changes; saved once at the end.
#[derive(Clone)]
struct Conversation {
    /// Where the sending device's sessions and sequence numbers are kept, and who it is.
    source: Source,
    sessions: Option<SessionSet>,
    /// The version of the stored sessions when they were loaded (`None`: there were none).
    version: Option<SessionVersion>,
    agreement: Option<SignedAgreement>,
    /// Where the agreement stands: plans, the end, the counts for the caps.
    standing: Standing,
    /// When the last auto-reply went out (`None` inside: never), once looked up in the store.
    last_auto_reply: Option<Option<Timestamp>>,
    /// What the writes made so far take from the store when they commit.
    pending: Pending,
    /// Sequence numbers received and notices sent ([`super::sequence`]), and as loaded.
    sequence: SequenceState,
    loaded_sequence: SequenceState,
}

/// The device an envelope comes from.
#[derive(Clone)]
pub(super) struct Source {
    /// The id its sessions and the sequence numbers of its messages are kept under: the
    /// person's id for the primary device, a device session id for a linked one.
    sessions: PeerId,
    /// For a linked device: its identity key and its person's identity key.
    linked: Option<(IdentityKey, IdentityKey)>,
}

impl Source {
    /// The person's primary device.
    pub(super) fn primary(peer: &PeerId) -> Self {
        Self { sessions: peer.clone(), linked: None }
    }

    /// A linked device of a person, with its sessions under `sessions`.
    pub(super) fn linked(sessions: PeerId, device: IdentityKey, person: IdentityKey) -> Self {
        Self { sessions, linked: Some((device, person)) }
    }
}

impl<S: Store, C: Clock> Endpoint<S, C> {
    /// Receives one envelope from `peer`: decrypts it, applies the agreement and the expiry
    /// rules, and saves the new session state together with the message in one transaction.
    ///
    /// The clinician's device classifies every message again ([`crate::policy::classify_content`]), so
    /// a client app that skipped the check cannot step outside the agreement: such a message is
    /// [`Received::Refused`] and not stored. A message that arrives already expired is
    /// [`Received::Expired`]: not stored, but the session still advances. Outside the clinician's
    /// hours, the clinician's device answers with an encrypted auto-reply, at most one per
    /// conversation per agreed window; with receipts enabled, a delivery receipt goes back too
    /// (both in [`Incoming::replies`]).
    ///
    /// The message is decrypted by the current session with `peer`, or by one of the previous
    /// sessions kept with it, which then becomes current again; the first message of a new
    /// handshake starts a new session, which does not replace a session that has already
    /// received from `peer` but is kept behind it (PROTOCOL.md, section 12, "Several sessions
    /// with one peer"). Replies go out on the current session.
    ///
    /// # Errors
    /// [`crate::session::DecodeError`] for malformed bytes; [`crate::session::SessionError`] for a message that
    /// does not decrypt (forged, replayed, too far ahead); [`EndpointError::NoSession`];
    /// [`EndpointError::UnknownPrekey`]; [`crate::store::StoreError::IdentityChanged`] if a new
    /// handshake comes with another identity; [`crate::content::ContentError`] or
    /// [`crate::agreement::AgreementError`] for authentic content that does not decode or verify;
    /// on the clinician's device, [`EndpointError::ProposalExpired`],
    /// [`EndpointError::ProposalWithdrawn`], [`EndpointError::ProposalSuperseded`] or
    /// [`EndpointError::UnexpectedAgreement`] for an acceptance of a proposal that is not open
    /// there (see [`Self::accept_agreement`]); on the client's device,
    /// [`EndpointError::NotAProposal`] for a withdrawal that names a message other than a
    /// proposal. On any error the session and the store are exactly as they were, with one
    /// exception: [`crate::store::StoreError::MessageExists`] for the first message of a new
    /// handshake (a repair resending a message this device holds, PROTOCOL.md section 12.2)
    /// keeps the new session, so that this device can answer on it; the message is not stored
    /// again.
    pub fn receive(&self, peer: &PeerId, envelope: &[u8]) -> Result<Incoming> {
        self.with_peer(peer, |rng| self.receive_with(rng, peer, Source::primary(peer), envelope))
    }

    pub(super) fn receive_with<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        peer: &PeerId,
        source: Source,
        envelope: &[u8],
    ) -> Result<Incoming> {
        let mut conversation = self.conversation(peer, source)?;
        let mut batch = WriteBatch::new();
        let incoming = match self.receive_one(rng, peer, &mut conversation, envelope, &mut batch) {
            Ok(incoming) => incoming,
            Err(error) => {
                let mut writes = WriteBatch::new();
                if self.keep_handshake_of_held(&error, &mut conversation, envelope, &mut writes)? {
                    self.save(peer, &conversation, writes)?;
                }
                return Err(error);
            }
        };
        self.save(peer, &conversation, batch)?;
        Ok(incoming)
    }

    /// After `error`: if it is [`crate::store::StoreError::MessageExists`] for the first message
    /// of a new handshake (a repair's resend of a message this device holds, PROTOCOL.md 12.2),
    /// completes the handshake into `conversation` and `writes` and returns `true`. The message is
    /// not stored again (the error stands), but the new session is kept, so that this device can
    /// answer on it even when every resent message was held already.
    fn keep_handshake_of_held(
        &self,
        error: &super::Error,
        conversation: &mut Conversation,
        bytes: &[u8],
        writes: &mut WriteBatch,
    ) -> Result<bool> {
        if *error != super::Error::Store(crate::store::StoreError::MessageExists) {
            return Ok(false);
        }
        let envelope = Envelope::from_bytes(bytes)?;
        let Envelope::Prekey(first) = &envelope else { return Ok(false) };
        if conversation.sessions.as_ref().is_some_and(|sessions| sessions.has_handshake(&first.base_key())) {
            return Ok(false);
        }
        if conversation.source.linked.as_ref().is_some_and(|(device, _)| !first.identity_key().ct_eq(device))
        {
            return Ok(false);
        }
        let mut next = conversation.clone();
        let existing = next.sessions.take();
        let mut staged = WriteBatch::new();
        let (sessions, _) =
            self.decrypt_from(&next.source.sessions, existing, &mut next.pending, &envelope, &mut staged)?;
        next.sessions = Some(sessions);
        *conversation = next;
        writes.append(staged);
        Ok(true)
    }

    /// Receives a queue of envelopes from `peer` and saves all of them in one transaction.
    /// Each envelope gets its own result; one that fails changes nothing and the others go on.
    ///
    /// Every envelope reported `Ok` is saved. An envelope whose writes the store would refuse is
    /// reported failed, with the store's error, and its writes are left out: a message whose id
    /// is already stored or taken by an earlier envelope of the queue
    /// ([`crate::store::StoreError::MessageExists`]), a handshake from another identity than the
    /// one trusted for `peer`, or trusted by an earlier envelope of the queue
    /// ([`crate::store::StoreError::IdentityChanged`]), a handshake naming prekeys an earlier
    /// envelope used ([`EndpointError::UnknownPrekey`]). Each envelope gets the result
    /// [`Self::receive`] would give it after the envelopes before it, so one bad envelope
    /// never holds back the others, and the same queue again gives the same errors for the bad
    /// ones.
    ///
    /// # Errors
    /// A store error while loading or saving; then nothing was saved, and no envelope was
    /// received.
    pub fn receive_batch<B: AsRef<[u8]>>(
        &self,
        peer: &PeerId,
        envelopes: &[B],
    ) -> Result<Vec<Result<Incoming>>> {
        self.with_peer(peer, |rng| self.receive_batch_with(rng, peer, Source::primary(peer), envelopes))
    }

    pub(super) fn receive_batch_with<R: CryptoRng + ?Sized, B: AsRef<[u8]>>(
        &self,
        rng: &mut R,
        peer: &PeerId,
        source: Source,
        envelopes: &[B],
    ) -> Result<Vec<Result<Incoming>>> {
        let mut conversation = self.conversation(peer, source)?;
        let mut batch = WriteBatch::new();
        let mut kept_handshake = false;
        let mut results = Vec::with_capacity(envelopes.len());
        for envelope in envelopes {
            let mut writes = WriteBatch::new();
            match self.receive_one(rng, peer, &mut conversation, envelope.as_ref(), &mut writes) {
                Ok(incoming) => {
                    batch.append(writes);
                    results.push(Ok(incoming));
                }
                Err(error) => {
                    // A held message that starts a new handshake keeps its session (as in
                    // `receive`); a handshake that cannot be completed changes nothing.
                    let mut staged = WriteBatch::new();
                    if let Ok(true) =
                        self.keep_handshake_of_held(&error, &mut conversation, envelope.as_ref(), &mut staged)
                    {
                        batch.append(staged);
                        kept_handshake = true;
                    }
                    results.push(Err(error));
                }
            }
        }
        if kept_handshake || results.iter().any(Result::is_ok) {
            self.save(peer, &conversation, batch)?;
        }
        Ok(results)
    }

    fn conversation(&self, peer: &PeerId, source: Source) -> Result<Conversation> {
        let loaded = self.sessions(&source.sessions)?;
        let sequence = self.sequence_state(&source.sessions)?;
        Ok(Conversation {
            source,
            version: loaded.as_ref().map(|loaded| loaded.version),
            sessions: loaded.map(|loaded| loaded.sessions),
            agreement: self.agreement(peer)?,
            standing: self.standing(peer)?,
            last_auto_reply: None,
            pending: Pending::default(),
            loaded_sequence: sequence.clone(),
            sequence,
        })
    }

    /// Saves the writes of the envelopes that were received, with the session state they left
    /// (also after a message that is not kept: its key is used up).
    fn save(&self, _peer: &PeerId, conversation: &Conversation, mut batch: WriteBatch) -> Result<()> {
        let id = &conversation.source.sessions;
        if let Some(sessions) = &conversation.sessions {
            batch.put_session(id, conversation.version, &sessions.to_bytes())?;
        }
        if conversation.sequence != conversation.loaded_sequence {
            batch.put_conversation(id, &conversation.sequence.to_bytes())?;
        }
        self.store.apply(batch)?;
        Ok(())
    }

    /// Processes one envelope. On success its writes are in `batch` and `conversation` holds the
    /// new state; on error neither changed.
    fn receive_one<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        peer: &PeerId,
        conversation: &mut Conversation,
        bytes: &[u8],
        batch: &mut WriteBatch,
    ) -> Result<Incoming> {
        let envelope = Envelope::from_bytes(bytes)?;
        let mut next = conversation.clone();
        let new_handshake = matches!(&envelope, Envelope::Prekey(first)
            if next.sessions.as_ref().is_none_or(|sessions| !sessions.has_handshake(&first.base_key())));
        let existing = next.sessions.take();
        // Sessions that had received before this message: if it is the first on its session
        // (one this device started, as a repair does), the sender's count may have restarted,
        // as on a new handshake.
        let received_before = existing.as_ref().map_or(0, SessionSet::received_count);
        if let (Envelope::Prekey(first), Some((device, _))) = (&envelope, &next.source.linked) {
            // A linked device's handshake must come with the key the device list names.
            if !first.identity_key().ct_eq(device) {
                return Err(EndpointError::UnknownDevice.into());
            }
        }
        let (mut sessions, plaintext) =
            self.decrypt_from(&next.source.sessions, existing, &mut next.pending, &envelope, batch)?;
        let content = Content::decode(&plaintext)?;
        let first_on_session = sessions.received_count() > received_before;
        let numbered = if new_handshake || first_on_session {
            next.sequence.record_first_of_session(content.sequence())
        } else {
            next.sequence.record_inbound(content.sequence())
        };
        if let Err(refused) = numbered {
            // A message this device already holds, sent again (after a session repair): the
            // same answer as for any copy of a stored message.
            if self.store.message(&content.id())?.is_some_and(|m| &m.peer == peer) {
                return Err(crate::store::StoreError::MessageExists.into());
            }
            return Err(refused);
        }
        let now = self.now();
        let preview = notification_preview(
            next.agreement.as_ref().map(SignedAgreement::terms),
            self.peer_role(),
            &content,
        );
        let mut replies = Vec::new();
        let ended = next.standing.end.is_some();
        let received = match content.category() {
            // After the end, only end notices are accepted (rule 1 of `classify_in`).
            Category::Agreement(_) | Category::Withdrawal(_) if ended => {
                Received::Refused { id: content.id(), reason: OutOfScopeReason::AgreementEnded }
            }
            Category::Agreement(agreement) => self
                .receive_agreement(peer, &sessions, &mut next, &content, agreement, plaintext, now, batch)?,
            Category::Withdrawal(proposal) => {
                self.receive_withdrawal(peer, &mut next.pending, &content, *proposal, plaintext, now, batch)?
            }
            Category::Consultation(excerpt) => {
                let agreed = self.check_excerpt(peer, &sessions.remote_identity(), excerpt)?;
                self.receive_excerpt(peer, &mut next.pending, &content, agreed, plaintext, now, batch)?
            }
            Category::SupportPlan(_) | Category::EndNotice(_) => {
                let Conversation { agreement, standing, pending, .. } = &mut next;
                self.receive_boundary(
                    peer,
                    agreement.as_ref(),
                    standing,
                    pending,
                    &content,
                    plaintext,
                    now,
                    batch,
                )?
            }
            Category::Receipt(receipt) if notices::is_control(receipt.kind) => {
                let agreement = next.agreement.as_ref();
                self.receive_control(rng, peer, &mut sessions, agreement, receipt, &mut replies, batch)?
            }
            _ => {
                let arrived = Arrived { content: &content, plaintext, now };
                self.receive_message(rng, peer, &mut sessions, &mut next, arrived, &mut replies, batch)?
            }
        };
        if let Received::Message(_) = &received {
            self.receive_correction(peer, &content, batch)?;
        }
        let (state, agreement) = (&mut next.sequence, next.agreement.as_ref());
        if let Some(notice) =
            self.notice(rng, peer, &mut sessions, state, agreement, &content, &received, batch)?
        {
            replies.push(notice);
        }
        if matches!(received, Received::Refused { .. } | Received::Expired { .. }) {
            // The message is not kept, so no older session state that could decrypt it again
            // may stay on disk, whatever the store's wipe policy.
            batch.wipe_superseded();
        }
        next.sessions = Some(sessions);
        *conversation = next;
        let preview = match received {
            Received::Message(_)
            | Received::AgreementProposed { .. }
            | Received::AgreementAccepted { .. }
            | Received::ProposalWithdrawn { .. }
            | Received::SupportPlanProposed { .. }
            | Received::SupportPlanEnded { .. }
            | Received::AgreementEnded { .. } => preview,
            _ => None,
        };
        Ok(Incoming { received, replies, preview })
    }

    /// Decrypts with a kept session, or completes a new handshake from a prekey message of a
    /// handshake no kept session belongs to; returns the sessions after the message, by the rules
    /// of [`super::sessions`].
    pub(super) fn decrypt_from(
        &self,
        peer: &PeerId,
        existing: Option<SessionSet>,
        pending: &mut Pending,
        envelope: &Envelope,
        batch: &mut WriteBatch,
    ) -> Result<(SessionSet, Zeroizing<Vec<u8>>)> {
        match (envelope, existing) {
            (Envelope::Prekey(first), existing)
                if existing.as_ref().is_none_or(|sessions| !sessions.has_handshake(&first.base_key())) =>
            {
                let keys = self.responder_prekeys(first, pending)?;
                let (session, plaintext) =
                    Session::respond(&self.identity, first, &keys.signed, keys.one_time.as_ref(), &keys.kem)?;
                pending.admit_identity(&self.store, peer, &first.identity_key())?;
                batch.put_peer_identity(peer, &first.identity_key());
                keys.record_use(first, pending, batch);
                let sessions = match existing {
                    Some(mut sessions) => {
                        sessions.add(session);
                        sessions
                    }
                    None => SessionSet::new(session),
                };
                Ok((sessions, plaintext))
            }
            (_, Some(mut sessions)) => {
                let plaintext = sessions.decrypt(envelope)?;
                Ok((sessions, plaintext))
            }
            (_, None) => Err(EndpointError::NoSession.into()),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn receive_agreement(
        &self,
        peer: &PeerId,
        sessions: &SessionSet,
        conversation: &mut Conversation,
        content: &Content,
        agreement: &UnverifiedAgreement,
        plaintext: Zeroizing<Vec<u8>>,
        now: Timestamp,
        batch: &mut WriteBatch,
    ) -> Result<Received> {
        let remote = match &conversation.source.linked {
            Some((_, person)) => *person,
            None => sessions.remote_identity(),
        };
        let (clinician, client) = self.parties(&remote);
        match (self.role, agreement.is_countersigned()) {
            (Role::Client, false) => {
                let proposal = agreement.clone().verify_proposal(&clinician, &client)?;
                let pending = &mut conversation.pending;
                let kept =
                    self.keep_inbound(peer, pending, content, Lifespan::DEFAULT, plaintext, now, batch)?;
                if let Arrival::Expired = kept {
                    return Ok(Received::Expired { id: content.id() });
                }
                Ok(Received::AgreementProposed {
                    id: content.id(),
                    terms: Box::new(proposal.terms().clone()),
                })
            }
            (Role::Clinician, true) => {
                let signed = agreement.clone().verify_signed(&clinician, &client)?;
                if let Some(current) = &conversation.agreement {
                    // The acceptance in force, sent again (a repair's resend queue): already held.
                    if current.to_bytes() == signed.to_bytes() {
                        return Err(crate::store::StoreError::MessageExists.into());
                    }
                    signed.check_replaces(current)?;
                }
                self.check_accepted_proposal(peer, &signed, now)?;
                batch.put_agreement(
                    peer,
                    StoredAgreement { version: signed.version(), bytes: signed.to_bytes().into() },
                )?;
                let version = signed.version();
                batch.audit(now, AuditEvent::AgreementSigned { peer: peer.clone(), version })?;
                conversation.agreement = Some(signed);
                Ok(Received::AgreementAccepted { version })
            }
            _ => Err(EndpointError::UnexpectedAgreement.into()),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn receive_message<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        peer: &PeerId,
        sessions: &mut SessionSet,
        conversation: &mut Conversation,
        arrived: Arrived<'_>,
        replies: &mut Vec<Vec<u8>>,
        batch: &mut WriteBatch,
    ) -> Result<Received> {
        let Arrived { content, plaintext, now } = arrived;
        let id = content.id();
        let Some(agreement) = conversation.agreement.clone() else {
            return Ok(Received::Refused { id, reason: OutOfScopeReason::NoAgreement });
        };
        // This device's own clock decides plans and caps, whatever the sender's clock said.
        let decision =
            classify_content_in(&agreement, &conversation.standing, self.peer_role(), content, now);
        if let Some(reason) = decision.refusal() {
            return Ok(Received::Refused { id, reason });
        }
        if let Category::Receipt(receipt) = content.category() {
            return Ok(Received::Receipt(receipt.clone()));
        }
        let agreed = agreement.terms().lifespan_for(content.category().kind());
        let pending = &mut conversation.pending;
        let Arrival::Keep { expires_at } =
            self.keep_inbound(peer, pending, content, agreed, plaintext, now, batch)?
        else {
            return Ok(Received::Expired { id });
        };
        if counts_against_caps(self.peer_role(), content.category().kind()) {
            conversation.standing.count(now);
            Self::put_standing(peer, &conversation.standing, batch);
        }
        if matches!(decision, Decision::OutsideHours { .. }) && self.role == Role::Clinician {
            if let Some(reply) = self.auto_reply(rng, peer, sessions, conversation, &agreement, now, batch)? {
                replies.push(reply);
            }
        }
        if agreement.terms().receipts_enabled {
            let receipt = Receipt { kind: ReceiptKind::Delivered, message_ids: vec![id] };
            let content = Content::compose(rng, &agreement, Category::Receipt(receipt), String::new(), now)?;
            replies.push(self.seal_outbound(rng, peer, sessions.current_mut(), &content, false, batch)?);
        }
        Ok(Received::Message(ReceivedMessage {
            id,
            category: content.category().clone(),
            text: Zeroizing::new(content.text().to_owned()),
            sent_at: content.sent_at(),
            received_at: now,
            expires_at,
            reply_to: content.reply_to(),
            decision,
        }))
    }

    /// Applies the expiry rule to a message that arrived at `now`, with the sender's lifespan
    /// bounded by the `agreed` one for its category, and, unless it had already expired, adds it
    /// to `batch`: stored with the lifespan applied, so that reading it starts the agreed countdown.
    ///
    /// # Errors
    /// [`crate::store::StoreError::MessageExists`] if its id is stored or taken by an earlier
    /// envelope of the batch.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn keep_inbound(
        &self,
        peer: &PeerId,
        pending: &mut Pending,
        content: &Content,
        agreed: Lifespan,
        plaintext: Zeroizing<Vec<u8>>,
        now: Timestamp,
        batch: &mut WriteBatch,
    ) -> Result<Arrival> {
        let lifespan = content.lifespan().within(agreed);
        let arrival = lifespan.on_arrival(content.sent_at(), now);
        if let Arrival::Keep { expires_at } = arrival {
            pending.claim_message(&self.store, content.id())?;
            // A message a person wrote keeps its arrival time when that is later than its place
            // in the conversation (the clinical record shows both); system messages never do.
            let place = content.sent_at().min(now);
            let kind = content.category().kind();
            let written = !kind.is_system()
                && !matches!(kind, CategoryKind::Consultation | CategoryKind::ConsultationNotice);
            let padded = if lifespan == content.lifespan() {
                plaintext
            } else {
                content.clone().with_lifespan(lifespan).encode_padded()
            };
            let body = if place < now && written {
                // The decrypted bytes behind a header: no second encoding of the content.
                let marks = super::types::MessageMarks { received_at: Some(now), ..Default::default() };
                super::record::with_marks(padded, &marks)
            } else {
                padded
            };
            batch.put_message(StoredMessage {
                id: content.id(),
                peer: peer.clone(),
                direction: Direction::Inbound,
                // Its place in the conversation: the sender's time of sending, never after its
                // arrival (PROTOCOL.md, section 12, "Order").
                at: place,
                expires_at,
                read_at: None,
                body,
            })?;
        }
        Ok(arrival)
    }

    /// The clinician's automatic answer outside hours, unless one went out within the window.
    #[allow(clippy::too_many_arguments)]
    fn auto_reply<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        peer: &PeerId,
        sessions: &mut SessionSet,
        conversation: &mut Conversation,
        agreement: &SignedAgreement,
        now: Timestamp,
        batch: &mut WriteBatch,
    ) -> Result<Option<Vec<u8>>> {
        let last_sent_at = match conversation.last_auto_reply {
            Some(last) => last,
            None => self.store.last_auto_reply(peer)?,
        };
        let mut limiter = AutoReplyLimiter { last_sent_at };
        if !limiter.try_send(agreement.terms().auto_reply_window_ms, now) {
            conversation.last_auto_reply = Some(last_sent_at);
            return Ok(None);
        }
        let text = auto_reply_text(agreement.terms());
        let content = Content::compose(rng, agreement, Category::AutoReply, text, now)?;
        conversation.pending.claim_message(&self.store, content.id())?;
        let envelope = self.seal_outbound(rng, peer, sessions.current_mut(), &content, true, batch)?;
        // The limit's own record, in the same transaction: the auto-reply message itself may
        // expire and be purged sooner than the window.
        batch.put_last_auto_reply(peer, now);
        conversation.last_auto_reply = Some(Some(now));
        Ok(Some(envelope))
    }
}

/// A decrypted message on its way through the receive path.
struct Arrived<'a> {
    content: &'a Content,
    plaintext: Zeroizing<Vec<u8>>,
    now: Timestamp,
}
