//! What the endpoint hands to the app: outgoing envelopes, received events, history entries.

use zeroize::Zeroizing;

use crate::agreement::{AgreementTerms, Role, SupportPlan};
use crate::clock::Timestamp;
use crate::content::{Category, NotDeliveredReason, Receipt};
use crate::policy::{Decision, OutOfScopeReason};
use crate::store::{Direction, MessageId, RecordRef};

/// Why the endpoint refused an operation.
#[derive(Debug, thiserror::Error, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndpointError {
    /// There is no session with this peer yet: start one from the peer's prekey bundle.
    #[error("no session with this peer")]
    NoSession,
    /// No agreement is in force with this peer, and the message needs one.
    #[error("no agreement in force with this peer")]
    NoAgreement,
    /// The operation belongs to the other role (for example, a client proposing an agreement).
    #[error("this operation is for the other role")]
    WrongRole,
    /// The message named is not a pending agreement proposal.
    #[error("not a pending agreement proposal")]
    NotAProposal,
    /// The agreement proposal has expired: it can no longer be accepted (on the client's
    /// device), and an acceptance of it is not put in force (on the clinician's). Nothing
    /// changed.
    #[error("the agreement proposal has expired")]
    ProposalExpired,
    /// The clinician withdrew the agreement proposal: it can no longer be accepted (on the
    /// client's device), and an acceptance of it is not put in force (on the clinician's).
    /// Nothing changed.
    #[error("the agreement proposal was withdrawn")]
    ProposalWithdrawn,
    /// The clinician proposed a newer agreement (a greater version) since this proposal: only the
    /// newest open proposal can be accepted (on the client's device) or put in force (on the
    /// clinician's). Nothing changed.
    #[error("a newer agreement proposal replaced this one")]
    ProposalSuperseded,
    /// There is no open agreement proposal to withdraw. Nothing was sent.
    #[error("no open agreement proposal")]
    NoOpenProposal,
    /// The message has expired: it is gone, even if the store has not purged it yet, and cannot
    /// be marked as read. Nothing changed.
    #[error("the message has expired")]
    MessageExpired,
    /// The peer sent an agreement message that does not fit the flow (for example, a client
    /// sending a proposal).
    #[error("unexpected agreement message")]
    UnexpectedAgreement,
    /// The peer's first message names a prekey this device does not hold (already used, or never
    /// published).
    #[error("the message names an unknown prekey")]
    UnknownPrekey,
    /// The agreement with this peer has ended: nothing but end notices is sent or accepted.
    #[error("the agreement has ended")]
    AgreementEnded,
    /// No support plan runs now with this peer.
    #[error("no support plan runs now")]
    NoActivePlan,
    /// The operating system's random generator failed, so no key, nonce or message id could be
    /// drawn. Nothing was sent or saved; the operation can be tried again.
    #[error("the operating system's random generator failed")]
    Randomness,
    /// No colleague relation is signed with this peer, or its terms do not verify.
    #[error("no colleague relation with this peer")]
    NoColleague,
    /// A repair request that does not verify: a bad signature, a bundle that is not the
    /// requester's, a request for another device, or a time too far ahead. Nothing changed.
    #[error("invalid repair request")]
    InvalidRepairRequest,
    /// The sessions with this peer were repaired less than
    /// [`crate::consts::MIN_REPAIR_INTERVAL_MS`] ago, or the request is not newer than the last
    /// one accepted (a replay). Nothing changed.
    #[error("repair refused: too soon after the last one")]
    RepairTooSoon,
    /// The operation needs the person's identity key, which only the primary device holds
    /// (signing agreements, plans, notices, colleague terms and device lists, linking a
    /// device). Nothing changed.
    #[error("only the primary device can do this")]
    NotPrimary,
    /// A device that already has conversations or belongs to a person with other devices
    /// cannot be linked. Nothing changed.
    #[error("this device cannot be linked")]
    AlreadyLinked,
    /// No link offer or request is open on this device. Nothing changed.
    #[error("no link in progress")]
    NoLinkOffer,
    /// The device is not in the person's device list as stored here, or a handshake came with
    /// another key than the device's. Nothing changed.
    #[error("unknown device")]
    UnknownDevice,
    /// A device list whose version is not newer than the one stored (a replay of an old list).
    /// Nothing changed.
    #[error("device list is not newer than the stored one")]
    StaleDeviceList,
    /// The client's signed record terms do not permit this kind of consultation (identified or
    /// de-identified), or a received excerpt does not prove that they do.
    #[error("the client's terms do not permit this consultation")]
    ConsultationNotPermitted,
    /// The peer's message carries a sequence number already received (or known lost), or one
    /// too far above the highest received ([`crate::consts::MAX_SKIP`]): a modified sender.
    /// Nothing changed.
    #[error("the message's sequence number is a duplicate or out of range")]
    BadSequence,
    /// A correction, recall or acknowledgement names a message it may not: one that is not
    /// stored, belongs to the other party, is a system message, or (for an acknowledgement) did
    /// not ask for one or was acknowledged already. Nothing changed.
    #[error("the message named cannot be corrected, recalled or acknowledged here")]
    InvalidReference,
}

/// A message to send: its category and text, and optionally the message it answers.
#[derive(Clone)]
pub struct Draft {
    pub(crate) category: Category,
    pub(crate) text: Zeroizing<String>,
    pub(crate) reply_to: Option<MessageId>,
    pub(crate) ack_requested: bool,
    pub(crate) corrects: Option<MessageId>,
}

impl Draft {
    /// A message of `category` with `text`.
    #[must_use]
    pub fn new(category: Category, text: impl Into<String>) -> Self {
        Self {
            category,
            text: Zeroizing::new(text.into()),
            reply_to: None,
            ack_requested: false,
            corrects: None,
        }
    }

    /// The same message, asking the recipient to confirm that it read and understood it
    /// (`Endpoint::acknowledge` on the recipient's device). The acknowledgement comes back
    /// whatever the agreement says about receipts.
    #[must_use]
    pub fn request_acknowledgement(mut self) -> Self {
        self.ack_requested = true;
        self
    }

    /// The same message, as a correction of `original`, a message this device sent to the same
    /// peer. Both stay in the history on both devices: the original marked as corrected, the
    /// correction linked to it.
    #[must_use]
    pub fn correcting(mut self, original: MessageId) -> Self {
        self.corrects = Some(original);
        self
    }

    /// The same message, as a reply to `message`.
    #[must_use]
    pub fn reply_to(mut self, message: MessageId) -> Self {
        self.reply_to = Some(message);
        self
    }

    /// The category.
    #[must_use]
    pub fn category(&self) -> &Category {
        &self.category
    }

    /// The text.
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl std::fmt::Debug for Draft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Draft")
            .field("category", &self.category.kind())
            .field("text_len", &self.text.len())
            .field("reply_to", &self.reply_to)
            .field("ack_requested", &self.ack_requested)
            .field("corrects", &self.corrects)
            .finish()
    }
}

/// The result of [`super::Endpoint::send`].
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The boundary decision. For [`Decision::OutsideHours`] and [`Decision::Crisis`], show the
    /// sender what it carries (when to expect a reply, the crisis resources) at once.
    pub decision: Decision,
    /// The envelope to hand to the transport; `None` when the message is out of scope and was not
    /// sent.
    pub envelope: Option<Vec<u8>>,
    /// The message's id, when it was sent.
    pub message_id: Option<MessageId>,
}

/// A message the peer sent, as shown to the user.
#[derive(Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// The message id.
    pub id: MessageId,
    /// Its category.
    pub category: Category,
    /// Its text. Zeroized on drop.
    pub text: Zeroizing<String>,
    /// When the sender says it sent it (the sender's clock).
    pub sent_at: Timestamp,
    /// When this device received it.
    pub received_at: Timestamp,
    /// When this device will delete it (for a lifespan from reading: the unread cap, until read).
    pub expires_at: Option<Timestamp>,
    /// The message it answers, if any.
    pub reply_to: Option<MessageId>,
    /// This device's boundary decision for it.
    pub decision: Decision,
}

impl std::fmt::Debug for ReceivedMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceivedMessage")
            .field("id", &self.id)
            .field("category", &self.category.kind())
            .field("text_len", &self.text.len())
            .field("sent_at", &self.sent_at)
            .field("expires_at", &self.expires_at)
            .field("decision", &self.decision)
            .finish_non_exhaustive()
    }
}

/// What an envelope from the peer turned out to be.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
// One value per envelope, returned and matched at once, never held in bulk: a box for the
// message would cost an allocation per receive and buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Received {
    /// A message within the agreement (possibly outside hours, or a crisis): stored and shown.
    Message(ReceivedMessage),
    /// A message that had already expired when it arrived: not stored, not shown.
    Expired {
        /// The message id.
        id: MessageId,
    },
    /// A message outside the agreement: not stored, not shown (the peer's app skipped the check).
    Refused {
        /// The message id.
        id: MessageId,
        /// Why.
        reason: OutOfScopeReason,
    },
    /// The clinician proposed an agreement (client side): show the terms and call
    /// [`super::Endpoint::accept_agreement`] with `id` to accept.
    AgreementProposed {
        /// The id of the message carrying the proposal.
        id: MessageId,
        /// The proposed terms (the clinician's signature was verified).
        terms: Box<AgreementTerms>,
    },
    /// The clinician withdrew an agreement proposal (client side): it can no longer be accepted.
    ProposalWithdrawn {
        /// The id of the message carrying the withdrawal.
        id: MessageId,
        /// The id of the message carrying the withdrawn proposal.
        proposal: MessageId,
    },
    /// The client accepted the agreement (clinician side): it is in force from now on.
    AgreementAccepted {
        /// Version of the agreement now in force.
        version: u32,
    },
    /// A delivery or read receipt for messages this device sent.
    Receipt(Receipt),
    /// The clinician proposed a support plan (client side): show it and call
    /// [`super::Endpoint::accept_support_plan`] with `id` to accept.
    SupportPlanProposed {
        /// The id of the message carrying the proposal.
        id: MessageId,
        /// The plan (the clinician's signature was verified).
        plan: Box<SupportPlan>,
    },
    /// The client accepted a support plan (clinician side): it runs between its start and end.
    SupportPlanAccepted {
        /// The id of the message carrying the acceptance.
        id: MessageId,
        /// The plan (both signatures were verified).
        plan: Box<SupportPlan>,
    },
    /// The peer ended a support plan early: both sides are back to the base terms.
    SupportPlanEnded {
        /// The id of the message carrying the notice.
        id: MessageId,
        /// The plan's number.
        number: u32,
        /// Who ended it.
        by: Role,
    },
    /// The peer ended the agreement: nothing else is sent or accepted from now on.
    AgreementEnded {
        /// The id of the message carrying the end notice.
        id: MessageId,
        /// Who ended it.
        by: Role,
    },
    /// A copy of a message another device of this person sent to `peer`
    /// ([`super::Endpoint::receive_from`]): stored as sent in that conversation.
    Synced {
        /// The conversation it belongs to.
        peer: crate::store::PeerId,
        /// The message id.
        id: MessageId,
    },
    /// A copy of the agreement in force with `peer`, from the primary device
    /// ([`super::Endpoint::sync_agreements`]): in force on this device too (unless one of the
    /// same or a greater version already was).
    AgreementSynced {
        /// The conversation it belongs to.
        peer: crate::store::PeerId,
        /// The version of the agreement copied.
        version: u32,
    },
}

/// The result of [`super::Endpoint::receive`].
#[derive(Debug, Clone)]
pub struct Incoming {
    /// What arrived.
    pub received: Received,
    /// Envelopes to send back to the peer (an auto-reply, a delivery receipt), already saved.
    pub replies: Vec<Vec<u8>>,
    /// A notification text without any content, if the arrival deserves a notification.
    pub preview: Option<&'static str>,
}

/// A message in the conversation history.
#[derive(Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The message id.
    pub id: MessageId,
    /// Sent or received.
    pub direction: Direction,
    /// Its category.
    pub category: Category,
    /// Its text. Zeroized on drop.
    pub text: Zeroizing<String>,
    /// When it was sent or received on this device.
    pub at: Timestamp,
    /// When it will be deleted, if known.
    pub expires_at: Option<Timestamp>,
    /// When the user read it, for received messages.
    pub read_at: Option<Timestamp>,
    /// When the sender says it sent it (the sender's clock).
    pub sent_at: Timestamp,
    /// Its sequence number in its sender's direction (0: unnumbered, as system messages).
    pub sequence: u64,
    /// Whether the sender asked for an acknowledgement.
    pub ack_requested: bool,
    /// What happened to it since: acknowledged, not delivered, corrected, recalled.
    pub marks: MessageMarks,
    /// The earlier message of the same sender that this one corrects, if any.
    pub corrects: Option<MessageId>,
}

/// What happened to a message after it was sent or received.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MessageMarks {
    /// When it was acknowledged: on the sender's device, when the acknowledgement arrived; on the
    /// recipient's, when the user acknowledged it.
    pub acknowledged_at: Option<Timestamp>,
    /// On the sender's device: the recipient's device did not deliver it, and why.
    pub not_delivered: Option<NotDeliveredReason>,
    /// A later message of the same sender corrects it.
    pub corrected_by: Option<MessageId>,
    /// It was recalled, and what came of it.
    pub recall: Option<RecallState>,
    /// On the recipient's device: when it arrived, if that was later than its place in the
    /// conversation (the sender's time of sending); `None` when it arrived at that time. On a
    /// device of the sender's person other than the one that sent it: when its sync copy
    /// arrived ([`super::Received::Synced`]).
    pub received_at: Option<Timestamp>,
}

/// What came of a recall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RecallState {
    /// On the sender's device: recalled, no answer yet.
    Recalled,
    /// On the sender's device: the recipient's device deleted it before it was read.
    DeletedUnread,
    /// On both devices: it had been read when the recall arrived, so it was kept and marked.
    RecalledAfterRead,
}

/// One item of a conversation's history, in the order of [`super::Endpoint::history_page`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HistoryItem {
    /// A message.
    Message(HistoryEntry),
    /// Messages of the peer numbered `first..=last` have not arrived yet: they were sent before
    /// the message that follows this item. Shown until they arrive or are known lost.
    Gap {
        /// The first missing sequence number.
        first: u64,
        /// The last missing sequence number.
        last: u64,
    },
    /// Messages of the peer numbered `first..=last` are known lost: they will not be accepted
    /// any more (PROTOCOL.md, section 12, "Order").
    Lost {
        /// The first lost sequence number.
        first: u64,
        /// The last lost sequence number.
        last: u64,
    },
    /// A stored message that cannot be read: its record does not authenticate or decode.
    Damaged {
        /// The record, as the store names it.
        record: Option<RecordRef>,
        /// The message's id, when the record opened but its content did not decode.
        id: Option<MessageId>,
        /// Its place in the conversation, if known.
        at: Option<Timestamp>,
    },
}

/// Where a history page ends: pass it to [`super::Endpoint::history_page`] for the page before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HistoryCursor(pub(crate) Timestamp);

impl HistoryCursor {
    /// The cursor's place in the conversation (milliseconds since the epoch): for bindings that
    /// pass it through as a number.
    #[must_use]
    pub fn as_millis(self) -> u64 {
        self.0 .0
    }

    /// A cursor from [`Self::as_millis`].
    #[must_use]
    pub fn from_millis(millis: u64) -> Self {
        Self(Timestamp(millis))
    }
}

/// One page of a conversation's history.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HistoryPage {
    /// The items, oldest first.
    pub items: Vec<HistoryItem>,
    /// The cursor of the page before this one; `None` if this is the oldest.
    pub before: Option<HistoryCursor>,
}

impl std::fmt::Debug for HistoryEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HistoryEntry")
            .field("id", &self.id)
            .field("direction", &self.direction)
            .field("category", &self.category.kind())
            .field("text_len", &self.text.len())
            .field("at", &self.at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}
