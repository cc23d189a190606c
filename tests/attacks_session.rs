//! Attacks on a conversation's session state through the endpoint: operations on one peer at the
//! same time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::sync::{Arc, Barrier};
use std::thread;

use confidant::content::CategoryKind;
use confidant::session::{Envelope, SessionError};
use confidant::store::{MemoryStore, PeerId};
use confidant::{AppointmentKind, Category, Draft, Endpoint, Error, ManualClock, Received, Role};
use confidant_support::pair::{Pair, MONDAY_10AM_NY};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn confirm(text: &str) -> Draft {
    Draft::new(Category::Appointment(AppointmentKind::Confirm), text)
}

/// A clinician and a client with an agreement in force, both drawing from the operating system's
/// generator as an app's endpoints do. (An injected generator is one lock for the whole endpoint,
/// which would hide any race between operations.)
fn system_pair() -> Pair<MemoryStore> {
    let clock = || ManualClock::new(MONDAY_10AM_NY);
    let clinician = Endpoint::new(MemoryStore::new(), clock(), Role::Clinician, "dr-lee").unwrap();
    let client = Endpoint::new(MemoryStore::new(), clock(), Role::Client, "client-42").unwrap();
    let client_id = PeerId::new("client-42").unwrap();
    let clinician_id = PeerId::new("dr-lee").unwrap();
    clinician.start_session(&client_id, &client.prekey_bundle().unwrap()).unwrap();
    let rng = ChaCha20Rng::seed_from_u64(7);
    let mut pair = Pair { rng, clinician, client, client_id, clinician_id };
    let terms = pair.terms(1);
    pair.agree(terms);
    pair
}

/// The ratchet key and counter of an envelope's message: the message key it was sealed with.
fn message_key_position(envelope: &[u8]) -> ([u8; 32], u32) {
    let envelope = Envelope::from_bytes(envelope).unwrap();
    let header = envelope.ratchet_message().header();
    (header.dh.to_bytes(), header.n)
}

/// How many appointment confirmations the history with `peer` holds.
fn confirmations(endpoint: &Endpoint<MemoryStore, ManualClock>, peer: &PeerId) -> usize {
    let history = endpoint.history(peer).unwrap();
    history.iter().filter(|e| e.category.kind() == CategoryKind::AppointmentConfirm).count()
}

const THREADS: usize = 4;
const PER_THREAD: usize = 25;

/// `THREADS` threads each send `PER_THREAD` messages through one endpoint to one peer.
fn send_concurrently(client: &Arc<Endpoint<MemoryStore, ManualClock>>, to: &PeerId) -> Vec<Vec<u8>> {
    let barrier = Arc::new(Barrier::new(THREADS));
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let (client, to, barrier) = (Arc::clone(client), to.clone(), Arc::clone(&barrier));
            thread::spawn(move || {
                barrier.wait();
                (0..PER_THREAD)
                    .map(|i| client.send(&to, confirm(&format!("thread {t} message {i}"))).unwrap())
                    .map(|sent| sent.envelope.unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    threads.into_iter().flat_map(|t| t.join().unwrap()).collect()
}

#[test]
fn concurrent_sends_to_one_peer_never_reuse_a_message_key() {
    let Pair { clinician, client, client_id, clinician_id, .. } = system_pair();
    let client = Arc::new(client);
    let envelopes = send_concurrently(&client, &clinician_id);
    assert_eq!(envelopes.len(), THREADS * PER_THREAD);

    // No two envelopes were sealed with the same message key (ratchet key and counter).
    let mut positions = HashSet::new();
    for envelope in &envelopes {
        let position = message_key_position(envelope);
        assert!(positions.insert(position), "message key {:?} used twice", position.1);
    }
    // Every envelope decrypts on the other side, none as a duplicate.
    for envelope in &envelopes {
        match clinician.receive(&client_id, envelope) {
            Ok(incoming) => assert!(matches!(incoming.received, Received::Message(_))),
            Err(err) => panic!("an envelope did not decrypt: {err:?}"),
        }
    }
    assert_eq!(confirmations(&clinician, &client_id), THREADS * PER_THREAD);
}

#[test]
fn a_queue_received_by_several_threads_at_once_loses_nothing() {
    let Pair { clinician, client, client_id, clinician_id, .. } = system_pair();
    let envelopes: Vec<Vec<u8>> = (0..THREADS * PER_THREAD)
        .map(|i| client.send(&clinician_id, confirm(&format!("message {i}"))).unwrap().envelope.unwrap())
        .collect();
    let clinician = Arc::new(clinician);
    let barrier = Arc::new(Barrier::new(THREADS));
    // Thread t receives messages t, t + THREADS, t + 2 THREADS, …: every thread's queue skips
    // over the others', so each receive stores and consumes skipped keys the others need.
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let queue: Vec<Vec<u8>> = envelopes.iter().skip(t).step_by(THREADS).cloned().collect();
            let (clinician, from, barrier) =
                (Arc::clone(&clinician), client_id.clone(), Arc::clone(&barrier));
            thread::spawn(move || {
                barrier.wait();
                queue
                    .chunks(5)
                    .flat_map(|chunk| {
                        if chunk.len() % 2 == 0 {
                            chunk.iter().map(|e| clinician.receive(&from, e)).collect::<Vec<_>>()
                        } else {
                            clinician.receive_batch(&from, chunk).unwrap()
                        }
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for result in threads.into_iter().flat_map(|t| t.join().unwrap()) {
        assert!(
            matches!(result, Ok(ref incoming) if matches!(incoming.received, Received::Message(_))),
            "{:?}",
            result.err()
        );
    }
    assert_eq!(confirmations(&clinician, &client_id), THREADS * PER_THREAD);
    // Every message key was used up exactly once: each envelope again is a duplicate.
    for envelope in &envelopes {
        let err = clinician.receive(&client_id, envelope).unwrap_err();
        assert_eq!(err, Error::Session(SessionError::Duplicate));
    }
}
