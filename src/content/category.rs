//! What a message is about: its category, and the bodies of system messages.

use crate::agreement::UnverifiedAgreement;
use crate::content::MessageId;

/// A category without its body: what agreements permit and policy checks.
///
/// The wire number of each kind ([`CategoryKind::to_wire`]) is the same in message content and in
/// agreements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum CategoryKind {
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
    /// A crisis: always delivered, and crisis resources are shown at once.
    Crisis,
    /// Billing, forms, and other practice matters.
    Administrative,
    /// A system message carrying a proposed or accepted agreement.
    Agreement,
    /// A system message sent automatically, for example outside the clinician's hours.
    AutoReply,
    /// A system message acknowledging delivery or reading of messages.
    Receipt,
}

impl CategoryKind {
    /// Every kind, in wire-number order.
    pub const ALL: [CategoryKind; 11] = [
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
    ];

    /// The kinds an agreement may list as permitted for a party. Crisis and system messages are
    /// governed by fixed rules instead (see [`crate::classify`]).
    pub const NEGOTIABLE: [CategoryKind; 7] = [
        Self::AppointmentReminder,
        Self::AppointmentConfirm,
        Self::AppointmentReschedule,
        Self::AppointmentCancel,
        Self::AppointmentDirections,
        Self::CheckIn,
        Self::Administrative,
    ];

    /// The number that stands for this kind in protobuf encodings (1..=11).
    #[must_use]
    pub fn to_wire(self) -> i32 {
        match self {
            Self::AppointmentReminder => 1,
            Self::AppointmentConfirm => 2,
            Self::AppointmentReschedule => 3,
            Self::AppointmentCancel => 4,
            Self::AppointmentDirections => 5,
            Self::CheckIn => 6,
            Self::Crisis => 7,
            Self::Administrative => 8,
            Self::Agreement => 9,
            Self::AutoReply => 10,
            Self::Receipt => 11,
        }
    }

    /// The kind a protobuf number stands for, if any.
    #[must_use]
    pub fn from_wire(value: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.to_wire() == value)
    }

    /// Whether an agreement may list this kind as permitted.
    #[must_use]
    pub fn is_negotiable(self) -> bool {
        Self::NEGOTIABLE.contains(&self)
    }
}

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
    /// An automatic reply.
    AutoReply,
    /// A delivery or read receipt.
    Receipt(Receipt),
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
            Self::Agreement(_) => CategoryKind::Agreement,
            Self::AutoReply => CategoryKind::AutoReply,
            Self::Receipt(_) => CategoryKind::Receipt,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_numbers_round_trip_and_are_distinct() {
        for kind in CategoryKind::ALL {
            assert_eq!(CategoryKind::from_wire(kind.to_wire()), Some(kind));
        }
        assert_eq!(CategoryKind::from_wire(0), None);
        assert_eq!(CategoryKind::from_wire(12), None);
        let mut numbers: Vec<i32> = CategoryKind::ALL.iter().map(|k| k.to_wire()).collect();
        numbers.dedup();
        assert_eq!(numbers.len(), CategoryKind::ALL.len());
    }
}
