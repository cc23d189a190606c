//! The audit trail: an append-only, sealed log of security-relevant events on this device.
//!
//! Each entry is one sealed row of the `audit` table, whose id is its sequence number (1, 2, …).
//! The entries form a hash chain keyed with a key derived from the store key:
//!
//! ```text
//! mac₀ = 32 zero bytes
//! macₙ = HMAC-SHA256(audit key, AUDIT_CHAIN_LABEL ‖ macₙ₋₁ ‖ n (u64) ‖ at (u64) ‖ event)
//! ```
//!
//! and the `audit_head` table's single row seals `(n, macₙ)` of the last entry. The head is
//! written in the same transaction as the entry, so that removing, reordering or altering an
//! entry, or removing the last ones, breaks the chain or disagrees with the head; [`verify`]
//! reads the whole log and returns [`StoreError::Corrupt`] naming `audit` if it does.
//!
//! Entries name peers and message ids, never message text.

use zeroize::Zeroizing;

use super::consts::{AUDIT_CHAIN_LABEL, MAX_AUDIT_MESSAGES};
use super::ops::{Kv, Tables, LOCAL};
use super::types::{MessageId, PeerId};
use super::StoreError;
use crate::clock::Timestamp;
use crate::codec::Reader;
use crate::primitives::hmac_sha256;

/// Name of the audit table, as [`StoreError::Corrupt`] reports it.
pub(crate) const AUDIT: &str = "audit";

/// What was exported, in [`AuditEvent::Exported`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExportKind {
    /// A FHIR `Bundle` for the clinical record, made on the clinician's device.
    ClinicalRecord,
    /// The client's own copy, as a FHIR `Bundle`.
    ClientCopy,
    /// The client's plain readable transcript.
    Transcript,
}

impl ExportKind {
    fn to_byte(self) -> u8 {
        match self {
            Self::ClinicalRecord => 0,
            Self::ClientCopy => 1,
            Self::Transcript => 2,
        }
    }

    fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            0 => Some(Self::ClinicalRecord),
            1 => Some(Self::ClientCopy),
            2 => Some(Self::Transcript),
            _ => None,
        }
    }
}

/// A security-relevant event, as the audit trail records it. It names peers and message ids,
/// never message text.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuditEvent {
    /// An agreement with `peer` was signed by both parties and is now in force.
    AgreementSigned {
        /// The other party.
        peer: PeerId,
        /// The agreement's version.
        version: u32,
    },
    /// A plan of support with `peer` started.
    PlanStarted {
        /// The other party.
        peer: PeerId,
    },
    /// A plan of support with `peer` ended.
    PlanEnded {
        /// The other party.
        peer: PeerId,
    },
    /// Messages of the conversation with `peer` were exported.
    Exported {
        /// The other party of the conversation.
        peer: PeerId,
        /// The form of the export.
        kind: ExportKind,
        /// The messages exported, in the order of the export.
        messages: Vec<MessageId>,
    },
    /// An excerpt of the conversation with `client` was shared with a colleague.
    ConsultationShared {
        /// The colleague it was shared with.
        colleague: PeerId,
        /// The client whose conversation it came from.
        client: PeerId,
        /// Whether the excerpt identified the client.
        identified: bool,
        /// The messages shared.
        messages: Vec<MessageId>,
    },
    /// `peer` presented an identity key other than the trusted one. The endpoint does not
    /// record refused handshakes (anyone holding a published prekey bundle could fill the log
    /// with them); it records [`Self::IdentityAccepted`] when the user accepts the new key.
    IdentityChanged {
        /// The peer.
        peer: PeerId,
    },
    /// The user accepted a new identity key for `peer` (its agreement was deleted with the old
    /// key).
    IdentityAccepted {
        /// The peer.
        peer: PeerId,
    },
    /// Expired messages were deleted.
    Purged {
        /// How many.
        messages: u64,
    },
    /// Record copies whose retention ended were deleted.
    RecordsPurged {
        /// How many.
        messages: u64,
    },
}

/// One entry of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Position in the log: 1 for the first entry, then one more for each.
    pub seq: u64,
    /// When the event happened, by the device's clock.
    pub at: Timestamp,
    /// What happened.
    pub event: AuditEvent,
}

/// The chain's head: the last entry's sequence number and MAC.
struct Head {
    seq: u64,
    mac: [u8; 32],
}

fn put_peer(out: &mut Vec<u8>, peer: &PeerId) {
    // Peer ids are at most MAX_PEER_ID_LEN (256) bytes.
    let len = u16::try_from(peer.as_str().len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(peer.as_str().as_bytes());
}

fn put_ids(out: &mut Vec<u8>, ids: &[MessageId]) {
    out.extend_from_slice(&u32::try_from(ids.len()).unwrap_or(u32::MAX).to_be_bytes());
    for id in ids {
        out.extend_from_slice(&id.0);
    }
}

/// The event's encoding: a tag byte, then its fields (peer: `len (u16) ‖ UTF-8`; ids:
/// `count (u32) ‖ 16 bytes each`; numbers big-endian).
pub(crate) fn encode_event(event: &AuditEvent) -> Vec<u8> {
    let mut out = Vec::new();
    match event {
        AuditEvent::AgreementSigned { peer, version } => {
            out.push(1);
            put_peer(&mut out, peer);
            out.extend_from_slice(&version.to_be_bytes());
        }
        AuditEvent::PlanStarted { peer } => {
            out.push(2);
            put_peer(&mut out, peer);
        }
        AuditEvent::PlanEnded { peer } => {
            out.push(3);
            put_peer(&mut out, peer);
        }
        AuditEvent::Exported { peer, kind, messages } => {
            out.push(4);
            put_peer(&mut out, peer);
            out.push(kind.to_byte());
            put_ids(&mut out, messages);
        }
        AuditEvent::ConsultationShared { colleague, client, identified, messages } => {
            out.push(5);
            put_peer(&mut out, colleague);
            put_peer(&mut out, client);
            out.push(u8::from(*identified));
            put_ids(&mut out, messages);
        }
        AuditEvent::IdentityChanged { peer } => {
            out.push(6);
            put_peer(&mut out, peer);
        }
        AuditEvent::IdentityAccepted { peer } => {
            out.push(7);
            put_peer(&mut out, peer);
        }
        AuditEvent::Purged { messages } => {
            out.push(8);
            out.extend_from_slice(&messages.to_be_bytes());
        }
        AuditEvent::RecordsPurged { messages } => {
            out.push(9);
            out.extend_from_slice(&messages.to_be_bytes());
        }
    }
    out
}

type AuditReader<'a> = Reader<'a, StoreError>;

fn read_peer(r: &mut AuditReader<'_>) -> Result<PeerId, StoreError> {
    let len = usize::from(r.u16()?);
    let text = std::str::from_utf8(r.take(len)?).map_err(|_| r.error())?;
    PeerId::new(text).map_err(|_| r.error())
}

fn read_ids(r: &mut AuditReader<'_>) -> Result<Vec<MessageId>, StoreError> {
    let count = usize::try_from(r.u32()?).map_err(|_| r.error())?;
    if count > MAX_AUDIT_MESSAGES {
        return Err(r.error());
    }
    (0..count).map(|_| Ok(MessageId(r.array::<16>()?))).collect()
}

fn read_bool(r: &mut AuditReader<'_>) -> Result<bool, StoreError> {
    match r.u8()? {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(r.error()),
    }
}

pub(crate) fn decode_event(bytes: &[u8]) -> Result<AuditEvent, StoreError> {
    let mut r = AuditReader::with_error(bytes, StoreError::Corrupt { table: AUDIT });
    let event = match r.u8()? {
        1 => AuditEvent::AgreementSigned { peer: read_peer(&mut r)?, version: r.u32()? },
        2 => AuditEvent::PlanStarted { peer: read_peer(&mut r)? },
        3 => AuditEvent::PlanEnded { peer: read_peer(&mut r)? },
        4 => {
            let peer = read_peer(&mut r)?;
            let kind = ExportKind::from_byte(r.u8()?).ok_or(r.error())?;
            AuditEvent::Exported { peer, kind, messages: read_ids(&mut r)? }
        }
        5 => AuditEvent::ConsultationShared {
            colleague: read_peer(&mut r)?,
            client: read_peer(&mut r)?,
            identified: read_bool(&mut r)?,
            messages: read_ids(&mut r)?,
        },
        6 => AuditEvent::IdentityChanged { peer: read_peer(&mut r)? },
        7 => AuditEvent::IdentityAccepted { peer: read_peer(&mut r)? },
        8 => AuditEvent::Purged { messages: r.u64()? },
        9 => AuditEvent::RecordsPurged { messages: r.u64()? },
        _ => return Err(r.error()),
    };
    r.finish()?;
    Ok(event)
}

/// [`StoreError::InvalidInput`] if the event lists more message ids than an entry may hold.
pub(crate) fn check_event(event: &AuditEvent) -> Result<(), StoreError> {
    let ids = match event {
        AuditEvent::Exported { messages, .. } | AuditEvent::ConsultationShared { messages, .. } => {
            messages.len()
        }
        _ => 0,
    };
    if ids > MAX_AUDIT_MESSAGES {
        return Err(StoreError::InvalidInput("audit event"));
    }
    Ok(())
}

fn chain_mac(key: &[u8; 32], previous: &[u8; 32], seq: u64, at: Timestamp, event: &[u8]) -> [u8; 32] {
    hmac_sha256(key, &[AUDIT_CHAIN_LABEL, previous, &seq.to_be_bytes(), &at.0.to_be_bytes(), event]).0
}

fn corrupt() -> StoreError {
    StoreError::Corrupt { table: AUDIT }
}

/// Row plaintext: `seq (u64) ‖ at (u64) ‖ mac (32) ‖ event`.
fn encode_entry(seq: u64, at: Timestamp, mac: &[u8; 32], event: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(48 + event.len()));
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&at.0.to_be_bytes());
    out.extend_from_slice(mac);
    out.extend_from_slice(event);
    out
}

/// Head plaintext: `seq (u64) ‖ mac (32)`.
fn encode_head(head: &Head) -> Vec<u8> {
    [&head.seq.to_be_bytes()[..], &head.mac[..]].concat()
}

fn read_head(t: &mut dyn Tables) -> Result<Option<Head>, StoreError> {
    let Some(bytes) = t.get(Kv::AuditHead, LOCAL)? else { return Ok(None) };
    let mut r = AuditReader::with_error(&bytes, corrupt());
    let head = Head { seq: r.u64()?, mac: r.array::<32>()? };
    r.finish()?;
    Ok(Some(head))
}

/// Writes the head of an empty log if the store has none: at creation, and once when a store is
/// upgraded to the schema that has the audit tables. From then on a missing head is an error.
pub(crate) fn init(t: &mut dyn Tables) -> Result<(), StoreError> {
    if read_head(t)?.is_none() {
        t.put(Kv::AuditHead, LOCAL, &encode_head(&Head { seq: 0, mac: [0; 32] }))?;
    }
    Ok(())
}

/// Appends `event` at `at`, in the caller's write transaction: the entry and the new head.
pub(crate) fn append(t: &mut dyn Tables, at: Timestamp, event: &AuditEvent) -> Result<(), StoreError> {
    let head = read_head(t)?.ok_or_else(corrupt)?;
    let seq = head.seq.checked_add(1).ok_or_else(corrupt)?;
    let key = t.audit_key()?;
    let encoded = encode_event(event);
    let mac = chain_mac(key.as_bytes(), &head.mac, seq, at, &encoded);
    t.put(Kv::Audit, &seq.to_be_bytes(), &encode_entry(seq, at, &mac, &encoded))?;
    t.put(Kv::AuditHead, LOCAL, &encode_head(&Head { seq, mac }))
}

/// Every entry, oldest first, after checking the whole chain against the head.
///
/// # Errors
/// [`StoreError::Corrupt`] naming `audit` if an entry or the head is missing, altered, moved or
/// out of order.
pub(crate) fn verify(t: &mut dyn Tables) -> Result<Vec<AuditEntry>, StoreError> {
    let head = read_head(t)?.ok_or_else(corrupt)?;
    let key = t.audit_key()?;
    let mut rows = Vec::new();
    for bytes in t.all(Kv::Audit)? {
        let mut r = AuditReader::with_error(&bytes, corrupt());
        let seq = r.u64()?;
        let at = Timestamp(r.u64()?);
        let mac = r.array::<32>()?;
        let event = r.rest().to_vec();
        rows.push((seq, at, mac, event));
    }
    rows.sort_by_key(|row| row.0);
    let mut previous = [0u8; 32];
    let mut entries = Vec::with_capacity(rows.len());
    for (expected, (seq, at, mac, event)) in (1u64..).zip(rows) {
        let computed = chain_mac(key.as_bytes(), &previous, seq, at, &event);
        if seq != expected || !bool::from(subtle::ConstantTimeEq::ct_eq(&computed[..], &mac[..])) {
            return Err(corrupt());
        }
        previous = mac;
        entries.push(AuditEntry { seq, at, event: decode_event(&event)? });
    }
    let last = u64::try_from(entries.len()).map_err(|_| corrupt())?;
    if head.seq != last || head.mac != previous {
        return Err(corrupt());
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_event() -> Vec<AuditEvent> {
        let peer = PeerId::new("client-7").unwrap();
        let ids = vec![MessageId([1; 16]), MessageId([2; 16])];
        vec![
            AuditEvent::AgreementSigned { peer: peer.clone(), version: 3 },
            AuditEvent::PlanStarted { peer: peer.clone() },
            AuditEvent::PlanEnded { peer: peer.clone() },
            AuditEvent::Exported { peer: peer.clone(), kind: ExportKind::Transcript, messages: ids.clone() },
            AuditEvent::ConsultationShared {
                colleague: PeerId::new("dr-b").unwrap(),
                client: peer.clone(),
                identified: false,
                messages: ids,
            },
            AuditEvent::IdentityChanged { peer: peer.clone() },
            AuditEvent::IdentityAccepted { peer },
            AuditEvent::Purged { messages: 4 },
            AuditEvent::RecordsPurged { messages: 5 },
        ]
    }

    #[test]
    fn every_event_round_trips_and_truncation_is_corrupt() {
        for event in every_event() {
            let bytes = encode_event(&event);
            assert_eq!(decode_event(&bytes), Ok(event));
            assert_eq!(decode_event(&bytes[..bytes.len() - 1]), Err(corrupt()));
            let mut longer = bytes.clone();
            longer.push(0);
            assert_eq!(decode_event(&longer), Err(corrupt()));
        }
        assert_eq!(decode_event(&[0]), Err(corrupt()));
        assert_eq!(decode_event(&[10]), Err(corrupt()));
    }

    #[test]
    fn the_chain_depends_on_every_input() {
        let key = [3u8; 32];
        let base = chain_mac(&key, &[0; 32], 1, Timestamp(5), b"e");
        assert_ne!(base, chain_mac(&[4; 32], &[0; 32], 1, Timestamp(5), b"e"));
        assert_ne!(base, chain_mac(&key, &[1; 32], 1, Timestamp(5), b"e"));
        assert_ne!(base, chain_mac(&key, &[0; 32], 2, Timestamp(5), b"e"));
        assert_ne!(base, chain_mac(&key, &[0; 32], 1, Timestamp(6), b"e"));
        assert_ne!(base, chain_mac(&key, &[0; 32], 1, Timestamp(5), b"f"));
    }

    #[test]
    fn too_many_ids_are_refused() {
        let peer = PeerId::new("p").unwrap();
        let messages = vec![MessageId([0; 16]); MAX_AUDIT_MESSAGES + 1];
        let event = AuditEvent::Exported { peer, kind: ExportKind::ClinicalRecord, messages };
        assert_eq!(check_event(&event), Err(StoreError::InvalidInput("audit event")));
    }
}
