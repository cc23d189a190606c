//! confidant: end-to-end encrypted messaging between a clinician and their clients.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod agreement;
pub mod clock;
pub mod consts;
mod content;
mod error;
mod expiry;
mod keys;
mod policy;
mod preview;

pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use error::{DecodeError, Error, HandshakeError, Result, SessionError};
// The clinician-client layer: agreement, message content, boundaries, expiry, notifications.
pub use agreement::{
    AgreementError, AgreementTerms, Availability, ProposedAgreement, Role, SignedAgreement,
    UnverifiedAgreement, Weekday, Window, MINUTES_PER_DAY,
};
pub use content::{
    AppointmentKind, Category, CategoryKind, Content, ContentError, MessageId, Receipt, ReceiptKind,
};
pub use expiry::{Arrival, ExpiryError, ExpiryStart, Lifespan};
pub use keys::{
    DhKeyPair, DhPublicKey, IdentityKey, IdentityKeyPair, KemCiphertext, KemEncapsulationKey, KemPrekey,
    KemSharedSecret, OneTimePrekey, PrekeyId, Signature, SignedPrekey,
};
pub use policy::{classify, classify_content, AutoReplyLimiter, Decision, OutOfScopeReason};
pub use preview::{notification_preview, PREVIEW_FROM_CLIENT, PREVIEW_FROM_CLINICIAN};

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
