//! X25519 key pairs for the handshake and the Diffie-Hellman ratchet.

use rand_core::CryptoRng;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::Secret32;
use crate::error::{DecodeError, HandshakeError};

/// An X25519 public key (raw 32 bytes, RFC 7748).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DhPublicKey(pub(crate) [u8; 32]);

impl DhPublicKey {
    /// The raw 32 bytes.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    /// The raw 32 bytes, borrowed.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Reads a raw 32-byte key.
    ///
    /// # Errors
    /// [`DecodeError::InvalidField`] if `bytes` is not 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, DecodeError> {
        <[u8; 32]>::try_from(bytes).map(Self).map_err(|_| DecodeError::InvalidField("x25519 public key"))
    }
}

impl From<[u8; 32]> for DhPublicKey {
    fn from(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl std::fmt::Debug for DhPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DhPublicKey({})", crate::codec::hex_prefix(&self.0))
    }
}

/// An X25519 private scalar. Zeroized on drop; clamped by X25519 at use.
#[derive(Clone, ZeroizeOnDrop)]
pub(crate) struct DhSecret(StaticSecret);

impl DhSecret {
    pub(crate) fn from_bytes(mut bytes: [u8; 32]) -> Self {
        let secret = StaticSecret::from(bytes);
        bytes.zeroize();
        Self(secret)
    }

    /// The raw scalar, for the low-level layer.
    #[cfg(feature = "low-level")]
    pub(crate) fn to_secret(&self) -> Secret32 {
        Secret32(self.0.to_bytes())
    }

    pub(crate) fn public_key(&self) -> DhPublicKey {
        DhPublicKey(PublicKey::from(&self.0).to_bytes())
    }

    /// X25519 with `public`; refuses an all-zero output (a low-order `public`).
    pub(crate) fn agree(&self, public: &DhPublicKey) -> Result<Secret32, HandshakeError> {
        let shared = self.0.diffie_hellman(&PublicKey::from(public.0));
        if shared.was_contributory() {
            Ok(Secret32(shared.to_bytes()))
        } else {
            Err(HandshakeError::LowOrderKey)
        }
    }
}

impl std::fmt::Debug for DhSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DhSecret(..)")
    }
}

/// An X25519 key pair: a ratchet key, an ephemeral key, or a prekey.
#[derive(Clone)]
pub struct DhKeyPair {
    pub(crate) secret: DhSecret,
    pub(crate) public: DhPublicKey,
}

impl DhKeyPair {
    /// Draws a new key pair: 32 bytes from `rng` become the private scalar.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let bytes = Secret32::from_rng(rng);
        Self::from_private_bytes(*bytes.as_bytes())
    }

    /// Builds a key pair from a raw private scalar (clamped at use).
    #[must_use]
    pub fn from_private_bytes(bytes: [u8; 32]) -> Self {
        let secret = DhSecret::from_bytes(bytes);
        let public = secret.public_key();
        Self { secret, public }
    }

    /// The public half.
    #[must_use]
    pub fn public_key(&self) -> DhPublicKey {
        self.public
    }

    /// The private scalar, for storage. Zeroized when the returned value is dropped.
    #[must_use]
    pub fn private_bytes(&self) -> zeroize::Zeroizing<[u8; 32]> {
        zeroize::Zeroizing::new(self.secret.0.to_bytes())
    }
}

impl std::fmt::Debug for DhKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DhKeyPair").field("public", &self.public).finish_non_exhaustive()
    }
}
