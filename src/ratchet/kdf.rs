//! The ratchet's key derivations: `KDF_RK`, `KDF_CK` and the message-key expansion.
//!
//! One type per key role. A message key is used once; chain and root keys are replaced by the
//! keys they derive.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::ChaCha20Poly1305;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::RatchetError;
use crate::consts::{KDF_RK_INFO, MESSAGE_KEY_INFO};
use crate::keys::Secret32;
use crate::primitives::hkdf_sha256;

/// The root key `RK`.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub(crate) struct RootKey(pub(crate) Secret32);

impl RootKey {
    /// `KDF_RK(rk, dh_out)`: `HKDF-SHA256(salt = rk, ikm = dh_out, info = "confidant-v1 root", 64)`.
    pub(crate) fn step(&self, dh_out: &Secret32) -> (RootKey, ChainKey) {
        let okm = hkdf_sha256::<64>(self.0.as_bytes(), dh_out.as_bytes(), KDF_RK_INFO);
        let mut root = Secret32([0u8; 32]);
        let mut chain = Secret32([0u8; 32]);
        root.0.copy_from_slice(&okm[..32]);
        chain.0.copy_from_slice(&okm[32..]);
        (RootKey(root), ChainKey(chain))
    }
}

/// A sending or receiving chain key `CK`.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub(crate) struct ChainKey(pub(crate) Secret32);

impl ChainKey {
    /// `KDF_CK(ck)`: the message key `HMAC(ck, 0x01)` and the next chain key `HMAC(ck, 0x02)`.
    ///
    /// Both are HMACs under the same key, so the key is set up once (its inner and outer padded
    /// blocks hashed) and the keyed state is finished twice: six SHA-256 compressions instead of
    /// eight, with the same outputs.
    pub(crate) fn step(&self) -> (ChainKey, MessageKey) {
        // HMAC zero-pads a key shorter than the 64-byte block (RFC 2104).
        let mut block = Zeroizing::new([0u8; 64]);
        block[..32].copy_from_slice(self.0.as_bytes());
        let keyed = <Hmac<Sha256> as KeyInit>::new(&(*block).into());
        let message = finish(keyed.clone(), 0x01);
        let next = finish(keyed, 0x02);
        (ChainKey(next), MessageKey(message))
    }
}

/// `HMAC(key, byte)` from a state keyed with `key`; the state is zeroized when it is dropped.
fn finish(mut mac: Hmac<Sha256>, byte: u8) -> Secret32 {
    mac.update(&[byte]);
    Secret32(mac.finalize().into_bytes().into())
}

/// A message key `mk`: encrypts or decrypts exactly one message.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub(crate) struct MessageKey(pub(crate) Secret32);

impl MessageKey {
    /// `HKDF-SHA256(salt = 32 zero bytes, ikm = mk, info = "confidant-v1 message", 44)`:
    /// a ChaCha20-Poly1305 key and nonce.
    fn cipher(&self) -> (ChaCha20Poly1305, Zeroizing<[u8; 12]>) {
        let okm = hkdf_sha256::<44>(&[0u8; 32], self.0.as_bytes(), MESSAGE_KEY_INFO);
        let mut key = Zeroizing::new([0u8; 32]);
        let mut nonce = Zeroizing::new([0u8; 12]);
        key.copy_from_slice(&okm[..32]);
        nonce.copy_from_slice(&okm[32..]);
        (ChaCha20Poly1305::new(&(*key).into()), nonce)
    }

    /// Encrypts `plaintext`; consumes the key, which may not be used again.
    pub(crate) fn encrypt(self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, RatchetError> {
        let (cipher, nonce) = self.cipher();
        cipher
            .encrypt(&(*nonce).into(), Payload { msg: plaintext, aad })
            .map_err(|_| RatchetError::PlaintextTooLarge)
    }

    /// Decrypts and authenticates `ciphertext`. Borrows the key, so that a stored skipped key
    /// survives a forgery that names it.
    pub(crate) fn decrypt(&self, ciphertext: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, RatchetError> {
        let (cipher, nonce) = self.cipher();
        cipher
            .decrypt(&(*nonce).into(), Payload { msg: ciphertext, aad })
            .map(Zeroizing::new)
            .map_err(|_| RatchetError::Decrypt)
    }
}

impl std::fmt::Debug for RootKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RootKey(..)")
    }
}

impl std::fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChainKey(..)")
    }
}

impl std::fmt::Debug for MessageKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MessageKey(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_step_is_two_separately_keyed_hmacs() {
        let ck = ChainKey(Secret32([0x3c; 32]));
        let (next, mk) = ck.step();
        assert_eq!(mk.0, crate::primitives::hmac_sha256(&[0x3c; 32], &[&[0x01]]));
        assert_eq!(next.0, crate::primitives::hmac_sha256(&[0x3c; 32], &[&[0x02]]));
    }

    #[test]
    fn chain_step_separates_message_and_chain_keys() {
        let ck = ChainKey(Secret32([1u8; 32]));
        let (next, mk) = ck.step();
        assert_ne!(next.0, mk.0);
        assert_ne!(next.0, ck.0);
    }

    #[test]
    fn message_key_round_trip_and_aad_binding() {
        let mk = MessageKey(Secret32([9u8; 32]));
        let ct = mk.clone().encrypt(b"hello", b"aad").unwrap();
        assert_eq!(ct.len(), 5 + 16);
        assert_eq!(&mk.decrypt(&ct, b"aad").unwrap()[..], b"hello");
        assert_eq!(mk.decrypt(&ct, b"aae"), Err(RatchetError::Decrypt));
    }

    #[test]
    fn each_key_debugs_as_its_name_alone() {
        let secret = || Secret32([0x5a; 32]);
        assert_eq!(format!("{:?}", RootKey(secret())), "RootKey(..)");
        assert_eq!(format!("{:?}", ChainKey(secret())), "ChainKey(..)");
        assert_eq!(format!("{:?}", MessageKey(secret())), "MessageKey(..)");
    }
}
