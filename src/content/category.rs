//! What a message is about: its category, and the bodies of system messages.

use crate::agreement::{PlanMessage, SignedNotice, UnverifiedAgreement};
use crate::category::CategoryKind;
use crate::content::MessageId;

/// Which appointment matter a message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum AppointmentKind {
    /// A reminder.
    Reminder,
    /// A confirmation.
    Confirm,
    /// A request or notice to reschedule.
    Reschedule,
    /// A cancellation.
    Cancel,
    /// Directions to the place of the appointment.
    Directions,
}

/// What a receipt acknowledges.
///
/// `Delivered` and `Read` follow the agreement's receipt setting. The others are sent whatever
/// that setting, because the sender asked for them or must not lose a message silently
/// (PROTOCOL.md, section 12, "Acknowledgements, corrections, recalls and notices").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum ReceiptKind {
    /// The messages arrived on the recipient's device.
    Delivered,
    /// The recipient opened the messages.
    Read,
    /// The recipient confirms it read and understood the messages, which asked for it.
    Acknowledged,
    /// The recipient's device refused or dropped the messages: they were not delivered.
    NotDelivered(NotDeliveredReason),
    /// The sender recalls its messages.
    Recall,
    /// Answer to a recall: the messages were deleted before they were read.
    RecalledUnread,
    /// Answer to a recall: the messages had been read; they are kept, marked as recalled.
    RecalledAfterRead,
}

/// Why a receiving device did not deliver a message (a non-delivery notice's reason code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum NotDeliveredReason {
    /// The agreement does not let the sender send this category.
    CategoryNotAgreed,
    /// The text is longer than the agreement allows.
    TooLong,
    /// No agreement was in force on the receiving device.
    NoAgreement,
    /// The message was sent under another agreement version than the one in force there.
    WrongAgreementVersion,
    /// The message had expired when it arrived.
    Expired,
    /// The receiving device's rules refused it for another reason (for example, a limit).
    Refused,
}

impl NotDeliveredReason {
    /// The reason's wire code (`Receipt.reason`), never 0.
    #[must_use]
    pub fn code(self) -> u32 {
        match self {
            Self::CategoryNotAgreed => 1,
            Self::TooLong => 2,
            Self::NoAgreement => 3,
            Self::WrongAgreementVersion => 4,
            Self::Expired => 5,
            Self::Refused => 6,
        }
    }

    /// The reason a wire code stands for: an unknown non-zero code reads as
    /// [`NotDeliveredReason::Refused`]; 0 is no reason (`None`).
    #[must_use]
    pub fn from_code(code: u32) -> Option<Self> {
        Some(match code {
            0 => return None,
            1 => Self::CategoryNotAgreed,
            2 => Self::TooLong,
            3 => Self::NoAgreement,
            4 => Self::WrongAgreementVersion,
            5 => Self::Expired,
            _ => Self::Refused,
        })
    }
}

/// A receipt: which messages arrived or were read. Holds 1..=[`crate::consts::MAX_RECEIPT_IDS`] ids.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Receipt {
    /// Delivered or read.
    pub kind: ReceiptKind,
    /// The acknowledged messages.
    pub message_ids: Vec<MessageId>,
}

/// What a message is about, with the body of system messages.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum Category {
    /// An appointment matter.
    Appointment(AppointmentKind),
    /// A brief check-in between sessions.
    CheckIn,
    /// A crisis.
    Crisis,
    /// Billing, forms, and other practice matters.
    Administrative,
    /// A proposed or accepted agreement. Verify it against the expected identities before use.
    Agreement(Box<UnverifiedAgreement>),
    /// The clinician withdraws the agreement proposal sent in the message with this id: it can
    /// no longer be accepted. A message of kind [`CategoryKind::Agreement`], sent by the endpoint
    /// itself (`Endpoint::withdraw_proposal`).
    Withdrawal(MessageId),
    /// An automatic reply.
    AutoReply,
    /// A delivery or read receipt.
    Receipt(Receipt),
    /// An excerpt of a client conversation shared with a colleague (the content's text is
    /// empty: the excerpt holds the messages).
    Consultation(Box<super::consultation::Excerpt>),
    /// Tells the client that an excerpt of their conversation was shared with a colleague.
    ConsultationNotice(super::consultation::ConsultationNotice),
    /// Coping guidance from the clinician, inside a support plan that lists it.
    CopingGuidance,
    /// A support plan proposed, accepted or ended early. Verify it before use.
    SupportPlan(Box<PlanMessage>),
    /// A party ends the agreement. Verify it before use.
    EndNotice(Box<SignedNotice>),
}

impl Category {
    /// This category without its body.
    #[must_use]
    pub fn kind(&self) -> CategoryKind {
        match self {
            Self::Appointment(AppointmentKind::Reminder) => CategoryKind::AppointmentReminder,
            Self::Appointment(AppointmentKind::Confirm) => CategoryKind::AppointmentConfirm,
            Self::Appointment(AppointmentKind::Reschedule) => CategoryKind::AppointmentReschedule,
            Self::Appointment(AppointmentKind::Cancel) => CategoryKind::AppointmentCancel,
            Self::Appointment(AppointmentKind::Directions) => CategoryKind::AppointmentDirections,
            Self::CheckIn => CategoryKind::CheckIn,
            Self::Crisis => CategoryKind::Crisis,
            Self::Administrative => CategoryKind::Administrative,
            Self::Agreement(_) | Self::Withdrawal(_) => CategoryKind::Agreement,
            Self::AutoReply => CategoryKind::AutoReply,
            Self::Receipt(_) => CategoryKind::Receipt,
            Self::Consultation(_) => CategoryKind::Consultation,
            Self::ConsultationNotice(_) => CategoryKind::ConsultationNotice,
            Self::CopingGuidance => CategoryKind::CopingGuidance,
            Self::SupportPlan(_) => CategoryKind::SupportPlan,
            Self::EndNotice(_) => CategoryKind::EndNotice,
        }
    }
}
