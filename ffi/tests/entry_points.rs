//! Arbitrary bytes, ids and peer names at every entry point of the bindings that takes them:
//! nothing panics (a panic would cross the boundary as UniFFI's internal error, not as a
//! `ConfidantError`), every failure is a typed `ConfidantError` other than `Internal`, and nothing
//! the noise did keeps a genuine envelope from decrypting afterwards.
//!
//! `bash ffi/run-tests.sh` runs it (`cargo test -p confidant-ffi`); `PROPTEST_CASES` sets the
//! number of cases.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use confidant_ffi::{
    usual_terms, BatchItem, Category, ConfidantError, Draft, Endpoint, Received, Role, Weekday,
};
use proptest::prelude::*;

struct Pair {
    _dir: tempfile::TempDir,
    clinician: Arc<Endpoint>,
    client: Arc<Endpoint>,
}

/// A clinician and a client, on key-protected files (no Argon2 on every case), with the usual
/// agreement in force.
fn pair() -> Pair {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let clinician =
        Endpoint::open_with_key(path("clinician.db"), vec![1; 32], Role::Clinician, "dr-lee".into()).unwrap();
    let client = Endpoint::open_with_key(path("client.db"), vec![2; 32], Role::Client, "sam".into()).unwrap();
    clinician.start_session("sam".into(), client.prekey_bundle().unwrap()).unwrap();
    let terms = usual_terms(
        1,
        "Europe/Paris".into(),
        vec![
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
            Weekday::Thursday,
            Weekday::Friday,
            Weekday::Saturday,
            Weekday::Sunday,
        ],
        0,
        24 * 60,
        "Within a day.".into(),
        vec!["Call 3114".into()],
        vec![Category::AppointmentConfirm, Category::CheckIn],
    );
    let proposal = clinician.propose_agreement("sam".into(), terms).unwrap();
    let Received::AgreementProposed { id, .. } = client.receive("dr-lee".into(), proposal).unwrap().received
    else {
        panic!("expected the proposal")
    };
    let acceptance = client.accept_agreement("dr-lee".into(), id).unwrap();
    clinician.receive("sam".into(), acceptance).unwrap();
    Pair { _dir: dir, clinician, client }
}

fn draft(text: &str) -> Draft {
    Draft {
        category: Category::CheckIn,
        text: text.into(),
        reply_to: None,
        request_acknowledgement: false,
        corrects: None,
    }
}

/// A typed error that input can cause (not a bindings bug).
fn typed<T>(result: Result<T, ConfidantError>) {
    if let Err(error) = result {
        assert!(!matches!(error, ConfidantError::Internal { .. }), "{error:?}");
    }
}

fn envelope_like(genuine: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..2048),
        // Genuine bytes with a few bits flipped, or cut short.
        (
            proptest::collection::vec((any::<prop::sample::Index>(), 0u8..8), 1..4),
            any::<prop::sample::Index>()
        )
            .prop_map(move |(flips, cut)| {
                let mut bytes = genuine.clone();
                for (at, bit) in flips {
                    let at = at.index(bytes.len());
                    bytes[at] ^= 1 << bit;
                }
                bytes.truncate(1 + cut.index(bytes.len()));
                bytes
            }),
    ]
}

#[test]
fn arbitrary_input_at_every_entry_point_is_a_typed_error_and_changes_nothing() {
    let Pair { _dir, clinician, client } = pair();
    let genuine = client.send("dr-lee".into(), draft("genuine")).unwrap().envelope.unwrap();
    let bundle = client.prekey_bundle().unwrap();
    let request = client.repair_request("dr-lee".into()).unwrap();
    let strategy = (
        envelope_like(genuine.clone()),
        envelope_like(bundle),
        proptest::collection::vec(any::<u8>(), 0..40),
        "\\PC{0,300}",
        envelope_like(request),
    );
    let mut runner = proptest::test_runner::TestRunner::default();
    runner
        .run(&strategy, |(envelope, bundle, short, peer, request)| {
            typed(clinician.accept_repair_request("sam".into(), request.clone()));
            typed(clinician.accept_repair_request(peer.clone(), request));
            typed(confidant_ffi::bundle_identity_key(bundle.clone()));
            typed(confidant_ffi::envelope_identity_key(envelope.clone()));
            typed(client.safety_number_with(peer.clone(), short.clone()));
            if peer != "sam" {
                typed(clinician.accept_new_identity(peer.clone(), short.clone()));
            }
            typed(client.repair_request(peer.clone()));
            typed(clinician.receive("sam".into(), envelope.clone()));
            typed(clinician.receive(peer.clone(), envelope.clone()));
            match clinician
                .receive_batch("sam".into(), vec![envelope.clone(), short.clone(), envelope.clone()])
            {
                Ok(items) => {
                    for item in items {
                        if let BatchItem::Failed { error } = item {
                            typed::<()>(Err(error));
                        }
                    }
                }
                Err(error) => typed::<()>(Err(error)),
            }
            typed(clinician.start_session(peer.clone(), bundle.clone()));
            typed(clinician.start_session("someone-else".into(), bundle));
            typed(client.accept_agreement("dr-lee".into(), short.clone()));
            typed(client.accept_agreement(peer.clone(), short.clone()));
            typed(client.mark_read("dr-lee".into(), short.clone()));
            typed(client.verify_peer("dr-lee".into(), short.clone()));
            typed(client.verify_peer(peer.clone(), envelope.clone()));
            typed(client.safety_number(peer.clone()));
            typed(client.history(peer.clone()));
            let reply = Draft {
                category: Category::AppointmentConfirm,
                text: peer.clone(),
                reply_to: Some(short.clone()),
                request_acknowledgement: false,
                corrects: None,
            };
            typed(client.send("dr-lee".into(), reply));
            typed(client.send(peer.clone(), draft("to whoever")));
            // Several devices: keys, lists, link steps and envelopes from any device.
            let key = envelope.get(..32).map(<[u8]>::to_vec).unwrap_or_default();
            typed(clinician.receive_from("sam".into(), key.clone(), envelope.clone()));
            typed(clinician.receive_from(peer.clone(), short.clone(), envelope.clone()));
            typed(clinician.receive_batch_from("sam".into(), key.clone(), vec![envelope.clone()]));
            typed(clinician.update_devices("sam".into(), envelope.clone()));
            typed(clinician.update_devices(peer.clone(), short.clone()));
            typed(client.update_own_devices(envelope.clone()));
            typed(clinician.remove_device(short.clone()));
            typed(clinician.remove_device(key.clone()));
            typed(clinician.accept_link(envelope.clone()));
            typed(client.complete_link(envelope.clone()));
            typed(client.request_link(peer.clone(), peer.clone()));
            typed(clinician.sync_agreements(key));
            typed(clinician.devices(peer));
            Ok(())
        })
        .unwrap();
    // The noise never consumed the genuine envelope's key: it decrypts now, once.
    let Received::Message { message } = clinician.receive("sam".into(), genuine.clone()).unwrap().received
    else {
        panic!("expected the genuine message")
    };
    assert_eq!(message.text, "genuine");
    assert_eq!(clinician.receive("sam".into(), genuine).unwrap_err(), ConfidantError::Duplicate);
}

#[test]
fn one_endpoint_is_shared_between_threads() {
    let Pair { _dir, clinician, client } = pair();
    let threads: Vec<_> = (0..4)
        .map(|thread| {
            let client = Arc::clone(&client);
            std::thread::spawn(move || {
                (0..5)
                    .map(|n| {
                        client
                            .send("dr-lee".into(), draft(&format!("{thread}-{n}")))
                            .unwrap()
                            .envelope
                            .unwrap()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut envelopes: Vec<Vec<u8>> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    envelopes.reverse();
    let mut texts: Vec<String> = clinician
        .receive_batch("sam".into(), envelopes)
        .unwrap()
        .into_iter()
        .map(|item| match item {
            BatchItem::Received {
                incoming: confidant_ffi::Incoming { received: Received::Message { message }, .. },
            } => message.text,
            other => panic!("{other:?}"),
        })
        .collect();
    texts.sort();
    let mut expected: Vec<String> = (0..4).flat_map(|t| (0..5).map(move |n| format!("{t}-{n}"))).collect();
    expected.sort();
    assert_eq!(texts, expected);
}
