//! The properties behind the fuzz targets, and the seed inputs of their corpora.
//!
//! Each target in `fuzz/fuzz_targets/` is a thin call into [`Target::run`], and
//! `tests/fuzz_corpus.rs` replays every committed corpus file through the same call, so any input
//! the fuzzer ever found stays a regression test. A property that does not hold is reported as a
//! [`Violation`]; nothing here panics on any input (a panic is itself a finding).
//!
//! The sessions the targets attack are built from fixed seeds with [`DeterministicRng`], once per
//! process, so every run sees the same keys and the corpora stay meaningful.

mod clinic;
mod clinic_seeds;
mod clinic_setup;
mod devices;
mod endpoint;
mod fixtures;
mod interaction;
mod layers;

use std::sync::OnceLock;

use crate::rng::DeterministicRng;

use confidant::low_level::Ratchet;
use confidant::session::{Envelope, PrekeyBundle, PrekeyMessage, Session};
use fixtures::{DecryptFixture, Genuine, RespondFixture};

/// A property that does not hold, with what was observed.
#[derive(Clone, PartialEq, Eq)]
pub struct Violation(String);

impl Violation {
    fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::fmt::Debug for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Violation({})", self.0)
    }
}

impl std::error::Error for Violation {}

/// Turns a library error met while building a fixture into a [`Violation`].
fn setup<T, E: std::fmt::Display>(what: &str, result: Result<T, E>) -> Result<T, Violation> {
    result.map_err(|e| Violation::new(format!("fixture: {what}: {e}")))
}

/// The fuzz targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Any bytes into every decoder (envelope, bundle, session record, ratchet state): no panic,
    /// and whatever decodes re-encodes to bytes that decode to the same value.
    EnvelopeDecode,
    /// Any bytes delivered to both sides of an established session with stored skipped keys:
    /// no panic, a failure leaves the session byte-for-byte unchanged, and only a genuine,
    /// not yet decrypted message decrypts (to its plaintext, and only once).
    SessionDecrypt,
    /// Any bytes as a first message to a responder with real prekeys: no panic, only a genuine
    /// first message creates a session, and after a failure the same prekeys are unchanged and
    /// still complete a genuine handshake.
    HandshakeRespond,
    /// A seed and a sequence of events between two parties (send, deliver, reorder, drop,
    /// duplicate, tamper, snapshot and restore); at the end both sides agree and every genuine
    /// message that was not dropped decrypted exactly once.
    Interaction,
    /// Any bytes as padded message content: no panic, and what decodes re-encodes to a bucket
    /// length and decodes to the same content.
    ContentDecode,
    /// Any bytes as a communication agreement: no panic, only canonical bytes decode, and only
    /// genuinely signed agreements verify.
    AgreementDecode,
    /// Any bytes as a sealed store record of any table, or as a whole store file: no panic,
    /// typed errors, and no forged record opens.
    StoreRecord,
    /// Any mix of genuine envelopes, replays, forgeries and garbage in one `receive_batch`: what
    /// it reports as received is what it stores, and a failed envelope changes nothing.
    EndpointBatch,
    /// Any bytes as a signed device list, a link code, a link request and a link response: no
    /// panic, only canonical lists that keep every rule decode, and only the genuine request and
    /// response of a linking are accepted.
    DeviceDecode,
    /// A clinician's phone and linked desktop and a client's phone with an agreement in force,
    /// driven event by event (send, deliver in any order, drop, replay, tamper, lose a session
    /// and repair it, remove the desktop): every genuine envelope is received or fails changing
    /// nothing, and at the end every device holds each message meant for it exactly once.
    Clinic,
}

impl Target {
    /// Every target.
    pub const ALL: [Target; 10] = [
        Target::EnvelopeDecode,
        Target::SessionDecrypt,
        Target::HandshakeRespond,
        Target::Interaction,
        Target::ContentDecode,
        Target::AgreementDecode,
        Target::StoreRecord,
        Target::EndpointBatch,
        Target::DeviceDecode,
        Target::Clinic,
    ];

    /// The name of the target, of its `fuzz/fuzz_targets/` file and of its corpus directory.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Target::EnvelopeDecode => "envelope_decode",
            Target::SessionDecrypt => "session_decrypt",
            Target::HandshakeRespond => "handshake_respond",
            Target::Interaction => "interaction",
            Target::ContentDecode => "content_decode",
            Target::AgreementDecode => "agreement_decode",
            Target::StoreRecord => "store_record",
            Target::EndpointBatch => "endpoint_batch",
            Target::DeviceDecode => "device_decode",
            Target::Clinic => "clinic",
        }
    }

    /// The target named `name`.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Runs one input through the target's properties.
    ///
    /// # Errors
    /// The first [`Violation`] found.
    pub fn run(self, data: &[u8]) -> Result<(), Violation> {
        match self {
            Target::EnvelopeDecode => envelope_decode(data),
            Target::SessionDecrypt => session_decrypt(data),
            Target::HandshakeRespond => handshake_respond(data),
            Target::Interaction => interaction::run(data),
            Target::ContentDecode => layers::content_decode(data),
            Target::AgreementDecode => layers::agreement_decode(data),
            Target::StoreRecord => layers::store_record(data),
            Target::EndpointBatch => endpoint::endpoint_batch(data),
            Target::DeviceDecode => devices::device_decode(data),
            Target::Clinic => clinic::run(data),
        }
    }

    /// The seed inputs of the target's corpus: genuine values from the fixtures, and a few
    /// near-misses.
    ///
    /// # Errors
    /// A [`Violation`] if a fixture cannot be built.
    pub fn seeds(self) -> Result<Vec<Vec<u8>>, Violation> {
        match self {
            Target::EnvelopeDecode => envelope_decode_seeds(),
            Target::SessionDecrypt => Ok(decrypt_fixture()?.seeds()),
            Target::HandshakeRespond => Ok(respond_fixture()?.seeds()),
            Target::Interaction => Ok(interaction::seeds()),
            Target::ContentDecode => layers::content_seeds(),
            Target::AgreementDecode => layers::agreement_seeds(),
            Target::StoreRecord => layers::store_record_seeds(),
            Target::EndpointBatch => Ok(endpoint::endpoint_batch_seeds()),
            Target::DeviceDecode => devices::device_seeds(),
            Target::Clinic => Ok(clinic_seeds::seeds()),
        }
    }
}

fn envelope_decode(data: &[u8]) -> Result<(), Violation> {
    if let Ok(envelope) = Envelope::from_bytes(data) {
        let encoded = envelope.to_bytes();
        match Envelope::from_bytes(&encoded) {
            Ok(again) if again == envelope => {
                if again.to_bytes() != encoded {
                    return Err(Violation::new("envelope: encoding is not deterministic"));
                }
            }
            Ok(_) => return Err(Violation::new("envelope: re-encoding decodes to another value")),
            Err(e) => return Err(Violation::new(format!("envelope: re-encoding does not decode: {e}"))),
        }
    }
    if let Ok(bundle) = PrekeyBundle::from_bytes(data) {
        let encoded = bundle.to_bytes();
        match PrekeyBundle::from_bytes(&encoded) {
            Ok(again) if again == bundle => {
                if again.to_bytes() != encoded {
                    return Err(Violation::new("bundle: encoding is not deterministic"));
                }
            }
            Ok(_) => return Err(Violation::new("bundle: re-encoding decodes to another value")),
            Err(e) => return Err(Violation::new(format!("bundle: re-encoding does not decode: {e}"))),
        }
    }
    if let Ok(session) = Session::from_bytes(data) {
        let encoded = session.to_bytes();
        match Session::from_bytes(&encoded) {
            Ok(again) if again.to_bytes() == encoded => {}
            Ok(_) => return Err(Violation::new("session: re-encoding decodes to another value")),
            Err(e) => return Err(Violation::new(format!("session: re-encoding does not decode: {e}"))),
        }
    }
    if let Ok(ratchet) = Ratchet::from_bytes(data) {
        let encoded = ratchet.to_bytes();
        match Ratchet::from_bytes(&encoded) {
            Ok(again) if again.to_bytes() == encoded => {}
            Ok(_) => return Err(Violation::new("ratchet: re-encoding decodes to another value")),
            Err(e) => return Err(Violation::new(format!("ratchet: re-encoding does not decode: {e}"))),
        }
    }
    Ok(())
}

fn envelope_decode_seeds() -> Result<Vec<Vec<u8>>, Violation> {
    let decrypt = decrypt_fixture()?;
    let respond = respond_fixture()?;
    let mut seeds = vec![Vec::new(), vec![1], vec![2, 0]];
    seeds.extend(decrypt.to_bob.iter().chain(&decrypt.to_alice).map(|g| g.envelope.to_bytes()));
    seeds.extend(respond.bundles.iter().cloned());
    seeds.push(decrypt.alice.to_bytes().to_vec());
    seeds.push(decrypt.bob.to_bytes().to_vec());
    seeds.push(respond.first.first().map(|f| f.initiator.to_bytes().to_vec()).unwrap_or_default());
    Ok(seeds)
}

fn decrypt_fixture() -> Result<&'static DecryptFixture, Violation> {
    static FIXTURE: OnceLock<Result<DecryptFixture, Violation>> = OnceLock::new();
    FIXTURE.get_or_init(DecryptFixture::build).as_ref().map_err(Clone::clone)
}

fn respond_fixture() -> Result<&'static RespondFixture, Violation> {
    static FIXTURE: OnceLock<Result<RespondFixture, Violation>> = OnceLock::new();
    FIXTURE.get_or_init(RespondFixture::build).as_ref().map_err(Clone::clone)
}

fn session_decrypt(data: &[u8]) -> Result<(), Violation> {
    let fixture = decrypt_fixture()?;
    let Ok(envelope) = Envelope::from_bytes(data) else { return Ok(()) };
    deliver_once(fixture.alice.clone(), &envelope, &fixture.to_alice, "alice")?;
    deliver_once(fixture.bob.clone(), &envelope, &fixture.to_bob, "bob")
}

/// Delivers `envelope` to `session`, whose peer's undelivered genuine messages are `genuine`.
fn deliver_once(
    mut session: Session,
    envelope: &Envelope,
    genuine: &[Genuine],
    who: &str,
) -> Result<(), Violation> {
    let before = session.to_bytes();
    match session.decrypt(envelope) {
        Err(e) => {
            if session.to_bytes() != before {
                return Err(Violation::new(format!("{who}: a failed decryption ({e}) changed the session")));
            }
            Ok(())
        }
        Ok(plaintext) => {
            let Some(sent) =
                genuine.iter().find(|g| g.envelope.ratchet_message() == envelope.ratchet_message())
            else {
                return Err(Violation::new(format!("{who}: decrypted a message that was never sent")));
            };
            if plaintext[..] != sent.plaintext[..] {
                return Err(Violation::new(format!("{who}: decrypted to another plaintext than was sent")));
            }
            let after = session.to_bytes();
            if session.decrypt(envelope).is_ok() {
                return Err(Violation::new(format!("{who}: decrypted the same message twice")));
            }
            if session.to_bytes() != after {
                return Err(Violation::new(format!("{who}: a rejected replay changed the session")));
            }
            Ok(())
        }
    }
}

fn handshake_respond(data: &[u8]) -> Result<(), Violation> {
    let fixture = respond_fixture()?;
    let Ok(Envelope::Prekey(message)) = Envelope::from_bytes(data) else { return Ok(()) };
    let keys_before = fixture.responder.prekey_bytes();
    let result = fixture.responder.respond(&message);
    if fixture.responder.prekey_bytes() != keys_before {
        return Err(Violation::new("respond changed the responder's prekeys"));
    }
    match result {
        Ok((mut session, plaintext)) => {
            check_accepted_first_message(fixture, &message, &mut session, &plaintext)
        }
        Err(_) => {
            // Nothing was consumed: a genuine first message still completes with the same keys.
            let genuine = fixture.first.first().ok_or_else(|| Violation::new("fixture: no first message"))?;
            let Envelope::Prekey(first) = &genuine.envelope else {
                return Err(Violation::new("fixture: first message is not a prekey message"));
            };
            match fixture.responder.respond(first) {
                Ok((_, plaintext)) if plaintext[..] == genuine.plaintext[..] => Ok(()),
                Ok(_) => {
                    Err(Violation::new("after a failure, a genuine first message gave another plaintext"))
                }
                Err(e) => {
                    Err(Violation::new(format!("after a failure, a genuine first message failed: {e}")))
                }
            }
        }
    }
}

/// A first message was accepted: it must be one the initiators sent, and the new session must
/// talk to its initiator.
fn check_accepted_first_message(
    fixture: &RespondFixture,
    message: &PrekeyMessage,
    session: &mut Session,
    plaintext: &[u8],
) -> Result<(), Violation> {
    let Some(sent) =
        fixture.first.iter().find(|g| matches!(&g.envelope, Envelope::Prekey(p) if **p == *message))
    else {
        return Err(Violation::new("respond accepted a first message that was never sent"));
    };
    if plaintext != &sent.plaintext[..] {
        return Err(Violation::new("respond decrypted another plaintext than was sent"));
    }
    let mut rng = DeterministicRng::new(b"confidant fuzz reply");
    let reply = setup("reply", session.encrypt(&mut rng, b"reply"))?;
    let mut initiator = sent.initiator.clone();
    match initiator.decrypt(&reply) {
        Ok(text) if &text[..] == b"reply" => Ok(()),
        _ => Err(Violation::new("the initiator cannot read the new session's reply")),
    }
}
