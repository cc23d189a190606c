//! Attacks on a conversation's session state through the endpoint: operations on one peer at the
//! same time, a relay that holds back a first message, a session started over a live one,
//! simultaneous initiation, and batches with a bad envelope in the middle.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::sync::{Arc, Barrier};
use std::thread;

use confidant::clock::Clock;
use confidant::content::{CategoryKind, Content, MessageId};
use confidant::expiry::Lifespan;
use confidant::session::{Envelope, SessionError};
use confidant::store::{MemoryStore, PeerId, Store, StoreError};
use confidant::{AppointmentKind, Category, Draft, Endpoint, EndpointError, Error, ManualClock, Received};
use confidant_support::pair::{pair, pair_with, send_raw, system_pair, Pair};

fn confirm(text: &str) -> Draft {
    Draft::new(Category::Appointment(AppointmentKind::Confirm), text)
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
                // In turns: five envelopes one by one, then five in one batch.
                queue
                    .chunks(5)
                    .enumerate()
                    .flat_map(|(i, chunk)| {
                        if i % 2 == 0 {
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

// ---- Several sessions with one peer ----

/// A first message from the client on the session it started itself, sealed before the client
/// has any agreement (so the endpoint would not send it; what it says does not matter here, only
/// the session it is sealed on).
fn first_message_on_own_session(pair: &mut Pair<MemoryStore>, text: &str) -> Vec<u8> {
    let category = Category::Appointment(AppointmentKind::Confirm);
    let now = pair.client.clock().now();
    let content =
        Content::new(MessageId([0x5e; 16]), category, text.into(), now, Lifespan::DEFAULT, 1).unwrap();
    send_from_modified_client(pair, &content)
}

/// Messages go both ways `rounds` times, each delivered at once; every one must arrive.
fn talk(pair: &mut Pair<MemoryStore>, rounds: usize) {
    for round in 0..rounds {
        let (envelope, _) = send_confirmation(pair, &format!("from the client, round {round}"));
        assert!(matches!(pair.deliver_to_clinician(&envelope).received, Received::Message(_)));
        let draft = Draft::new(Category::Administrative, format!("from the clinician, round {round}"));
        let sent = pair.clinician.send(&pair.client_id, draft).unwrap();
        assert!(matches!(pair.deliver_to_client(&sent.envelope.unwrap()).received, Received::Message(_)));
    }
}

#[test]
fn a_first_message_held_back_by_the_relay_does_not_replace_the_established_session() {
    let mut pair = pair_with(41, MemoryStore::new(), MemoryStore::new(), false);
    // The clinician started a session from the client's bundle. The client also starts one from
    // the clinician's bundle and sends on it; the relay holds that first message back.
    let bundle = pair.clinician.prekey_bundle().unwrap();
    pair.client.start_session(&pair.clinician_id, &bundle).unwrap();
    let held_back = first_message_on_own_session(&mut pair, "held back");
    assert!(matches!(Envelope::from_bytes(&held_back).unwrap(), Envelope::Prekey(_)));

    // The clinician's session is the one both use: agreement, then messages both ways.
    let terms = pair.terms(1);
    pair.agree(terms);
    talk(&mut pair, 2);
    // A message from the client is on its way when the held-back one arrives.
    let (in_flight, _) = send_confirmation(&pair, "in flight");
    // It is decrypted by a new session, which is kept behind the established one.
    let late = pair.clinician.receive(&pair.client_id, &held_back).unwrap();
    assert!(matches!(late.received, Received::Message(_)));
    // The established session keeps working in both directions.
    assert!(matches!(pair.deliver_to_clinician(&in_flight).received, Received::Message(_)));
    talk(&mut pair, 3);
    // The same held-back message again is a duplicate, and changes nothing.
    let err = pair.clinician.receive(&pair.client_id, &held_back).unwrap_err();
    assert_eq!(err, Error::Session(SessionError::Duplicate));
    talk(&mut pair, 1);
}

#[test]
fn starting_a_session_over_a_live_one_keeps_the_old_one() {
    let mut pair = pair(42);
    // The client has messages in flight on the established session when the clinician starts a
    // new one from a fresh bundle of the client's.
    let in_flight: Vec<Vec<u8>> =
        (0..3).map(|i| send_confirmation(&pair, &format!("in flight {i}")).0).collect();
    let bundle = pair.client.prekey_bundle().unwrap();
    pair.clinician.start_session(&pair.client_id, &bundle).unwrap();
    for envelope in &in_flight {
        assert!(matches!(pair.deliver_to_clinician(envelope).received, Received::Message(_)));
    }
    talk(&mut pair, 3);

    // Before any reply: the clinician starts a session, sends on it, starts another one and
    // sends on that (a new proposal, which supersedes the first, so it names the next version).
    // The client hears on the first session first, so that one is its current session and it
    // answers on it; the clinician goes back to it.
    let mut pair = pair_with(43, MemoryStore::new(), MemoryStore::new(), false);
    let first = pair.clinician.propose_agreement(&pair.client_id, pair.terms(1)).unwrap();
    let bundle = pair.client.prekey_bundle().unwrap();
    pair.clinician.start_session(&pair.client_id, &bundle).unwrap();
    let second = pair.clinician.propose_agreement(&pair.client_id, pair.terms(2)).unwrap();
    assert!(matches!(pair.deliver_to_client(&first).received, Received::AgreementProposed { .. }));
    let Received::AgreementProposed { id, .. } = pair.deliver_to_client(&second).received else { panic!() };
    let acceptance = pair.client.accept_agreement(&pair.clinician_id, id).unwrap();
    assert!(matches!(pair.deliver_to_clinician(&acceptance).received, Received::AgreementAccepted { .. }));
    talk(&mut pair, 3);
}

#[test]
fn simultaneous_initiation_ends_with_both_sides_talking() {
    let mut pair = pair_with(44, MemoryStore::new(), MemoryStore::new(), false);
    // The clinician has started a session from the client's bundle; the client starts one from
    // the clinician's. Both send at once: the two first messages cross.
    let bundle = pair.clinician.prekey_bundle().unwrap();
    pair.client.start_session(&pair.clinician_id, &bundle).unwrap();
    let from_client = first_message_on_own_session(&mut pair, "hello");
    let terms = pair.terms(1);
    let proposal = pair.clinician.propose_agreement(&pair.client_id, terms).unwrap();
    // No agreement yet on the clinician's side: the client's message is refused, but its
    // session is kept.
    let received = pair.deliver_to_clinician(&from_client).received;
    assert!(matches!(received, Received::Refused { .. }), "{received:?}");
    let Received::AgreementProposed { id, .. } = pair.deliver_to_client(&proposal).received else { panic!() };
    let acceptance = pair.client.accept_agreement(&pair.clinician_id, id).unwrap();
    assert!(matches!(pair.deliver_to_clinician(&acceptance).received, Received::AgreementAccepted { .. }));
    talk(&mut pair, 3);

    // Messages that cross again, both ways at once, still arrive, and the two go on talking.
    for round in 0..3 {
        let (from_client, _) = send_confirmation(&pair, &format!("crossing {round}"));
        let draft = Draft::new(Category::Administrative, format!("crossing {round}"));
        let from_clinician = pair.clinician.send(&pair.client_id, draft).unwrap().envelope.unwrap();
        assert!(matches!(pair.deliver_to_clinician(&from_client).received, Received::Message(_)));
        assert!(matches!(pair.deliver_to_client(&from_clinician).received, Received::Message(_)));
    }
    talk(&mut pair, 3);
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
    send_raw(&pair.client, &pair.clinician_id, &mut pair.rng, &content.encode_padded())
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
    let first = pair.clinician.propose_agreement(&pair.client_id, terms).unwrap();
    pair.clinician.start_session(&pair.client_id, &bundle).unwrap();
    let second = pair.clinician.propose_agreement(&pair.client_id, pair.terms(2)).unwrap();
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
