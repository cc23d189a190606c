//! The canonical encoding of agreement terms: the exact bytes both parties sign.
//!
//! Terms are encoded as protobuf `confidant.agreement.Terms` the way prost writes them: fields in
//! field-number order, default values omitted, repeated scalars packed. Category lists and
//! lifespans are in ascending wire-number order and windows in (day, start, end) order; crisis
//! resources keep their display order; closures are in ascending date order, dates written
//! `YYYY-MM-DD`. Absent boundaries fields (13..=26) read as their defaults, so agreements written
//! before those fields existed decode as terms with the safe defaults. A decoder re-encodes what it read and refuses the input
//! unless the bytes are identical, so every set of terms has exactly one encoding.

use std::collections::BTreeMap;

use prost::Message;

use super::records::RecordTerms;
use super::{
    AfterEnd, AgreementError, AgreementTerms, Availability, Closure, CrisisSupport, LocalDate, TermTexts,
    Weekday, Window,
};
use crate::category::{expiry_start_from_wire, expiry_start_to_wire, CategoryKind};
use crate::expiry::Lifespan;
use crate::keys::IdentityKey;

#[allow(unreachable_pub, missing_docs, clippy::all, clippy::pedantic)]
pub(super) mod proto {
    include!(concat!(env!("OUT_DIR"), "/confidant.agreement.rs"));
}

/// The shared enums, where the generated code above looks for them (`super::common`).
use crate::category::proto as common;

/// The canonical bytes of `terms`, which must already be validated (category lists sorted).
pub(super) fn encode_terms(terms: &AgreementTerms) -> Vec<u8> {
    let kinds = |list: &[CategoryKind]| list.iter().map(|kind| kind.to_wire()).collect();
    let message = proto::Terms {
        version: terms.version,
        clinician_identity: terms.clinician.to_bytes().to_vec(),
        client_identity: terms.client.to_bytes().to_vec(),
        clinician_may_send: kinds(&terms.clinician_may_send),
        client_may_send: kinds(&terms.client_may_send),
        availability: Some(proto::Availability {
            time_zone: terms.availability.time_zone_name().to_owned(),
            windows: terms
                .availability
                .windows()
                .iter()
                .map(|w| proto::Window {
                    day: w.day.to_wire(),
                    start_minute: u32::from(w.start_minute),
                    end_minute: u32::from(w.end_minute),
                })
                .collect(),
        }),
        response_time: terms.response_time.clone(),
        crisis_resources: terms.crisis_resources.clone(),
        lifespans: terms
            .lifespans
            .iter()
            .map(|(kind, lifespan)| proto::DefaultLifespan {
                category: kind.to_wire(),
                duration_ms: lifespan.duration_ms(),
                start: expiry_start_to_wire(lifespan.start()),
            })
            .collect(),
        max_message_chars: terms.max_message_chars,
        receipts_enabled: terms.receipts_enabled,
        auto_reply_window_ms: terms.auto_reply_window_ms,
        records: terms.records.to_wire(),
        crisis_support: terms.crisis_support.to_wire(),
        crisis_statement: terms.texts.crisis_statement.clone(),
        auto_reply_text: terms.texts.auto_reply.clone(),
        outside_hours_notice: terms.texts.outside_hours_notice.clone(),
        capped_notice: terms.texts.capped_notice.clone(),
        language: terms.texts.language.clone(),
        client_messages_per_day: terms.client_messages_per_day.unwrap_or(0),
        client_messages_per_week: terms.client_messages_per_week.unwrap_or(0),
        retention_after_end_ms: match terms.after_end {
            AfterEnd::KeepUntilExpiry => 0,
            AfterEnd::RetainFor { ms } => ms,
        },
        closures: terms
            .closures
            .iter()
            .map(|c| proto::Closure {
                first_day: c.first_day.to_string(),
                last_day: c.last_day.to_string(),
                covering: c.covering.clone(),
            })
            .collect(),
        effective_date: terms.effective_date.map(|d| d.to_string()).unwrap_or_default(),
        review_date: terms.review_date.map(|d| d.to_string()).unwrap_or_default(),
        risk_disclosure: terms.risk_disclosure.clone(),
        named_notifications: terms.named_notifications,
    };
    message.encode_to_vec()
}

/// Reads canonical terms: protobuf decode, every field into its domain type, the rules of
/// [`AgreementTerms::validate`], and finally the re-encoding must equal `bytes`.
///
/// # Errors
/// [`AgreementError::Malformed`], [`AgreementError::InvalidTerms`], [`AgreementError::SameIdentity`]
/// or [`AgreementError::NonCanonical`].
pub(super) fn decode_terms(bytes: &[u8]) -> Result<AgreementTerms, AgreementError> {
    let message = proto::Terms::decode(bytes).map_err(|_| AgreementError::Malformed)?;
    let identity =
        |raw: &[u8], field| IdentityKey::from_slice(raw).map_err(|_| AgreementError::InvalidTerms(field));
    let kinds = |raw: &[i32], field| {
        raw.iter()
            .map(|&n| CategoryKind::from_wire(n).ok_or(AgreementError::InvalidTerms(field)))
            .collect::<Result<Vec<_>, _>>()
    };
    let availability = message.availability.ok_or(AgreementError::InvalidTerms("availability"))?;
    let windows = availability
        .windows
        .iter()
        .map(|w| {
            let minute =
                |m: u32| u16::try_from(m).map_err(|_| AgreementError::InvalidTerms("availability window"));
            Ok(Window {
                day: Weekday::from_wire(w.day).ok_or(AgreementError::InvalidTerms("availability window"))?,
                start_minute: minute(w.start_minute)?,
                end_minute: minute(w.end_minute)?,
            })
        })
        .collect::<Result<Vec<_>, AgreementError>>()?;
    let mut lifespans = BTreeMap::new();
    for entry in &message.lifespans {
        let kind =
            CategoryKind::from_wire(entry.category).ok_or(AgreementError::InvalidTerms("lifespans"))?;
        let start = expiry_start_from_wire(entry.start).ok_or(AgreementError::InvalidTerms("lifespans"))?;
        let lifespan =
            Lifespan::new(entry.duration_ms, start).map_err(|_| AgreementError::InvalidTerms("lifespans"))?;
        if lifespans.insert(kind, lifespan).is_some() {
            return Err(AgreementError::InvalidTerms("lifespans"));
        }
    }
    let date = |text: &str, field| match text {
        "" => Ok(None),
        text => LocalDate::parse(text, field).map(Some),
    };
    let closures = message
        .closures
        .iter()
        .map(|c| {
            Ok(Closure {
                first_day: LocalDate::parse(&c.first_day, "closure")?,
                last_day: LocalDate::parse(&c.last_day, "closure")?,
                covering: c.covering.clone(),
            })
        })
        .collect::<Result<Vec<_>, AgreementError>>()?;
    let cap = |n: u32| (n != 0).then_some(n);
    let mut terms = AgreementTerms {
        version: message.version,
        clinician: identity(&message.clinician_identity, "clinician identity")?,
        client: identity(&message.client_identity, "client identity")?,
        clinician_may_send: kinds(&message.clinician_may_send, "clinician categories")?,
        client_may_send: kinds(&message.client_may_send, "client categories")?,
        availability: Availability::new(&availability.time_zone, windows)?,
        response_time: message.response_time,
        crisis_resources: message.crisis_resources,
        lifespans,
        max_message_chars: message.max_message_chars,
        receipts_enabled: message.receipts_enabled,
        auto_reply_window_ms: message.auto_reply_window_ms,
        records: RecordTerms::from_wire(message.records)?,
        crisis_support: CrisisSupport::from_wire(message.crisis_support)
            .ok_or(AgreementError::InvalidTerms("crisis support"))?,
        texts: TermTexts {
            crisis_statement: message.crisis_statement,
            auto_reply: message.auto_reply_text,
            outside_hours_notice: message.outside_hours_notice,
            capped_notice: message.capped_notice,
            language: message.language,
        },
        client_messages_per_day: cap(message.client_messages_per_day),
        client_messages_per_week: cap(message.client_messages_per_week),
        after_end: match message.retention_after_end_ms {
            0 => AfterEnd::KeepUntilExpiry,
            ms => AfterEnd::RetainFor { ms },
        },
        closures,
        effective_date: date(&message.effective_date, "effective date")?,
        review_date: date(&message.review_date, "review date")?,
        risk_disclosure: message.risk_disclosure,
        named_notifications: message.named_notifications,
    };
    terms.validate()?;
    if encode_terms(&terms) != bytes {
        return Err(AgreementError::NonCanonical);
    }
    Ok(terms)
}

/// Reads a protobuf message of at most `max` bytes that must be in its canonical encoding (the
/// bytes a signature covers are the bytes the message encodes to).
///
/// # Errors
/// [`AgreementError::TooLarge`], [`AgreementError::Malformed`] or [`AgreementError::NonCanonical`].
pub(super) fn decode_canonical<M: Message + Default>(bytes: &[u8], max: usize) -> Result<M, AgreementError> {
    if bytes.len() > max {
        return Err(AgreementError::TooLarge);
    }
    let message = M::decode(bytes).map_err(|_| AgreementError::Malformed)?;
    if message.encode_to_vec() != bytes {
        return Err(AgreementError::NonCanonical);
    }
    Ok(message)
}
