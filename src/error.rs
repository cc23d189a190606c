//! The crate's error type.
//!
//! One [`Error`] groups the failures of each layer into a sub-enum whose variants say what went
//! wrong. No error carries plaintext or key bytes; decode failures are coarse on purpose, so that
//! an attacker probing with crafted bytes learns as little as possible.

use thiserror::Error as ThisError;

/// Every failure of the library.
#[derive(Debug, ThisError, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Bytes from outside (an envelope, a bundle, a serialized session) could not be decoded.
    #[error("decode: {0}")]
    Decode(#[from] DecodeError),
    /// The key agreement could not be completed.
    #[error("handshake: {0}")]
    Handshake(#[from] HandshakeError),
    /// A message could not be encrypted or decrypted by a session.
    #[error("session: {0}")]
    Session(#[from] SessionError),
    /// A communication agreement was refused.
    #[error("agreement: {0}")]
    Agreement(#[from] crate::AgreementError),
    /// Message content was refused.
    #[error("content: {0}")]
    Content(#[from] crate::ContentError),
    /// A message lifespan was refused.
    #[error("expiry: {0}")]
    Expiry(#[from] crate::ExpiryError),
    /// The high-level endpoint refused an operation.
    #[error("endpoint: {0}")]
    Endpoint(#[from] crate::EndpointError),
    /// The encrypted on-device store failed.
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
}

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

/// Why a session refused to encrypt or decrypt. The session is exactly as it was before the call.
#[derive(Debug, ThisError, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionError {
    /// Authentication failed: the message was forged, tampered with, or keyed differently.
    #[error("message authentication failed")]
    Decrypt,
    /// The message was already decrypted, or belongs to a chain position whose key is gone.
    #[error("duplicate or replayed message")]
    Duplicate,
    /// The message would need more skipped keys than [`crate::consts::MAX_SKIP`].
    #[error("message skips more than MAX_SKIP keys")]
    TooManySkipped,
    /// The message's ratchet key is of low order.
    #[error("message carries a low-order ratchet key")]
    LowOrderKey,
    /// The plaintext is larger than [`crate::consts::MAX_PLAINTEXT_LEN`].
    #[error("plaintext too large")]
    PlaintextTooLarge,
    /// The session has no receiving state for this message yet (for example, a reply arrived
    /// before the initiator sent anything).
    #[error("session cannot receive this message yet")]
    NotReady,
    /// A chain counter would overflow; the session must be replaced.
    #[error("message counter exhausted")]
    CounterExhausted,
    /// A handshake message that belongs to a different session.
    #[error("handshake message belongs to another session")]
    ForeignHandshake,
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
