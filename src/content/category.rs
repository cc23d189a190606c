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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ReceiptKind {
    /// The messages arrived on the recipient's device.
    Delivered,
    /// The recipient opened the messages.
    Read,
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
