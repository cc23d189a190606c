//! The terms of a communication agreement, as plain data both parties sign.

use std::collections::BTreeMap;

use super::closures::validate_closures;
use super::records::RecordTerms;
use super::{AgreementError, Availability, Closure, LocalDate};
use crate::category::CategoryKind;
use crate::clock::Timestamp;
use crate::consts::{
    DEFAULT_AUTO_REPLY_TEXT, DEFAULT_AUTO_REPLY_WINDOW_MS, DEFAULT_CAPPED_NOTICE, DEFAULT_CRISIS_STATEMENT,
    DEFAULT_OUTSIDE_HOURS_NOTICE, MAX_AUTO_REPLY_WINDOW_MS, MAX_CLOSURES, MAX_CRISIS_RESOURCES,
    MAX_CRISIS_RESOURCE_LEN, MAX_LANGUAGE_TAG_LEN, MAX_MESSAGES_CAP, MAX_MESSAGE_CHARS,
    MAX_RESPONSE_TIME_LEN, MAX_RETENTION_AFTER_END_MS, MAX_TERM_TEXT_LEN, MIN_AUTO_REPLY_WINDOW_MS,
};
use crate::expiry::Lifespan;
use crate::keys::IdentityKey;
use crate::role::Role;

/// What the clinician and the client agree about their messaging.
///
/// Validated by [`AgreementTerms::validate`] whenever terms are signed or decoded.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AgreementTerms {
    /// Version of the agreement: 1 for the first, greater than the replaced one on renegotiation.
    pub version: u32,
    /// The clinician's identity key.
    pub clinician: IdentityKey,
    /// The client's identity key.
    pub client: IdentityKey,
    /// Categories the clinician may send (negotiable kinds only; see [`CategoryKind::NEGOTIABLE`]).
    pub clinician_may_send: Vec<CategoryKind>,
    /// Categories the client may send (negotiable kinds only).
    pub client_may_send: Vec<CategoryKind>,
    /// When the clinician is available.
    pub availability: Availability,
    /// What the client is told about when to expect a reply, e.g. "within one business day".
    pub response_time: String,
    /// Crisis resources shown to the client, in display order,
    /// e.g. "Call or text 988 (Suicide & Crisis Lifeline)". At least one.
    pub crisis_resources: Vec<String>,
    /// Lifespan per category: what the sender gives messages of the category, and the longest a
    /// receiver keeps them, from the start given here ([`Lifespan::within`]). A category not
    /// listed gets [`Lifespan::DEFAULT`] from sending. Agreement messages always get
    /// [`Lifespan::DEFAULT`], whatever is listed for them.
    pub lifespans: BTreeMap<CategoryKind, Lifespan>,
    /// Longest message text, in Unicode scalar values (`1..=MAX_MESSAGE_CHARS`).
    pub max_message_chars: u32,
    /// Whether delivery and read receipts are sent.
    pub receipts_enabled: bool,
    /// At most one auto-reply per conversation per this many milliseconds.
    pub auto_reply_window_ms: u64,
    /// Record copies, export and consultation ([`RecordTerms`]); absent from older agreements,
    /// which read as the defaults.
    #[serde(default)]
    pub records: RecordTerms,
    /// When a client may send a crisis message. Default: never by message.
    pub crisis_support: CrisisSupport,
    /// The texts the library shows on its own, in the clinician's words.
    pub texts: TermTexts,
    /// Most client messages per rolling 24 hours (`None`: no cap).
    pub client_messages_per_day: Option<u32>,
    /// Most client messages per rolling 7 days (`None`: no cap).
    pub client_messages_per_week: Option<u32>,
    /// What happens to the stored conversation after the agreement ends.
    pub after_end: AfterEnd,
    /// Dated closures (holidays, leave), in the availability's time zone.
    pub closures: Vec<Closure>,
    /// The date the agreement takes effect, as on a consent form (informational).
    pub effective_date: Option<LocalDate>,
    /// The date the parties agreed to review the agreement (informational).
    pub review_date: Option<LocalDate>,
    /// The risk disclosure the client accepted, in the clinician's words (may be empty).
    pub risk_disclosure: String,
    /// Whether notifications may name the clinician or a client; by default they say only
    /// "New message".
    pub named_notifications: bool,
}

/// When a client may send a crisis message (a term; PROTOCOL.md 10.2.4).
///
/// Whatever the term, an active support plan that lists crisis for the sender allows it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum CrisisSupport {
    /// The clinician offers no crisis support by message: a crisis draft is not sent; the app
    /// shows the crisis resources and the clinician's statement at once. Plans may not list
    /// crisis either.
    #[default]
    None,
    /// Crisis messages within office hours (and closures) only.
    OfficeHours,
    /// Crisis messages only under an active support plan that lists them.
    SupportPlanOnly,
}

impl CrisisSupport {
    /// The protobuf number.
    #[must_use]
    pub fn to_wire(self) -> i32 {
        match self {
            Self::None => 0,
            Self::OfficeHours => 1,
            Self::SupportPlanOnly => 2,
        }
    }

    /// The term a protobuf number stands for, if any.
    #[must_use]
    pub fn from_wire(value: i32) -> Option<Self> {
        [Self::None, Self::OfficeHours, Self::SupportPlanOnly].into_iter().find(|c| c.to_wire() == value)
    }
}

/// What happens to the stored conversation after the agreement ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum AfterEnd {
    /// Each message is kept until it expires, as before the end.
    #[default]
    KeepUntilExpiry,
    /// Every message of the conversation is purged this many milliseconds after the end (or
    /// sooner, when it expires).
    RetainFor {
        /// Milliseconds after the end, `1..=MAX_RETENTION_AFTER_END_MS`.
        ms: u64,
    },
}

/// The texts the library shows on its own. An empty text stands for the library's default
/// (the `DEFAULT_…` constants in [`crate::consts`]); each is at most [`MAX_TERM_TEXT_LEN`] bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TermTexts {
    /// Shown with a crisis draft that is not sent, e.g. "I don't monitor messages for emergencies".
    pub crisis_statement: String,
    /// The auto-reply outside hours; the crisis resources follow it.
    pub auto_reply: String,
    /// Shown to the client with a message sent outside hours.
    pub outside_hours_notice: String,
    /// Shown with a draft held back by a cap.
    pub capped_notice: String,
    /// The BCP 47 language tag of these texts (e.g. "fr-CA"), or empty.
    pub language: String,
}

impl TermTexts {
    /// The crisis statement, or [`DEFAULT_CRISIS_STATEMENT`].
    #[must_use]
    pub fn crisis_statement(&self) -> &str {
        or_default(&self.crisis_statement, DEFAULT_CRISIS_STATEMENT)
    }

    /// The auto-reply text, or [`DEFAULT_AUTO_REPLY_TEXT`].
    #[must_use]
    pub fn auto_reply(&self) -> &str {
        or_default(&self.auto_reply, DEFAULT_AUTO_REPLY_TEXT)
    }

    /// The outside-hours notice, or [`DEFAULT_OUTSIDE_HOURS_NOTICE`].
    #[must_use]
    pub fn outside_hours_notice(&self) -> &str {
        or_default(&self.outside_hours_notice, DEFAULT_OUTSIDE_HOURS_NOTICE)
    }

    /// The capped notice, or [`DEFAULT_CAPPED_NOTICE`].
    #[must_use]
    pub fn capped_notice(&self) -> &str {
        or_default(&self.capped_notice, DEFAULT_CAPPED_NOTICE)
    }

    fn validate(&self) -> Result<(), AgreementError> {
        let texts =
            [&self.crisis_statement, &self.auto_reply, &self.outside_hours_notice, &self.capped_notice];
        if texts.iter().any(|t| t.len() > MAX_TERM_TEXT_LEN) {
            return Err(AgreementError::InvalidTerms("texts"));
        }
        let tag_ok = self.language.len() <= MAX_LANGUAGE_TAG_LEN
            && self.language.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !tag_ok {
            return Err(AgreementError::InvalidTerms("language"));
        }
        Ok(())
    }
}

fn or_default<'a>(text: &'a str, default: &'a str) -> &'a str {
    if text.is_empty() {
        default
    } else {
        text
    }
}

impl AgreementTerms {
    /// Terms with the usual defaults: appointment matters both ways, administrative matters from
    /// the clinician, a [`DEFAULT_AUTO_REPLY_WINDOW_MS`] auto-reply window, receipts off, messages
    /// of at most 1000 characters, and no per-category lifespans.
    #[must_use]
    pub fn new(
        version: u32,
        clinician: IdentityKey,
        client: IdentityKey,
        availability: Availability,
        response_time: String,
        crisis_resources: Vec<String>,
    ) -> Self {
        let appointments = vec![
            CategoryKind::AppointmentReminder,
            CategoryKind::AppointmentConfirm,
            CategoryKind::AppointmentReschedule,
            CategoryKind::AppointmentCancel,
            CategoryKind::AppointmentDirections,
        ];
        let mut clinician_may_send = appointments.clone();
        clinician_may_send.push(CategoryKind::Administrative);
        Self {
            version,
            clinician,
            client,
            clinician_may_send,
            client_may_send: appointments,
            availability,
            response_time,
            crisis_resources,
            lifespans: BTreeMap::new(),
            max_message_chars: 1000,
            receipts_enabled: false,
            auto_reply_window_ms: DEFAULT_AUTO_REPLY_WINDOW_MS,
            records: RecordTerms::default(),
            crisis_support: CrisisSupport::None,
            texts: TermTexts::default(),
            client_messages_per_day: None,
            client_messages_per_week: None,
            after_end: AfterEnd::KeepUntilExpiry,
            closures: Vec::new(),
            effective_date: None,
            review_date: None,
            risk_disclosure: String::new(),
            named_notifications: false,
        }
    }

    /// Checks every rule of the terms and puts the category lists in ascending order.
    ///
    /// # Errors
    /// [`AgreementError::InvalidTerms`] naming the first field that breaks a rule;
    /// [`AgreementError::SameIdentity`] if clinician and client are the same key.
    pub fn validate(&mut self) -> Result<(), AgreementError> {
        if self.version == 0 {
            return Err(AgreementError::InvalidTerms("version"));
        }
        if self.clinician.ct_eq(&self.client) {
            return Err(AgreementError::SameIdentity);
        }
        normalize_categories(&mut self.clinician_may_send, "clinician categories")?;
        normalize_categories(&mut self.client_may_send, "client categories")?;
        if self.response_time.is_empty() || self.response_time.len() > MAX_RESPONSE_TIME_LEN {
            return Err(AgreementError::InvalidTerms("response time"));
        }
        if self.crisis_resources.is_empty()
            || self.crisis_resources.len() > MAX_CRISIS_RESOURCES
            || self
                .crisis_resources
                .iter()
                .any(|line| line.is_empty() || line.len() > MAX_CRISIS_RESOURCE_LEN)
        {
            return Err(AgreementError::InvalidTerms("crisis resources"));
        }
        if self.max_message_chars == 0 || self.max_message_chars > MAX_MESSAGE_CHARS {
            return Err(AgreementError::InvalidTerms("max message length"));
        }
        if !(MIN_AUTO_REPLY_WINDOW_MS..=MAX_AUTO_REPLY_WINDOW_MS).contains(&self.auto_reply_window_ms) {
            return Err(AgreementError::InvalidTerms("auto-reply window"));
        }
        self.records.validate()?;
        self.texts.validate()?;
        let cap_ok = |cap: Option<u32>| cap.is_none_or(|n| (1..=MAX_MESSAGES_CAP).contains(&n));
        if !cap_ok(self.client_messages_per_day) || !cap_ok(self.client_messages_per_week) {
            return Err(AgreementError::InvalidTerms("message caps"));
        }
        if let AfterEnd::RetainFor { ms } = self.after_end {
            if !(1..=MAX_RETENTION_AFTER_END_MS).contains(&ms) {
                return Err(AgreementError::InvalidTerms("retention after end"));
            }
        }
        validate_closures(&mut self.closures, MAX_CLOSURES)?;
        if let (Some(effective), Some(review)) = (self.effective_date, self.review_date) {
            if review < effective {
                return Err(AgreementError::InvalidTerms("review date"));
            }
        }
        if self.risk_disclosure.len() > MAX_TERM_TEXT_LEN {
            return Err(AgreementError::InvalidTerms("risk disclosure"));
        }
        Ok(())
    }

    /// Whether the practice is open at `now`: inside a weekly window and on no closed day.
    #[must_use]
    pub fn is_open_at(&self, now: Timestamp) -> bool {
        self.availability.is_open_at(now) && self.closure_at(now).is_none()
    }

    /// The closure covering the local day of `now`, if any.
    #[must_use]
    pub fn closure_at(&self, now: Timestamp) -> Option<&Closure> {
        let today = LocalDate::of(now, self.availability.time_zone())?;
        self.closures.iter().find(|c| c.covers(today))
    }

    /// The first instant at or after `now` when the practice is open: inside a weekly window and
    /// on no closed day. `None` past the calendar's end, or if no window opens within the
    /// closures and the search horizon.
    #[must_use]
    pub fn next_open(&self, now: Timestamp) -> Option<Timestamp> {
        let tz = self.availability.time_zone();
        let mut at = now;
        // Each round either finds an open instant or skips past one closure.
        for _ in 0..=self.closures.len() {
            let candidate = self.availability.next_open(at)?;
            match self.closure_at(candidate) {
                None => return Some(candidate),
                Some(closure) => at = closure.last_day.end_in(tz)?.max(candidate),
            }
        }
        None
    }

    /// The categories `role` may send under these terms (negotiable kinds; crisis and system
    /// messages follow fixed rules).
    #[must_use]
    pub fn may_send(&self, role: Role) -> &[CategoryKind] {
        match role {
            Role::Clinician => &self.clinician_may_send,
            Role::Client => &self.client_may_send,
        }
    }

    /// The lifespan of messages of `kind`: the agreed one, or [`Lifespan::DEFAULT`] from sending.
    #[must_use]
    pub fn lifespan_for(&self, kind: CategoryKind) -> Lifespan {
        self.lifespans.get(&kind).copied().unwrap_or(Lifespan::DEFAULT)
    }

    /// The identity key of `role`.
    #[must_use]
    pub fn identity(&self, role: Role) -> &IdentityKey {
        match role {
            Role::Clinician => &self.clinician,
            Role::Client => &self.client,
        }
    }
}

fn normalize_categories(kinds: &mut Vec<CategoryKind>, field: &'static str) -> Result<(), AgreementError> {
    if kinds.iter().any(|kind| !kind.is_negotiable()) {
        return Err(AgreementError::InvalidTerms(field));
    }
    kinds.sort();
    let before = kinds.len();
    kinds.dedup();
    if kinds.len() != before {
        return Err(AgreementError::InvalidTerms(field));
    }
    Ok(())
}
