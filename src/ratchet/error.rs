//! The ratchet's error, internal: the session above turns it into its public error, variant for
//! variant.

use thiserror::Error as ThisError;

/// Why the ratchet refused to encrypt or decrypt. The state is exactly as it was before the call.
#[derive(Debug, ThisError, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RatchetError {
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
    /// There is no receiving (or sending) chain for this message yet.
    #[error("ratchet cannot handle this message yet")]
    NotReady,
    /// A chain counter would overflow.
    #[error("message counter exhausted")]
    CounterExhausted,
}
