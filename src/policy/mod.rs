//! Boundaries: whether a message fits the agreement in force.
//!
//! [`classify`] decides for one message; its documentation gives the rules. Outside the
//! clinician's hours, [`AutoReplyLimiter`] spaces the auto-replies; [`notification_preview`] says
//! what a notification may show (nothing of the message).

mod auto_reply;
mod hours;
mod preview;

pub use auto_reply::AutoReplyLimiter;
pub use preview::{notification_preview, PREVIEW_FROM_CLIENT, PREVIEW_FROM_CLINICIAN};

use crate::agreement::{Role, SignedAgreement};
use crate::category::CategoryKind;
use crate::clock::Timestamp;
use crate::consts::MAX_CRISIS_CHARS;
use crate::content::Content;

/// Why a message is out of scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum OutOfScopeReason {
    /// The agreement does not let the sender send this category.
    CategoryNotAgreed,
    /// The text is longer than allowed: than the agreement allows, or, for a crisis message,
    /// than [`MAX_CRISIS_CHARS`].
    TooLong {
        /// The maximum, in Unicode scalar values.
        max_chars: u32,
    },
    /// Receipts are not enabled by the agreement.
    ReceiptsDisabled,
    /// No agreement is in force yet; only the agreement itself may be exchanged.
    NoAgreement,
    /// The message was sent under another agreement version than the one in force.
    WrongAgreementVersion {
        /// Version of the agreement in force.
        current: u32,
    },
}

/// What to do with a message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Decision {
    /// Within the agreement: send or show it.
    Allowed,
    /// A client's message outside the clinician's hours: delivered, but the client is told when
    /// to expect a reply and shown crisis resources.
    OutsideHours {
        /// When the clinician's availability next begins.
        next_available: Timestamp,
        /// The agreed expected response time.
        response_time: String,
        /// The agreed crisis resources.
        crisis_resources: Vec<String>,
    },
    /// Outside the agreement: not sent (and, on receipt, not shown as a normal message).
    OutOfScope {
        /// Why.
        reason: OutOfScopeReason,
        /// What the sender may send instead: the categories the agreement lets it send. Crisis is
        /// not offered as a way around a refusal (a message is not a crisis because it was
        /// refused); the crisis resources are shown instead.
        allowed_categories: Vec<CategoryKind>,
        /// The agreed crisis resources, to show with the refusal.
        crisis_resources: Vec<String>,
    },
    /// A crisis message: delivered at any hour, whatever the agreed categories; the crisis
    /// resources are shown at once.
    Crisis {
        /// The agreed crisis resources.
        crisis_resources: Vec<String>,
    },
}

/// Classifies a message of `category` with `text_chars` Unicode scalar values, sent by `sender`
/// at `now`, under `agreement`.
///
/// Use it on sending and again on receiving (the clinician's device
/// re-checks each incoming message, so a modified client cannot step outside the agreement). The
/// rules, in order:
///
/// 1. Crisis messages are delivered at any hour, whatever the agreed categories:
///    [`Decision::Crisis`], with the crisis resources; a text longer than [`MAX_CRISIS_CHARS`] is
///    out of scope.
/// 2. Agreement messages are always allowed (proposals and acceptances, from either side).
/// 3. Receipts are allowed when the agreement enables them; otherwise out of scope.
/// 4. Auto-replies may come from the clinician only; other categories only if the agreement
///    permits them to the sender. Otherwise out of scope.
/// 5. A text longer than the agreed maximum (in Unicode scalar values) is out of scope.
/// 6. A client's message outside the clinician's availability is still delivered, as
///    [`Decision::OutsideHours`]: the client is told when to expect a reply and shown the crisis
///    resources. The clinician may send at any time.
/// 7. Everything else is [`Decision::Allowed`].
///
/// A refusal lists the categories the sender may send instead and carries the crisis resources;
/// it does not offer crisis as another way to send the same text.
#[must_use]
pub fn classify(
    agreement: &SignedAgreement,
    sender: Role,
    category: CategoryKind,
    text_chars: usize,
    now: Timestamp,
) -> Decision {
    let terms = agreement.terms();
    let refuse = |reason| out_of_scope(agreement, sender, reason);
    let longer_than = |max_chars: u32| u32::try_from(text_chars).map_or(true, |chars| chars > max_chars);
    match category {
        CategoryKind::Crisis if longer_than(MAX_CRISIS_CHARS) => {
            return refuse(OutOfScopeReason::TooLong { max_chars: MAX_CRISIS_CHARS })
        }
        CategoryKind::Crisis => return Decision::Crisis { crisis_resources: terms.crisis_resources.clone() },
        CategoryKind::Agreement => return Decision::Allowed,
        CategoryKind::ConsultationNotice if sender == Role::Clinician => return Decision::Allowed,
        CategoryKind::Receipt if terms.receipts_enabled => return Decision::Allowed,
        CategoryKind::Receipt => return refuse(OutOfScopeReason::ReceiptsDisabled),
        CategoryKind::AutoReply if sender == Role::Clinician => {}
        kind if kind.is_negotiable() && terms.may_send(sender).contains(&kind) => {}
        _ => return refuse(OutOfScopeReason::CategoryNotAgreed),
    }
    if longer_than(terms.max_message_chars) {
        return refuse(OutOfScopeReason::TooLong { max_chars: terms.max_message_chars });
    }
    if sender == Role::Client && !terms.availability.is_open_at(now) {
        return Decision::OutsideHours {
            // Only instants past the year 9999 have no next opening.
            next_available: terms.availability.next_open(now).unwrap_or(now),
            response_time: terms.response_time.clone(),
            crisis_resources: terms.crisis_resources.clone(),
        };
    }
    Decision::Allowed
}

/// A refusal for `reason`: what `sender` may send instead, and the crisis resources.
fn out_of_scope(agreement: &SignedAgreement, sender: Role, reason: OutOfScopeReason) -> Decision {
    let terms = agreement.terms();
    Decision::OutOfScope {
        reason,
        allowed_categories: terms.may_send(sender).to_vec(),
        crisis_resources: terms.crisis_resources.clone(),
    }
}

/// Classifies `content` from `sender` at `now` (its send time when sending, the receive time when
/// receiving). Besides the rules of [`classify`], a message sent under another agreement version
/// than `agreement`'s is out of scope, crisis messages included; only agreement messages, which
/// carry the agreement itself, are exempt.
#[must_use]
pub fn classify_content(
    agreement: &SignedAgreement,
    sender: Role,
    content: &Content,
    now: Timestamp,
) -> Decision {
    let kind = content.category().kind();
    let decision = classify(agreement, sender, kind, content.text_chars(), now);
    if kind != CategoryKind::Agreement && content.agreement_version() != agreement.version() {
        if let Decision::Allowed | Decision::OutsideHours { .. } | Decision::Crisis { .. } = decision {
            let reason = OutOfScopeReason::WrongAgreementVersion { current: agreement.version() };
            return out_of_scope(agreement, sender, reason);
        }
    }
    decision
}
