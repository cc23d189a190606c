//! Last-resort prekeys: many initiators from one bundle, replay protection, and rotation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use confidant::clock::Clock;
use confidant::consts::{LAST_RESORT_PREKEY_LIFETIME_MS, RETIRED_PREKEY_GRACE_MS};
use confidant::session::{PrekeyBundle, SessionError};
use confidant::store::{MemoryStore, PeerId, Store, WriteBatch};
use confidant::{
    AppointmentKind, Category, Draft, Endpoint, EndpointError, Error, ManualClock, Received, Role,
};
use confidant_support::pair::{pair_with, Pair, MONDAY_10AM_NY};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

type Device = Endpoint<MemoryStore, ManualClock>;

fn clinician(seed: u64, name: &str) -> Device {
    let rng = ChaCha20Rng::seed_from_u64(seed);
    Endpoint::with_generator(rng, MemoryStore::new(), ManualClock::new(MONDAY_10AM_NY), Role::Clinician, name)
        .unwrap()
}

fn id(name: &str) -> PeerId {
    PeerId::new(name).unwrap()
}

/// Agrees on the pair's default terms between `doctor` (known to the client as `doctor_id`) and
/// the pair's client (terms `version`), then exchanges a message each way; all of it must decrypt.
fn agree_and_talk(pair: &Pair<MemoryStore>, doctor: &Device, doctor_id: &PeerId, version: u32) {
    let client_id = &pair.client_id;
    doctor.clock().set(pair.client.clock().now());
    let mut terms = pair.terms(version);
    terms.clinician = doctor.identity_key();
    let proposal = doctor.propose_agreement(client_id, terms).unwrap();
    let Received::AgreementProposed { id, .. } = pair.client.receive(doctor_id, &proposal).unwrap().received
    else {
        panic!("expected a proposal")
    };
    let acceptance = pair.client.accept_agreement(doctor_id, id).unwrap();
    let received = doctor.receive(client_id, &acceptance).unwrap().received;
    assert!(matches!(received, Received::AgreementAccepted { .. }));
    let draft = Draft::new(Category::Appointment(AppointmentKind::Confirm), "Tuesday at 3");
    let sent = doctor.send(client_id, draft).unwrap().envelope.unwrap();
    let Received::Message(message) = pair.client.receive(doctor_id, &sent).unwrap().received else {
        panic!("expected a message")
    };
    assert_eq!(&message.text[..], "Tuesday at 3");
    let sent = pair.client.send(doctor_id, Draft::new(Category::CheckIn, "doing better")).unwrap();
    let Received::Message(message) = doctor.receive(client_id, &sent.envelope.unwrap()).unwrap().received
    else {
        panic!("expected a message")
    };
    assert_eq!(&message.text[..], "doing better");
}

fn client_pair(seed: u64) -> Pair<MemoryStore> {
    pair_with(seed, MemoryStore::new(), MemoryStore::new(), false)
}

#[test]
fn two_initiators_with_the_same_last_resort_bundle_both_get_working_sessions() {
    let pair = client_pair(1);
    let bundle = pair.client.last_resort_bundle().unwrap();
    // The bundle stays the same until it is rotated.
    assert_eq!(pair.client.last_resort_bundle().unwrap(), bundle);
    let (lee, kim) = (clinician(11, "dr-lee"), clinician(12, "dr-kim"));
    lee.start_session(&pair.client_id, &bundle).unwrap();
    kim.start_session(&pair.client_id, &bundle).unwrap();
    agree_and_talk(&pair, &lee, &id("dr-lee"), 1);
    agree_and_talk(&pair, &kim, &id("dr-kim"), 1);
    // Both handshakes are recorded against the one last-resort pair.
    assert_eq!(pair.client.store().last_resort_handshakes().unwrap().len(), 2);
}

#[test]
fn a_single_use_bundle_handed_to_two_initiators_still_works_once() {
    let pair = client_pair(2);
    let bundle = pair.client.prekey_bundle().unwrap();
    let (lee, kim) = (clinician(21, "dr-lee"), clinician(22, "dr-kim"));
    lee.start_session(&pair.client_id, &bundle).unwrap();
    kim.start_session(&pair.client_id, &bundle).unwrap();
    agree_and_talk(&pair, &lee, &id("dr-lee"), 1);
    let mut terms = pair.terms(1);
    terms.clinician = kim.identity_key();
    let proposal = kim.propose_agreement(&pair.client_id, terms).unwrap();
    let refused = pair.client.receive(&id("dr-kim"), &proposal).unwrap_err();
    assert_eq!(refused, Error::Endpoint(EndpointError::UnknownPrekey));
    // The second initiator starts again from the last-resort bundle.
    kim.start_session(&pair.client_id, &pair.client.last_resort_bundle().unwrap()).unwrap();
    agree_and_talk(&pair, &kim, &id("dr-kim"), 2);
}

#[test]
fn a_replayed_last_resort_handshake_is_refused_even_after_its_session_is_gone() {
    let pair = client_pair(3);
    let lee = clinician(31, "dr-lee");
    lee.start_session(&pair.client_id, &pair.client.last_resort_bundle().unwrap()).unwrap();
    let mut terms = pair.terms(1);
    terms.clinician = lee.identity_key();
    let proposal = lee.propose_agreement(&pair.client_id, terms).unwrap();
    pair.client.receive(&id("dr-lee"), &proposal).unwrap();
    let duplicate = Error::Session(SessionError::Duplicate);
    // Replayed under the same peer: its session recognises it.
    assert_eq!(pair.client.receive(&id("dr-lee"), &proposal).unwrap_err(), duplicate);
    // Replayed under another peer id, or after the session was deleted: the recorded base key
    // refuses it, and nothing is saved.
    assert_eq!(pair.client.receive(&id("mallory"), &proposal).unwrap_err(), duplicate);
    assert!(pair.client.store().session(&id("mallory")).unwrap().is_none());
    let mut batch = WriteBatch::new();
    batch.delete_session(&id("dr-lee"));
    pair.client.store().apply(batch).unwrap();
    assert_eq!(pair.client.receive(&id("dr-lee"), &proposal).unwrap_err(), duplicate);
    assert!(pair.client.store().session(&id("dr-lee")).unwrap().is_none());
}

#[test]
fn rotation_replaces_the_pair_on_schedule_and_deletes_it_after_the_grace_period() {
    let pair = client_pair(4);
    let first = pair.client.rotate_prekeys().unwrap();
    assert!(first.rotated);
    assert_eq!(first.deleted, 0);
    // Not due yet: the same bundle.
    pair.client.clock().advance_millis(LAST_RESORT_PREKEY_LIFETIME_MS - 1);
    let again = pair.client.rotate_prekeys().unwrap();
    assert!(!again.rotated);
    assert_eq!(again.bundle, first.bundle);
    // Due: a new bundle, and the old one still works within the grace period.
    pair.client.clock().advance_millis(1);
    let second = pair.client.rotate_prekeys().unwrap();
    assert!(second.rotated);
    assert_ne!(second.bundle, first.bundle);
    assert_eq!(pair.client.last_resort_bundle().unwrap(), second.bundle);
    let lee = clinician(41, "dr-lee");
    lee.start_session(&pair.client_id, &first.bundle).unwrap();
    agree_and_talk(&pair, &lee, &id("dr-lee"), 1);
    assert_eq!(pair.client.store().last_resort_handshakes().unwrap().len(), 1);
    // Just before the end of the grace period nothing is deleted ...
    pair.client.clock().advance_millis(RETIRED_PREKEY_GRACE_MS - 1);
    let kept = pair.client.rotate_prekeys().unwrap();
    assert_eq!(kept.deleted, 0);
    // ... then the old pair's private keys and its handshake records go.
    pair.client.clock().advance_millis(1);
    let expired = pair.client.rotate_prekeys().unwrap();
    assert_eq!(expired.deleted, 1);
    assert!(pair.client.store().last_resort_handshakes().unwrap().is_empty());
    // A handshake from the old bundle now finds nothing; the session made before goes on.
    let kim = clinician(42, "dr-kim");
    kim.start_session(&pair.client_id, &first.bundle).unwrap();
    let mut terms = pair.terms(1);
    terms.clinician = kim.identity_key();
    let proposal = kim.propose_agreement(&pair.client_id, terms).unwrap();
    let refused = pair.client.receive(&id("dr-kim"), &proposal).unwrap_err();
    assert_eq!(refused, Error::Endpoint(EndpointError::UnknownPrekey));
    let now = pair.client.clock().now();
    lee.clock().set(now);
    let draft = Draft::new(Category::Appointment(AppointmentKind::Confirm), "still here");
    let sent = lee.send(&pair.client_id, draft).unwrap().envelope.unwrap();
    assert!(matches!(pair.client.receive(&id("dr-lee"), &sent).unwrap().received, Received::Message(_)));
}

#[test]
fn a_handshake_mixing_a_last_resort_pair_with_other_prekeys_is_refused_and_uses_nothing() {
    let pair = client_pair(5);
    let last_resort = PrekeyBundle::from_bytes(&pair.client.last_resort_bundle().unwrap()).unwrap();
    let single_bytes = pair.client.prekey_bundle().unwrap();
    let single = PrekeyBundle::from_bytes(&single_bytes).unwrap();
    let identity = last_resort.identity_key();
    // Validly signed prekeys of the client's, combined as no bundle of its combines them.
    let mixed = [
        PrekeyBundle::from_parts(identity, last_resort.signed_prekey(), None, single.kem_prekey()),
        PrekeyBundle::from_parts(identity, single.signed_prekey(), None, last_resort.kem_prekey()),
        PrekeyBundle::from_parts(
            identity,
            last_resort.signed_prekey(),
            single.one_time_prekey(),
            last_resort.kem_prekey(),
        ),
    ];
    for (n, bundle) in mixed.iter().enumerate() {
        let doctor = clinician(50 + u64::try_from(n).unwrap(), "dr-lee");
        doctor.start_session(&pair.client_id, &bundle.to_bytes()).unwrap();
        let mut terms = pair.terms(1);
        terms.clinician = doctor.identity_key();
        let proposal = doctor.propose_agreement(&pair.client_id, terms).unwrap();
        let refused = pair.client.receive(&id("dr-lee"), &proposal).unwrap_err();
        assert_eq!(refused, Error::Endpoint(EndpointError::UnknownPrekey), "combination {n}");
        assert!(pair.client.store().peer(&id("dr-lee")).unwrap().is_none());
    }
    assert!(pair.client.store().last_resort_handshakes().unwrap().is_empty());
    // Nothing was used up: both bundles still work.
    let (lee, kim) = (clinician(58, "dr-lee"), clinician(59, "dr-kim"));
    lee.start_session(&pair.client_id, &single_bytes).unwrap();
    kim.start_session(&pair.client_id, &last_resort.to_bytes()).unwrap();
    agree_and_talk(&pair, &lee, &id("dr-lee"), 1);
    agree_and_talk(&pair, &kim, &id("dr-kim"), 1);
}
