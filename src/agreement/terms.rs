//! The terms of a communication agreement, as plain data both parties sign.

use std::collections::BTreeMap;

use super::records::RecordTerms;
use super::{AgreementError, Availability};
use crate::category::CategoryKind;
use crate::consts::{
    DEFAULT_AUTO_REPLY_WINDOW_MS, MAX_AUTO_REPLY_WINDOW_MS, MAX_CRISIS_RESOURCES, MAX_CRISIS_RESOURCE_LEN,
    MAX_MESSAGE_CHARS, MAX_RESPONSE_TIME_LEN, MIN_AUTO_REPLY_WINDOW_MS,
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
        Ok(())
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
