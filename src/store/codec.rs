//! The plaintext encodings of records, before sealing. Every number is big-endian.
//!
//! * peer: `len (u16) ‖ peer id (UTF-8) ‖ identity key (32) ‖ 0x00` or `0x01 ‖ verified at (u64)`
//! * message: `id (16) ‖ direction (0x00 in, 0x01 out) ‖ at (u64) ‖ expires_at ‖ read_at ‖
//!   len (u16) ‖ peer id ‖ len (u32) ‖ body ‖ zeros up to a multiple of 64 bytes`, where each
//!   optional time is `0x00` or `0x01 ‖ u64`
//! * agreement: `version (u32) ‖ bytes`
//! * owner: `role (0x00 clinician, 0x01 client) ‖ len (u16) ‖ local id (UTF-8)`
//! * last auto-reply: the time it went out (u64)
//! * generation: the store's generation (u64)
//! * local identity: the 32-byte Ed25519 seed; prekeys: their own storage encodings; session:
//!   the serialized session as given.

use zeroize::Zeroizing;

use super::consts::MESSAGE_PADDING;
use super::types::{
    Direction, MessageId, Owner, PeerId, PeerRecord, StoredAgreement, StoredMessage, Verification,
};
use super::StoreError;
use crate::clock::Timestamp;
use crate::codec;
use crate::keys::IdentityKey;
use crate::role::Role;

/// Reads fields off a record's plaintext; any shortfall is [`StoreError::Corrupt`].
type Reader<'a> = codec::Reader<'a, StoreError>;

fn reader<'a>(bytes: &'a [u8], table: &'static str) -> Reader<'a> {
    Reader::with_error(bytes, StoreError::Corrupt { table })
}

/// The fields of the store's own records, read with the shared reader.
trait RecordFields {
    fn time(&mut self) -> Result<Option<Timestamp>, StoreError>;
    fn peer(&mut self) -> Result<PeerId, StoreError>;
}

impl RecordFields for Reader<'_> {
    fn time(&mut self) -> Result<Option<Timestamp>, StoreError> {
        match self.u8()? {
            0 => Ok(None),
            1 => Ok(Some(Timestamp(self.u64()?))),
            _ => Err(self.error()),
        }
    }

    fn peer(&mut self) -> Result<PeerId, StoreError> {
        let len = usize::from(self.u16()?);
        let text = std::str::from_utf8(self.take(len)?).map_err(|_| self.error())?;
        PeerId::new(text).map_err(|_| self.error())
    }
}

fn put_time(out: &mut Vec<u8>, time: Option<Timestamp>) {
    match time {
        None => out.push(0),
        Some(t) => {
            out.push(1);
            out.extend_from_slice(&t.0.to_be_bytes());
        }
    }
}

fn put_peer(out: &mut Vec<u8>, peer: &PeerId) {
    // Peer ids are at most MAX_PEER_ID_LEN (256) bytes.
    let len = u16::try_from(peer.as_str().len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(peer.as_str().as_bytes());
}

pub(crate) fn encode_peer(record: &PeerRecord) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(2 + record.peer.as_str().len() + 32 + 9));
    put_peer(&mut out, &record.peer);
    out.extend_from_slice(record.identity.as_bytes());
    match record.verification {
        Verification::Unverified => put_time(&mut out, None),
        Verification::Verified { at } => put_time(&mut out, Some(at)),
    }
    out
}

pub(crate) fn decode_peer(bytes: &[u8], table: &'static str) -> Result<PeerRecord, StoreError> {
    let mut r = reader(bytes, table);
    let peer = r.peer()?;
    let identity = IdentityKey::from_bytes(&r.array()?).map_err(|_| r.error())?;
    let verification = r.time()?.map_or(Verification::Unverified, |at| Verification::Verified { at });
    r.finish()?;
    Ok(PeerRecord { peer, identity, verification })
}

pub(crate) fn encode_message(m: &StoredMessage) -> Zeroizing<Vec<u8>> {
    let len = 16 + 1 + 8 + 9 + 9 + 2 + m.peer.as_str().len() + 4 + m.body.len();
    let padded = len.div_ceil(MESSAGE_PADDING) * MESSAGE_PADDING;
    let mut out = Zeroizing::new(Vec::with_capacity(padded));
    out.extend_from_slice(&m.id.0);
    out.push(match m.direction {
        Direction::Inbound => 0,
        Direction::Outbound => 1,
    });
    out.extend_from_slice(&m.at.0.to_be_bytes());
    put_time(&mut out, m.expires_at);
    put_time(&mut out, m.read_at);
    put_peer(&mut out, &m.peer);
    // Bodies are at most MAX_BODY_LEN bytes.
    out.extend_from_slice(&u32::try_from(m.body.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(&m.body);
    let target = padded.max(out.len());
    out.resize(target, 0);
    out
}

pub(crate) fn decode_message(bytes: &[u8], table: &'static str) -> Result<StoredMessage, StoreError> {
    let mut r = reader(bytes, table);
    let id = MessageId(r.array()?);
    let direction = match r.u8()? {
        0 => Direction::Inbound,
        1 => Direction::Outbound,
        _ => return Err(r.error()),
    };
    let at = Timestamp(r.u64()?);
    let expires_at = r.time()?;
    let read_at = r.time()?;
    let peer = r.peer()?;
    let len = usize::try_from(u32::from_be_bytes(r.array()?)).map_err(|_| r.error())?;
    let body = Zeroizing::new(r.take(len)?.to_vec());
    if r.rest().iter().any(|&b| b != 0) {
        return Err(r.error());
    }
    Ok(StoredMessage { id, peer, direction, at, expires_at, read_at, body })
}

pub(crate) fn encode_agreement(a: &StoredAgreement) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(4 + a.bytes.len()));
    out.extend_from_slice(&a.version.to_be_bytes());
    out.extend_from_slice(&a.bytes);
    out
}

pub(crate) fn decode_agreement(bytes: &[u8], table: &'static str) -> Result<StoredAgreement, StoreError> {
    let mut r = reader(bytes, table);
    let version = u32::from_be_bytes(r.array()?);
    Ok(StoredAgreement { version, bytes: Zeroizing::new(r.rest().to_vec()) })
}

pub(crate) fn encode_last_auto_reply(at: Timestamp) -> [u8; 8] {
    at.0.to_be_bytes()
}

pub(crate) fn decode_last_auto_reply(bytes: &[u8], table: &'static str) -> Result<Timestamp, StoreError> {
    let mut r = reader(bytes, table);
    let at = Timestamp(r.u64()?);
    r.finish()?;
    Ok(at)
}

pub(crate) fn encode_generation(generation: u64) -> [u8; 8] {
    generation.to_be_bytes()
}

pub(crate) fn decode_generation(bytes: &[u8], table: &'static str) -> Result<u64, StoreError> {
    let mut r = reader(bytes, table);
    let generation = r.u64()?;
    r.finish()?;
    Ok(generation)
}

pub(crate) fn encode_owner(owner: &Owner) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(3 + owner.local_id().len()));
    out.push(match owner.role() {
        Role::Clinician => 0,
        Role::Client => 1,
    });
    // Local ids are at most MAX_PEER_ID_LEN (256) bytes.
    let len = u16::try_from(owner.local_id().len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(owner.local_id().as_bytes());
    out
}

pub(crate) fn decode_owner(bytes: &[u8], table: &'static str) -> Result<Owner, StoreError> {
    let mut r = reader(bytes, table);
    let role = match r.u8()? {
        0 => Role::Clinician,
        1 => Role::Client,
        _ => return Err(r.error()),
    };
    let len = usize::from(r.u16()?);
    let local_id = std::str::from_utf8(r.take(len)?).map_err(|_| r.error())?;
    let owner = Owner::new(role, local_id).map_err(|_| r.error())?;
    r.finish()?;
    Ok(owner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_round_trips_padded_and_refuses_garbage() {
        let m = StoredMessage {
            id: MessageId([1; 16]),
            peer: PeerId::new("acct-7").unwrap(),
            direction: Direction::Outbound,
            at: Timestamp(5),
            expires_at: Some(Timestamp(9)),
            read_at: None,
            body: Zeroizing::new(b"hello".to_vec()),
        };
        let bytes = encode_message(&m);
        assert_eq!(bytes.len() % MESSAGE_PADDING, 0);
        assert_eq!(decode_message(&bytes, "messages").unwrap(), m);
        let unpadded = 16 + 1 + 8 + 9 + 1 + 2 + 6 + 4 + 5;
        for cut in 0..unpadded {
            assert!(decode_message(&bytes[..cut], "messages").is_err(), "cut {cut}");
        }
        let mut trailing = bytes.to_vec();
        trailing.push(1);
        assert_eq!(decode_message(&trailing, "messages"), Err(StoreError::Corrupt { table: "messages" }));
    }

    #[test]
    fn last_auto_reply_round_trips_and_refuses_garbage() {
        let bytes = encode_last_auto_reply(Timestamp(1_772_463_600_000));
        assert_eq!(decode_last_auto_reply(&bytes, "auto_replies"), Ok(Timestamp(1_772_463_600_000)));
        let corrupt = Err(StoreError::Corrupt { table: "auto_replies" });
        assert_eq!(decode_last_auto_reply(&bytes[..7], "auto_replies"), corrupt);
        assert_eq!(decode_last_auto_reply(&[0; 9], "auto_replies"), corrupt);
    }

    #[test]
    fn generation_round_trips_and_refuses_garbage() {
        let bytes = encode_generation(0x0102_0304_0506_0708);
        assert_eq!(bytes, [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(decode_generation(&bytes, "generation"), Ok(0x0102_0304_0506_0708));
        let corrupt = Err(StoreError::Corrupt { table: "generation" });
        assert_eq!(decode_generation(&bytes[..7], "generation"), corrupt);
        assert_eq!(decode_generation(&[0; 9], "generation"), corrupt);
    }

    #[test]
    fn owner_round_trips_and_refuses_garbage() {
        let corrupt = Err(StoreError::Corrupt { table: "owner" });
        for owner in [Owner::new(Role::Clinician, "dr-lee").unwrap(), Owner::new(Role::Client, "é").unwrap()]
        {
            let bytes = encode_owner(&owner);
            assert_eq!(decode_owner(&bytes, "owner"), Ok(owner));
            for cut in 0..bytes.len() {
                assert_eq!(decode_owner(&bytes[..cut], "owner"), corrupt, "cut {cut}");
            }
            let mut trailing = bytes.to_vec();
            trailing.push(0);
            assert_eq!(decode_owner(&trailing, "owner"), corrupt);
        }
        assert_eq!(&encode_owner(&Owner::new(Role::Client, "sam").unwrap())[..], b"\x01\x00\x03sam");
        // An unknown role, an empty id and an id that is not UTF-8 do not decode.
        assert_eq!(decode_owner(b"\x02\x00\x03sam", "owner"), corrupt);
        assert_eq!(decode_owner(b"\x00\x00\x00", "owner"), corrupt);
        assert_eq!(decode_owner(b"\x00\x00\x01\xff", "owner"), corrupt);
    }
}
