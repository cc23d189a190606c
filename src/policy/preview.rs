//! Notification text that reveals nothing of the message.
//!
//! Push notifications show on lock screens and pass through the platform's servers, so their text
//! names only who wrote, never what: no text, no category, no sender name.

use crate::agreement::Role;
use crate::content::{Category, Content};

/// Notification text for a message from a clinician.
pub const PREVIEW_FROM_CLINICIAN: &str = "New message from your clinician";
/// Notification text for a message from a client.
pub const PREVIEW_FROM_CLIENT: &str = "New message from a client";

/// The push-notification text for `content` sent by `sender`, or `None` for messages that notify
/// no one (receipts). The text is one of the fixed [`PREVIEW_FROM_CLINICIAN`] and
/// [`PREVIEW_FROM_CLIENT`] and carries nothing of the message.
#[must_use]
pub fn notification_preview(sender: Role, content: &Content) -> Option<&'static str> {
    match content.category() {
        Category::Receipt(_) => None,
        _ => Some(match sender {
            Role::Clinician => PREVIEW_FROM_CLINICIAN,
            Role::Client => PREVIEW_FROM_CLIENT,
        }),
    }
}
