//! The errors of the lowest layers, which every layer above may meet: bytes from outside that do
//! not decode ([`DecodeError`]), and key operations and key agreements that cannot be completed
//! ([`HandshakeError`]; the key types report low-order and ML-KEM failures with it too).
//!
//! No error carries plaintext or key bytes; decode failures are coarse on purpose, so that an
//! attacker probing with crafted bytes learns as little as possible. Each layer above has its own
//! error; the crate-wide `Error` that groups them is the endpoint's.

use thiserror::Error as ThisError;

/// Why bytes from outside were refused. The input was not used, and no state changed.
#[derive(Debug, ThisError, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input was empty.
    #[error("input is empty")]
    Empty,
    /// The input is larger than the limit for its kind (see [`crate::consts`]).
    #[error("input is larger than the limit for its kind")]
    TooLarge,
    /// The leading version byte names a format this library does not know.
    #[error("unsupported format version {0}")]
    UnsupportedVersion(u8),
    /// The bytes are not a well-formed protobuf message of the expected kind.
    #[error("malformed message")]
    Malformed,
    /// A field is missing, has the wrong length, or holds a value that is not allowed.
    #[error("invalid field: {0}")]
    InvalidField(&'static str),
}

/// Why a key agreement failed. Nothing was consumed.
#[derive(Debug, ThisError, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The signed prekey's signature does not verify under the identity key.
    #[error("signed prekey signature does not verify")]
    BadSignedPrekeySignature,
    /// The post-quantum prekey's signature does not verify under the identity key.
    #[error("post-quantum prekey signature does not verify")]
    BadKemPrekeySignature,
    /// The ML-KEM encapsulation key fails the FIPS 203 input check.
    #[error("ML-KEM encapsulation key fails the FIPS 203 modulus check")]
    InvalidKemKey,
    /// The ML-KEM ciphertext does not have the ML-KEM-768 length.
    #[error("ML-KEM ciphertext has the wrong length")]
    InvalidKemCiphertext,
    /// A Diffie-Hellman output was all zero: a low-order public key was used.
    #[error("a public key is of low order")]
    LowOrderKey,
    /// The message names prekeys other than the ones supplied.
    #[error("the message names other prekeys than the ones supplied")]
    PrekeyMismatch,
    /// The peer's identity is the local identity.
    #[error("a session with oneself is not allowed")]
    SelfSession,
}
