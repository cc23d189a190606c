//! Property tests: random interleavings of send, deliver, drop, reorder, duplicate, tamper and
//! persist/reload between two parties.
//!
//! Every genuine message delivered decrypts exactly once to its plaintext; every tampered or
//! replayed one is rejected and leaves the receiving session byte-for-byte unchanged; at the end
//! everything still in flight is delivered and both sides can still talk.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use confidant_support::device as common;

use confidant::session::{Envelope, Session};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Send { from_alice: bool, len: usize },
    Deliver { pick: usize },
    Drop { pick: usize },
    Duplicate { pick: usize },
    Tamper { pick: usize, at: usize, bit: u8 },
    Reload { alice: bool },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any::<bool>(), 0usize..300).prop_map(|(from_alice, len)| Op::Send { from_alice, len }),
        4 => any::<usize>().prop_map(|pick| Op::Deliver { pick }),
        1 => any::<usize>().prop_map(|pick| Op::Drop { pick }),
        1 => any::<usize>().prop_map(|pick| Op::Duplicate { pick }),
        2 => (any::<usize>(), any::<usize>(), 0u8..8).prop_map(|(pick, at, bit)| Op::Tamper { pick, at, bit }),
        1 => any::<bool>().prop_map(|alice| Op::Reload { alice }),
    ]
}

struct InFlight {
    to_alice: bool,
    plaintext: Vec<u8>,
    bytes: Vec<u8>,
}

struct World {
    alice: Session,
    bob: Session,
    in_flight: Vec<InFlight>,
    delivered: Vec<InFlight>,
}

impl World {
    fn receiver(&mut self, to_alice: bool) -> &mut Session {
        if to_alice {
            &mut self.alice
        } else {
            &mut self.bob
        }
    }

    /// Delivers bytes that must be rejected, and checks the receiver did not change.
    fn reject(&mut self, to_alice: bool, bytes: &[u8]) {
        let receiver = self.receiver(to_alice);
        let before = receiver.to_bytes();
        if let Ok(envelope) = Envelope::from_bytes(bytes) {
            assert!(receiver.decrypt(&envelope).is_err(), "a forged or replayed message was accepted");
        }
        assert_eq!(receiver.to_bytes(), before, "a rejected message changed the session");
    }

    fn deliver(&mut self, index: usize) {
        let message = self.in_flight.remove(index);
        let envelope = Envelope::from_bytes(&message.bytes).unwrap();
        let plaintext = self.receiver(message.to_alice).decrypt(&envelope).unwrap();
        assert_eq!(&plaintext[..], &message.plaintext[..]);
        self.delivered.push(message);
    }
}

fn run(seed: u64, ops: Vec<Op>) {
    let (alice, bob, mut rng) = common::established(seed);
    let mut world = World { alice, bob, in_flight: Vec::new(), delivered: Vec::new() };
    let mut counter = 0u32;
    for op in ops {
        match op {
            Op::Send { from_alice, len } => {
                counter += 1;
                let mut plaintext = counter.to_be_bytes().to_vec();
                plaintext.resize(len.max(4), 0x5a);
                let sender = if from_alice { &mut world.alice } else { &mut world.bob };
                let bytes = sender.encrypt(&mut rng, &plaintext).unwrap().to_bytes();
                world.in_flight.push(InFlight { to_alice: !from_alice, plaintext, bytes });
            }
            Op::Deliver { pick } if !world.in_flight.is_empty() => {
                world.deliver(pick % world.in_flight.len());
            }
            Op::Drop { pick } if !world.in_flight.is_empty() => {
                world.in_flight.remove(pick % world.in_flight.len());
            }
            Op::Duplicate { pick } if !world.delivered.is_empty() => {
                let message = &world.delivered[pick % world.delivered.len()];
                let (to_alice, bytes) = (message.to_alice, message.bytes.clone());
                world.reject(to_alice, &bytes);
            }
            Op::Tamper { pick, at, bit } if !world.in_flight.is_empty() => {
                let message = &world.in_flight[pick % world.in_flight.len()];
                let (to_alice, mut bytes) = (message.to_alice, message.bytes.clone());
                let at = at % bytes.len();
                bytes[at] ^= 1 << bit;
                world.reject(to_alice, &bytes);
            }
            Op::Reload { alice } => {
                let session = if alice { &mut world.alice } else { &mut world.bob };
                *session = Session::from_bytes(&session.to_bytes()).unwrap();
            }
            _ => {}
        }
    }
    // Everything still in flight arrives, newest first (maximally out of order).
    while !world.in_flight.is_empty() {
        world.deliver(world.in_flight.len() - 1);
    }
    // Both sides can still talk, in both orders.
    for from_alice in [true, false, false, true] {
        let (sender, receiver) =
            if from_alice { (&mut world.alice, &mut world.bob) } else { (&mut world.bob, &mut world.alice) };
        let envelope = sender.encrypt(&mut rng, b"still talking").unwrap();
        assert_eq!(&receiver.decrypt(&envelope).unwrap()[..], b"still talking");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_network(seed in any::<u64>(), ops in proptest::collection::vec(op(), 1..120)) {
        run(seed, ops);
    }
}
