//! Key types: identities (Ed25519), Diffie-Hellman keys (X25519), ML-KEM-768 keys, the prekeys a
//! device publishes, and the safety numbers two users compare to verify each other's identity.
//!
//! Every type that holds secret bytes zeroizes them on drop and prints no key material in `Debug`.

mod dh;
mod identity;
mod kem;
mod prekeys;
mod safety_number;

pub(crate) use dh::DhSecret;
pub use dh::{DhKeyPair, DhPublicKey};
pub use identity::{IdentityKey, IdentityKeyPair, Signature};
pub use kem::{KemCiphertext, KemEncapsulationKey, KemSharedSecret};
pub(crate) use kem::{KemSeed, KEM_CIPHERTEXT_LEN};
pub use prekeys::{KemPrekey, OneTimePrekey, PrekeyId, SignedPrekey};
pub use safety_number::{SafetyNumber, SCANNABLE_LEN};

// The errors that decoding a key and a key operation report (the session layer has them too).
pub use crate::error::{DecodeError, HandshakeError};

/// A 32-byte secret that zeroizes on drop and never prints its bytes.
#[derive(Clone, zeroize::Zeroize, zeroize::ZeroizeOnDrop, PartialEq, Eq)]
pub(crate) struct Secret32(pub(crate) [u8; 32]);

impl Secret32 {
    pub(crate) fn from_rng<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut bytes = Self([0u8; 32]);
        rng.fill_bytes(&mut bytes.0);
        bytes
    }

    pub(crate) fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for Secret32 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret32(..)")
    }
}
