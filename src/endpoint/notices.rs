//! Acknowledgements, corrections, recalls and non-delivery notices (PROTOCOL.md, section 12,
//! "Acknowledgements, corrections, recalls and notices").
//!
//! All of them travel as receipts inside the session, and all are sent whatever the agreement
//! says about ordinary receipts: an acknowledgement because the sender asked for it, a recall's
//! answer because the sender must learn what became of its message, a non-delivery notice
//! because no message may be lost silently. A notice is sent only about a message that is not a
//! receipt itself, so notices never answer notices, and at most
//! [`super::sequence::MAX_NOTICES_PER_WINDOW`] go to one peer per hour.

use rand_core::CryptoRng;

use super::error::Result;
use super::record;
use super::sequence::SequenceState;
use super::sessions::SessionSet;
use super::types::{MessageMarks, RecallState};
use super::{Endpoint, EndpointError, Received};
use crate::agreement::SignedAgreement;
use crate::clock::{Clock, Timestamp};
use crate::content::{Category, Content, MessageId, NotDeliveredReason, Receipt, ReceiptKind};
use crate::expiry::Lifespan;
use crate::policy::OutOfScopeReason;
use crate::store::{Direction, PeerId, Store, StoredMessage, WriteBatch};

/// Whether a receipt of `kind` is one of this module's, sent whatever the receipt setting.
pub(super) fn is_control(kind: ReceiptKind) -> bool {
    !matches!(kind, ReceiptKind::Delivered | ReceiptKind::Read)
}

/// The reason code a notice gives for a refusal.
fn reason_for(refusal: OutOfScopeReason) -> NotDeliveredReason {
    match refusal {
        OutOfScopeReason::CategoryNotAgreed => NotDeliveredReason::CategoryNotAgreed,
        OutOfScopeReason::TooLong { .. } => NotDeliveredReason::TooLong,
        OutOfScopeReason::NoAgreement => NotDeliveredReason::NoAgreement,
        OutOfScopeReason::WrongAgreementVersion { .. } => NotDeliveredReason::WrongAgreementVersion,
        _ => NotDeliveredReason::Refused,
    }
}

/// A user's message (not a system message): the only kind that can be acknowledged, corrected,
/// recalled or marked.
fn is_user_message(content: &Content) -> bool {
    !matches!(
        content.category(),
        Category::Agreement(_) | Category::Withdrawal(_) | Category::Receipt(_) | Category::AutoReply
    )
}

/// A system message carrying `receipt`, under `agreement` (version 0 without one).
pub(super) fn control_content<R: CryptoRng + ?Sized>(
    rng: &mut R,
    agreement: Option<&SignedAgreement>,
    receipt: Receipt,
    now: Timestamp,
) -> Result<Content> {
    let version = agreement.map_or(0, SignedAgreement::version);
    let lifespan = agreement
        .map_or(Lifespan::DEFAULT, |a| a.terms().lifespan_for(crate::content::CategoryKind::Receipt));
    Ok(Content::new(
        MessageId::random(rng),
        Category::Receipt(receipt),
        String::new(),
        now,
        lifespan,
        version,
    )?)
}

impl<S: Store, C: Clock> Endpoint<S, C> {
    /// The stored state of the conversation with `peer`.
    pub(super) fn sequence_state(&self, peer: &PeerId) -> Result<SequenceState> {
        match self.store.conversation(peer)? {
            Some(bytes) => Ok(SequenceState::from_bytes(&bytes)?),
            None => Ok(SequenceState::default()),
        }
    }

    /// The stored message `id` exchanged with `peer` in `direction`, as a user's message, with
    /// its content and marks.
    ///
    /// # Errors
    /// [`EndpointError::InvalidReference`] if there is none.
    pub(super) fn referenced(
        &self,
        peer: &PeerId,
        id: MessageId,
        direction: Direction,
    ) -> Result<(StoredMessage, Content, MessageMarks)> {
        let invalid = || EndpointError::InvalidReference;
        let message = self.store.message(&id)?.ok_or_else(invalid)?;
        if &message.peer != peer || message.direction != direction {
            return Err(invalid().into());
        }
        let (content, marks) = record::open(&message.body)?;
        if !is_user_message(&content) {
            return Err(invalid().into());
        }
        Ok((message, content, marks))
    }

    /// `message` with `marks`, for a replacing write.
    pub(super) fn remarked(message: StoredMessage, content: &Content, marks: &MessageMarks) -> StoredMessage {
        StoredMessage { body: record::seal(content, marks), ..message }
    }

    /// On the recipient's device: a correction names a stored message of the same sender, which
    /// is marked as corrected by it, in `batch`.
    ///
    /// # Errors
    /// [`EndpointError::InvalidReference`] if the original is not a stored user's message from
    /// `peer`.
    pub(super) fn receive_correction(
        &self,
        peer: &PeerId,
        content: &Content,
        batch: &mut WriteBatch,
    ) -> Result<()> {
        let Some(original) = content.corrects() else { return Ok(()) };
        let (message, original_content, mut marks) = self.referenced(peer, original, Direction::Inbound)?;
        marks.corrected_by = Some(content.id());
        batch.replace_message(Self::remarked(message, &original_content, &marks))?;
        Ok(())
    }

    /// Handles a control receipt from `peer` (an acknowledgement, a non-delivery notice, a recall
    /// or its answer); a recall's answer is sealed on `sessions` and pushed to `replies`.
    ///
    /// # Errors
    /// [`EndpointError::InvalidReference`] if it names a message it may not (module
    /// documentation); nothing of it is then in `batch`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn receive_control<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        peer: &PeerId,
        sessions: &mut SessionSet,
        agreement: Option<&SignedAgreement>,
        receipt: &Receipt,
        replies: &mut Vec<Vec<u8>>,
        batch: &mut WriteBatch,
    ) -> Result<Received> {
        let now = self.now();
        let mut writes = WriteBatch::new();
        let (mut unread, mut kept) = (Vec::new(), Vec::new());
        for &id in &receipt.message_ids {
            match receipt.kind {
                ReceiptKind::Acknowledged => {
                    let (message, content, mut marks) = self.referenced(peer, id, Direction::Outbound)?;
                    if !content.ack_requested() || marks.acknowledged_at.is_some() {
                        return Err(EndpointError::InvalidReference.into());
                    }
                    marks.acknowledged_at = Some(now);
                    writes.replace_message(Self::remarked(message, &content, &marks))?;
                }
                ReceiptKind::NotDelivered(reason) => {
                    // Messages this device keeps no copy of (acceptances, receipts) or whose copy
                    // expired are not marked; a message of the peer's is never its to refuse.
                    let Some(message) = self.store.message(&id)? else { continue };
                    if &message.peer != peer || message.direction != Direction::Outbound {
                        return Err(EndpointError::InvalidReference.into());
                    }
                    let (content, mut marks) = record::open(&message.body)?;
                    if is_user_message(&content) && marks.not_delivered.is_none() {
                        marks.not_delivered = Some(reason);
                        writes.replace_message(Self::remarked(message, &content, &marks))?;
                    }
                }
                ReceiptKind::Recall => {
                    let (message, content, mut marks) = self.referenced(peer, id, Direction::Inbound)?;
                    if marks.recall.is_some() {
                        return Err(EndpointError::InvalidReference.into());
                    }
                    if message.read_at.is_some() {
                        marks.recall = Some(RecallState::RecalledAfterRead);
                        writes.replace_message(Self::remarked(message, &content, &marks))?;
                        kept.push(id);
                    } else {
                        writes.delete_message(id).wipe_superseded();
                        unread.push(id);
                    }
                }
                ReceiptKind::RecalledUnread | ReceiptKind::RecalledAfterRead => {
                    let (message, content, mut marks) = self.referenced(peer, id, Direction::Outbound)?;
                    if marks.recall != Some(RecallState::Recalled) {
                        return Err(EndpointError::InvalidReference.into());
                    }
                    marks.recall = Some(if receipt.kind == ReceiptKind::RecalledUnread {
                        RecallState::DeletedUnread
                    } else {
                        RecallState::RecalledAfterRead
                    });
                    writes.replace_message(Self::remarked(message, &content, &marks))?;
                }
                _ => return Err(EndpointError::InvalidReference.into()),
            }
        }
        for (kind, ids) in [(ReceiptKind::RecalledUnread, unread), (ReceiptKind::RecalledAfterRead, kept)] {
            if ids.is_empty() {
                continue;
            }
            let answer = control_content(rng, agreement, Receipt { kind, message_ids: ids }, now)?;
            replies.push(self.seal_outbound(
                rng,
                peer,
                sessions.current_mut(),
                &answer,
                false,
                &mut writes,
            )?);
        }
        batch.append(writes);
        Ok(Received::Receipt(receipt.clone()))
    }

    /// A non-delivery notice for the message `content` that this device refused or dropped for
    /// `reason`, unless it is a receipt (notices never answer receipts or notices) or the limit
    /// of notices is reached.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn notice<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        peer: &PeerId,
        sessions: &mut SessionSet,
        state: &mut SequenceState,
        agreement: Option<&SignedAgreement>,
        content: &Content,
        received: &Received,
        batch: &mut WriteBatch,
    ) -> Result<Option<Vec<u8>>> {
        let reason = match received {
            Received::Refused { reason, .. } => reason_for(*reason),
            Received::Expired { .. } => NotDeliveredReason::Expired,
            _ => return Ok(None),
        };
        let now = self.now();
        if matches!(content.category(), Category::Receipt(_)) || !state.take_notice(now) {
            return Ok(None);
        }
        let notice = Receipt { kind: ReceiptKind::NotDelivered(reason), message_ids: vec![content.id()] };
        let notice = control_content(rng, agreement, notice, now)?;
        Ok(Some(self.seal_outbound(rng, peer, sessions.current_mut(), &notice, false, batch)?))
    }

    /// Confirms to `peer` that the user read and understood message `id`, which asked for it.
    /// Returns the acknowledgement's envelope, sent whatever the agreement says about receipts.
    ///
    /// # Errors
    /// [`EndpointError::InvalidReference`] if `id` is not a stored message from `peer` asking
    /// for an acknowledgement, or was acknowledged already; [`EndpointError::NoSession`]; a
    /// store error. Nothing changed on error.
    pub fn acknowledge(&self, peer: &PeerId, id: MessageId) -> Result<Vec<u8>> {
        self.with_peer(peer, |rng| {
            let (message, content, mut marks) = self.referenced(peer, id, Direction::Inbound)?;
            if !content.ack_requested() || marks.acknowledged_at.is_some() {
                return Err(EndpointError::InvalidReference.into());
            }
            let now = self.now();
            marks.acknowledged_at = Some(now);
            let mut batch = WriteBatch::new();
            batch.replace_message(Self::remarked(message, &content, &marks))?;
            let agreement = self.agreement(peer)?;
            let receipt = Receipt { kind: ReceiptKind::Acknowledged, message_ids: vec![id] };
            let ack = control_content(rng, agreement.as_ref(), receipt, now)?;
            let sessions = self.sessions(peer)?.ok_or(EndpointError::NoSession)?;
            self.send_sealed(rng, peer, sessions, &ack, false, batch)
        })
    }

    /// Recalls message `id`, sent by this device to `peer`. The recipient's device deletes it if
    /// it was not read yet, or keeps it marked as recalled if it was, and answers which; the
    /// answer marks this device's copy ([`RecallState`]). Returns the recall's envelope.
    ///
    /// # Errors
    /// [`EndpointError::InvalidReference`] if `id` is not a stored message this device sent to
    /// `peer`, or was recalled already; [`EndpointError::NoSession`]; a store error. Nothing
    /// changed on error.
    pub fn recall(&self, peer: &PeerId, id: MessageId) -> Result<Vec<u8>> {
        self.with_peer(peer, |rng| {
            let (message, content, mut marks) = self.referenced(peer, id, Direction::Outbound)?;
            if marks.recall.is_some() {
                return Err(EndpointError::InvalidReference.into());
            }
            marks.recall = Some(RecallState::Recalled);
            let mut batch = WriteBatch::new();
            batch.replace_message(Self::remarked(message, &content, &marks))?;
            let agreement = self.agreement(peer)?;
            let receipt = Receipt { kind: ReceiptKind::Recall, message_ids: vec![id] };
            let recall = control_content(rng, agreement.as_ref(), receipt, self.now())?;
            let sessions = self.sessions(peer)?.ok_or(EndpointError::NoSession)?;
            self.send_sealed(rng, peer, sessions, &recall, false, batch)
        })
    }
}

impl<S: Store, C: Clock> Endpoint<S, C> {
    /// The content of `draft`, numbered with the conversation's next sequence number and sent at
    /// `now`; the conversation's state, and
    /// the mark on the message a correction corrects, are added to `batch`.
    ///
    /// # Errors
    /// [`EndpointError::InvalidReference`] if a correction names anything but a stored user's
    /// message this device sent to `peer`; [`crate::content::ContentError`] for invalid content.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn numbered<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        peer: &PeerId,
        draft: super::Draft,
        now: Timestamp,
        lifespan: Lifespan,
        version: u32,
        batch: &mut WriteBatch,
    ) -> Result<Content> {
        let mut state = self.sequence_state(peer)?;
        let sequence = state.next_outbound();
        let id = MessageId::random(rng);
        let mut content = Content::new(id, draft.category, draft.text.to_string(), now, lifespan, version)?
            .with_sequence(sequence)?;
        if let Some(reply_to) = draft.reply_to {
            content = content.in_reply_to(reply_to);
        }
        if draft.ack_requested {
            content = content.requesting_acknowledgement()?;
        }
        if let Some(original) = draft.corrects {
            let (message, original_content, mut marks) =
                self.referenced(peer, original, Direction::Outbound)?;
            content = content.correcting(original)?;
            marks.corrected_by = Some(id);
            batch.replace_message(Self::remarked(message, &original_content, &marks))?;
        }
        batch.put_conversation(peer, &state.to_bytes())?;
        Ok(content)
    }
}
