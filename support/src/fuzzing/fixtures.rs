//! The parties and sessions the fuzz targets attack, built deterministically.

use super::{setup, Violation};
use crate::device::Device;
use crate::rng::DeterministicRng;
use confidant::session::{Envelope, PrekeyBundle, Session};
use confidant::Result;

/// A genuine message and its plaintext.
pub(super) struct Genuine {
    pub(super) envelope: Envelope,
    pub(super) plaintext: Vec<u8>,
}

fn send(rng: &mut DeterministicRng, session: &mut Session, text: &str) -> Result<Genuine, Violation> {
    let envelope = setup("encrypt", session.encrypt(rng, text.as_bytes()))?;
    Ok(Genuine { envelope, plaintext: text.as_bytes().to_vec() })
}

fn receive(session: &mut Session, message: &Genuine) -> Result<(), Violation> {
    let plaintext = setup("decrypt", session.decrypt(&message.envelope))?;
    if plaintext[..] == message.plaintext[..] {
        Ok(())
    } else {
        Err(Violation::new("fixture: decrypted another plaintext"))
    }
}

/// An established session after a few messages each way, with skipped keys stored on both
/// sides, and the genuine messages still in flight.
pub(super) struct DecryptFixture {
    pub(super) alice: Session,
    pub(super) bob: Session,
    /// Undelivered genuine messages to Alice: one skipped, one on a new chain.
    pub(super) to_alice: Vec<Genuine>,
    /// Undelivered genuine messages to Bob: a skipped prekey message, a skipped message, the next
    /// in order, and one on a new chain.
    pub(super) to_bob: Vec<Genuine>,
    /// Messages both sides already decrypted (replays).
    pub(super) delivered: Vec<Genuine>,
}

impl DecryptFixture {
    pub(super) fn build() -> Result<Self, Violation> {
        let rng = &mut DeterministicRng::new(b"confidant fuzz session_decrypt");
        let alice_device = Device::new(rng, false);
        let bob_device = Device::new(rng, true);
        let mut alice =
            setup("initiate", Session::initiate(rng, &alice_device.identity, &bob_device.bundle()))?;
        let a0 = send(rng, &mut alice, "a0: first, carries the handshake")?;
        let a1 = send(rng, &mut alice, "a1: a prekey message never delivered")?;
        let a2 = send(rng, &mut alice, "a2")?;
        let Envelope::Prekey(first) = &a0.envelope else {
            return Err(Violation::new("fixture: first message is not a prekey message"));
        };
        let (mut bob, _) = setup("respond", bob_device.respond(first))?;
        receive(&mut bob, &a2)?;
        let b0 = send(rng, &mut bob, "b0")?;
        let b1 = send(rng, &mut bob, "b1: skipped by alice")?;
        let b2 = send(rng, &mut bob, "b2")?;
        receive(&mut alice, &b0)?;
        receive(&mut alice, &b2)?;
        let a3 = send(rng, &mut alice, "a3: a new chain")?;
        let a4 = send(rng, &mut alice, "a4: skipped by bob")?;
        let a5 = send(rng, &mut alice, "a5")?;
        receive(&mut bob, &a3)?;
        receive(&mut bob, &a5)?;
        let a6 = send(rng, &mut alice, "a6: next in order")?;
        let b3 = send(rng, &mut bob, "b3: a new chain")?;
        // Alice's next chain, as if she had read b3: a message that makes Bob ratchet.
        let mut alice_later = alice.clone();
        receive(&mut alice_later, &b3)?;
        let a7 = send(rng, &mut alice_later, "a7: another new chain")?;
        Ok(Self {
            alice,
            bob,
            to_alice: vec![b1, b3],
            to_bob: vec![a1, a4, a6, a7],
            delivered: vec![a0, a2, a3, a5, b0, b2],
        })
    }

    pub(super) fn seeds(&self) -> Vec<Vec<u8>> {
        let mut seeds: Vec<Vec<u8>> = self
            .to_bob
            .iter()
            .chain(&self.to_alice)
            .chain(&self.delivered)
            .map(|g| g.envelope.to_bytes())
            .collect();
        // Near-misses: every message in flight with a flipped bit in its tag, and one with its
        // header's counter changed.
        for genuine in self.to_bob.iter().chain(&self.to_alice) {
            let mut bytes = genuine.envelope.to_bytes();
            if let Some(last) = bytes.last_mut() {
                *last ^= 1;
            }
            seeds.push(bytes);
        }
        if let Some(Envelope::Message(m)) = self.to_bob.get(1).map(|g| &g.envelope) {
            let mut header = *m.header();
            header.n = header.n.wrapping_add(1);
            seeds.push(Envelope::Message(confidant::low_level::with_header(m, header)).to_bytes());
        }
        seeds
    }
}

/// A first message that an initiator sent, and the initiator's session after sending it.
pub(super) struct First {
    pub(super) envelope: Envelope,
    pub(super) plaintext: Vec<u8>,
    pub(super) initiator: Session,
}

/// A responder with real prekeys, and genuine first messages from two initiators (one used the
/// one-time prekey, one did not).
pub(super) struct RespondFixture {
    pub(super) responder: Device,
    pub(super) first: Vec<First>,
    pub(super) bundles: Vec<Vec<u8>>,
}

impl RespondFixture {
    pub(super) fn build() -> Result<Self, Violation> {
        let rng = &mut DeterministicRng::new(b"confidant fuzz handshake_respond");
        let responder = Device::new(rng, true);
        let with_one_time = responder.bundle();
        let without_one_time =
            PrekeyBundle::new(responder.identity.public_key(), &responder.signed, None, &responder.kem);
        let mut first = Vec::new();
        for (bundle, texts) in
            [(&with_one_time, &["hello", "hello again"][..]), (&without_one_time, &["hi"][..])]
        {
            let initiator_device = Device::new(rng, false);
            let mut initiator =
                setup("initiate", Session::initiate(rng, &initiator_device.identity, bundle))?;
            let mut sent = Vec::new();
            for text in texts {
                sent.push(send(rng, &mut initiator, text)?);
            }
            first.extend(sent.into_iter().map(|g| First {
                envelope: g.envelope,
                plaintext: g.plaintext,
                initiator: initiator.clone(),
            }));
        }
        Ok(Self { responder, first, bundles: vec![with_one_time.to_bytes(), without_one_time.to_bytes()] })
    }

    pub(super) fn seeds(&self) -> Vec<Vec<u8>> {
        let mut seeds: Vec<Vec<u8>> = self.first.iter().map(|f| f.envelope.to_bytes()).collect();
        // Near-misses: a flipped bit at the end (the ratchet ciphertext) and in the middle (the
        // ML-KEM ciphertext), and the one-time prekey id removed.
        if let Some(Envelope::Prekey(p)) = self.first.first().map(|f| &f.envelope) {
            let bytes = Envelope::Prekey(p.clone()).to_bytes();
            for at in [bytes.len() - 1, bytes.len() / 2] {
                let mut tampered = bytes.clone();
                if let Some(b) = tampered.get_mut(at) {
                    *b ^= 1;
                }
                seeds.push(tampered);
            }
            let without = confidant::low_level::with_one_time_prekey(p, None);
            seeds.push(Envelope::Prekey(Box::new(without)).to_bytes());
        }
        seeds
    }
}
