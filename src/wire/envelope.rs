//! Envelopes: ratchet messages and the initiator's prekey messages.

use prost::Message;

use super::proto;
use crate::consts::{MAX_ENVELOPE_LEN, MAX_PLAINTEXT_LEN, WIRE_VERSION};
use crate::error::DecodeError;
use crate::keys::{DhPublicKey, IdentityKey, KemCiphertext, PrekeyId};
use crate::ratchet::Header;

/// Length of the Poly1305 tag that ends every ciphertext.
const TAG_LEN: usize = 16;

/// A Double Ratchet message: header and ciphertext.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RatchetMessage {
    pub(crate) header: Header,
    pub(crate) ciphertext: Vec<u8>,
}

impl RatchetMessage {
    /// The header.
    #[must_use]
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The AEAD output: ciphertext followed by the 16-byte tag.
    #[must_use]
    pub fn ciphertext(&self) -> &[u8] {
        &self.ciphertext
    }

    fn to_proto(&self) -> proto::RatchetMessage {
        proto::RatchetMessage {
            ratchet_key: self.header.dh.to_bytes().to_vec(),
            previous_counter: self.header.pn,
            counter: self.header.n,
            ciphertext: self.ciphertext.clone(),
        }
    }

    fn from_proto(m: proto::RatchetMessage) -> Result<Self, DecodeError> {
        if m.ciphertext.len() < TAG_LEN || m.ciphertext.len() > MAX_PLAINTEXT_LEN + TAG_LEN {
            return Err(DecodeError::InvalidField("ciphertext"));
        }
        Ok(Self {
            header: Header {
                dh: DhPublicKey::from_slice(&m.ratchet_key)?,
                pn: m.previous_counter,
                n: m.counter,
            },
            ciphertext: m.ciphertext,
        })
    }
}

/// The initiator's message until it has received a reply: the handshake values the responder
/// needs, and a ratchet message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrekeyMessage {
    pub(crate) identity_key: IdentityKey,
    pub(crate) base_key: DhPublicKey,
    pub(crate) signed_prekey_id: PrekeyId,
    pub(crate) one_time_prekey_id: Option<PrekeyId>,
    pub(crate) kem_prekey_id: PrekeyId,
    pub(crate) kem_ciphertext: KemCiphertext,
    pub(crate) message: RatchetMessage,
}

impl PrekeyMessage {
    /// The initiator's identity key.
    #[must_use]
    pub fn identity_key(&self) -> IdentityKey {
        self.identity_key
    }

    /// The initiator's ephemeral key `EK_A`, which identifies the handshake.
    #[must_use]
    pub fn base_key(&self) -> DhPublicKey {
        self.base_key
    }

    /// Which signed prekey the initiator used.
    #[must_use]
    pub fn signed_prekey_id(&self) -> PrekeyId {
        self.signed_prekey_id
    }

    /// Which one-time prekey the initiator used, if any.
    #[must_use]
    pub fn one_time_prekey_id(&self) -> Option<PrekeyId> {
        self.one_time_prekey_id
    }

    /// Which post-quantum prekey the initiator used.
    #[must_use]
    pub fn kem_prekey_id(&self) -> PrekeyId {
        self.kem_prekey_id
    }

    /// The ML-KEM-768 ciphertext `CT` for the post-quantum prekey.
    #[must_use]
    pub fn kem_ciphertext(&self) -> &KemCiphertext {
        &self.kem_ciphertext
    }

    /// SHA-256 over the protobuf encoding of the handshake fields (everything but the ratchet
    /// message): what a responder session remembers of the handshake that created it.
    pub(crate) fn handshake_digest(&self) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut fields = self.to_proto();
        fields.message = None;
        Sha256::digest(fields.encode_to_vec()).into()
    }

    fn to_proto(&self) -> proto::PrekeyMessage {
        proto::PrekeyMessage {
            identity_key: self.identity_key.to_bytes().to_vec(),
            base_key: self.base_key.to_bytes().to_vec(),
            signed_prekey_id: self.signed_prekey_id.0,
            one_time_prekey_id: self.one_time_prekey_id.map(|id| id.0),
            kem_prekey_id: self.kem_prekey_id.0,
            kem_ciphertext: self.kem_ciphertext.as_bytes().to_vec(),
            message: Some(self.message.to_proto()),
        }
    }

    /// The ratchet message inside.
    #[must_use]
    pub fn message(&self) -> &RatchetMessage {
        &self.message
    }
}

/// Any message between two devices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Envelope {
    /// A ratchet message of an established session.
    Message(RatchetMessage),
    /// An initiator's message that also carries the handshake.
    Prekey(Box<PrekeyMessage>),
}

impl Envelope {
    /// Encodes the envelope: the version byte `1`, then the protobuf `Envelope`.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let body = match self {
            Self::Message(m) => proto::envelope::Body::Message(m.to_proto()),
            Self::Prekey(p) => proto::envelope::Body::Prekey(p.to_proto()),
        };
        super::encode_versioned(WIRE_VERSION, &proto::Envelope { body: Some(body) })
    }

    /// Decodes an envelope: size limit, version byte, protobuf, then every field.
    ///
    /// # Errors
    /// A [`DecodeError`]: empty, too large, unknown version, malformed protobuf, or an invalid
    /// field (wrong key length, an identity key that is not a valid point, a ciphertext shorter
    /// than its tag).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let body = super::check_version(bytes, WIRE_VERSION, MAX_ENVELOPE_LEN)?;
        let envelope = proto::Envelope::decode(body).map_err(|_| DecodeError::Malformed)?;
        match envelope.body.ok_or(DecodeError::InvalidField("envelope body"))? {
            proto::envelope::Body::Message(m) => Ok(Self::Message(RatchetMessage::from_proto(m)?)),
            proto::envelope::Body::Prekey(p) => Ok(Self::Prekey(Box::new(PrekeyMessage {
                identity_key: IdentityKey::from_slice(&p.identity_key)?,
                base_key: DhPublicKey::from_slice(&p.base_key)?,
                signed_prekey_id: PrekeyId(p.signed_prekey_id),
                one_time_prekey_id: p.one_time_prekey_id.map(PrekeyId),
                kem_prekey_id: PrekeyId(p.kem_prekey_id),
                kem_ciphertext: KemCiphertext::from_slice(&p.kem_ciphertext)
                    .map_err(|_| DecodeError::InvalidField("kem ciphertext"))?,
                message: RatchetMessage::from_proto(p.message.ok_or(DecodeError::InvalidField("message"))?)?,
            }))),
        }
    }

    /// The ratchet message inside, whichever the kind.
    #[must_use]
    pub fn ratchet_message(&self) -> &RatchetMessage {
        match self {
            Self::Message(m) => m,
            Self::Prekey(p) => &p.message,
        }
    }
}
