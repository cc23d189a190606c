//! The terms of a colleague relation between two clinicians, which both sign: the relation a
//! consultation excerpt is shared under (PROTOCOL.md, section 15.5).

use super::AgreementError;
use crate::codec::Reader;
use crate::consts::{MAX_LIFESPAN_MS, MIN_LIFESPAN_MS};
use crate::keys::{IdentityKey, IdentityKeyPair, Signature};

/// First bytes of the signed encoding of colleague terms.
pub const COLLEAGUE_TERMS_LABEL: &[u8] = b"confidant-v1 colleague terms";

/// What two clinicians agree for consultations between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColleagueTerms {
    /// Version of the terms, ≥ 1.
    pub version: u32,
    /// The clinician whose identity key is the smaller, byte for byte.
    pub first: IdentityKey,
    /// The other clinician.
    pub second: IdentityKey,
    /// How long an excerpt lives on the receiving device, from sending, in milliseconds
    /// (within the lifespan bounds).
    pub excerpt_lifespan_ms: u64,
}

impl ColleagueTerms {
    /// Terms between `a` and `b`, in either order.
    ///
    /// # Errors
    /// [`AgreementError::SameIdentity`] if `a` and `b` are the same key;
    /// [`AgreementError::InvalidTerms`] for a version of 0 or a lifespan out of bounds.
    pub fn new(
        version: u32,
        a: IdentityKey,
        b: IdentityKey,
        excerpt_lifespan_ms: u64,
    ) -> Result<Self, AgreementError> {
        let (first, second) = if a.as_bytes() <= b.as_bytes() { (a, b) } else { (b, a) };
        let terms = Self { version, first, second, excerpt_lifespan_ms };
        terms.validate()?;
        Ok(terms)
    }

    fn validate(&self) -> Result<(), AgreementError> {
        if self.first.ct_eq(&self.second) {
            return Err(AgreementError::SameIdentity);
        }
        if self.version == 0 || self.first.as_bytes() > self.second.as_bytes() {
            return Err(AgreementError::InvalidTerms("colleague terms"));
        }
        if !(MIN_LIFESPAN_MS..=MAX_LIFESPAN_MS).contains(&self.excerpt_lifespan_ms) {
            return Err(AgreementError::InvalidTerms("colleague terms"));
        }
        Ok(())
    }

    /// Whether `key` is one of the two clinicians.
    #[must_use]
    pub fn names(&self, key: &IdentityKey) -> bool {
        self.first.ct_eq(key) || self.second.ct_eq(key)
    }

    /// The bytes both sign: `label ‖ version (u32) ‖ first (32) ‖ second (32) ‖ lifespan (u64)`.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = COLLEAGUE_TERMS_LABEL.to_vec();
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(self.first.as_bytes());
        out.extend_from_slice(self.second.as_bytes());
        out.extend_from_slice(&self.excerpt_lifespan_ms.to_be_bytes());
        out
    }

    /// This party's signature over the terms.
    ///
    /// # Errors
    /// [`AgreementError::WrongSigner`] (as clinician) if `identity` is not one of the two.
    pub fn sign(&self, identity: &IdentityKeyPair) -> Result<Signature, AgreementError> {
        if !self.names(&identity.public_key()) {
            return Err(AgreementError::WrongSigner(super::Role::Clinician));
        }
        Ok(identity.sign(&self.to_bytes()))
    }
}

/// Colleague terms with both signatures: `terms bytes ‖ first's signature (64) ‖ second's (64)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedColleagueTerms {
    terms: ColleagueTerms,
    first_signature: Signature,
    second_signature: Signature,
}

impl SignedColleagueTerms {
    /// The terms with the signatures of both, given as `mine` (by `me`) and `theirs`.
    ///
    /// # Errors
    /// [`AgreementError::BadSignature`] if either signature does not verify with its key.
    pub fn new(
        terms: ColleagueTerms,
        me: &IdentityKey,
        mine: Signature,
        theirs: Signature,
    ) -> Result<Self, AgreementError> {
        let (first_signature, second_signature) =
            if terms.first.ct_eq(me) { (mine, theirs) } else { (theirs, mine) };
        let signed = Self { terms, first_signature, second_signature };
        signed.verify()?;
        Ok(signed)
    }

    fn verify(&self) -> Result<(), AgreementError> {
        let bytes = self.terms.to_bytes();
        if !self.terms.first.verify(&bytes, &self.first_signature)
            || !self.terms.second.verify(&bytes, &self.second_signature)
        {
            return Err(AgreementError::BadSignature(super::Role::Clinician));
        }
        Ok(())
    }

    /// The terms.
    #[must_use]
    pub fn terms(&self) -> &ColleagueTerms {
        &self.terms
    }

    /// The stored form.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.terms.to_bytes();
        out.extend_from_slice(&self.first_signature.to_bytes());
        out.extend_from_slice(&self.second_signature.to_bytes());
        out
    }

    /// Reads and verifies the stored form, which must name both `a` and `b`.
    ///
    /// # Errors
    /// [`AgreementError::Malformed`] if it does not decode; [`AgreementError::WrongSigner`] if it
    /// names other clinicians; [`AgreementError::BadSignature`] if a signature does not verify.
    pub fn from_bytes(bytes: &[u8], a: &IdentityKey, b: &IdentityKey) -> Result<Self, AgreementError> {
        let mut r = Reader::with_error(bytes, AgreementError::Malformed);
        if r.take(COLLEAGUE_TERMS_LABEL.len())? != COLLEAGUE_TERMS_LABEL {
            return Err(AgreementError::Malformed);
        }
        let version = r.u32()?;
        let key = |raw: [u8; 32]| IdentityKey::from_bytes(&raw).map_err(|_| AgreementError::Malformed);
        let first = key(r.array()?)?;
        let second = key(r.array()?)?;
        let excerpt_lifespan_ms = r.u64()?;
        let signature = |raw: [u8; 64]| Signature::from_slice(&raw).map_err(|_| AgreementError::Malformed);
        let first_signature = signature(r.array()?)?;
        let second_signature = signature(r.array()?)?;
        r.finish()?;
        let terms = ColleagueTerms { version, first, second, excerpt_lifespan_ms };
        terms.validate()?;
        if !terms.names(a) || !terms.names(b) {
            return Err(AgreementError::WrongSigner(super::Role::Clinician));
        }
        let signed = Self { terms, first_signature, second_signature };
        signed.verify()?;
        Ok(signed)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn keys() -> (IdentityKeyPair, IdentityKeyPair, IdentityKeyPair) {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(15);
        (
            IdentityKeyPair::generate(&mut rng),
            IdentityKeyPair::generate(&mut rng),
            IdentityKeyPair::generate(&mut rng),
        )
    }

    #[test]
    fn signed_terms_round_trip_and_any_change_is_refused() {
        let (a, b, c) = keys();
        let terms = ColleagueTerms::new(1, b.public_key(), a.public_key(), 86_400_000).unwrap();
        assert!(terms.first.as_bytes() < terms.second.as_bytes());
        let signed = SignedColleagueTerms::new(
            terms,
            &a.public_key(),
            terms.sign(&a).unwrap(),
            terms.sign(&b).unwrap(),
        )
        .unwrap();
        let bytes = signed.to_bytes();
        let (pa, pb) = (a.public_key(), b.public_key());
        assert_eq!(SignedColleagueTerms::from_bytes(&bytes, &pb, &pa), Ok(signed));
        assert_eq!(
            SignedColleagueTerms::from_bytes(&bytes, &pa, &c.public_key()),
            Err(AgreementError::WrongSigner(super::super::Role::Clinician))
        );
        for i in COLLEAGUE_TERMS_LABEL.len()..bytes.len() {
            let mut tampered = bytes.clone();
            tampered[i] ^= 1;
            assert!(SignedColleagueTerms::from_bytes(&tampered, &pa, &pb).is_err(), "byte {i}");
        }
        assert_eq!(
            SignedColleagueTerms::from_bytes(&bytes[..bytes.len() - 1], &pa, &pb),
            Err(AgreementError::Malformed)
        );
        // A third party cannot sign, and one signature twice is not two.
        assert!(terms.sign(&c).is_err());
        let sig = terms.sign(&a).unwrap();
        assert!(SignedColleagueTerms::new(terms, &pa, sig, sig).is_err());
    }

    #[test]
    fn invalid_terms_are_refused() {
        let (a, b, _) = keys();
        assert_eq!(
            ColleagueTerms::new(1, a.public_key(), a.public_key(), 86_400_000),
            Err(AgreementError::SameIdentity)
        );
        assert!(ColleagueTerms::new(0, a.public_key(), b.public_key(), 86_400_000).is_err());
        assert!(ColleagueTerms::new(1, a.public_key(), b.public_key(), 1).is_err());
    }
}
