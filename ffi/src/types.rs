//! The values that cross the boundary, as plain records and enums, and their conversions from
//! and to the library's types.
//!
//! Bytes cross as bytes (`Vec<u8>`: `bytes` in Python, `ByteArray` in Kotlin, `Data` in Swift),
//! times as milliseconds since the Unix epoch (UTC), message ids as their 16 bytes. Nothing here
//! holds a secret: message text crosses because the app shows it.

use confidant::clock::Timestamp;
use confidant::content::{CategoryKind, MessageId, ReceiptKind as LibReceiptKind};
use confidant::policy::OutOfScopeReason as LibOutOfScopeReason;
use confidant::store::{Direction as LibDirection, PeerId};
use confidant::{AppointmentKind, Category as LibCategory, Decision as LibDecision};

use crate::error::ConfidantError;

/// Which side of the conversation this device's user is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Role {
    /// The therapist, counsellor or psychiatrist.
    Clinician,
    /// The person in their care.
    Client,
}

impl From<Role> for confidant::Role {
    fn from(role: Role) -> Self {
        match role {
            Role::Clinician => Self::Clinician,
            Role::Client => Self::Client,
        }
    }
}

/// What a message is about. An agreement lists which of these each side may send; crisis
/// messages are always delivered; `Agreement`, `AutoReply` and `Receipt` are sent by the library
/// itself, never as a draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum Category {
    /// A reminder of an appointment.
    AppointmentReminder,
    /// Confirming an appointment.
    AppointmentConfirm,
    /// Moving an appointment.
    AppointmentReschedule,
    /// Cancelling an appointment.
    AppointmentCancel,
    /// How to get to an appointment.
    AppointmentDirections,
    /// A brief check-in between sessions.
    CheckIn,
    /// A crisis: sent only as far as the agreement's crisis support term or a support plan
    /// allows; the crisis resources are shown at once.
    Crisis,
    /// Billing, forms, and other practice matters.
    Administrative,
    /// An agreement proposal, acceptance or withdrawal (sent by the library).
    Agreement,
    /// An automatic reply, for example outside the clinician's hours (sent by the library).
    AutoReply,
    /// A delivery or read receipt (sent by the library).
    Receipt,
    /// Coping guidance from the clinician, only inside a support plan that lists it.
    CopingGuidance,
    /// A support plan proposed, accepted or ended (sent by the library).
    SupportPlan,
    /// The end of the agreement (sent by the library).
    EndNotice,
    /// An excerpt of a client conversation shared by a colleague (sent by the library).
    Consultation,
    /// The client is told that an excerpt of their conversation was shared (sent by the library).
    ConsultationNotice,
}

impl Category {
    /// Every category, in the library's wire order.
    pub(crate) const ALL: [Category; 16] = [
        Self::AppointmentReminder,
        Self::AppointmentConfirm,
        Self::AppointmentReschedule,
        Self::AppointmentCancel,
        Self::AppointmentDirections,
        Self::CheckIn,
        Self::Crisis,
        Self::Administrative,
        Self::Agreement,
        Self::AutoReply,
        Self::Receipt,
        Self::CopingGuidance,
        Self::SupportPlan,
        Self::EndNotice,
        Self::Consultation,
        Self::ConsultationNotice,
    ];

    /// The library's kind.
    pub(crate) fn kind(self) -> CategoryKind {
        match self {
            Self::AppointmentReminder => CategoryKind::AppointmentReminder,
            Self::AppointmentConfirm => CategoryKind::AppointmentConfirm,
            Self::AppointmentReschedule => CategoryKind::AppointmentReschedule,
            Self::AppointmentCancel => CategoryKind::AppointmentCancel,
            Self::AppointmentDirections => CategoryKind::AppointmentDirections,
            Self::CheckIn => CategoryKind::CheckIn,
            Self::Crisis => CategoryKind::Crisis,
            Self::Administrative => CategoryKind::Administrative,
            Self::Agreement => CategoryKind::Agreement,
            Self::AutoReply => CategoryKind::AutoReply,
            Self::Receipt => CategoryKind::Receipt,
            Self::CopingGuidance => CategoryKind::CopingGuidance,
            Self::SupportPlan => CategoryKind::SupportPlan,
            Self::EndNotice => CategoryKind::EndNotice,
            Self::Consultation => CategoryKind::Consultation,
            Self::ConsultationNotice => CategoryKind::ConsultationNotice,
        }
    }

    /// The category of a library kind; `None` for a kind these bindings do not know.
    pub(crate) fn from_kind(kind: CategoryKind) -> Option<Self> {
        Self::ALL.into_iter().find(|category| category.kind() == kind)
    }

    /// [`Self::from_kind`], as an error for a kind these bindings do not know.
    pub(crate) fn try_from_kind(kind: CategoryKind) -> Result<Self, ConfidantError> {
        Self::from_kind(kind).ok_or_else(|| ConfidantError::Internal { reason: format!("category {kind:?}") })
    }

    /// The library category of a draft: only the kinds an app may send. The library refuses the
    /// system kinds itself; they are mapped to what it refuses (an auto-reply) so that its error
    /// is the one the app sees.
    pub(crate) fn to_draft_category(self) -> LibCategory {
        match self {
            Self::AppointmentReminder => LibCategory::Appointment(AppointmentKind::Reminder),
            Self::AppointmentConfirm => LibCategory::Appointment(AppointmentKind::Confirm),
            Self::AppointmentReschedule => LibCategory::Appointment(AppointmentKind::Reschedule),
            Self::AppointmentCancel => LibCategory::Appointment(AppointmentKind::Cancel),
            Self::AppointmentDirections => LibCategory::Appointment(AppointmentKind::Directions),
            Self::CheckIn => LibCategory::CheckIn,
            Self::Crisis => LibCategory::Crisis,
            Self::Administrative => LibCategory::Administrative,
            Self::CopingGuidance => LibCategory::CopingGuidance,
            Self::Agreement
            | Self::AutoReply
            | Self::Receipt
            | Self::SupportPlan
            | Self::EndNotice
            | Self::Consultation
            | Self::ConsultationNotice => LibCategory::AutoReply,
        }
    }
}

/// A message to send: its category, its text, and optionally the id of the message it answers.
/// (`Debug` shows the text's length, not the text.)
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct Draft {
    /// What the message is about.
    pub category: Category,
    /// The text.
    pub text: String,
    /// The 16-byte id of the message this one answers, if any.
    #[uniffi(default = None)]
    pub reply_to: Option<Vec<u8>>,
    /// Ask the recipient to confirm it read and understood the message.
    #[uniffi(default = false)]
    pub request_acknowledgement: bool,
    /// The 16-byte id of this device's earlier message to the same peer that this one corrects.
    #[uniffi(default = None)]
    pub corrects: Option<Vec<u8>>,
}

impl std::fmt::Debug for Draft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Draft")
            .field("category", &self.category)
            .field("text_len", &self.text.len())
            .field("reply_to", &self.reply_to)
            .field("request_acknowledgement", &self.request_acknowledgement)
            .field("corrects", &self.corrects)
            .finish()
    }
}

/// Why a message is outside the agreement.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum OutOfScopeReason {
    /// The agreement does not let the sender send this category.
    CategoryNotAgreed,
    /// The text is longer than allowed.
    TooLong {
        /// The maximum, in Unicode scalar values.
        max_chars: u32,
    },
    /// Receipts are not enabled by the agreement.
    ReceiptsDisabled,
    /// No agreement is in force yet.
    NoAgreement,
    /// The message was sent under another agreement version than the one in force.
    WrongAgreementVersion {
        /// Version of the agreement in force.
        current: u32,
    },
    /// A crisis message the terms do not allow now.
    CrisisNotOffered,
    /// A client message over the agreed daily or weekly cap.
    OverCap,
    /// The agreement has ended.
    AgreementEnded,
}

impl TryFrom<LibOutOfScopeReason> for OutOfScopeReason {
    type Error = ConfidantError;

    fn try_from(reason: LibOutOfScopeReason) -> Result<Self, ConfidantError> {
        use LibOutOfScopeReason as R;
        Ok(match reason {
            R::CategoryNotAgreed => Self::CategoryNotAgreed,
            R::TooLong { max_chars } => Self::TooLong { max_chars },
            R::ReceiptsDisabled => Self::ReceiptsDisabled,
            R::NoAgreement => Self::NoAgreement,
            R::WrongAgreementVersion { current } => Self::WrongAgreementVersion { current },
            R::CrisisNotOffered => Self::CrisisNotOffered,
            R::OverCap => Self::OverCap,
            R::AgreementEnded => Self::AgreementEnded,
            reason => return Err(ConfidantError::Internal { reason: format!("{reason:?}") }),
        })
    }
}

/// The agreement's decision about a message.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum Decision {
    /// Within the agreement: sent, or shown.
    Allowed,
    /// A client's message outside the clinician's hours: delivered; show the client when to
    /// expect a reply and the crisis resources at once.
    OutsideHours {
        /// When the clinician's availability next begins (ms since the Unix epoch).
        next_available_ms: u64,
        /// The agreed expected response time.
        response_time: String,
        /// The agreed crisis resources.
        crisis_resources: Vec<String>,
        /// The agreed outside-hours notice, in the clinician's words.
        notice: String,
        /// During a dated closure: the colleague or service covering, if named.
        covering: Option<String>,
    },
    /// Outside the agreement: not sent. Show the reason, what may be sent instead, and the
    /// crisis resources.
    OutOfScope {
        /// Why.
        reason: OutOfScopeReason,
        /// The categories the sender may send.
        allowed_categories: Vec<Category>,
        /// The agreed crisis resources.
        crisis_resources: Vec<String>,
    },
    /// A crisis message the terms allow: delivered; show the crisis resources at once.
    Crisis {
        /// The agreed crisis resources.
        crisis_resources: Vec<String>,
    },
    /// A crisis draft the terms do not allow now: NOT sent. Show the clinician's statement and
    /// the crisis resources at once.
    CrisisNotSent {
        /// The clinician's statement, e.g. "I don't monitor messages for emergencies".
        statement: String,
        /// The agreed crisis resources.
        crisis_resources: Vec<String>,
        /// With crisis support in office hours: when they next begin (ms since the Unix epoch).
        next_available_ms: Option<u64>,
    },
    /// A client draft over the agreed daily or weekly cap: NOT sent. Show the notice, when
    /// sending opens again, and the crisis resources.
    Capped {
        /// When the client may send again (ms since the Unix epoch).
        opens_at_ms: u64,
        /// The agreed notice, in the clinician's words.
        notice: String,
        /// The agreed crisis resources.
        crisis_resources: Vec<String>,
    },
}

impl TryFrom<LibDecision> for Decision {
    type Error = ConfidantError;

    fn try_from(decision: LibDecision) -> Result<Self, ConfidantError> {
        Ok(match decision {
            LibDecision::Allowed => Self::Allowed,
            LibDecision::OutsideHours {
                next_available,
                response_time,
                crisis_resources,
                notice,
                covering,
            } => Self::OutsideHours {
                next_available_ms: next_available.as_millis(),
                response_time,
                crisis_resources,
                notice,
                covering,
            },
            LibDecision::OutOfScope { reason, allowed_categories, crisis_resources } => Self::OutOfScope {
                reason: reason.try_into()?,
                allowed_categories: allowed_categories.into_iter().filter_map(Category::from_kind).collect(),
                crisis_resources,
            },
            LibDecision::Crisis { crisis_resources } => Self::Crisis { crisis_resources },
            LibDecision::CrisisNotSent { statement, crisis_resources, next_available } => {
                Self::CrisisNotSent {
                    statement,
                    crisis_resources,
                    next_available_ms: next_available.map(|t| t.as_millis()),
                }
            }
            LibDecision::Capped { opens_at, notice, crisis_resources } => {
                Self::Capped { opens_at_ms: opens_at.as_millis(), notice, crisis_resources }
            }
            decision => return Err(ConfidantError::Internal { reason: format!("{decision:?}") }),
        })
    }
}

/// The result of [`crate::Endpoint::send`].
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Outgoing {
    /// The agreement's decision. Out of scope: nothing was sent.
    pub decision: Decision,
    /// The envelope to hand to the transport; `None` when the message was not sent.
    pub envelope: Option<Vec<u8>>,
    /// The message's 16-byte id, when it was sent.
    pub message_id: Option<Vec<u8>>,
}

/// A message from the peer, as shown to the user.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct ReceivedMessage {
    /// The 16-byte message id (for [`crate::Endpoint::mark_read`] and replies).
    pub id: Vec<u8>,
    /// What it is about.
    pub category: Category,
    /// The text.
    pub text: String,
    /// When the sender says it sent it (the sender's clock, ms since the Unix epoch).
    pub sent_at_ms: u64,
    /// When this device received it.
    pub received_at_ms: u64,
    /// When this device will delete it, if known.
    pub expires_at_ms: Option<u64>,
    /// The id of the message it answers, if any.
    pub reply_to: Option<Vec<u8>>,
    /// This device's decision about it.
    pub decision: Decision,
}

impl std::fmt::Debug for ReceivedMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceivedMessage")
            .field("category", &self.category)
            .field("text_len", &self.text.len())
            .field("decision", &self.decision)
            .finish_non_exhaustive()
    }
}

/// What a receipt says about the messages it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ReceiptKind {
    /// The messages arrived on the peer's device.
    Delivered,
    /// The peer opened the messages.
    Read,
    /// The peer confirmed it read and understood the messages, which asked for it.
    Acknowledged,
    /// The peer's device refused or dropped the messages (the receipt's `reason` says why).
    NotDelivered,
    /// The peer recalled its messages.
    Recall,
    /// Answer to a recall: deleted before they were read.
    RecalledUnread,
    /// Answer to a recall: they had been read, and are kept marked as recalled.
    RecalledAfterRead,
}

/// The kind and, for a non-delivery notice, the reason of a library receipt kind.
fn receipt_kind(kind: LibReceiptKind) -> Result<(ReceiptKind, Option<String>), ConfidantError> {
    Ok(match kind {
        LibReceiptKind::Delivered => (ReceiptKind::Delivered, None),
        LibReceiptKind::Read => (ReceiptKind::Read, None),
        LibReceiptKind::Acknowledged => (ReceiptKind::Acknowledged, None),
        LibReceiptKind::NotDelivered(reason) => (ReceiptKind::NotDelivered, Some(reason_name(reason))),
        LibReceiptKind::Recall => (ReceiptKind::Recall, None),
        LibReceiptKind::RecalledUnread => (ReceiptKind::RecalledUnread, None),
        LibReceiptKind::RecalledAfterRead => (ReceiptKind::RecalledAfterRead, None),
        other => return Err(ConfidantError::Internal { reason: format!("{other:?}") }),
    })
}

/// A non-delivery reason as a stable snake-case name.
fn reason_name(reason: confidant::content::NotDeliveredReason) -> String {
    use confidant::content::NotDeliveredReason as R;
    match reason {
        R::CategoryNotAgreed => "category_not_agreed",
        R::TooLong => "too_long",
        R::NoAgreement => "no_agreement",
        R::WrongAgreementVersion => "wrong_agreement_version",
        R::Expired => "expired",
        _ => "refused",
    }
    .to_owned()
}

/// What an envelope from the peer turned out to be.
// Records cross the bindings by value (UniFFI has no boxed fields): the message variant is large.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum Received {
    /// A message within the agreement: stored; show it.
    Message {
        /// The message.
        message: ReceivedMessage,
    },
    /// A message that had already expired when it arrived: not stored, not shown.
    Expired {
        /// Its id.
        id: Vec<u8>,
    },
    /// A message outside the agreement (the peer's app skipped the check): not stored, not shown.
    Refused {
        /// Its id.
        id: Vec<u8>,
        /// Why.
        reason: OutOfScopeReason,
    },
    /// The clinician proposed an agreement (on the client's device): show the terms, and accept
    /// with [`crate::Endpoint::accept_agreement`] and `id`.
    AgreementProposed {
        /// The id of the message carrying the proposal.
        id: Vec<u8>,
        /// The proposed terms (the clinician's signature was verified).
        terms: crate::terms::AgreementTerms,
    },
    /// The clinician withdrew an agreement proposal (on the client's device).
    ProposalWithdrawn {
        /// The id of the message carrying the withdrawal.
        id: Vec<u8>,
        /// The id of the message carrying the withdrawn proposal.
        proposal: Vec<u8>,
    },
    /// The client accepted the agreement (on the clinician's device): it is in force.
    AgreementAccepted {
        /// The version now in force.
        version: u32,
    },
    /// A delivery or read receipt for messages this device sent.
    Receipt {
        /// What it says.
        kind: ReceiptKind,
        /// For a non-delivery notice: why (for example `wrong_agreement_version`).
        reason: Option<String>,
        /// The ids of the messages it acknowledges.
        message_ids: Vec<Vec<u8>>,
    },
    /// A copy of a message another device of this person sent to `peer`: stored as sent in that
    /// conversation.
    Synced {
        /// The conversation it belongs to.
        peer: String,
        /// The message id.
        id: Vec<u8>,
    },
    /// A copy of the agreement in force with `peer`, from this person's primary device: in
    /// force here too.
    AgreementSynced {
        /// The conversation it belongs to.
        peer: String,
        /// The version of the agreement copied.
        version: u32,
    },
}

impl TryFrom<confidant::Received> for Received {
    type Error = ConfidantError;

    fn try_from(received: confidant::Received) -> Result<Self, ConfidantError> {
        use confidant::Received as R;
        Ok(match received {
            R::Message(message) => Self::Message {
                message: ReceivedMessage {
                    id: id_bytes(message.id),
                    category: Category::try_from_kind(message.category.kind())?,
                    text: message.text.to_string(),
                    sent_at_ms: message.sent_at.as_millis(),
                    received_at_ms: message.received_at.as_millis(),
                    expires_at_ms: message.expires_at.map(Timestamp::as_millis),
                    reply_to: message.reply_to.map(id_bytes),
                    decision: message.decision.try_into()?,
                },
            },
            R::Expired { id } => Self::Expired { id: id_bytes(id) },
            R::Refused { id, reason } => Self::Refused { id: id_bytes(id), reason: reason.try_into()? },
            R::AgreementProposed { id, terms } => Self::AgreementProposed {
                id: id_bytes(id),
                terms: crate::terms::AgreementTerms::from_library(&terms),
            },
            R::ProposalWithdrawn { id, proposal } => {
                Self::ProposalWithdrawn { id: id_bytes(id), proposal: id_bytes(proposal) }
            }
            R::AgreementAccepted { version } => Self::AgreementAccepted { version },
            R::Receipt(receipt) => {
                let (kind, reason) = receipt_kind(receipt.kind)?;
                Self::Receipt {
                    kind,
                    reason,
                    message_ids: receipt.message_ids.into_iter().map(id_bytes).collect(),
                }
            }
            R::Synced { peer, id } => Self::Synced { peer: peer.as_str().to_owned(), id: id_bytes(id) },
            R::AgreementSynced { peer, version } => {
                Self::AgreementSynced { peer: peer.as_str().to_owned(), version }
            }
            received => return Err(ConfidantError::Internal { reason: format!("{received:?}") }),
        })
    }
}

/// The result of [`crate::Endpoint::receive`].
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Incoming {
    /// What arrived.
    pub received: Received,
    /// Envelopes to send back to the peer (an auto-reply, a delivery receipt), already saved.
    pub replies: Vec<Vec<u8>>,
    /// A notification text without any content, if the arrival deserves a notification.
    pub preview: Option<String>,
}

impl TryFrom<confidant::Incoming> for Incoming {
    type Error = ConfidantError;

    fn try_from(incoming: confidant::Incoming) -> Result<Self, ConfidantError> {
        Ok(Self {
            received: incoming.received.try_into()?,
            replies: incoming.replies,
            preview: incoming.preview.map(str::to_owned),
        })
    }
}

/// One envelope's result in [`crate::Endpoint::receive_batch`]: what [`crate::Endpoint::receive`]
/// would have returned or thrown for it.
// Values cross the boundary serialized, so the size of the Rust value does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum BatchItem {
    /// The envelope was received and saved.
    Received {
        /// What it was.
        incoming: Incoming,
    },
    /// The envelope was refused and changed nothing.
    Failed {
        /// Why: the error `receive` would have thrown.
        error: ConfidantError,
    },
}

impl BatchItem {
    /// The item for one envelope's result.
    pub(crate) fn from_result(result: confidant::Result<confidant::Incoming>) -> Self {
        match result.map_err(ConfidantError::from).and_then(Incoming::try_from) {
            Ok(incoming) => Self::Received { incoming },
            Err(error) => Self::Failed { error },
        }
    }
}

/// Sent or received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Direction {
    /// Received from the peer.
    Inbound,
    /// Sent to the peer.
    Outbound,
}

/// A message in the conversation history.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct HistoryEntry {
    /// The 16-byte message id.
    pub id: Vec<u8>,
    /// Sent or received.
    pub direction: Direction,
    /// What it is about.
    pub category: Category,
    /// The text (empty for agreement messages).
    pub text: String,
    /// When it was sent or received on this device (ms since the Unix epoch).
    pub at_ms: u64,
    /// When it will be deleted, if known.
    pub expires_at_ms: Option<u64>,
    /// When the user read it, for received messages.
    pub read_at_ms: Option<u64>,
    /// When the sender says it sent it (the sender's clock).
    pub sent_at_ms: u64,
    /// Its number in its sender's direction of the conversation (0: a system message).
    pub sequence: u64,
    /// Whether the sender asked for an acknowledgement.
    pub ack_requested: bool,
    /// When it was acknowledged, if it was.
    pub acknowledged_at_ms: Option<u64>,
    /// On the sender's device: why the peer's device did not deliver it, if it did not.
    pub not_delivered: Option<String>,
    /// The 16-byte id of the later message that corrects it, if any.
    pub corrected_by: Option<Vec<u8>>,
    /// The 16-byte id of the earlier message it corrects, if any.
    pub corrects: Option<Vec<u8>>,
    /// What came of a recall: `recalled`, `deleted_unread` or `recalled_after_read`.
    pub recall: Option<String>,
}

impl std::fmt::Debug for HistoryEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HistoryEntry")
            .field("direction", &self.direction)
            .field("category", &self.category)
            .field("text_len", &self.text.len())
            .finish_non_exhaustive()
    }
}

impl TryFrom<confidant::HistoryEntry> for HistoryEntry {
    type Error = ConfidantError;

    fn try_from(entry: confidant::HistoryEntry) -> Result<Self, ConfidantError> {
        Ok(Self {
            id: id_bytes(entry.id),
            direction: match entry.direction {
                LibDirection::Inbound => Direction::Inbound,
                LibDirection::Outbound => Direction::Outbound,
            },
            category: Category::try_from_kind(entry.category.kind())?,
            text: entry.text.to_string(),
            at_ms: entry.at.as_millis(),
            expires_at_ms: entry.expires_at.map(Timestamp::as_millis),
            read_at_ms: entry.read_at.map(Timestamp::as_millis),
            sent_at_ms: entry.sent_at.as_millis(),
            sequence: entry.sequence,
            ack_requested: entry.ack_requested,
            acknowledged_at_ms: entry.marks.acknowledged_at.map(Timestamp::as_millis),
            not_delivered: entry.marks.not_delivered.map(reason_name),
            corrected_by: entry.marks.corrected_by.map(id_bytes),
            corrects: entry.corrects.map(id_bytes),
            recall: entry.marks.recall.map(|state| {
                match state {
                    confidant::RecallState::Recalled => "recalled",
                    confidant::RecallState::DeletedUnread => "deleted_unread",
                    _ => "recalled_after_read",
                }
                .to_owned()
            }),
        })
    }
}

/// One item of a history page.
// Values cross the boundary serialized, so the size of the Rust value does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum HistoryItem {
    /// A message.
    Message {
        /// The message.
        entry: HistoryEntry,
    },
    /// The peer's messages numbered `first..=last` have not arrived yet.
    Gap {
        /// The first missing number.
        first: u64,
        /// The last missing number.
        last: u64,
    },
    /// The peer's messages numbered `first..=last` are known lost.
    Lost {
        /// The first lost number.
        first: u64,
        /// The last lost number.
        last: u64,
    },
    /// A stored message that cannot be read.
    Damaged {
        /// The message's 16-byte id, when known.
        id: Option<Vec<u8>>,
        /// Its place in the conversation (ms since the Unix epoch), when known.
        at_ms: Option<u64>,
    },
}

impl TryFrom<confidant::HistoryItem> for HistoryItem {
    type Error = ConfidantError;

    fn try_from(item: confidant::HistoryItem) -> Result<Self, ConfidantError> {
        use confidant::HistoryItem as I;
        Ok(match item {
            I::Message(entry) => Self::Message { entry: entry.try_into()? },
            I::Gap { first, last } => Self::Gap { first, last },
            I::Lost { first, last } => Self::Lost { first, last },
            I::Damaged { id, at, .. } => {
                Self::Damaged { id: id.map(id_bytes), at_ms: at.map(Timestamp::as_millis) }
            }
            other => return Err(ConfidantError::Internal { reason: format!("{other:?}") }),
        })
    }
}

/// One page of a conversation's history, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HistoryPage {
    /// The items, oldest first.
    pub items: Vec<HistoryItem>,
    /// Pass as `before_ms` for the page before this one; `None` on the oldest page.
    pub before_ms: Option<u64>,
}

impl TryFrom<confidant::HistoryPage> for HistoryPage {
    type Error = ConfidantError;

    fn try_from(page: confidant::HistoryPage) -> Result<Self, ConfidantError> {
        Ok(Self {
            items: page.items.into_iter().map(HistoryItem::try_from).collect::<Result<_, _>>()?,
            before_ms: page.before.map(confidant::HistoryCursor::as_millis),
        })
    }
}

/// The safety number of this device and a peer, the same on both devices: compare it in person.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SafetyNumber {
    /// The 60 digits.
    pub digits: String,
    /// The digits in twelve groups of five, for display.
    pub grouped: String,
    /// The bytes to show as a QR code; the peer passes them to [`crate::Endpoint::verify_peer`].
    pub scannable: Vec<u8>,
}

impl From<confidant::keys::SafetyNumber> for SafetyNumber {
    fn from(number: confidant::keys::SafetyNumber) -> Self {
        Self {
            digits: number.digits().to_owned(),
            grouped: number.grouped(),
            scannable: number.scannable().to_vec(),
        }
    }
}

/// What [`crate::Endpoint::rotate_prekeys`] did, and the last-resort bundle to publish.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PrekeyRotation {
    /// The current last-resort bundle (new if `rotated`): publish it in place of the old one.
    pub bundle: Vec<u8>,
    /// Whether a new last-resort pair was made.
    pub rotated: bool,
    /// How many replaced pairs past their grace period had their private keys deleted.
    pub deleted: u64,
}

impl From<confidant::PrekeyRotation> for PrekeyRotation {
    fn from(rotation: confidant::PrekeyRotation) -> Self {
        Self {
            bundle: rotation.bundle,
            rotated: rotation.rotated,
            deleted: u64::try_from(rotation.deleted).unwrap_or(u64::MAX),
        }
    }
}

/// An identity key from its 32 bytes.
pub(crate) fn identity_key(bytes: &[u8]) -> Result<confidant::keys::IdentityKey, ConfidantError> {
    let bytes =
        <[u8; 32]>::try_from(bytes).map_err(|_| ConfidantError::invalid("identity key: not 32 bytes"))?;
    confidant::keys::IdentityKey::from_bytes(&bytes)
        .map_err(|_| ConfidantError::invalid("identity key: not a public key"))
}

/// A message id's bytes.
pub(crate) fn id_bytes(id: MessageId) -> Vec<u8> {
    id.0.to_vec()
}

/// A message id from its 16 bytes.
pub(crate) fn message_id(bytes: &[u8]) -> Result<MessageId, ConfidantError> {
    <[u8; 16]>::try_from(bytes)
        .map(MessageId)
        .map_err(|_| ConfidantError::invalid("message id: not 16 bytes"))
}

/// A peer id from the app's identifier.
pub(crate) fn peer_id(peer: String) -> Result<PeerId, ConfidantError> {
    Ok(PeerId::new(peer)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_library_category_has_a_binding() {
        for kind in CategoryKind::ALL {
            assert_eq!(Category::from_kind(kind).map(Category::kind), Some(kind));
        }
    }
}
