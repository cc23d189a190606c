//! The session's error: what [`super::Session`] returns from every call.

use thiserror::Error as ThisError;

use crate::error::{DecodeError, HandshakeError};
use crate::ratchet::RatchetError;

/// Why a session call failed. The session is exactly as it was before the call.
///
/// A message that does not authenticate is [`SessionError::Decrypt`]; bytes that are not a
/// well-formed session record are [`SessionError::Decode`]; a key agreement that cannot be
/// completed is [`SessionError::Handshake`]. Neither carries plaintext or key bytes.
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
    /// Bytes from outside (a serialized session) could not be decoded. Nothing was used.
    #[error("decode: {0}")]
    Decode(#[from] DecodeError),
    /// The key agreement that starts or answers a session could not be completed. Nothing was
    /// consumed.
    #[error("handshake: {0}")]
    Handshake(#[from] HandshakeError),
}

impl From<RatchetError> for SessionError {
    fn from(error: RatchetError) -> Self {
        match error {
            RatchetError::Decrypt => Self::Decrypt,
            RatchetError::Duplicate => Self::Duplicate,
            RatchetError::TooManySkipped => Self::TooManySkipped,
            RatchetError::LowOrderKey => Self::LowOrderKey,
            RatchetError::PlaintextTooLarge => Self::PlaintextTooLarge,
            RatchetError::NotReady => Self::NotReady,
            RatchetError::CounterExhausted => Self::CounterExhausted,
        }
    }
}
