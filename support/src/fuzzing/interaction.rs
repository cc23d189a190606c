//! The stateful target: two parties, a network that drops, reorders, duplicates and tampers,
//! and sessions saved and restored, driven by the fuzzer's bytes.
//!
//! Input: one seed byte (the parties' keys), then events, each an opcode byte and its operand
//! bytes (missing operands read as zero):
//!
//! | opcode % 13 | event | operands |
//! |---|---|---|
//! | 0, 1 | Alice / Bob sends | plaintext padding length / 4 |
//! | 2, 3 | the oldest message in flight to Bob / Alice is delivered | |
//! | 4, 5 | a message in flight to Bob / Alice is delivered out of order | which |
//! | 6, 7 | a message in flight to Bob / Alice is dropped for good | which |
//! | 8 | a message already delivered is delivered again | side, which |
//! | 9 | a message in flight is delivered with one byte changed (and stays in flight) | side, which, position (2 bytes), xor mask |
//! | 10 | a party saves its session | side |
//! | 11 | a party goes back to its saved session | side |
//! | 12 | a party's session goes through `to_bytes` / `from_bytes` | side |
//!
//! The model keeps exactly-once checkable across restores: a party may go back to a saved
//! session only if it has sent nothing since (sending from an older state would reuse message
//! keys, which no protocol can detect), and the messages it decrypted since are put back in
//! flight to it, since the restored state has not seen them.
//!
//! Every delivery is checked: a genuine message not yet decrypted by the receiver's current state
//! must decrypt to its plaintext; anything else must fail and leave the session byte-for-byte
//! unchanged. At the end everything in flight is delivered, one more message goes each way, and
//! every message that was not dropped must have been decrypted exactly once.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use zeroize::Zeroizing;

use super::{setup, Violation};
use crate::device::Device;
use crate::rng::DeterministicRng;
use confidant::session::{Envelope, Session};

/// Most messages one party sends in one input: keeps every run within `MAX_SKIP` and the stored
/// skipped keys bound, where every genuine message must stay decryptable.
const MAX_SENDS: usize = 200;
/// Most events read from one input.
const MAX_EVENTS: usize = 4000;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Side {
    Alice,
    Bob,
}

impl Side {
    fn index(self) -> usize {
        match self {
            Side::Alice => 0,
            Side::Bob => 1,
        }
    }

    fn peer(self) -> Side {
        match self {
            Side::Alice => Side::Bob,
            Side::Bob => Side::Alice,
        }
    }

    fn from_byte(b: u8) -> Side {
        if b & 1 == 0 {
            Side::Alice
        } else {
            Side::Bob
        }
    }
}

struct Sent {
    from: Side,
    bytes: Vec<u8>,
    envelope: Envelope,
    plaintext: Vec<u8>,
}

struct Saved {
    record: Zeroizing<Vec<u8>>,
    seen: BTreeSet<usize>,
}

#[derive(Default)]
struct Party {
    /// Bob has no session until a first message reaches him.
    session: Option<Session>,
    /// The messages the current state has decrypted.
    seen: BTreeSet<usize>,
    saved: Option<Saved>,
    sent_since_saved: bool,
    sends: usize,
}

struct World {
    rng: DeterministicRng,
    bob_device: Device,
    parties: [Party; 2],
    sent: Vec<Sent>,
    /// Messages in flight to each party, in the order they were sent.
    in_flight: [Vec<usize>; 2],
    /// Messages delivered to each party, in delivery order (what a duplicate replays).
    delivered: [Vec<usize>; 2],
    dropped: BTreeSet<usize>,
    stats: Stats,
}

/// What a run did, to check that the seeds reach the interesting paths.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Stats {
    accepted: usize,
    rejected: usize,
    restored: usize,
}

/// Where every run with one seed starts: Bob's keys, and Alice's session from his bundle.
struct Start {
    rng: DeterministicRng,
    bob_device: Device,
    alice: Session,
}

impl Start {
    fn build(seed: u8) -> Result<Self, Violation> {
        let mut rng = DeterministicRng::new(&[b"confidant fuzz interaction ".as_slice(), &[seed]].concat());
        let alice_device = Device::new(&mut rng, false);
        let bob_device = Device::new(&mut rng, seed & 1 == 0);
        let alice =
            setup("initiate", Session::initiate(&mut rng, &alice_device.identity, &bob_device.bundle()))?;
        Ok(Self { rng, bob_device, alice })
    }
}

/// Reads operand bytes; past the end, zero.
struct Input<'a>(std::slice::Iter<'a, u8>);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        self.0.next().copied().unwrap_or(0)
    }
}

pub(super) fn run(data: &[u8]) -> Result<(), Violation> {
    run_with_stats(data).map(|_| ())
}

fn run_with_stats(data: &[u8]) -> Result<Stats, Violation> {
    let mut input = Input(data.iter());
    let mut world = World::new(input.byte())?;
    for _ in 0..MAX_EVENTS {
        let Some(&op) = input.0.next() else { break };
        world.event(op % 13, &mut input)?;
    }
    world.finish()
}

impl World {
    fn new(seed: u8) -> Result<Self, Violation> {
        // The parties' keys depend on the seed only: built once per seed and process.
        static START: [OnceLock<Result<Start, Violation>>; 256] = [const { OnceLock::new() }; 256];
        let start =
            START[usize::from(seed)].get_or_init(|| Start::build(seed)).as_ref().map_err(Clone::clone)?;
        let parties = [Party { session: Some(start.alice.clone()), ..Party::default() }, Party::default()];
        Ok(Self {
            rng: start.rng.clone(),
            bob_device: start.bob_device.clone(),
            parties,
            sent: Vec::new(),
            in_flight: [Vec::new(), Vec::new()],
            delivered: [Vec::new(), Vec::new()],
            dropped: BTreeSet::new(),
            stats: Stats::default(),
        })
    }

    fn party(&mut self, side: Side) -> &mut Party {
        &mut self.parties[side.index()]
    }

    fn event(&mut self, op: u8, input: &mut Input<'_>) -> Result<(), Violation> {
        match op {
            0 | 1 => {
                let side = if op == 0 { Side::Alice } else { Side::Bob };
                let padding = usize::from(input.byte()) * 4;
                self.send(side, padding)
            }
            2 | 3 => {
                let to = if op == 2 { Side::Bob } else { Side::Alice };
                self.deliver_in_flight(to, 0)
            }
            4 | 5 => {
                let to = if op == 4 { Side::Bob } else { Side::Alice };
                let which = usize::from(input.byte());
                self.deliver_in_flight(to, which)
            }
            6 | 7 => {
                let to = if op == 6 { Side::Bob } else { Side::Alice };
                let which = usize::from(input.byte());
                let queue = &mut self.in_flight[to.index()];
                if !queue.is_empty() {
                    let id = queue.remove(which % queue.len());
                    self.dropped.insert(id);
                }
                Ok(())
            }
            8 => {
                let to = Side::from_byte(input.byte());
                let which = usize::from(input.byte());
                let log = &self.delivered[to.index()];
                let Some(&id) = log.get(which % log.len().max(1)) else { return Ok(()) };
                let bytes = self.sent[id].bytes.clone();
                self.deliver(to, &bytes, Some(id))
            }
            9 => {
                let to = Side::from_byte(input.byte());
                let which = usize::from(input.byte());
                let at = usize::from(u16::from_be_bytes([input.byte(), input.byte()]));
                let mask = input.byte().max(1);
                let queue = &self.in_flight[to.index()];
                let Some(&id) = queue.get(which % queue.len().max(1)) else { return Ok(()) };
                let mut bytes = self.sent[id].bytes.clone();
                let len = bytes.len();
                if let Some(b) = bytes.get_mut(at % len.max(1)) {
                    *b ^= mask;
                }
                self.deliver(to, &bytes, None)
            }
            10 => {
                let party = self.party(Side::from_byte(input.byte()));
                if let Some(session) = &party.session {
                    party.saved = Some(Saved { record: session.to_bytes(), seen: party.seen.clone() });
                    party.sent_since_saved = false;
                }
                Ok(())
            }
            11 => self.restore(Side::from_byte(input.byte())),
            12 => {
                let side = Side::from_byte(input.byte());
                let party = self.party(side);
                if let Some(session) = &party.session {
                    let record = session.to_bytes();
                    party.session = Some(restore_record(&record, side)?);
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn send(&mut self, from: Side, padding: usize) -> Result<(), Violation> {
        let id = self.sent.len();
        let party = &mut self.parties[from.index()];
        let Some(session) = party.session.as_mut() else { return Ok(()) };
        if party.sends >= MAX_SENDS {
            return Ok(());
        }
        let mut plaintext = vec![from.index() as u8];
        plaintext.extend_from_slice(&(id as u32).to_be_bytes());
        plaintext.resize(plaintext.len() + padding, 0x5a);
        let envelope = session
            .encrypt(&mut self.rng, &plaintext)
            .map_err(|e| Violation::new(format!("{from:?} could not send: {e}")))?;
        party.sends += 1;
        party.sent_since_saved = true;
        self.sent.push(Sent { from, bytes: envelope.to_bytes(), envelope, plaintext });
        self.in_flight[from.peer().index()].push(id);
        Ok(())
    }

    fn deliver_in_flight(&mut self, to: Side, which: usize) -> Result<(), Violation> {
        let queue = &self.in_flight[to.index()];
        let Some(&id) = queue.get(which % queue.len().max(1)) else { return Ok(()) };
        let bytes = self.sent[id].bytes.clone();
        self.deliver(to, &bytes, Some(id))
    }

    /// Delivers `bytes` to `to`; `genuine` names the message when the bytes are exactly as sent.
    fn deliver(&mut self, to: Side, bytes: &[u8], genuine: Option<usize>) -> Result<(), Violation> {
        let envelope = match Envelope::from_bytes(bytes) {
            Ok(envelope) => envelope,
            Err(e) if genuine.is_some() => {
                return Err(Violation::new(format!("a genuine envelope does not decode: {e}")));
            }
            Err(_) => return Ok(()),
        };
        let from = to.peer();
        let must_succeed = genuine.is_some_and(|id| !self.parties[to.index()].seen.contains(&id));
        let matching = self
            .sent
            .iter()
            .position(|m| m.from == from && m.envelope.ratchet_message() == envelope.ratchet_message());
        let result = match self.parties[to.index()].session.as_mut() {
            Some(session) => {
                let before = session.to_bytes();
                let result = session.decrypt(&envelope);
                if result.is_err() && session.to_bytes() != before {
                    return Err(Violation::new(format!("{to:?}: a failed decryption changed the session")));
                }
                result
            }
            None => match &envelope {
                Envelope::Prekey(message) => match self.bob_device.respond(message) {
                    Ok((session, plaintext)) => {
                        self.parties[to.index()].session = Some(session);
                        Ok(plaintext)
                    }
                    Err(e) => Err(e),
                },
                Envelope::Message(_) => Err(confidant::session::SessionError::NotReady),
            },
        };
        if result.is_ok() {
            self.stats.accepted += 1;
        } else {
            self.stats.rejected += 1;
        }
        match result {
            Ok(plaintext) => self.accepted(to, &envelope, matching, &plaintext),
            Err(e) if must_succeed => Err(Violation::new(format!(
                "{to:?} rejected genuine message {} from {from:?}: {e}",
                genuine.unwrap_or_default()
            ))),
            Err(_) => Ok(()),
        }
    }

    /// `to` decrypted `envelope`: it must be a genuine message its current state had not seen,
    /// with the plaintext that was sent, and any handshake fields exactly the initiator's.
    fn accepted(
        &mut self,
        to: Side,
        envelope: &Envelope,
        matching: Option<usize>,
        plaintext: &[u8],
    ) -> Result<(), Violation> {
        let Some(id) = matching else {
            return Err(Violation::new(format!("{to:?} decrypted a message that was never sent")));
        };
        if plaintext != &self.sent[id].plaintext[..] {
            return Err(Violation::new(format!("{to:?} decrypted message {id} to another plaintext")));
        }
        if let Envelope::Prekey(p) = envelope {
            let handshake_matches = self.sent.iter().any(|m| match &m.envelope {
                Envelope::Prekey(genuine) => PrekeyMessageFields::of(genuine) == PrekeyMessageFields::of(p),
                Envelope::Message(_) => false,
            });
            if !handshake_matches {
                return Err(Violation::new(format!("{to:?} accepted a prekey message with modified fields")));
            }
        }
        let party = &mut self.parties[to.index()];
        if !party.seen.insert(id) {
            return Err(Violation::new(format!("{to:?} decrypted message {id} twice")));
        }
        self.in_flight[to.index()].retain(|&m| m != id);
        self.delivered[to.index()].push(id);
        Ok(())
    }

    fn restore(&mut self, side: Side) -> Result<(), Violation> {
        let party = &mut self.parties[side.index()];
        if party.sent_since_saved {
            return Ok(());
        }
        let Some(saved) = &party.saved else { return Ok(()) };
        let session = restore_record(&saved.record, side)?;
        // The messages decrypted since the save are unread again for the restored state.
        let unread: Vec<usize> = party.seen.difference(&saved.seen).copied().collect();
        party.seen = saved.seen.clone();
        party.session = Some(session);
        self.stats.restored += 1;
        let queue = &mut self.in_flight[side.index()];
        queue.extend(unread.into_iter().filter(|id| !self.dropped.contains(id)));
        queue.sort_unstable();
        queue.dedup();
        Ok(())
    }

    fn finish(mut self) -> Result<Stats, Violation> {
        // Deliver everything in flight, in the order it was sent.
        for to in [Side::Bob, Side::Alice] {
            while let Some(&id) = self.in_flight[to.index()].first() {
                let bytes = self.sent[id].bytes.clone();
                self.deliver(to, &bytes, Some(id))?;
                // A delivery that succeeds removes the message; make sure the loop advances.
                self.in_flight[to.index()].retain(|&m| m != id);
            }
        }
        // One more message each way: both sides still agree.
        for from in [Side::Alice, Side::Bob] {
            self.parties[from.index()].sends = 0;
            let id = self.sent.len();
            self.send(from, 0)?;
            if self.sent.len() != id + 1 {
                return Err(Violation::new(format!("{from:?} cannot send at the end")));
            }
            let bytes = self.sent[id].bytes.clone();
            self.deliver(from.peer(), &bytes, Some(id))?;
        }
        let [alice, bob] = &self.parties;
        let (Some(a), Some(b)) = (&alice.session, &bob.session) else {
            return Err(Violation::new("a party has no session at the end"));
        };
        if a.remote_identity() != b.local_identity()
            || b.remote_identity() != a.local_identity()
            || a.base_key() != b.base_key()
        {
            return Err(Violation::new("the two sessions disagree on the handshake"));
        }
        for (id, message) in self.sent.iter().enumerate() {
            let receiver = &self.parties[message.from.peer().index()];
            if !self.dropped.contains(&id) && !receiver.seen.contains(&id) {
                return Err(Violation::new(format!(
                    "message {id} from {:?} was never decrypted",
                    message.from
                )));
            }
        }
        Ok(self.stats)
    }
}

fn restore_record(record: &[u8], side: Side) -> Result<Session, Violation> {
    let session = Session::from_bytes(record)
        .map_err(|e| Violation::new(format!("{side:?}: a saved session does not load: {e}")))?;
    if session.to_bytes()[..] != record[..] {
        return Err(Violation::new(format!("{side:?}: a loaded session saves to other bytes")));
    }
    Ok(session)
}

/// The handshake fields of a prekey message (everything but the ratchet message).
#[derive(PartialEq, Eq)]
struct PrekeyMessageFields<'a> {
    identity_key: confidant::keys::IdentityKey,
    base_key: confidant::keys::DhPublicKey,
    ids: (confidant::keys::PrekeyId, Option<confidant::keys::PrekeyId>, confidant::keys::PrekeyId),
    kem_ciphertext: &'a confidant::keys::KemCiphertext,
}

impl<'a> PrekeyMessageFields<'a> {
    fn of(p: &'a confidant::session::PrekeyMessage) -> Self {
        Self {
            identity_key: p.identity_key(),
            base_key: p.base_key(),
            ids: (p.signed_prekey_id(), p.one_time_prekey_id(), p.kem_prekey_id()),
            kem_ciphertext: p.kem_ciphertext(),
        }
    }
}

/// Builds inputs event by event, for the seed corpus.
struct Script(Vec<u8>);

impl Script {
    fn new(seed: u8) -> Self {
        Self(vec![seed])
    }
    fn send(mut self, from: Side, padding: u8) -> Self {
        self.0.extend_from_slice(&[from.index() as u8, padding]);
        self
    }
    fn deliver(mut self, to: Side) -> Self {
        self.0.push(if to == Side::Bob { 2 } else { 3 });
        self
    }
    fn deliver_nth(mut self, to: Side, which: u8) -> Self {
        self.0.extend_from_slice(&[if to == Side::Bob { 4 } else { 5 }, which]);
        self
    }
    fn drop_nth(mut self, to: Side, which: u8) -> Self {
        self.0.extend_from_slice(&[if to == Side::Bob { 6 } else { 7 }, which]);
        self
    }
    fn replay(mut self, to: Side, which: u8) -> Self {
        self.0.extend_from_slice(&[8, to.index() as u8, which]);
        self
    }
    fn tamper(mut self, to: Side, which: u8, at: u16, mask: u8) -> Self {
        let [hi, lo] = at.to_be_bytes();
        self.0.extend_from_slice(&[9, to.index() as u8, which, hi, lo, mask]);
        self
    }
    fn save(mut self, side: Side) -> Self {
        self.0.extend_from_slice(&[10, side.index() as u8]);
        self
    }
    fn restore(mut self, side: Side) -> Self {
        self.0.extend_from_slice(&[11, side.index() as u8]);
        self
    }
    fn reload(mut self, side: Side) -> Self {
        self.0.extend_from_slice(&[12, side.index() as u8]);
        self
    }
}

/// Scripted conversations: in order, with loss and reordering, with tampering and replays, with
/// saves and restores, and a long one.
pub(super) fn seeds() -> Vec<Vec<u8>> {
    use Side::{Alice, Bob};
    let in_order = Script::new(0)
        .send(Alice, 2)
        .deliver(Bob)
        .send(Bob, 0)
        .deliver(Alice)
        .send(Alice, 200)
        .deliver(Bob)
        .send(Bob, 1)
        .deliver(Alice);
    let before_reply = Script::new(1)
        .send(Alice, 0)
        .send(Alice, 0)
        .send(Alice, 0)
        .deliver_nth(Bob, 2)
        .send(Bob, 0)
        .deliver(Bob)
        .send(Alice, 0)
        .deliver(Alice)
        .send(Alice, 0)
        .deliver(Bob);
    let lossy = Script::new(2)
        .send(Alice, 0)
        .drop_nth(Bob, 0)
        .send(Alice, 0)
        .send(Alice, 0)
        .deliver_nth(Bob, 1)
        .send(Bob, 0)
        .send(Bob, 0)
        .send(Bob, 0)
        .drop_nth(Alice, 1)
        .deliver_nth(Alice, 1)
        .send(Alice, 0)
        .send(Alice, 0)
        .deliver_nth(Bob, 2)
        .deliver(Alice);
    let hostile = Script::new(3)
        .send(Alice, 0)
        .tamper(Bob, 0, 40, 1)
        .tamper(Bob, 0, 1200, 0x80)
        .deliver(Bob)
        .replay(Bob, 0)
        .send(Bob, 0)
        .tamper(Alice, 0, 3, 4)
        .tamper(Alice, 0, 0, 1)
        .deliver(Alice)
        .replay(Alice, 0)
        .send(Alice, 0)
        .tamper(Bob, 0, 60, 0xff)
        .deliver(Bob)
        .replay(Bob, 1);
    let saved = Script::new(4)
        .send(Alice, 0)
        .save(Bob)
        .deliver(Bob)
        .save(Bob)
        .send(Bob, 0)
        .send(Bob, 0)
        .save(Alice)
        .deliver(Alice)
        .restore(Alice)
        .deliver_nth(Alice, 1)
        .reload(Alice)
        .restore(Bob)
        .send(Alice, 0)
        .save(Bob)
        .deliver(Bob)
        .restore(Bob)
        .reload(Bob)
        .deliver(Bob);
    let mut long = Script::new(5);
    for round in 0..40u8 {
        long = long.send(Alice, round).send(Alice, 0);
        if round % 3 == 0 {
            long = long.drop_nth(Bob, 1);
        }
        long = long.deliver_nth(Bob, 1).send(Bob, 0).deliver(Bob).deliver(Alice);
        if round % 5 == 0 {
            long = long.save(Alice).deliver(Alice).restore(Alice).replay(Bob, round);
        }
    }
    [Script::new(0), in_order, before_reply, lossy, hostile, saved, long].into_iter().map(|s| s.0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_reach_rejections_and_restores() {
        let stats: Vec<Stats> = seeds().iter().map(|s| run_with_stats(s).unwrap()).collect();
        // The empty script still delivers the closing message each way.
        assert_eq!(stats[0], Stats { accepted: 2, rejected: 0, restored: 0 });
        let hostile = stats[4];
        assert!(hostile.rejected >= 6, "{hostile:?}");
        let saved = stats[5];
        assert!(saved.restored >= 2, "{saved:?}");
        let long = stats[6];
        assert!(long.accepted > 100 && long.restored >= 5, "{long:?}");
    }

    #[test]
    fn drops_and_refused_restores_are_modelled() {
        // Alice sends twice; the first is dropped: fine.
        run(&Script::new(0).send(Side::Alice, 0).drop_nth(Side::Bob, 0).send(Side::Alice, 0).0).unwrap();
        // A restore after sending is ignored (it would reuse keys), so nothing is lost either.
        run(&Script::new(0).save(Side::Alice).send(Side::Alice, 0).restore(Side::Alice).0).unwrap();
    }
}
