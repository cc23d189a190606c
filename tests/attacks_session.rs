//! Attacks on a conversation's session state through the endpoint: operations on one peer at the
//! same time, and batches with a bad envelope in the middle.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::sync::{Arc, Barrier};
use std::thread;

use confidant::clock::Clock;
use confidant::content::{CategoryKind, Content, MessageId};
use confidant::session::{Envelope, Session, SessionError};
use confidant::store::{MemoryStore, PeerId, Store, StoreError, WriteBatch};
use confidant::{
    AppointmentKind, Category, Draft, Endpoint, EndpointError, Error, ManualClock, Received, Role,
};
use confidant_support::pair::{pair, pair_with, Pair, MONDAY_10AM_NY};
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

// ---- Batches with a bad envelope in the middle ----

/// An appointment confirmation from the client with message id `id`, under the agreement in force.
fn confirmation_with_id(pair: &Pair<MemoryStore>, id: MessageId, text: &str) -> Content {
    let agreement = pair.client.agreement(&pair.clinician_id).unwrap().unwrap();
    let category = Category::Appointment(AppointmentKind::Confirm);
    let lifespan = agreement.terms().lifespan_for(category.kind());
    let now = pair.client.clock().now();
    Content::new(id, category, text.into(), now, lifespan, agreement.version()).unwrap()
}

/// Sends `content` from the client on its real session, as a modified client app could: the
/// endpoint's own checks on the content are skipped, the message is authentic.
fn send_from_modified_client(pair: &mut Pair<MemoryStore>, content: &Content) -> Vec<u8> {
    let stored = pair.client.store().session(&pair.clinician_id).unwrap().unwrap();
    let mut session = Session::from_bytes(&stored).unwrap();
    let envelope = session.encrypt(&mut pair.rng, &content.encode_padded()).unwrap().to_bytes();
    let mut batch = WriteBatch::new();
    batch.put_session(&pair.clinician_id, &session.to_bytes()).unwrap();
    pair.client.store().apply(batch).unwrap();
    envelope
}

fn send_confirmation(pair: &Pair<MemoryStore>, text: &str) -> (Vec<u8>, MessageId) {
    let sent = pair.client.send(&pair.clinician_id, confirm(text)).unwrap();
    (sent.envelope.unwrap(), sent.message_id.unwrap())
}

fn confirmation_texts(endpoint: &Endpoint<MemoryStore, ManualClock>, peer: &PeerId) -> Vec<String> {
    let history = endpoint.history(peer).unwrap();
    history
        .iter()
        .filter(|e| e.category.kind() == CategoryKind::AppointmentConfirm)
        .map(|e| e.text.to_string())
        .collect()
}

#[test]
fn a_message_id_already_taken_fails_alone_in_a_batch() {
    let mut pair = pair(31);
    // A message the clinician already stored.
    let (envelope, stored_id) = send_confirmation(&pair, "stored before");
    pair.deliver_to_clinician(&envelope);

    let (good_1, _) = send_confirmation(&pair, "good 1");
    let content = confirmation_with_id(&pair, stored_id, "reuses a stored id");
    let reuses_stored = send_from_modified_client(&mut pair, &content);
    let (good_2, good_2_id) = send_confirmation(&pair, "good 2");
    let content = confirmation_with_id(&pair, good_2_id, "reuses an id of the same batch");
    let reuses_batch = send_from_modified_client(&mut pair, &content);
    let (good_3, _) = send_confirmation(&pair, "good 3");
    let batch = [good_1, reuses_stored, good_2, reuses_batch, good_3];

    let results = pair.clinician.receive_batch(&pair.client_id, &batch).unwrap();
    for i in [0, 2, 4] {
        assert!(matches!(results[i].as_ref().unwrap().received, Received::Message(_)), "{i}");
    }
    for i in [1, 3] {
        assert_eq!(results[i].as_ref().err(), Some(&Error::Store(StoreError::MessageExists)), "{i}");
    }
    // What was reported received is stored; what failed left nothing.
    let mut texts = confirmation_texts(&pair.clinician, &pair.client_id);
    texts.sort();
    assert_eq!(texts, ["good 1", "good 2", "good 3", "stored before"]);

    // The same batch again: the received envelopes are duplicates, the bad ones fail as before
    // (they changed nothing, so they still decrypt and are still refused), and nothing changes.
    let session_before = pair.clinician.store().session(&pair.client_id).unwrap();
    let results = pair.clinician.receive_batch(&pair.client_id, &batch).unwrap();
    for i in [0, 2, 4] {
        assert_eq!(results[i].as_ref().err(), Some(&Error::Session(SessionError::Duplicate)), "{i}");
    }
    for i in [1, 3] {
        assert_eq!(results[i].as_ref().err(), Some(&Error::Store(StoreError::MessageExists)), "{i}");
    }
    assert_eq!(pair.clinician.store().session(&pair.client_id).unwrap(), session_before);
    // The conversation goes on.
    let (next, _) = send_confirmation(&pair, "after");
    assert!(matches!(pair.deliver_to_clinician(&next).received, Received::Message(_)));
}

#[test]
fn a_handshake_the_store_would_refuse_fails_alone_in_a_batch() {
    let pair = pair_with(32, MemoryStore::new(), MemoryStore::new(), false);
    let terms = pair.terms(1);
    // The clinician starts two sessions from the same bundle, and sends on each.
    let bundle = pair.client.prekey_bundle().unwrap();
    pair.clinician.start_session(&pair.client_id, &bundle).unwrap();
    let first = pair.clinician.propose_agreement(&pair.client_id, terms.clone()).unwrap();
    pair.clinician.start_session(&pair.client_id, &bundle).unwrap();
    let second = pair.clinician.propose_agreement(&pair.client_id, terms).unwrap();
    // An impostor, another identity presenting itself as the clinician, answers another bundle
    // the client published.
    let impostor = pair_with(33, MemoryStore::new(), MemoryStore::new(), false);
    let victim = PeerId::new("victim").unwrap();
    impostor.clinician.start_session(&victim, &pair.client.prekey_bundle().unwrap()).unwrap();
    let mut impostor_terms = impostor.terms(1);
    impostor_terms.client = pair.client.identity_key();
    let from_impostor = impostor.clinician.propose_agreement(&victim, impostor_terms).unwrap();

    // The client has never heard from the clinician: the first handshake of the batch makes its
    // identity the trusted one, so the impostor's is a changed identity; the second handshake
    // names prekeys the first used up.
    let batch = [first, from_impostor, second];
    let results = pair.client.receive_batch(&pair.clinician_id, &batch).unwrap();
    let Received::AgreementProposed { id, .. } = results[0].as_ref().unwrap().received else { panic!() };
    assert_eq!(results[1].as_ref().err(), Some(&Error::Store(StoreError::IdentityChanged)));
    assert_eq!(results[2].as_ref().err(), Some(&Error::Endpoint(EndpointError::UnknownPrekey)));
    // The first handshake and its proposal were stored, with the clinician's identity.
    let record = pair.client.store().peer(&pair.clinician_id).unwrap().unwrap();
    assert_eq!(record.identity, pair.clinician.identity_key());
    assert!(pair.client.store().message(&id).unwrap().is_some());

    // Again: the proposal is a duplicate, the others fail as before, and nothing changes.
    let session_before = pair.client.store().session(&pair.clinician_id).unwrap();
    let results = pair.client.receive_batch(&pair.clinician_id, &batch).unwrap();
    assert_eq!(results[0].as_ref().err(), Some(&Error::Session(SessionError::Duplicate)));
    assert_eq!(results[1].as_ref().err(), Some(&Error::Store(StoreError::IdentityChanged)));
    assert_eq!(results[2].as_ref().err(), Some(&Error::Endpoint(EndpointError::UnknownPrekey)));
    assert_eq!(pair.client.store().session(&pair.clinician_id).unwrap(), session_before);
}
