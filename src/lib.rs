//! # confidant
//!
//! End-to-end encrypted messaging between a clinician (therapist, counsellor, psychiatrist) and
//! their clients, for apps to embed.
//!
//! * **Sessions** ([`session::Session`]): a PQXDH handshake (X25519 + ML-KEM-768) and the Signal Double
//!   Ratchet: forward secrecy, recovery after compromise, out-of-order and lost messages.
//!   `PROTOCOL.md` specifies the protocol (profile `confidant-v1`) byte for byte.
//! * **An encrypted on-device store** ([`store`]): one SQLite file in which every value is sealed;
//!   session state and messages are saved in one transaction; deleted and expired messages leave
//!   no copy behind.
//! * **The clinician–client layer**: a communication agreement both parties sign
//!   ([`AgreementTerms`], [`agreement::SignedAgreement`]) that says which kinds of messages each may send,
//!   when the clinician is available, the crisis resources and how long messages live; enforced
//!   on both devices ([`policy::classify`]), with auto-replies outside hours and message expiry.
//! * **[`Endpoint`]**, the one entry point an app needs, tying these together. Transport stays the
//!   app's: the endpoint returns opaque envelope bytes and takes them back; it never opens a socket.
//!
//! Bad input never panics and never changes state: every failure is a typed [`Error`], and a
//! message that fails to decrypt leaves the session and the store exactly as they were. Time and
//! randomness are the endpoint's own (the system clock, the operating system's generator); tests
//! inject a [`clock::Clock`], and the lower [`session::Session`] API takes explicit generators.
//!
//! ```
//! use confidant::store::{MemoryStore, PeerId};
//! use confidant::{
//!     AgreementTerms, AppointmentKind, Availability, Category, Decision, Draft, Endpoint, ManualClock,
//!     Received, Role, Timestamp, Weekday, Window,
//! };
//!
//! # fn main() -> Result<(), confidant::Error> {
//! let monday_10am_new_york = Timestamp(1_772_463_600_000);
//! // Each device has its own store: `SqliteStore` on a phone, `MemoryStore` here.
//! let clinician = Endpoint::new(MemoryStore::new(), ManualClock::new(monday_10am_new_york), Role::Clinician, "dr-lee")?;
//! let client = Endpoint::new(MemoryStore::new(), ManualClock::new(monday_10am_new_york), Role::Client, "sam")?;
//! let (sam, dr_lee) = (PeerId::new("sam")?, PeerId::new("dr-lee")?);
//!
//! // The client publishes a prekey bundle; the clinician starts a session from it and proposes
//! // the communication agreement; the client accepts; both have signed it.
//! let bundle = client.prekey_bundle()?;
//! clinician.start_session(&sam, &bundle)?;
//! let hours = Weekday::ALL[..5].iter().map(|&day| Window::new(day, (9, 0), (17, 0))).collect();
//! let terms = AgreementTerms::new(
//!     1,
//!     clinician.identity_key(),
//!     client.identity_key(),
//!     Availability::new("America/New_York", hours)?,
//!     "I reply within one business day.".into(),
//!     vec!["Call or text 988 (Suicide & Crisis Lifeline)".into()],
//! );
//! let proposal = clinician.propose_agreement(&sam, terms)?;
//! let Received::AgreementProposed { id, .. } = client.receive(&dr_lee, &proposal)?.received else { unreachable!() };
//! let acceptance = client.accept_agreement(&dr_lee, id)?;
//! clinician.receive(&sam, &acceptance)?;
//!
//! // An appointment confirmation is within the agreement: it is sent, as opaque bytes.
//! let draft = Draft::new(Category::Appointment(AppointmentKind::Confirm), "See you Thursday at 3pm");
//! let sent = client.send(&dr_lee, draft)?;
//! assert_eq!(sent.decision, Decision::Allowed);
//! let incoming = clinician.receive(&sam, &sent.envelope.expect("sent"))?;
//! let Received::Message(message) = incoming.received else { unreachable!() };
//! assert_eq!(&message.text[..], "See you Thursday at 3pm");
//!
//! // Anything else is refused before it leaves the device, with the reason.
//! let sent = client.send(&dr_lee, Draft::new(Category::CheckIn, "Can we talk tonight?"))?;
//! assert!(sent.envelope.is_none() && matches!(sent.decision, Decision::OutOfScope { .. }));
//! # Ok(())
//! # }
//! ```
//!
//! The crate root holds the [`Endpoint`] API and the types its first example needs. The layers
//! under it are public modules, each with its own types and its own error: [`clock`] and
//! [`consts`]; [`keys`]; [`devices`] (a person's signed device list, linking a new device);
//! [`session`] (for apps that bring their own storage and rules);
//! [`expiry`], [`agreement`], [`content`] and [`policy`] (the clinician–client rules); [`store`]
//! (for other storage back ends). `ARCHITECTURE.md` draws the layers and the data flow.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

// The modules, one group per layer from the bottom up: a module names only modules of its own
// group or of the groups before it (ARCHITECTURE.md draws the layers).
// Foundations: limits, time, the low-level errors, the byte codec.
pub mod clock;
mod codec;
pub mod consts;
mod error;
mod role;

// Keys, and the key derivations over their secrets.
pub mod keys;
mod primitives;

// A person's devices: the device list the person key signs, and linking a new device.
pub mod devices;

// The protocol: the ratchet, the wire format and the handshake, and the session over them.
mod handshake;
mod ratchet;
pub mod session;
mod wire;

// The clinician-client layer: expiry, message categories, the agreement, message content, and
// the boundaries both devices enforce.
pub mod agreement;
mod category;
pub mod content;
pub mod expiry;
pub mod policy;
pub mod records;

// The encrypted store, and the endpoint that ties the layers together.
mod endpoint;
pub mod store;

// Raw entry points for the test vectors, the fuzz targets and the benchmarks; never for apps.
#[cfg(feature = "low-level")]
pub mod low_level;

// The public API at the root: the endpoint, the error every endpoint call returns, and what the
// crate's first example names besides them. Everything else is reached through its layer's module.
pub use agreement::{
    AfterEnd, AgreementTerms, Availability, CrisisSupport, Role, SupportPlan, Weekday, Window,
};
pub use clock::{ManualClock, Timestamp};
pub use content::{AppointmentKind, Category};
pub use endpoint::{
    AgreementStatus, Draft, Endpoint, EndpointError, Error, HistoryEntry, Incoming, Outgoing, PlanRequest,
    PrekeyRotation, Received, ReceivedMessage, Result,
};
// What a conversation's history shows beyond its messages.
pub use endpoint::{HistoryCursor, HistoryItem, HistoryPage, MessageMarks, RecallState};
// Several devices per person.
pub use endpoint::{Delivery, DeviceChange, LinkAccepted};
pub use policy::Decision;

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
