//! Proposing, accepting and reading signed agreements.
//!
//! The clinician signs `AGREEMENT_CLINICIAN_LABEL || canonical terms`, giving a
//! [`ProposedAgreement`]; the client checks that signature and signs
//! `AGREEMENT_CLIENT_LABEL || canonical terms`, giving a [`SignedAgreement`]. Bytes from outside
//! first become an [`UnverifiedAgreement`], which is checked against the identities the reader
//! expects before it can be used.

use prost::Message;

use super::canonical::{decode_terms, encode_terms, proto};
use super::{AgreementError, AgreementTerms, Role};
use crate::consts::{
    AGREEMENT_CLIENT_LABEL, AGREEMENT_CLINICIAN_LABEL, AGREEMENT_FORMAT_VERSION, MAX_AGREEMENT_LEN,
};
use crate::keys::{IdentityKey, IdentityKeyPair, Signature};

/// Terms with their canonical bytes and whatever signatures came with them.
#[derive(Debug, Clone)]
struct Parts {
    terms: AgreementTerms,
    canonical: Vec<u8>,
    clinician_signature: Option<Signature>,
    client_signature: Option<Signature>,
}

impl Parts {
    fn to_bytes(&self) -> Vec<u8> {
        let sig = |s: &Option<Signature>| s.map(|s| s.to_bytes().to_vec()).unwrap_or_default();
        let message = proto::SignedAgreement {
            terms: self.canonical.clone(),
            clinician_signature: sig(&self.clinician_signature),
            client_signature: sig(&self.client_signature),
        };
        let mut out = Vec::with_capacity(1 + message.encoded_len());
        out.push(AGREEMENT_FORMAT_VERSION);
        out.extend_from_slice(&message.encode_to_vec());
        out
    }

    fn from_bytes(bytes: &[u8]) -> Result<Self, AgreementError> {
        if bytes.len() > MAX_AGREEMENT_LEN {
            return Err(AgreementError::TooLarge);
        }
        let (&version, body) = bytes.split_first().ok_or(AgreementError::Malformed)?;
        if version != AGREEMENT_FORMAT_VERSION {
            return Err(AgreementError::UnsupportedVersion(version));
        }
        let message = proto::SignedAgreement::decode(body).map_err(|_| AgreementError::Malformed)?;
        if message.encode_to_vec() != body {
            return Err(AgreementError::NonCanonical);
        }
        let sig = |raw: &[u8]| match raw {
            [] => Ok(None),
            raw => Signature::from_slice(raw).map(Some).map_err(|_| AgreementError::Malformed),
        };
        let clinician_signature = sig(&message.clinician_signature)?;
        let client_signature = sig(&message.client_signature)?;
        let terms = decode_terms(&message.terms)?;
        Ok(Self { terms, canonical: message.terms, clinician_signature, client_signature })
    }

    /// Checks that the terms name the expected parties and the clinician's signature verifies.
    fn verify_clinician(&self, clinician: &IdentityKey, client: &IdentityKey) -> Result<(), AgreementError> {
        if !self.terms.clinician.ct_eq(clinician) {
            return Err(AgreementError::WrongSigner(Role::Clinician));
        }
        if !self.terms.client.ct_eq(client) {
            return Err(AgreementError::WrongSigner(Role::Client));
        }
        let signature = self.clinician_signature.as_ref().ok_or(AgreementError::Unsigned)?;
        if !clinician.verify(&signed_message(AGREEMENT_CLINICIAN_LABEL, &self.canonical), signature) {
            return Err(AgreementError::BadSignature(Role::Clinician));
        }
        Ok(())
    }

    fn verify_client(&self) -> Result<(), AgreementError> {
        let signature = self.client_signature.as_ref().ok_or(AgreementError::HalfSigned)?;
        if !self.terms.client.verify(&signed_message(AGREEMENT_CLIENT_LABEL, &self.canonical), signature) {
            return Err(AgreementError::BadSignature(Role::Client));
        }
        Ok(())
    }
}

/// `label || canonical`: what a party signs.
fn signed_message(label: &[u8], canonical: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(label.len() + canonical.len());
    message.extend_from_slice(label);
    message.extend_from_slice(canonical);
    message
}

/// Checks that `terms` may replace `current`: same parties, greater version.
fn check_replaces(terms: &AgreementTerms, current: Option<&AgreementTerms>) -> Result<(), AgreementError> {
    let Some(current) = current else { return Ok(()) };
    if !terms.clinician.ct_eq(&current.clinician) || !terms.client.ct_eq(&current.client) {
        return Err(AgreementError::PartiesChanged);
    }
    if terms.version <= current.version {
        return Err(AgreementError::Stale { current: current.version, offered: terms.version });
    }
    Ok(())
}

/// An agreement read from bytes whose signatures have not been checked yet.
///
/// Its terms are well-formed and canonical. Use [`UnverifiedAgreement::verify_proposal`] or
/// [`UnverifiedAgreement::verify_signed`] with the identities you expect.
#[derive(Debug, Clone)]
pub struct UnverifiedAgreement(Parts);

impl UnverifiedAgreement {
    /// Reads agreement bytes: version byte, length limit, protobuf decode, every field of the terms,
    /// canonical form. No signature is checked.
    ///
    /// # Errors
    /// [`AgreementError::TooLarge`], [`AgreementError::UnsupportedVersion`],
    /// [`AgreementError::Malformed`], [`AgreementError::NonCanonical`],
    /// [`AgreementError::InvalidTerms`] or [`AgreementError::SameIdentity`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AgreementError> {
        Parts::from_bytes(bytes).map(Self)
    }

    /// The bytes this agreement was read from.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes()
    }

    /// The terms, unverified: show them to no one before verifying.
    #[must_use]
    pub fn terms(&self) -> &AgreementTerms {
        &self.0.terms
    }

    /// Whether the client's countersignature is present (not whether it is valid).
    #[must_use]
    pub fn is_countersigned(&self) -> bool {
        self.0.client_signature.is_some()
    }

    /// Verifies a proposal: the terms name `clinician` and `client`, and `clinician` signed them.
    ///
    /// # Errors
    /// [`AgreementError::WrongSigner`] if the terms name other parties, [`AgreementError::Unsigned`],
    /// [`AgreementError::BadSignature`], or [`AgreementError::AlreadyCountersigned`] if the
    /// client's signature is present (read it with [`UnverifiedAgreement::verify_signed`]).
    pub fn verify_proposal(
        self,
        clinician: &IdentityKey,
        client: &IdentityKey,
    ) -> Result<ProposedAgreement, AgreementError> {
        self.0.verify_clinician(clinician, client)?;
        if self.0.client_signature.is_some() {
            return Err(AgreementError::AlreadyCountersigned);
        }
        Ok(ProposedAgreement(self.0))
    }

    /// Verifies a full agreement: the terms name `clinician` and `client`, and both signed them.
    ///
    /// # Errors
    /// [`AgreementError::WrongSigner`], [`AgreementError::Unsigned`], [`AgreementError::HalfSigned`]
    /// or [`AgreementError::BadSignature`].
    pub fn verify_signed(
        self,
        clinician: &IdentityKey,
        client: &IdentityKey,
    ) -> Result<SignedAgreement, AgreementError> {
        self.0.verify_clinician(clinician, client)?;
        self.0.verify_client()?;
        Ok(SignedAgreement(self.0))
    }
}

impl PartialEq for UnverifiedAgreement {
    fn eq(&self, other: &Self) -> bool {
        self.to_bytes() == other.to_bytes()
    }
}

impl Eq for UnverifiedAgreement {}

impl serde::Serialize for UnverifiedAgreement {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.to_bytes())
    }
}

impl<'de> serde::Deserialize<'de> for UnverifiedAgreement {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let bytes: Vec<u8> = serde::Deserialize::deserialize(deserializer)?;
        Self::from_bytes(&bytes).map_err(serde::de::Error::custom)
    }
}

/// Terms the clinician has signed and the client has not accepted yet.
#[derive(Debug, Clone)]
pub struct ProposedAgreement(Parts);

impl ProposedAgreement {
    /// The clinician proposes `terms`, replacing `current` if there is one.
    ///
    /// # Errors
    /// [`AgreementError::InvalidTerms`] or [`AgreementError::SameIdentity`] if the terms break a
    /// rule; [`AgreementError::WrongSigner`] if `clinician` is not the clinician the terms name;
    /// [`AgreementError::PartiesChanged`] or [`AgreementError::Stale`] if they cannot replace
    /// `current`.
    pub fn propose(
        mut terms: AgreementTerms,
        clinician: &IdentityKeyPair,
        current: Option<&SignedAgreement>,
    ) -> Result<Self, AgreementError> {
        terms.validate()?;
        if !clinician.public_key().ct_eq(&terms.clinician) {
            return Err(AgreementError::WrongSigner(Role::Clinician));
        }
        check_replaces(&terms, current.map(SignedAgreement::terms))?;
        let canonical = encode_terms(&terms);
        let signature = clinician.sign(&signed_message(AGREEMENT_CLINICIAN_LABEL, &canonical));
        Ok(Self(Parts { terms, canonical, clinician_signature: Some(signature), client_signature: None }))
    }

    /// Reads and verifies a proposal (see [`UnverifiedAgreement::verify_proposal`]).
    ///
    /// # Errors
    /// Those of [`UnverifiedAgreement::from_bytes`] and [`UnverifiedAgreement::verify_proposal`].
    pub fn from_bytes(
        bytes: &[u8],
        clinician: &IdentityKey,
        client: &IdentityKey,
    ) -> Result<Self, AgreementError> {
        UnverifiedAgreement::from_bytes(bytes)?.verify_proposal(clinician, client)
    }

    /// The bytes to send to the client or store.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes()
    }

    /// The proposed terms.
    #[must_use]
    pub fn terms(&self) -> &AgreementTerms {
        &self.0.terms
    }

    /// The client accepts the proposal, replacing `current` if there is one.
    ///
    /// # Errors
    /// [`AgreementError::WrongSigner`] if `client` is not the client the terms name;
    /// [`AgreementError::PartiesChanged`] or [`AgreementError::Stale`] if the proposal cannot
    /// replace `current`.
    pub fn accept(
        self,
        client: &IdentityKeyPair,
        current: Option<&SignedAgreement>,
    ) -> Result<SignedAgreement, AgreementError> {
        let mut parts = self.0;
        if !client.public_key().ct_eq(&parts.terms.client) {
            return Err(AgreementError::WrongSigner(Role::Client));
        }
        check_replaces(&parts.terms, current.map(SignedAgreement::terms))?;
        parts.client_signature = Some(client.sign(&signed_message(AGREEMENT_CLIENT_LABEL, &parts.canonical)));
        Ok(SignedAgreement(parts))
    }
}

impl From<&ProposedAgreement> for UnverifiedAgreement {
    fn from(proposal: &ProposedAgreement) -> Self {
        Self(proposal.0.clone())
    }
}

/// Terms both the clinician and the client have signed: the agreement in force.
#[derive(Debug, Clone)]
pub struct SignedAgreement(Parts);

impl SignedAgreement {
    /// Reads and verifies a full agreement (see [`UnverifiedAgreement::verify_signed`]).
    ///
    /// # Errors
    /// Those of [`UnverifiedAgreement::from_bytes`] and [`UnverifiedAgreement::verify_signed`].
    pub fn from_bytes(
        bytes: &[u8],
        clinician: &IdentityKey,
        client: &IdentityKey,
    ) -> Result<Self, AgreementError> {
        UnverifiedAgreement::from_bytes(bytes)?.verify_signed(clinician, client)
    }

    /// The bytes to send or store.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes()
    }

    /// The agreed terms.
    #[must_use]
    pub fn terms(&self) -> &AgreementTerms {
        &self.0.terms
    }

    /// The agreement's version.
    #[must_use]
    pub fn version(&self) -> u32 {
        self.0.terms.version
    }

    /// Checks that this agreement may replace `current`: the same two parties, a greater version.
    ///
    /// # Errors
    /// [`AgreementError::PartiesChanged`] or [`AgreementError::Stale`].
    pub fn check_replaces(&self, current: &SignedAgreement) -> Result<(), AgreementError> {
        check_replaces(self.terms(), Some(current.terms()))
    }
}

impl From<&SignedAgreement> for UnverifiedAgreement {
    fn from(agreement: &SignedAgreement) -> Self {
        Self(agreement.0.clone())
    }
}
