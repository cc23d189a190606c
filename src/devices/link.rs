//! Linking a new device: the offer on the primary device, the request from the new device, and
//! the response that carries the new signed list back.
//!
//! Both messages are authenticated with keys derived from the link code's secret, which travels
//! only from screen to eye (or camera), never through the relay:
//! `k_request = HKDF-SHA256(salt = fingerprint, ikm = secret, info = LINK_REQUEST_INFO)` and
//! `k_response` likewise with [`LINK_RESPONSE_INFO`]. PROTOCOL.md section 16 gives every byte.

use prost::Message;
use rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::code::{person_fingerprint, LinkCode};
use super::list::{check_name, SignedDeviceList};
use super::proto;
use super::DeviceError;
use crate::clock::Timestamp;
use crate::consts::{LINK_FORMAT_VERSION, LINK_OFFER_LIFETIME_MS, MAX_LINK_MESSAGE_LEN};
use crate::keys::{IdentityKey, IdentityKeyPair, Signature};
use crate::primitives::{hkdf_sha256, hmac_sha256};

pub use crate::consts::{
    LINK_CODE_LABEL, LINK_REQUEST_INFO, LINK_REQUEST_LABEL, LINK_RESPONSE_INFO, LINK_RESPONSE_LABEL,
};

/// The MAC key for one direction: `HKDF-SHA256(salt = fingerprint, ikm = secret, info, L = 32)`.
fn mac_key(code: &LinkCode, info: &[u8]) -> Zeroizing<[u8; 32]> {
    hkdf_sha256::<32>(code.fingerprint(), code.secret(), info)
}

/// `HMAC-SHA256(k, message)` compared in constant time with `mac`.
fn mac_matches(key: &[u8; 32], message: &[u8], mac: &[u8]) -> bool {
    let expected = hmac_sha256(key, &[message]);
    mac.len() == 32 && bool::from(expected.as_bytes().ct_eq(mac))
}

/// The request transcript: `LINK_REQUEST_LABEL ‖ fingerprint (16) ‖ device key (32) ‖
/// u64be(requested_at) ‖ u8(name length) ‖ name`.
fn request_transcript(fingerprint: &[u8; 16], device: &IdentityKey, name: &str, at: Timestamp) -> Vec<u8> {
    let mut out = Vec::with_capacity(LINK_REQUEST_LABEL.len() + 57 + name.len());
    out.extend_from_slice(LINK_REQUEST_LABEL);
    out.extend_from_slice(fingerprint);
    out.extend_from_slice(device.as_bytes());
    out.extend_from_slice(&at.as_millis().to_be_bytes());
    // The name was checked: at most MAX_DEVICE_NAME_LEN bytes.
    out.push(u8::try_from(name.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(name.as_bytes());
    out
}

/// The response transcript: `LINK_RESPONSE_LABEL ‖ fingerprint (16) ‖ device key (32) ‖ list bytes`.
fn response_transcript(fingerprint: &[u8; 16], device: &IdentityKey, list: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(LINK_RESPONSE_LABEL.len() + 48 + list.len());
    out.extend_from_slice(LINK_RESPONSE_LABEL);
    out.extend_from_slice(fingerprint);
    out.extend_from_slice(device.as_bytes());
    out.extend_from_slice(list);
    out
}

/// `LINK_FORMAT_VERSION ‖ message`.
fn frame(message: &impl Message) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + message.encoded_len());
    out.push(LINK_FORMAT_VERSION);
    out.extend_from_slice(&message.encode_to_vec());
    out
}

/// Reads `LINK_FORMAT_VERSION ‖ message`: length limit, version, decode, canonical form.
fn unframe<M: Message + Default>(bytes: &[u8]) -> Result<M, DeviceError> {
    if bytes.len() > MAX_LINK_MESSAGE_LEN {
        return Err(DeviceError::TooLarge);
    }
    let (&version, body) = bytes.split_first().ok_or(DeviceError::Malformed)?;
    if version != LINK_FORMAT_VERSION {
        return Err(DeviceError::UnsupportedVersion(version));
    }
    let message = M::decode(body).map_err(|_| DeviceError::Malformed)?;
    if message.encode_to_vec() != body {
        return Err(DeviceError::NonCanonical);
    }
    Ok(message)
}

/// A device the primary accepted through a link offer: the device the endpoint adds to the
/// person's list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkedDevice {
    /// The new device's identity key; it proved it holds the private key.
    pub key: IdentityKey,
    /// The name the new device asked for.
    pub name: String,
    /// When the new device made its request, by its own clock.
    pub requested_at: Timestamp,
}

/// An offer to link one device, made on the primary device (which holds the person key pair).
///
/// Holds the code's secret: zeroized on drop, and `Debug` prints no secret. It accepts one
/// request within [`LINK_OFFER_LIFETIME_MS`] of its making, then answers that device only.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct LinkOffer {
    code: LinkCode,
    #[zeroize(skip)]
    person: IdentityKey,
    #[zeroize(skip)]
    made_at: Timestamp,
    #[zeroize(skip)]
    accepted: Option<IdentityKey>,
}

impl LinkOffer {
    /// A new offer for `person`'s list, made at `at`, with a fresh 16-byte secret from `rng`.
    pub fn new<R: CryptoRng + ?Sized>(rng: &mut R, person: IdentityKey, at: Timestamp) -> Self {
        let mut secret = Zeroizing::new([0u8; 16]);
        rng.fill_bytes(&mut secret[..]);
        Self {
            code: LinkCode::new(person_fingerprint(&person), *secret),
            person,
            made_at: at,
            accepted: None,
        }
    }

    /// The code to show, as text (also the payload of a QR code): see [`LinkCode::text`].
    #[must_use]
    pub fn code(&self) -> Zeroizing<String> {
        self.code.text()
    }

    /// The person key the offer adds a device for.
    #[must_use]
    pub fn person(&self) -> IdentityKey {
        self.person
    }

    /// When the offer was made.
    #[must_use]
    pub fn made_at(&self) -> Timestamp {
        self.made_at
    }

    /// Checks a link request from the new device at time `now`, in this order: the offer's
    /// lifetime, single use, the request's format, the MAC under the code's secret, the name,
    /// and the device's signature. On success the offer is used up and the device is returned,
    /// for the endpoint to add to the list; on failure the offer is unchanged.
    ///
    /// # Errors
    /// [`DeviceError::LinkExpired`] more than [`LINK_OFFER_LIFETIME_MS`] after the offer was made,
    /// [`DeviceError::LinkUsed`] once a request was accepted; [`DeviceError::TooLarge`],
    /// [`DeviceError::UnsupportedVersion`], [`DeviceError::Malformed`] or
    /// [`DeviceError::NonCanonical`] for the bytes; [`DeviceError::BadLinkProof`] if the MAC or
    /// the signature does not verify; [`DeviceError::NameTooLong`] or [`DeviceError::InvalidName`];
    /// [`DeviceError::DuplicateDevice`] if the device key is the person key.
    pub fn accept(&mut self, request: &[u8], now: Timestamp) -> Result<LinkedDevice, DeviceError> {
        if now.as_millis().saturating_sub(self.made_at.as_millis()) > LINK_OFFER_LIFETIME_MS {
            return Err(DeviceError::LinkExpired);
        }
        if self.accepted.is_some() {
            return Err(DeviceError::LinkUsed);
        }
        let message: proto::LinkRequest = unframe(request)?;
        let device = IdentityKey::from_slice(&message.device).map_err(|_| DeviceError::Malformed)?;
        let signature = Signature::from_slice(&message.signature).map_err(|_| DeviceError::Malformed)?;
        let requested_at = Timestamp(message.requested_at_ms);
        if message.name.len() > u8::MAX.into() {
            return Err(DeviceError::NameTooLong);
        }
        let transcript = request_transcript(self.code.fingerprint(), &device, &message.name, requested_at);
        if !mac_matches(&mac_key(&self.code, LINK_REQUEST_INFO), &transcript, &message.mac) {
            return Err(DeviceError::BadLinkProof);
        }
        check_name(&message.name)?;
        if !device.verify(&transcript, &signature) {
            return Err(DeviceError::BadLinkProof);
        }
        if device.ct_eq(&self.person) {
            return Err(DeviceError::DuplicateDevice);
        }
        self.accepted = Some(device);
        Ok(LinkedDevice { key: device, name: message.name, requested_at })
    }

    /// The response to the accepted device: the new signed list, MACed under the code's secret
    /// for that device.
    ///
    /// # Errors
    /// [`DeviceError::LinkNotAccepted`] before a request was accepted; [`DeviceError::WrongPerson`]
    /// if the list is not this offer's person's; [`DeviceError::NotAMember`] if it does not hold
    /// the accepted device.
    pub fn respond(&self, signed_list: &SignedDeviceList) -> Result<Vec<u8>, DeviceError> {
        let device = self.accepted.ok_or(DeviceError::LinkNotAccepted)?;
        let list = signed_list.list();
        if !list.person().ct_eq(&self.person) {
            return Err(DeviceError::WrongPerson);
        }
        if !list.contains(&device) {
            return Err(DeviceError::NotAMember);
        }
        let device_list = signed_list.to_bytes();
        let transcript = response_transcript(self.code.fingerprint(), &device, &device_list);
        let mac = hmac_sha256(&mac_key(&self.code, LINK_RESPONSE_INFO), &[&transcript]);
        Ok(frame(&proto::LinkResponse { device_list, mac: mac.as_bytes().to_vec() }))
    }
}

impl std::fmt::Debug for LinkOffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkOffer")
            .field("person", &self.person)
            .field("made_at", &self.made_at)
            .field("accepted", &self.accepted)
            .finish_non_exhaustive()
    }
}

/// The new device's request to be linked, made after the link code was entered.
#[derive(Debug)]
pub struct LinkRequest(());

impl LinkRequest {
    /// The request bytes of `device` (the new device's identity key pair) asking to be linked
    /// under `name` at time `at`: `LINK_FORMAT_VERSION ‖ protobuf LinkRequest`, with the
    /// device's signature over the request transcript and the MAC over it under the code.
    ///
    /// # Errors
    /// [`DeviceError::NameTooLong`] or [`DeviceError::InvalidName`].
    // The request exists only as bytes: it is made on one device and read on the other.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(
        code: &LinkCode,
        device: &IdentityKeyPair,
        name: &str,
        at: Timestamp,
    ) -> Result<Vec<u8>, DeviceError> {
        check_name(name)?;
        let key = device.public_key();
        let transcript = request_transcript(code.fingerprint(), &key, name, at);
        let signature = device.sign(&transcript);
        let mac = hmac_sha256(&mac_key(code, LINK_REQUEST_INFO), &[&transcript]);
        Ok(frame(&proto::LinkRequest {
            device: key.to_bytes().to_vec(),
            name: name.to_owned(),
            requested_at_ms: at.as_millis(),
            signature: signature.to_bytes().to_vec(),
            mac: mac.as_bytes().to_vec(),
        }))
    }
}

/// The primary device's answer to a link request, read on the new device.
#[derive(Debug)]
pub struct LinkResponse(());

impl LinkResponse {
    /// Reads the response on the new device whose key is `device`, with the code it entered, in
    /// this order: the format, the MAC under the code's secret, the signed list
    /// ([`SignedDeviceList::from_bytes`]), the list's person against the code's fingerprint, and
    /// the device in the list.
    ///
    /// # Errors
    /// [`DeviceError::TooLarge`], [`DeviceError::UnsupportedVersion`], [`DeviceError::Malformed`]
    /// or [`DeviceError::NonCanonical`] for the bytes; [`DeviceError::BadLinkProof`] if the MAC
    /// does not verify; those of [`SignedDeviceList::from_bytes`]; [`DeviceError::WrongPerson`]
    /// if the list is not the person's the code names; [`DeviceError::NotAMember`] if it does not
    /// hold `device`.
    pub fn open(
        code: &LinkCode,
        device: &IdentityKey,
        response: &[u8],
    ) -> Result<SignedDeviceList, DeviceError> {
        let message: proto::LinkResponse = unframe(response)?;
        let transcript = response_transcript(code.fingerprint(), device, &message.device_list);
        if !mac_matches(&mac_key(code, LINK_RESPONSE_INFO), &transcript, &message.mac) {
            return Err(DeviceError::BadLinkProof);
        }
        let signed = SignedDeviceList::from_bytes(&message.device_list)?;
        if !code.is_for(&signed.list().person()) {
            return Err(DeviceError::WrongPerson);
        }
        if !signed.list().contains(device) {
            return Err(DeviceError::NotAMember);
        }
        Ok(signed)
    }
}
