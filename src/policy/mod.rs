//! Boundaries: whether a message fits the agreement in force.
//!
//! [`classify_in`] decides for one message, given where the agreement stands on the device
//! ([`Standing`]: support plans, caps, the end); its documentation gives the rules. Outside the
//! clinician's hours, [`AutoReplyLimiter`] spaces the auto-replies and [`auto_reply_text`] words
//! them from the terms; [`notification_preview`] says what a notification may show (nothing of
//! the message).

mod auto_reply;
mod hours;
mod preview;

pub use auto_reply::{auto_reply_text, AutoReplyLimiter};
pub use preview::{notification_preview, PREVIEW_FROM_CLIENT, PREVIEW_FROM_CLINICIAN, PREVIEW_NEUTRAL};

use crate::agreement::{CrisisSupport, Role, SignedAgreement, Standing};
use crate::category::CategoryKind;
use crate::clock::Timestamp;
use crate::consts::{CAP_DAY_MS, CAP_WEEK_MS, MAX_AUTO_REPLY_CHARS, MAX_CRISIS_CHARS};
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
    /// A crisis message the agreement (and no active support plan) allows at this time.
    CrisisNotOffered,
    /// A client message over the agreed daily or weekly cap.
    OverCap,
    /// The agreement has ended: only the end notice itself is exchanged.
    AgreementEnded,
}

/// What to do with a message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum Decision {
    /// Within the agreement: send or show it.
    Allowed,
    /// A client's message outside the clinician's hours: delivered, but the client is told when
    /// to expect a reply and shown crisis resources.
    OutsideHours {
        /// When the clinician's availability next begins (past weekly hours and closures).
        next_available: Timestamp,
        /// The agreed expected response time.
        response_time: String,
        /// The agreed crisis resources.
        crisis_resources: Vec<String>,
        /// The agreed outside-hours notice (or the library's default).
        notice: String,
        /// During a dated closure: the colleague or service covering, if the terms name one.
        covering: Option<String>,
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
    /// A crisis message the agreement or an active support plan allows: delivered; the crisis
    /// resources are shown at once.
    Crisis {
        /// The agreed crisis resources.
        crisis_resources: Vec<String>,
    },
    /// A crisis message the terms do not allow now: not sent (and, on receipt, not shown as a
    /// message). Show the clinician's statement and the crisis resources at once.
    CrisisNotSent {
        /// The clinician's statement, e.g. "I don't monitor messages for emergencies".
        statement: String,
        /// The agreed crisis resources.
        crisis_resources: Vec<String>,
        /// With crisis support in office hours: when they next begin.
        next_available: Option<Timestamp>,
    },
    /// A client message over the agreed daily or weekly cap: not sent. Show the notice, when
    /// sending opens again, and the crisis resources.
    Capped {
        /// When the client may send again.
        opens_at: Timestamp,
        /// The agreed capped notice (or the library's default).
        notice: String,
        /// The agreed crisis resources.
        crisis_resources: Vec<String>,
    },
}

impl Decision {
    /// Why the message is not sent or shown, or `None` when it is.
    #[must_use]
    pub fn refusal(&self) -> Option<OutOfScopeReason> {
        match self {
            Self::OutOfScope { reason, .. } => Some(*reason),
            Self::CrisisNotSent { .. } => Some(OutOfScopeReason::CrisisNotOffered),
            Self::Capped { .. } => Some(OutOfScopeReason::OverCap),
            Self::Allowed | Self::OutsideHours { .. } | Self::Crisis { .. } => None,
        }
    }
}

/// Classifies a message of `category` with `text_chars` Unicode scalar values, sent by `sender`
/// at `now`, under `agreement`, with nothing else standing: no support plan, nothing counted,
/// not ended. See [`classify_in`].
#[must_use]
pub fn classify(
    agreement: &SignedAgreement,
    sender: Role,
    category: CategoryKind,
    text_chars: usize,
    now: Timestamp,
) -> Decision {
    classify_in(agreement, &Standing::default(), sender, category, text_chars, now)
}

/// Classifies a message of `category` with `text_chars` Unicode scalar values, sent by `sender`
/// at `now` (the sender's clock when sending, the receiver's own clock when receiving), under
/// `agreement` as it stands on this device (`standing`).
///
/// Use it on sending and again on receiving (each device re-checks each incoming message, so a
/// modified peer cannot step outside the agreement). The active support plan is the one of the
/// agreement's version that runs at `now` and was not ended early. The rules, in order:
///
/// 1. After the agreement ended, only end notices are allowed; everything else is out of scope
///    ([`OutOfScopeReason::AgreementEnded`]).
/// 2. Agreement, support-plan and end-notice messages are allowed (the endpoint verifies them).
/// 3. Receipts are allowed when the agreement enables them; otherwise out of scope.
/// 4. Auto-replies may come from the clinician only, up to [`MAX_AUTO_REPLY_CHARS`]: never refused
///    by the agreed length or caps.
/// 5. Crisis: longer than [`MAX_CRISIS_CHARS`] is out of scope. It is allowed when the active
///    plan lists crisis for the sender (unless the crisis support term is
///    [`CrisisSupport::None`]), or when the term is [`CrisisSupport::OfficeHours`] and the
///    practice is open (weekly hours, no closure); otherwise [`Decision::CrisisNotSent`], with
///    the clinician's statement and the crisis resources.
/// 6. Coping guidance only if the active plan lists it for the sender; other categories if the
///    agreement or the active plan permits them to the sender. Otherwise out of scope.
/// 7. A text longer than the agreed maximum is out of scope (crisis: rule 5).
/// 8. A client message (crisis included) over the daily cap (rolling 24 hours) or the weekly
///    cap (rolling 7 days) of counted messages is [`Decision::Capped`], with when sending opens
///    again.
/// 9. An allowed crisis message is [`Decision::Crisis`].
/// 10. A client's message outside the clinician's availability (weekly hours or a closure) is
///     still delivered, as [`Decision::OutsideHours`], unless the active plan lists its category
///     for the client. The clinician may send at any time.
/// 11. Everything else is [`Decision::Allowed`].
#[must_use]
pub fn classify_in(
    agreement: &SignedAgreement,
    standing: &Standing,
    sender: Role,
    category: CategoryKind,
    text_chars: usize,
    now: Timestamp,
) -> Decision {
    let terms = agreement.terms();
    let refuse = |reason| out_of_scope(agreement, sender, reason);
    let longer_than = |max_chars: u32| u32::try_from(text_chars).map_or(true, |chars| chars > max_chars);
    if standing.end.is_some() {
        return match category {
            CategoryKind::EndNotice => Decision::Allowed,
            _ => refuse(OutOfScopeReason::AgreementEnded),
        };
    }
    let plan = standing.active_plan(agreement.version(), now);
    let plan_allows = |kind| plan.is_some_and(|p| p.may_send(sender).contains(&kind));
    match category {
        CategoryKind::Agreement | CategoryKind::SupportPlan | CategoryKind::EndNotice => {
            return Decision::Allowed
        }
        CategoryKind::Receipt if terms.receipts_enabled => return Decision::Allowed,
        CategoryKind::Receipt => return refuse(OutOfScopeReason::ReceiptsDisabled),
        CategoryKind::AutoReply if sender == Role::Clinician => {
            if longer_than(MAX_AUTO_REPLY_CHARS) {
                return refuse(OutOfScopeReason::TooLong { max_chars: MAX_AUTO_REPLY_CHARS });
            }
            return Decision::Allowed;
        }
        CategoryKind::Crisis if longer_than(MAX_CRISIS_CHARS) => {
            return refuse(OutOfScopeReason::TooLong { max_chars: MAX_CRISIS_CHARS })
        }
        CategoryKind::Crisis => {
            let allowed = match terms.crisis_support {
                CrisisSupport::OfficeHours => plan_allows(CategoryKind::Crisis) || terms.is_open_at(now),
                CrisisSupport::SupportPlanOnly => plan_allows(CategoryKind::Crisis),
                _ => false,
            };
            if !allowed {
                let next_available = match terms.crisis_support {
                    CrisisSupport::OfficeHours => terms.next_open(now),
                    _ => None,
                };
                return Decision::CrisisNotSent {
                    statement: terms.texts.crisis_statement().to_owned(),
                    crisis_resources: terms.crisis_resources.clone(),
                    next_available,
                };
            }
        }
        CategoryKind::ConsultationNotice if sender == Role::Clinician => return Decision::Allowed,
        CategoryKind::CopingGuidance if plan_allows(CategoryKind::CopingGuidance) => {}
        kind if kind.is_negotiable() && (terms.may_send(sender).contains(&kind) || plan_allows(kind)) => {}
        _ => return refuse(OutOfScopeReason::CategoryNotAgreed),
    }
    if category != CategoryKind::Crisis && longer_than(terms.max_message_chars) {
        return refuse(OutOfScopeReason::TooLong { max_chars: terms.max_message_chars });
    }
    if sender == Role::Client {
        if let Some(opens_at) = capped_until(agreement, standing, now) {
            return Decision::Capped {
                opens_at,
                notice: terms.texts.capped_notice().to_owned(),
                crisis_resources: terms.crisis_resources.clone(),
            };
        }
    }
    if category == CategoryKind::Crisis {
        return Decision::Crisis { crisis_resources: terms.crisis_resources.clone() };
    }
    if sender == Role::Client && !terms.is_open_at(now) && !plan_allows(category) {
        return Decision::OutsideHours {
            // Only instants past the year 9999 (or closures past the search) have no next opening.
            next_available: terms.next_open(now).unwrap_or(now),
            response_time: terms.response_time.clone(),
            crisis_resources: terms.crisis_resources.clone(),
            notice: terms.texts.outside_hours_notice().to_owned(),
            covering: terms.closure_at(now).map(|c| c.covering.clone()).filter(|c| !c.is_empty()),
        };
    }
    Decision::Allowed
}

/// When a client message at `now` would be over a cap: the time sending opens again.
fn capped_until(agreement: &SignedAgreement, standing: &Standing, now: Timestamp) -> Option<Timestamp> {
    let terms = agreement.terms();
    let over = |cap: Option<u32>, window| {
        let cap = cap?;
        let count = standing.count_within(window, now);
        (u32::try_from(count).map_or(true, |n| n >= cap)).then(|| standing.opens_at(cap, window, now))
    };
    match (over(terms.client_messages_per_day, CAP_DAY_MS), over(terms.client_messages_per_week, CAP_WEEK_MS))
    {
        (None, None) => None,
        (a, b) => a.max(b),
    }
}

/// Whether a message of `kind` from `sender` counts against the caps once sent or accepted.
#[must_use]
pub fn counts_against_caps(sender: Role, kind: CategoryKind) -> bool {
    sender == Role::Client && !kind.is_system()
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

/// Classifies `content` from `sender` at `now` with nothing standing (see [`classify_content_in`]).
#[must_use]
pub fn classify_content(
    agreement: &SignedAgreement,
    sender: Role,
    content: &Content,
    now: Timestamp,
) -> Decision {
    classify_content_in(agreement, &Standing::default(), sender, content, now)
}

/// Classifies `content` from `sender` at `now` (its send time when sending, this device's
/// receive time when receiving). Besides the rules of [`classify_in`], a message sent under
/// another agreement version than `agreement`'s is out of scope, crisis messages included (this
/// reason takes the place of any decision but another out-of-scope one); only
/// agreement messages, which carry the agreement itself, and end notices are exempt.
#[must_use]
pub fn classify_content_in(
    agreement: &SignedAgreement,
    standing: &Standing,
    sender: Role,
    content: &Content,
    now: Timestamp,
) -> Decision {
    let kind = content.category().kind();
    let decision = classify_in(agreement, standing, sender, kind, content.text_chars(), now);
    let exempt = matches!(kind, CategoryKind::Agreement | CategoryKind::EndNotice);
    let judged = !matches!(decision, Decision::OutOfScope { .. });
    if !exempt && judged && content.agreement_version() != agreement.version() {
        let reason = OutOfScopeReason::WrongAgreementVersion { current: agreement.version() };
        return out_of_scope(agreement, sender, reason);
    }
    decision
}
