//! Conversations as records: a FHIR R4 `Bundle` of `Communication` resources for the clinical
//! record or the client's own copy ([`fhir`]), and a plain transcript a person can read
//! ([`transcript`]). PROTOCOL.md, section 15, states the exact mapping and the code system.
//!
//! This module only formats: the endpoint chooses the messages, checks that they have not
//! expired, and records the export in the audit trail.

pub mod fhir;
mod json;
pub mod transcript;

use zeroize::Zeroizing;

use crate::category::CategoryKind;
use crate::clock::Timestamp;
use crate::content::MessageId;

/// Which messages of a conversation to export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every message that has not expired, except agreement messages and receipts (which carry
    /// no text).
    All,
    /// These messages, in conversation order; each must be in the conversation and not expired.
    Messages(Vec<MessageId>),
}

/// What `Endpoint::share_excerpt` gives the app to deliver (PROTOCOL.md, section 15.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsultationShare {
    /// The excerpt, for the colleague.
    pub envelope: Vec<u8>,
    /// The notice, for the client, if their terms ask that they be told.
    pub notice: Option<Vec<u8>>,
    /// The excerpt message's id.
    pub id: MessageId,
}

/// The text of the notice the client receives.
pub const NOTICE_TEXT: &str =
    "Your clinician shared an excerpt of our conversation with a colleague for consultation.";

/// One party of an exported conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    /// How the device knows the party: its own local id, or the peer id.
    pub id: String,
    /// Whether the party is the clinician (a FHIR `Practitioner`) or the client (a `Patient`).
    pub role: crate::role::Role,
}

/// One message to export.
#[derive(Clone, PartialEq, Eq)]
pub struct RecordMessage {
    /// The message id.
    pub id: MessageId,
    /// Who sent it.
    pub sender: Party,
    /// Who it went to.
    pub recipient: Party,
    /// When it was sent, by the sender's clock.
    pub sent_at: Timestamp,
    /// When it arrived on the recipient's device, if this device is the recipient.
    pub received_at: Option<Timestamp>,
    /// Its category.
    pub category: CategoryKind,
    /// Its text. Zeroized on drop.
    pub text: Zeroizing<String>,
    /// The version of the agreement in force when it was sent (0: none).
    pub agreement_version: u32,
    /// The message it replies to, if any.
    pub reply_to: Option<MessageId>,
    /// The message it corrects, if any (a corrected message is exported as its own
    /// `Communication`, and the correction points to it).
    pub corrects: Option<MessageId>,
}

impl std::fmt::Debug for RecordMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordMessage")
            .field("id", &self.id)
            .field("category", &self.category)
            .field("text_len", &self.text.len())
            .field("sent_at", &self.sent_at)
            .finish_non_exhaustive()
    }
}

/// The code of `kind` in the confidant message-category code system: the kebab-case form of its
/// name (`AppointmentReminder` → `appointment-reminder`).
#[must_use]
pub fn category_code(kind: CategoryKind) -> String {
    let name = format!("{kind:?}");
    let mut code = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                code.push('-');
            }
            code.push(c.to_ascii_lowercase());
        } else {
            code.push(c);
        }
    }
    code
}

/// The display text of `kind`: its code with spaces, first letter upper case (`Appointment
/// reminder`).
#[must_use]
pub fn category_display(kind: CategoryKind) -> String {
    let code = category_code(kind).replace('-', " ");
    let mut chars = code.chars();
    chars.next().map(|first| first.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}

/// `t` as an RFC 3339 UTC time with milliseconds (`2026-03-02T15:00:00.000Z`), or `None` if it
/// is out of the calendar's range.
pub(crate) fn rfc3339(t: Timestamp) -> Option<String> {
    let ms = i64::try_from(t.as_millis()).ok()?;
    let ts = jiff::Timestamp::from_millisecond(ms).ok()?;
    Some(ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
}

/// The message id as lower-case hex.
pub(crate) fn hex_id(id: &MessageId) -> String {
    id.0.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_kebab_case_and_distinct() {
        assert_eq!(category_code(CategoryKind::AppointmentReminder), "appointment-reminder");
        assert_eq!(category_code(CategoryKind::CheckIn), "check-in");
        assert_eq!(category_display(CategoryKind::AutoReply), "Auto reply");
        let mut codes: Vec<String> = CategoryKind::ALL.iter().map(|k| category_code(*k)).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), CategoryKind::ALL.len());
    }

    #[test]
    fn times_are_rfc3339_with_milliseconds() {
        assert_eq!(rfc3339(Timestamp(1_772_463_600_007)).as_deref(), Some("2026-03-02T15:00:00.007Z"));
        assert_eq!(rfc3339(Timestamp(u64::MAX)), None);
    }
}
