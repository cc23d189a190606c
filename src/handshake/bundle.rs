//! A device's published prekey bundle.

use prost::Message;

use crate::consts::{BUNDLE_VERSION, MAX_BUNDLE_LEN};
use crate::error::{DecodeError, HandshakeError};
use crate::keys::{
    DhPublicKey, IdentityKey, KemEncapsulationKey, KemPrekey, OneTimePrekey, PrekeyId, Signature,
    SignedPrekey,
};
use crate::wire::proto;

/// What an initiator needs to start a session with a device while that device is offline: its
/// identity, a signed X25519 prekey, optionally a one-time X25519 prekey, and a signed ML-KEM-768
/// prekey.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrekeyBundle {
    pub(crate) identity_key: IdentityKey,
    pub(crate) signed_prekey_id: PrekeyId,
    pub(crate) signed_prekey: DhPublicKey,
    pub(crate) signed_prekey_signature: Signature,
    pub(crate) one_time_prekey: Option<(PrekeyId, DhPublicKey)>,
    pub(crate) kem_prekey_id: PrekeyId,
    pub(crate) kem_prekey: KemEncapsulationKey,
    pub(crate) kem_prekey_signature: Signature,
}

impl PrekeyBundle {
    /// The bundle of a device's own prekeys, to publish.
    #[must_use]
    pub fn new(
        identity_key: IdentityKey,
        signed_prekey: &SignedPrekey,
        one_time_prekey: Option<&OneTimePrekey>,
        kem_prekey: &KemPrekey,
    ) -> Self {
        Self {
            identity_key,
            signed_prekey_id: signed_prekey.id(),
            signed_prekey: signed_prekey.public_key(),
            signed_prekey_signature: signed_prekey.signature(),
            one_time_prekey: one_time_prekey.map(|k| (k.id(), k.public_key())),
            kem_prekey_id: kem_prekey.id(),
            kem_prekey: kem_prekey.encapsulation_key().clone(),
            kem_prekey_signature: kem_prekey.signature(),
        }
    }

    /// A bundle from its public parts, as received from a directory. Signatures are checked when
    /// the bundle is used ([`Self::verify`]).
    #[allow(clippy::too_many_arguments)]
    #[must_use]
    pub fn from_parts(
        identity_key: IdentityKey,
        signed_prekey: (PrekeyId, DhPublicKey, Signature),
        one_time_prekey: Option<(PrekeyId, DhPublicKey)>,
        kem_prekey: (PrekeyId, KemEncapsulationKey, Signature),
    ) -> Self {
        Self {
            identity_key,
            signed_prekey_id: signed_prekey.0,
            signed_prekey: signed_prekey.1,
            signed_prekey_signature: signed_prekey.2,
            one_time_prekey,
            kem_prekey_id: kem_prekey.0,
            kem_prekey: kem_prekey.1,
            kem_prekey_signature: kem_prekey.2,
        }
    }

    /// The device's identity key.
    #[must_use]
    pub fn identity_key(&self) -> IdentityKey {
        self.identity_key
    }

    /// The signed prekey: its id, public key and signature.
    #[must_use]
    pub fn signed_prekey(&self) -> (PrekeyId, DhPublicKey, Signature) {
        (self.signed_prekey_id, self.signed_prekey, self.signed_prekey_signature)
    }

    /// The one-time prekey, if the bundle has one.
    #[must_use]
    pub fn one_time_prekey(&self) -> Option<(PrekeyId, DhPublicKey)> {
        self.one_time_prekey
    }

    /// The post-quantum prekey: its id, encapsulation key and signature.
    #[must_use]
    pub fn kem_prekey(&self) -> (PrekeyId, KemEncapsulationKey, Signature) {
        (self.kem_prekey_id, self.kem_prekey.clone(), self.kem_prekey_signature)
    }

    /// Checks both prekey signatures under the bundle's identity key.
    ///
    /// # Errors
    /// [`HandshakeError::BadSignedPrekeySignature`] or [`HandshakeError::BadKemPrekeySignature`].
    pub fn verify(&self) -> Result<(), HandshakeError> {
        if !self.identity_key.verify(self.signed_prekey.as_bytes(), &self.signed_prekey_signature) {
            return Err(HandshakeError::BadSignedPrekeySignature);
        }
        if !self.identity_key.verify(self.kem_prekey.as_bytes(), &self.kem_prekey_signature) {
            return Err(HandshakeError::BadKemPrekeySignature);
        }
        Ok(())
    }

    /// Encodes the bundle: the version byte, then the protobuf `PrekeyBundle`.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let message = proto::PrekeyBundle {
            identity_key: self.identity_key.to_bytes().to_vec(),
            signed_prekey_id: self.signed_prekey_id.0,
            signed_prekey: self.signed_prekey.to_bytes().to_vec(),
            signed_prekey_signature: self.signed_prekey_signature.to_bytes().to_vec(),
            one_time_prekey_id: self.one_time_prekey.map(|(id, _)| id.0),
            one_time_prekey: self.one_time_prekey.map(|(_, key)| key.to_bytes().to_vec()).unwrap_or_default(),
            kem_prekey_id: self.kem_prekey_id.0,
            kem_prekey: self.kem_prekey.as_bytes().to_vec(),
            kem_prekey_signature: self.kem_prekey_signature.to_bytes().to_vec(),
        };
        let mut out = Vec::with_capacity(1 + message.encoded_len());
        out.push(BUNDLE_VERSION);
        message.encode_raw(&mut out);
        out
    }

    /// Decodes [`Self::to_bytes`]: version, size limit, protobuf, then every field. Signatures are
    /// not checked here (see [`Self::verify`]).
    ///
    /// # Errors
    /// A [`DecodeError`] naming what is wrong.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let body = crate::wire::check_version(bytes, BUNDLE_VERSION, MAX_BUNDLE_LEN)?;
        let m = proto::PrekeyBundle::decode(body).map_err(|_| DecodeError::Malformed)?;
        let one_time_prekey = match m.one_time_prekey_id {
            Some(id) => Some((PrekeyId(id), DhPublicKey::from_slice(&m.one_time_prekey)?)),
            None if m.one_time_prekey.is_empty() => None,
            None => return Err(DecodeError::InvalidField("one-time prekey")),
        };
        Ok(Self {
            identity_key: IdentityKey::from_slice(&m.identity_key)?,
            signed_prekey_id: PrekeyId(m.signed_prekey_id),
            signed_prekey: DhPublicKey::from_slice(&m.signed_prekey)?,
            signed_prekey_signature: Signature::from_slice(&m.signed_prekey_signature)?,
            one_time_prekey,
            kem_prekey_id: PrekeyId(m.kem_prekey_id),
            kem_prekey: KemEncapsulationKey::from_slice(&m.kem_prekey)?,
            kem_prekey_signature: Signature::from_slice(&m.kem_prekey_signature)?,
        })
    }
}
