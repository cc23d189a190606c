//! # confidant
//!
//! End-to-end encrypted messaging between a clinician (therapist, counsellor, psychiatrist) and
//! their clients, for apps to embed.
//!
//! * **Sessions**: a PQXDH handshake (X25519 + ML-KEM-768) and the Signal Double Ratchet:
//!   forward secrecy, recovery after compromise, out-of-order and lost messages. See
//!   `PROTOCOL.md` for the exact protocol (profile `confidant-v1`).
//! * **Bad input never panics and never changes state**: a message that fails to decrypt leaves
//!   the session exactly as it was, and every failure is a typed [`Error`].
//! * **Time and randomness are injected** (`&mut impl CryptoRng`, [`Clock`]), so tests and test
//!   vectors are deterministic.
//!
//! Transport stays the app's: the library turns plaintext into opaque envelope bytes and back,
//! and never opens a socket.
//!
//! ```
//! use confidant::{Envelope, IdentityKeyPair, KemPrekey, PrekeyBundle, PrekeyId, Session, SignedPrekey};
//!
//! # fn main() -> Result<(), confidant::Error> {
//! let mut rng = rand::rngs::OsRng;
//!
//! // The clinician's device publishes a bundle of signed prekeys.
//! let clinician = IdentityKeyPair::generate(&mut rng);
//! let signed = SignedPrekey::generate(&mut rng, PrekeyId(1), &clinician);
//! let kem = KemPrekey::generate(&mut rng, PrekeyId(1), &clinician);
//! let bundle = PrekeyBundle::new(clinician.public_key(), &signed, None, &kem).to_bytes();
//!
//! // The client starts a session from it; the first envelope carries the handshake.
//! let client = IdentityKeyPair::generate(&mut rng);
//! let mut to_clinician = Session::initiate(&mut rng, &client, &PrekeyBundle::from_bytes(&bundle)?)?;
//! let wire: Vec<u8> = to_clinician.encrypt(&mut rng, b"Running 10 minutes late")?.to_bytes();
//!
//! // The clinician's device completes the handshake from the envelope and reads the message.
//! let Envelope::Prekey(first) = Envelope::from_bytes(&wire)? else { unreachable!() };
//! let (mut to_client, text) = Session::respond(&clinician, &first, &signed, None, &kem)?;
//! assert_eq!(&text[..], b"Running 10 minutes late");
//!
//! // From now on, either side encrypts and decrypts.
//! let reply = to_client.encrypt(&mut rng, b"No problem, see you soon")?.to_bytes();
//! assert_eq!(&to_clinician.decrypt(&Envelope::from_bytes(&reply)?)?[..], b"No problem, see you soon");
//!
//! // A session is saved as versioned bytes (encrypt them at rest) and restored exactly.
//! let saved = to_client.to_bytes();
//! let restored = Session::from_bytes(&saved)?;
//! assert_eq!(restored.to_bytes(), saved);
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod agreement;
pub mod clock;
mod codec;
pub mod consts;
mod content;
mod endpoint;
mod error;
mod expiry;
mod handshake;
#[doc(hidden)]
pub mod internal;
mod keys;
mod policy;
mod preview;
mod ratchet;
mod safety_number;
mod session;
pub mod store;
mod wire;

// The public API.
pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use endpoint::{
    Draft, Endpoint, EndpointError, HistoryEntry, Incoming, Outgoing, Received, ReceivedMessage,
};
pub use error::{DecodeError, Error, HandshakeError, Result, SessionError};
pub use handshake::PrekeyBundle;
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
pub use ratchet::Header;
pub use safety_number::{SafetyNumber, SCANNABLE_LEN};
pub use session::Session;
pub use wire::{Envelope, PrekeyMessage, RatchetMessage};

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

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
