//! Property tests of the endpoint's receive path under a hostile network: batches mixing genuine
//! envelopes with replays, forgeries and garbage, and sends from several threads at once.
//!
//! * A batch: every envelope reported `Ok` is stored, every one reported as an error changes
//!   nothing, so delivering the genuine envelopes again afterwards gives exactly the ones not yet
//!   received, each once.
//! * Threads: whatever the number of threads and messages, no two envelopes are sealed with the
//!   same message key, and every one decrypts once on the other side.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::sync::{Arc, Barrier};

use confidant::content::CategoryKind;
use confidant::session::{Envelope, SessionError};
use confidant::store::MemoryStore;
use confidant::{AppointmentKind, Category, Draft, Error, Received};
use confidant_support::pair::{pair, system_pair, Pair};
use proptest::prelude::*;

fn confirm(text: &str) -> Draft {
    Draft::new(Category::Appointment(AppointmentKind::Confirm), text)
}

/// What one entry of a batch is.
#[derive(Clone, Debug)]
enum Entry {
    /// The genuine envelope with this index (possibly again: a replay).
    Genuine(usize),
    /// A genuine envelope with one byte flipped.
    Flipped(usize, usize),
    /// A genuine envelope cut short.
    Truncated(usize, usize),
    /// Bytes from nowhere.
    Garbage(Vec<u8>),
}

const SENT: usize = 12;

fn entry() -> impl Strategy<Value = Entry> {
    prop_oneof![
        4 => (0..SENT).prop_map(Entry::Genuine),
        1 => (0..SENT, any::<usize>()).prop_map(|(i, at)| Entry::Flipped(i, at)),
        1 => (0..SENT, any::<usize>()).prop_map(|(i, at)| Entry::Truncated(i, at)),
        1 => proptest::collection::vec(any::<u8>(), 0..200).prop_map(Entry::Garbage),
    ]
}

fn bytes(entry: &Entry, envelopes: &[Vec<u8>]) -> Vec<u8> {
    match entry {
        Entry::Genuine(i) => envelopes[*i].clone(),
        Entry::Flipped(i, at) => {
            let mut bytes = envelopes[*i].clone();
            let at = at % bytes.len();
            bytes[at] ^= 0x01;
            bytes
        }
        Entry::Truncated(i, at) => envelopes[*i][..at % envelopes[*i].len()].to_vec(),
        Entry::Garbage(bytes) => bytes.clone(),
    }
}

/// The texts of the appointment confirmations in the clinician's history.
fn stored_texts(pair: &Pair<MemoryStore>) -> Vec<String> {
    let history = pair.clinician.history(&pair.client_id).unwrap();
    history
        .iter()
        .filter(|entry| entry.category.kind() == CategoryKind::AppointmentConfirm)
        .map(|entry| entry.text.to_string())
        .collect()
}

fn check_batch(seed: u64, batch: &[Entry]) {
    let pair = pair(seed);
    let envelopes: Vec<Vec<u8>> = (0..SENT)
        .map(|i| pair.client.send(&pair.clinician_id, confirm(&format!("message {i}"))).unwrap())
        .map(|sent| sent.envelope.unwrap())
        .collect();
    let batch_bytes: Vec<Vec<u8>> = batch.iter().map(|entry| bytes(entry, &envelopes)).collect();
    let results = pair.clinician.receive_batch(&pair.client_id, &batch_bytes).unwrap();
    assert_eq!(results.len(), batch.len());

    // What the batch reported as received is exactly what is stored.
    let mut received = HashSet::new();
    for (entry, result) in batch.iter().zip(&results) {
        if let Ok(incoming) = result {
            let Received::Message(message) = &incoming.received else { panic!("not a message: {entry:?}") };
            assert!(received.insert(message.text.to_string()), "{entry:?} received twice");
        }
    }
    let mut stored = stored_texts(&pair);
    stored.sort();
    let mut expected: Vec<String> = received.iter().cloned().collect();
    expected.sort();
    assert_eq!(stored, expected, "reported Ok and stored differ");

    // The failures changed nothing: every genuine envelope not received yet still decrypts, and
    // every one that was received is a duplicate.
    for (i, envelope) in envelopes.iter().enumerate() {
        let text = format!("message {i}");
        match pair.clinician.receive(&pair.client_id, envelope) {
            Ok(_) => assert!(!received.contains(&text), "message {i} decrypted twice"),
            Err(Error::Session(SessionError::Duplicate)) => {
                assert!(received.contains(&text), "message {i} lost: its key is gone but it is not stored")
            }
            Err(err) => panic!("message {i} after the batch: {err:?}"),
        }
    }
    assert_eq!(stored_texts(&pair).len(), SENT);
}

fn check_threads(threads: usize, per_thread: usize, shuffle: u64) {
    let Pair { clinician, client, client_id, clinician_id, .. } = system_pair();
    let client = Arc::new(client);
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (client, to, barrier) = (Arc::clone(&client), clinician_id.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                (0..per_thread)
                    .map(|i| client.send(&to, confirm(&format!("{t}/{i}"))).unwrap().envelope.unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut envelopes: Vec<Vec<u8>> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();

    let mut keys = HashSet::new();
    for envelope in &envelopes {
        let header = *Envelope::from_bytes(envelope).unwrap().ratchet_message().header();
        assert!(keys.insert((header.dh.to_bytes(), header.n)), "message key {} used twice", header.n);
    }
    // Delivered in a shuffled order, every envelope decrypts exactly once.
    let mut state = shuffle | 1;
    for i in (1..envelopes.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        envelopes.swap(i, usize::try_from(state % (i as u64 + 1)).unwrap());
    }
    for envelope in &envelopes {
        assert!(matches!(clinician.receive(&client_id, envelope).unwrap().received, Received::Message(_)));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn a_batch_stores_what_it_reports_and_failures_change_nothing(
        seed in any::<u64>(),
        batch in proptest::collection::vec(entry(), 1..24),
    ) {
        check_batch(seed, &batch);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn concurrent_sends_never_share_a_message_key(threads in 2usize..5, per_thread in 1usize..12, shuffle in any::<u64>()) {
        check_threads(threads, per_thread, shuffle);
    }
}
