//! The repair request: a device that cannot decrypt a peer's messages asks it, under its own
//! identity key, to start a new session from the bundle it attaches.

use prost::Message;

use super::PrekeyBundle;
use crate::consts::{MAX_REPAIR_REQUEST_LEN, REPAIR_LABEL, REPAIR_REQUEST_VERSION};
use crate::error::DecodeError;
use crate::keys::{IdentityKey, IdentityKeyPair, Signature};
use crate::wire::proto;

/// A signed repair request (PROTOCOL.md, section 12.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RepairRequest {
    pub(crate) identity_key: IdentityKey,
    pub(crate) recipient_key: Option<IdentityKey>,
    pub(crate) at: u64,
    pub(crate) bundle: PrekeyBundle,
    bundle_bytes: Vec<u8>,
    signature: Signature,
}

/// What the signature covers: the label, then the fields in a fixed layout.
fn signed_bytes(identity: &IdentityKey, recipient: Option<&IdentityKey>, at: u64, bundle: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(REPAIR_LABEL.len() + 1 + 64 + 8 + 4 + bundle.len());
    out.extend_from_slice(REPAIR_LABEL);
    out.extend_from_slice(identity.as_bytes());
    match recipient {
        Some(key) => {
            out.push(1);
            out.extend_from_slice(key.as_bytes());
        }
        None => out.push(0),
    }
    out.extend_from_slice(&at.to_be_bytes());
    // The bundle is bounded by `MAX_BUNDLE_LEN`, far below 2^32.
    out.extend_from_slice(&u32::try_from(bundle.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(bundle);
    out
}

impl RepairRequest {
    /// A request by `identity`, for the device with `recipient` (if known), made at `at`, asking
    /// for a session from `bundle` (which must be `identity`'s own).
    pub(crate) fn sign(
        identity: &IdentityKeyPair,
        recipient: Option<IdentityKey>,
        at: u64,
        bundle: PrekeyBundle,
    ) -> Self {
        let identity_key = identity.public_key();
        let bundle_bytes = bundle.to_bytes();
        let signature = identity.sign(&signed_bytes(&identity_key, recipient.as_ref(), at, &bundle_bytes));
        Self { identity_key, recipient_key: recipient, at, bundle, bundle_bytes, signature }
    }

    /// Whether the signature verifies under the request's identity key, and the bundle is that
    /// identity's.
    pub(crate) fn verify(&self) -> bool {
        let signed =
            signed_bytes(&self.identity_key, self.recipient_key.as_ref(), self.at, &self.bundle_bytes);
        self.identity_key.verify(&signed, &self.signature)
            && self.bundle.identity_key().ct_eq(&self.identity_key)
    }

    /// The version byte, then the protobuf `RepairRequest`.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let message = proto::RepairRequest {
            identity_key: self.identity_key.to_bytes().to_vec(),
            recipient_key: self.recipient_key.map(|key| key.to_bytes().to_vec()),
            at: self.at,
            bundle: self.bundle_bytes.clone(),
            signature: self.signature.to_bytes().to_vec(),
        };
        let mut out = Vec::with_capacity(1 + message.encoded_len());
        out.push(REPAIR_REQUEST_VERSION);
        message.encode_raw(&mut out);
        out
    }

    /// Decodes [`Self::to_bytes`]: version, size, protobuf, then every field (the signature is
    /// checked by [`Self::verify`]).
    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let body = crate::wire::check_version(bytes, REPAIR_REQUEST_VERSION, MAX_REPAIR_REQUEST_LEN)?;
        let m = proto::RepairRequest::decode(body).map_err(|_| DecodeError::Malformed)?;
        Ok(Self {
            identity_key: IdentityKey::from_slice(&m.identity_key)?,
            recipient_key: m.recipient_key.as_deref().map(IdentityKey::from_slice).transpose()?,
            at: m.at,
            bundle: PrekeyBundle::from_bytes(&m.bundle)?,
            bundle_bytes: m.bundle,
            signature: Signature::from_slice(&m.signature)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;
    use crate::keys::{KemPrekey, PrekeyId, SignedPrekey};

    #[test]
    fn a_request_round_trips_and_any_changed_field_fails_to_verify() {
        let mut rng = StdRng::seed_from_u64(9);
        let (alice, bob) = (IdentityKeyPair::generate(&mut rng), IdentityKeyPair::generate(&mut rng));
        let bundle = |owner: &IdentityKeyPair, rng: &mut StdRng| {
            let signed = SignedPrekey::generate(rng, PrekeyId(1), owner);
            let kem = KemPrekey::generate(rng, PrekeyId(1), owner);
            PrekeyBundle::new(owner.public_key(), &signed, None, &kem)
        };
        let request = RepairRequest::sign(&alice, Some(bob.public_key()), 42, bundle(&alice, &mut rng));
        let decoded = RepairRequest::from_bytes(&request.to_bytes()).unwrap();
        assert_eq!(decoded, request);
        assert!(decoded.verify());
        let mut later = decoded.clone();
        later.at = 43;
        assert!(!later.verify());
        let mut other = decoded.clone();
        other.recipient_key = None;
        assert!(!other.verify());
        // A bundle of someone else's, even signed by the requester, is refused.
        let foreign = RepairRequest::sign(&alice, None, 42, bundle(&bob, &mut rng));
        assert!(!foreign.verify());
        assert_eq!(RepairRequest::from_bytes(&[]), Err(DecodeError::Empty));
        assert!(RepairRequest::from_bytes(&[REPAIR_REQUEST_VERSION, 0xff]).is_err());
    }
}
