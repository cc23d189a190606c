//! The prekeys a device publishes so that others can start sessions with it while it is offline.

use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::{DhKeyPair, DhPublicKey, IdentityKeyPair, KemEncapsulationKey, KemSeed, Signature};
use crate::codec::Reader;
use crate::error::DecodeError;

/// Identifies a prekey within one device's prekeys of the same kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct PrekeyId(pub u32);

/// A medium-term X25519 prekey, signed by the identity key. It is also the responder's first
/// ratchet key.
#[derive(Clone)]
pub struct SignedPrekey {
    id: PrekeyId,
    key_pair: DhKeyPair,
    signature: Signature,
}

impl SignedPrekey {
    /// Length of [`Self::to_bytes`].
    const ENCODED_LEN: usize = 4 + 32 + 64;

    /// Draws a new signed prekey: the signature is Ed25519 over the raw 32-byte public key.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R, id: PrekeyId, identity: &IdentityKeyPair) -> Self {
        let key_pair = DhKeyPair::generate(rng);
        let signature = identity.sign(key_pair.public.as_bytes());
        Self { id, key_pair, signature }
    }

    /// Builds a signed prekey from stored parts (the signature is checked when it is used).
    #[must_use]
    pub fn from_parts(id: PrekeyId, key_pair: DhKeyPair, signature: Signature) -> Self {
        Self { id, key_pair, signature }
    }

    /// The id.
    #[must_use]
    pub fn id(&self) -> PrekeyId {
        self.id
    }

    /// The public key.
    #[must_use]
    pub fn public_key(&self) -> DhPublicKey {
        self.key_pair.public
    }

    /// The identity key's signature over the public key.
    #[must_use]
    pub fn signature(&self) -> Signature {
        self.signature
    }

    pub(crate) fn key_pair(&self) -> &DhKeyPair {
        &self.key_pair
    }

    /// Encodes `id (u32 big-endian) ‖ private key (32) ‖ signature (64)`, for storage.
    #[must_use]
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(Self::ENCODED_LEN));
        out.extend_from_slice(&self.id.0.to_be_bytes());
        out.extend_from_slice(&self.key_pair.private_bytes()[..]);
        out.extend_from_slice(&self.signature.0);
        out
    }

    /// Decodes [`Self::to_bytes`].
    ///
    /// # Errors
    /// [`DecodeError::InvalidField`] if the length is wrong.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, "signed prekey");
        let id = PrekeyId(r.u32()?);
        let private = Zeroizing::new(r.array::<32>()?);
        let signature = Signature(r.array()?);
        r.finish()?;
        Ok(Self { id, key_pair: DhKeyPair::from_private_bytes(*private), signature })
    }
}

impl std::fmt::Debug for SignedPrekey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedPrekey")
            .field("id", &self.id)
            .field("public", &self.key_pair.public)
            .finish_non_exhaustive()
    }
}

/// A single-use X25519 prekey. The responder deletes it once a session used it.
#[derive(Clone)]
pub struct OneTimePrekey {
    id: PrekeyId,
    key_pair: DhKeyPair,
}

impl OneTimePrekey {
    /// Length of [`Self::to_bytes`].
    const ENCODED_LEN: usize = 4 + 32;

    /// Draws a new one-time prekey.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R, id: PrekeyId) -> Self {
        Self { id, key_pair: DhKeyPair::generate(rng) }
    }

    /// Builds a one-time prekey from stored parts.
    #[must_use]
    pub fn from_parts(id: PrekeyId, key_pair: DhKeyPair) -> Self {
        Self { id, key_pair }
    }

    /// The id.
    #[must_use]
    pub fn id(&self) -> PrekeyId {
        self.id
    }

    /// The public key.
    #[must_use]
    pub fn public_key(&self) -> DhPublicKey {
        self.key_pair.public
    }

    pub(crate) fn key_pair(&self) -> &DhKeyPair {
        &self.key_pair
    }

    /// Encodes `id (u32 big-endian) ‖ private key (32)`, for storage.
    #[must_use]
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(Self::ENCODED_LEN));
        out.extend_from_slice(&self.id.0.to_be_bytes());
        out.extend_from_slice(&self.key_pair.private_bytes()[..]);
        out
    }

    /// Decodes [`Self::to_bytes`].
    ///
    /// # Errors
    /// [`DecodeError::InvalidField`] if the length is wrong.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, "one-time prekey");
        let id = PrekeyId(r.u32()?);
        let private = Zeroizing::new(r.array::<32>()?);
        r.finish()?;
        Ok(Self { id, key_pair: DhKeyPair::from_private_bytes(*private) })
    }
}

impl std::fmt::Debug for OneTimePrekey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OneTimePrekey")
            .field("id", &self.id)
            .field("public", &self.key_pair.public)
            .finish_non_exhaustive()
    }
}

/// A signed ML-KEM-768 prekey, kept as its 64-byte seed `d ‖ z`.
#[derive(Clone)]
pub struct KemPrekey {
    id: PrekeyId,
    seed: KemSeed,
    encapsulation_key: KemEncapsulationKey,
    signature: Signature,
}

impl KemPrekey {
    /// Length of [`Self::to_bytes`].
    const ENCODED_LEN: usize = 4 + 64 + 64;

    /// Draws a new post-quantum prekey: 64 bytes from `rng` are the seed `d ‖ z`, and the
    /// signature is Ed25519 over the raw 1184-byte encapsulation key.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R, id: PrekeyId, identity: &IdentityKeyPair) -> Self {
        let seed = KemSeed::from_rng(rng);
        let encapsulation_key = seed.encapsulation_key();
        let signature = identity.sign(encapsulation_key.as_bytes());
        Self { id, seed, encapsulation_key, signature }
    }

    /// Builds a post-quantum prekey from its 64-byte seed and stored signature.
    #[must_use]
    pub fn from_seed(id: PrekeyId, seed: &[u8; 64], signature: Signature) -> Self {
        let seed = KemSeed(*seed);
        let encapsulation_key = seed.encapsulation_key();
        Self { id, seed, encapsulation_key, signature }
    }

    /// The id.
    #[must_use]
    pub fn id(&self) -> PrekeyId {
        self.id
    }

    /// The encapsulation key.
    #[must_use]
    pub fn encapsulation_key(&self) -> &KemEncapsulationKey {
        &self.encapsulation_key
    }

    /// The identity key's signature over the encapsulation key.
    #[must_use]
    pub fn signature(&self) -> Signature {
        self.signature
    }

    pub(crate) fn seed(&self) -> &KemSeed {
        &self.seed
    }

    /// Encodes `id (u32 big-endian) ‖ seed (64) ‖ signature (64)`, for storage.
    #[must_use]
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(Self::ENCODED_LEN));
        out.extend_from_slice(&self.id.0.to_be_bytes());
        out.extend_from_slice(&self.seed.0);
        out.extend_from_slice(&self.signature.0);
        out
    }

    /// Decodes [`Self::to_bytes`].
    ///
    /// # Errors
    /// [`DecodeError::InvalidField`] if the length is wrong.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, "post-quantum prekey");
        let id = PrekeyId(r.u32()?);
        let seed = Zeroizing::new(r.array::<64>()?);
        let signature = Signature(r.array()?);
        r.finish()?;
        Ok(Self::from_seed(id, &seed, signature))
    }
}

impl std::fmt::Debug for KemPrekey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KemPrekey")
            .field("id", &self.id)
            .field("encapsulation_key", &self.encapsulation_key)
            .finish_non_exhaustive()
    }
}
