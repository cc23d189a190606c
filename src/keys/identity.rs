//! Long-term identity keys: Ed25519 (RFC 8032), converted to X25519 for the handshake's
//! Diffie-Hellman operations with the standard birational map.

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::{DhPublicKey, DhSecret, Secret32};
use crate::error::DecodeError;

/// An Ed25519 signature (64 bytes).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub(crate) [u8; 64]);

impl Signature {
    /// The raw 64 bytes.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; 64] {
        self.0
    }

    /// Reads a raw 64-byte signature.
    ///
    /// # Errors
    /// [`DecodeError::InvalidField`] if `bytes` is not 64 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, DecodeError> {
        <[u8; 64]>::try_from(bytes).map(Self).map_err(|_| DecodeError::InvalidField("signature"))
    }
}

impl From<[u8; 64]> for Signature {
    fn from(bytes: [u8; 64]) -> Self {
        Self(bytes)
    }
}

impl std::fmt::Debug for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signature({})", crate::codec::hex_prefix(&self.0))
    }
}

/// A device's long-term identity: an Ed25519 signing key. Zeroized on drop.
#[derive(Clone)]
pub struct IdentityKeyPair {
    signing: SigningKey,
}

impl IdentityKeyPair {
    /// Draws a new identity: 32 bytes from `rng` become the RFC 8032 secret key (seed).
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let seed = Secret32::from_rng(rng);
        Self::from_seed(seed.as_bytes())
    }

    /// Rebuilds an identity from its RFC 8032 secret key (the 32-byte seed).
    #[must_use]
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self { signing: SigningKey::from_bytes(seed) }
    }

    /// The 32-byte seed, for storage. Zeroized when the returned value is dropped.
    #[must_use]
    pub fn to_seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.signing.to_bytes())
    }

    /// The public identity key.
    #[must_use]
    pub fn public_key(&self) -> IdentityKey {
        IdentityKey(self.signing.verifying_key())
    }

    /// Signs `message` (deterministic RFC 8032 Ed25519).
    #[must_use]
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.signing.sign(message).to_bytes())
    }

    /// The X25519 private key of this identity: `clamp(SHA-512(seed)[0..32])`, as libsodium's
    /// `crypto_sign_ed25519_sk_to_curve25519`.
    pub(crate) fn dh_secret(&self) -> DhSecret {
        let mut scalar = Zeroizing::new(self.signing.to_scalar_bytes());
        scalar[0] &= 248;
        scalar[31] &= 127;
        scalar[31] |= 64;
        DhSecret::from_bytes(*scalar)
    }
}

impl std::fmt::Debug for IdentityKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityKeyPair").field("public", &self.public_key()).finish_non_exhaustive()
    }
}

/// A public identity key (Ed25519, raw 32 bytes).
///
/// Construction refuses encodings that are not points on the curve and points of small order.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct IdentityKey(VerifyingKey);

impl IdentityKey {
    /// Reads a raw 32-byte Ed25519 public key.
    ///
    /// # Errors
    /// [`DecodeError::InvalidField`] if `bytes` is not 32 bytes, not a valid point, or a point of
    /// small order.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, DecodeError> {
        let bytes = <[u8; 32]>::try_from(bytes).map_err(|_| DecodeError::InvalidField("identity key"))?;
        Self::from_bytes(&bytes)
    }

    /// Reads a raw 32-byte Ed25519 public key.
    ///
    /// # Errors
    /// [`DecodeError::InvalidField`] if `bytes` is not a valid point, or a point of small order.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, DecodeError> {
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| DecodeError::InvalidField("identity key"))?;
        if key.is_weak() {
            return Err(DecodeError::InvalidField("identity key"));
        }
        Ok(Self(key))
    }

    /// The raw 32 bytes.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The raw 32 bytes, borrowed.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// Whether `signature` is a valid RFC 8032 signature over `message` by this key
    /// (strict verification: no malleable or small-order components).
    #[must_use]
    pub fn verify(&self, message: &[u8], signature: &Signature) -> bool {
        let signature = ed25519_dalek::Signature::from_bytes(&signature.0);
        self.0.verify_strict(message, &signature).is_ok()
    }

    /// Constant-time equality of the encoded keys.
    #[must_use]
    pub fn ct_eq(&self, other: &Self) -> bool {
        bool::from(self.as_bytes().ct_eq(other.as_bytes()))
    }

    /// The X25519 form of this key: the birational map `u = (1 + y) / (1 - y)`, as libsodium's
    /// `crypto_sign_ed25519_pk_to_curve25519`.
    pub(crate) fn dh_public(&self) -> DhPublicKey {
        DhPublicKey(self.0.to_montgomery().to_bytes())
    }
}

impl std::hash::Hash for IdentityKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl std::fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IdentityKey({})", crate::codec::hex_prefix(self.as_bytes()))
    }
}

impl serde::Serialize for IdentityKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.as_bytes())
    }
}

impl<'de> serde::Deserialize<'de> for IdentityKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let bytes: Vec<u8> = serde::Deserialize::deserialize(deserializer)?;
        Self::from_slice(&bytes).map_err(serde::de::Error::custom)
    }
}
