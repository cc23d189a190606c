//! The canonical encoding of agreement terms: the exact bytes both parties sign.
//!
//! Terms are encoded as protobuf `confidant.agreement.Terms` the way prost writes them: fields in
//! field-number order, default values omitted, repeated scalars packed. Category lists and
//! lifespans are in ascending wire-number order and windows in (day, start, end) order; crisis
//! resources keep their display order. A decoder re-encodes what it read and refuses the input
//! unless the bytes are identical, so every set of terms has exactly one encoding.

use std::collections::BTreeMap;

use prost::Message;

use super::records::RecordTerms;
use super::{AgreementError, AgreementTerms, Availability, Weekday, Window};
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
    };
    terms.validate()?;
    if encode_terms(&terms) != bytes {
        return Err(AgreementError::NonCanonical);
    }
    Ok(terms)
}
