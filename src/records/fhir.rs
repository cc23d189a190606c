//! A conversation as a FHIR R4 `Bundle` (type `collection`) of `Communication` resources, in
//! typed serde structs of the few elements used (PROTOCOL.md, section 15, gives the mapping).

use serde::Serialize;
use zeroize::Zeroizing;

use super::{category_code, category_display, hex_id, rfc3339, Party, RecordMessage};
use crate::clock::Timestamp;
use crate::content::MessageId;
use crate::role::Role;

/// The code system of message categories (PROTOCOL.md, section 15).
pub const CATEGORY_SYSTEM: &str = "urn:confidant:fhir:message-category";
/// The identifier system of message ids: 32 lower-case hex digits.
pub const MESSAGE_ID_SYSTEM: &str = "urn:confidant:fhir:message-id";
/// The identifier system of parties: the peer id or local id the device knows them by.
pub const PARTY_ID_SYSTEM: &str = "urn:confidant:fhir:party-id";
/// The extension that holds the agreement version in force (`valueUnsignedInt`).
pub const AGREEMENT_VERSION_EXTENSION: &str = "urn:confidant:fhir:agreement-version";
/// The extension that points a correction to the message it corrects (`valueReference`).
pub const CORRECTS_EXTENSION: &str = "urn:confidant:fhir:corrects";

/// Why an export could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// A time is outside the calendar's range.
    #[error("a time is out of range")]
    TimeOutOfRange,
    /// The JSON could not be written.
    #[error("the JSON could not be written")]
    Json,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Bundle {
    resource_type: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    timestamp: String,
    entry: Vec<Entry>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    full_url: String,
    resource: Communication,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Communication {
    resource_type: &'static str,
    id: String,
    extension: Vec<Extension>,
    identifier: Vec<Identifier>,
    status: &'static str,
    category: Vec<CodeableConcept>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    in_response_to: Vec<Reference>,
    subject: Reference,
    sent: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    received: Option<String>,
    recipient: Vec<Reference>,
    sender: Reference,
    payload: Vec<Payload>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Extension {
    url: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_unsigned_int: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_reference: Option<Reference>,
}

#[derive(Serialize, Clone)]
struct Identifier {
    system: &'static str,
    value: String,
}

#[derive(Serialize)]
struct CodeableConcept {
    coding: Vec<Coding>,
    text: String,
}

#[derive(Serialize)]
struct Coding {
    system: &'static str,
    code: String,
    display: String,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "camelCase")]
struct Reference {
    #[serde(skip_serializing_if = "Option::is_none")]
    reference: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    identifier: Option<Identifier>,
    #[serde(skip_serializing_if = "Option::is_none")]
    display: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    content_string: Zeroizing<String>,
}

/// `urn:uuid:` and the message id in the 8-4-4-4-12 form: the entry's `fullUrl`.
fn full_url(id: &MessageId) -> String {
    let hex = hex_id(id);
    let part = |range: std::ops::Range<usize>| hex.get(range).unwrap_or_default();
    format!("urn:uuid:{}-{}-{}-{}-{}", part(0..8), part(8..12), part(12..16), part(16..20), part(20..32))
}

fn party(party: &Party) -> Reference {
    let kind = match party.role {
        Role::Clinician => "Practitioner",
        Role::Client => "Patient",
    };
    Reference {
        reference: None,
        kind: Some(kind),
        identifier: Some(Identifier { system: PARTY_ID_SYSTEM, value: party.id.clone() }),
        display: Some(party.id.clone()),
    }
}

/// A reference to message `id`: to its entry if it is in the bundle, by identifier otherwise.
fn message_reference(id: &MessageId, in_bundle: bool) -> Reference {
    if in_bundle {
        Reference {
            reference: Some(full_url(id)),
            kind: Some("Communication"),
            identifier: None,
            display: None,
        }
    } else {
        Reference {
            reference: None,
            kind: Some("Communication"),
            identifier: Some(Identifier { system: MESSAGE_ID_SYSTEM, value: hex_id(id) }),
            display: None,
        }
    }
}

fn communication(
    m: &RecordMessage,
    in_bundle: &dyn Fn(&MessageId) -> bool,
) -> Result<Communication, ExportError> {
    let time = |t: Timestamp| rfc3339(t).ok_or(ExportError::TimeOutOfRange);
    let client = if m.sender.role == Role::Client { &m.sender } else { &m.recipient };
    let mut extension = vec![Extension {
        url: AGREEMENT_VERSION_EXTENSION,
        value_unsigned_int: Some(m.agreement_version),
        value_reference: None,
    }];
    if let Some(original) = &m.corrects {
        extension.push(Extension {
            url: CORRECTS_EXTENSION,
            value_unsigned_int: None,
            value_reference: Some(message_reference(original, in_bundle(original))),
        });
    }
    Ok(Communication {
        resource_type: "Communication",
        id: hex_id(&m.id),
        extension,
        identifier: vec![Identifier { system: MESSAGE_ID_SYSTEM, value: hex_id(&m.id) }],
        status: "completed",
        category: vec![CodeableConcept {
            coding: vec![Coding {
                system: CATEGORY_SYSTEM,
                code: category_code(m.category),
                display: category_display(m.category),
            }],
            text: category_display(m.category),
        }],
        in_response_to: m.reply_to.iter().map(|id| message_reference(id, in_bundle(id))).collect(),
        subject: party(client),
        sent: time(m.sent_at)?,
        received: m.received_at.map(time).transpose()?,
        recipient: vec![party(&m.recipient)],
        sender: party(&m.sender),
        payload: vec![Payload { content_string: m.text.clone() }],
    })
}

/// `messages` as a FHIR R4 `Bundle` of type `collection`, one `Communication` per message in
/// the order given, made at `now`. A reply or correction whose original is among `messages`
/// points to its entry; otherwise to the original's message id.
///
/// # Errors
/// [`ExportError::TimeOutOfRange`] if a time cannot be written as a calendar date;
/// [`ExportError::Json`] if the JSON cannot be written.
pub fn bundle(messages: &[RecordMessage], now: Timestamp) -> Result<Zeroizing<String>, ExportError> {
    let ids: std::collections::BTreeSet<MessageId> = messages.iter().map(|m| m.id).collect();
    let in_bundle = |id: &MessageId| ids.contains(id);
    let entry = messages
        .iter()
        .map(|m| Ok(Entry { full_url: full_url(&m.id), resource: communication(m, &in_bundle)? }))
        .collect::<Result<Vec<_>, ExportError>>()?;
    let bundle = Bundle {
        resource_type: "Bundle",
        kind: "collection",
        timestamp: rfc3339(now).ok_or(ExportError::TimeOutOfRange)?,
        entry,
    };
    super::json::to_json(&bundle).map_err(|_| ExportError::Json)
}
