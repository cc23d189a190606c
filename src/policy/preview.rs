//! Notification text that reveals nothing of the message.
//!
//! Push notifications show on lock screens and pass through the platform's servers, so their text
//! says nothing of what was written: no text, no category, no sender name. By default it does not
//! even say who wrote ([`PREVIEW_NEUTRAL`]); only when the agreement's `named_notifications` term
//! allows it does it say whether a clinician or a client wrote.

use crate::agreement::{AgreementTerms, Role};
use crate::content::{Category, Content};

/// Notification text by default: names neither a clinician nor therapy.
pub const PREVIEW_NEUTRAL: &str = "New message";

/// Notification text for a message from a clinician.
pub const PREVIEW_FROM_CLINICIAN: &str = "New message from your clinician";
/// Notification text for a message from a client.
pub const PREVIEW_FROM_CLIENT: &str = "New message from a client";

/// The push-notification text for `content` sent by `sender` under `terms` (`None`: no
/// agreement yet), or `None` for messages that notify no one (receipts). The text is
/// [`PREVIEW_NEUTRAL`] unless the terms allow named notifications; then [`PREVIEW_FROM_CLINICIAN`]
/// or [`PREVIEW_FROM_CLIENT`]. It carries nothing of the message.
#[must_use]
pub fn notification_preview(
    terms: Option<&AgreementTerms>,
    sender: Role,
    content: &Content,
) -> Option<&'static str> {
    match content.category() {
        Category::Receipt(_) => None,
        _ if !terms.is_some_and(|t| t.named_notifications) => Some(PREVIEW_NEUTRAL),
        _ => Some(match sender {
            Role::Clinician => PREVIEW_FROM_CLINICIAN,
            Role::Client => PREVIEW_FROM_CLIENT,
        }),
    }
}
