//! confidant: end-to-end encrypted messaging between a clinician and their clients.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod clock;
pub mod consts;
mod error;
mod keys;
pub mod store;

pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use error::{DecodeError, Error, HandshakeError, Result, SessionError};
pub use keys::{
    DhKeyPair, DhPublicKey, IdentityKey, IdentityKeyPair, KemCiphertext, KemEncapsulationKey, KemPrekey,
    KemSharedSecret, OneTimePrekey, PrekeyId, Signature, SignedPrekey,
};

/// The first bytes of a public value in hex, for `Debug` output of public keys.
pub(crate) fn hex_prefix(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(19);
    for b in bytes.iter().take(8) {
        let _ = write!(out, "{b:02x}");
    }
    if bytes.len() > 8 {
        out.push('…');
    }
    out
}
