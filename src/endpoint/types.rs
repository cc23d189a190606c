//! What the endpoint hands to the app: outgoing envelopes, received events, history entries.

use zeroize::Zeroizing;

use crate::agreement::AgreementTerms;
use crate::clock::Timestamp;
use crate::content::{Category, Receipt};
use crate::policy::{Decision, OutOfScopeReason};
use crate::store::{Direction, MessageId};

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
    /// The client's signed record terms do not permit this kind of consultation (identified or
    /// de-identified), or a received excerpt does not prove that they do.
    #[error("the client's terms do not permit this consultation")]
    ConsultationNotPermitted,
}

/// A message to send: its category and text, and optionally the message it answers.
#[derive(Clone)]
pub struct Draft {
    pub(crate) category: Category,
    pub(crate) text: Zeroizing<String>,
    pub(crate) reply_to: Option<MessageId>,
}

impl Draft {
    /// A message of `category` with `text`.
    #[must_use]
    pub fn new(category: Category, text: impl Into<String>) -> Self {
        Self { category, text: Zeroizing::new(text.into()), reply_to: None }
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
