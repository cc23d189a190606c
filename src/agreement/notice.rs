//! Signed notices: a party ends a support plan early, or ends the agreement.
//!
//! The party ending signs `NOTICE_LABEL || canonical notice` with its identity key.

use prost::Message;

use super::canonical::{decode_canonical, proto};
use super::{AgreementError, Role};
use crate::clock::Timestamp;
use crate::consts::{MAX_PLAN_LEN, NOTICE_LABEL};
use crate::keys::{IdentityKey, IdentityKeyPair, Signature};

/// `label || canonical`: what a party signs.
pub(super) fn signed_message(label: &[u8], canonical: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(label.len() + canonical.len());
    message.extend_from_slice(label);
    message.extend_from_slice(canonical);
    message
}

/// What a notice says: who ends what, under which agreement version.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Notice {
    /// The agreement version in force when it was sent.
    pub agreement_version: u32,
    /// The plan ended early, or `0` when the agreement itself ends.
    pub plan_number: u32,
    /// The clinician's identity key.
    pub clinician: IdentityKey,
    /// The client's identity key.
    pub client: IdentityKey,
    /// Who ends it (and signs).
    pub ended_by: Role,
    /// When, on the sender's clock (shown, never used for a decision).
    pub ended_at: Timestamp,
}

impl Notice {
    fn encode(&self) -> Vec<u8> {
        proto::Notice {
            agreement_version: self.agreement_version,
            plan_number: self.plan_number,
            clinician_identity: self.clinician.to_bytes().to_vec(),
            client_identity: self.client.to_bytes().to_vec(),
            ended_by: match self.ended_by {
                Role::Clinician => 1,
                Role::Client => 2,
            },
            ended_at_ms: self.ended_at.as_millis(),
        }
        .encode_to_vec()
    }

    fn decode(bytes: &[u8]) -> Result<Self, AgreementError> {
        let m = proto::Notice::decode(bytes).map_err(|_| AgreementError::Malformed)?;
        let identity =
            |raw: &[u8], field| IdentityKey::from_slice(raw).map_err(|_| AgreementError::InvalidTerms(field));
        let notice = Self {
            agreement_version: m.agreement_version,
            plan_number: m.plan_number,
            clinician: identity(&m.clinician_identity, "clinician identity")?,
            client: identity(&m.client_identity, "client identity")?,
            ended_by: match m.ended_by {
                1 => Role::Clinician,
                2 => Role::Client,
                _ => return Err(AgreementError::InvalidTerms("ended by")),
            },
            ended_at: Timestamp(m.ended_at_ms),
        };
        if notice.agreement_version == 0 {
            return Err(AgreementError::InvalidTerms("version"));
        }
        if notice.encode() != bytes {
            return Err(AgreementError::NonCanonical);
        }
        Ok(notice)
    }

    fn identity(&self, role: Role) -> &IdentityKey {
        match role {
            Role::Clinician => &self.clinician,
            Role::Client => &self.client,
        }
    }
}

/// A notice and its signer's signature. Read from bytes, the signature is unchecked until
/// [`SignedNotice::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedNotice {
    notice: Notice,
    canonical: Vec<u8>,
    signature: Signature,
}

impl SignedNotice {
    /// `signer` (the party `notice.ended_by` names) signs `notice`.
    ///
    /// # Errors
    /// [`AgreementError::WrongSigner`] if `signer` is not that party;
    /// [`AgreementError::InvalidTerms`] for version 0.
    pub fn sign(notice: Notice, signer: &IdentityKeyPair) -> Result<Self, AgreementError> {
        if notice.agreement_version == 0 {
            return Err(AgreementError::InvalidTerms("version"));
        }
        if !signer.public_key().ct_eq(notice.identity(notice.ended_by)) {
            return Err(AgreementError::WrongSigner(notice.ended_by));
        }
        let canonical = notice.encode();
        let signature = signer.sign(&signed_message(NOTICE_LABEL, &canonical));
        Ok(Self { notice, canonical, signature })
    }

    /// Checks that the notice names these parties and that the party ending signed it.
    ///
    /// # Errors
    /// [`AgreementError::WrongSigner`] or [`AgreementError::BadSignature`].
    pub fn verify(&self, clinician: &IdentityKey, client: &IdentityKey) -> Result<(), AgreementError> {
        if !self.notice.clinician.ct_eq(clinician) {
            return Err(AgreementError::WrongSigner(Role::Clinician));
        }
        if !self.notice.client.ct_eq(client) {
            return Err(AgreementError::WrongSigner(Role::Client));
        }
        let signer = self.notice.identity(self.notice.ended_by);
        if !signer.verify(&signed_message(NOTICE_LABEL, &self.canonical), &self.signature) {
            return Err(AgreementError::BadSignature(self.notice.ended_by));
        }
        Ok(())
    }

    /// What the notice says.
    #[must_use]
    pub fn notice(&self) -> &Notice {
        &self.notice
    }

    pub(super) fn to_proto(&self) -> proto::SignedNotice {
        proto::SignedNotice { notice: self.canonical.clone(), signature: self.signature.to_bytes().to_vec() }
    }

    pub(super) fn from_proto(m: &proto::SignedNotice) -> Result<Self, AgreementError> {
        let notice = Notice::decode(&m.notice)?;
        let signature = Signature::from_slice(&m.signature).map_err(|_| AgreementError::Unsigned)?;
        Ok(Self { notice, canonical: m.notice.clone(), signature })
    }

    /// The bytes to send or store (protobuf `SignedNotice`).
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_proto().encode_to_vec()
    }

    /// Reads a signed notice; the signature is not checked.
    ///
    /// # Errors
    /// [`AgreementError::TooLarge`], [`AgreementError::Malformed`],
    /// [`AgreementError::NonCanonical`], [`AgreementError::Unsigned`] or
    /// [`AgreementError::InvalidTerms`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AgreementError> {
        Self::from_proto(&decode_canonical::<proto::SignedNotice>(bytes, MAX_PLAN_LEN)?)
    }
}

impl serde::Serialize for SignedNotice {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.to_bytes())
    }
}

impl<'de> serde::Deserialize<'de> for SignedNotice {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let bytes: Vec<u8> = serde::Deserialize::deserialize(deserializer)?;
        Self::from_bytes(&bytes).map_err(serde::de::Error::custom)
    }
}
