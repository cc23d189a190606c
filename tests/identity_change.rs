//! A peer's identity key changes (a reinstall): refused until the user accepts the new key, then
//! a fresh start with a new safety number, a new session and a new agreement.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use confidant::session::{Envelope, PrekeyBundle};
use confidant::store::{MemoryStore, PeerId, Store, StoreError, Verification};
use confidant::{
    AppointmentKind, Category, Draft, Endpoint, EndpointError, Error, ManualClock, Received, Role,
};
use confidant_support::pair::{pair, Pair, MONDAY_10AM_NY};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

type Device = Endpoint<MemoryStore, ManualClock>;

fn reinstalled(role: Role, local_id: &str, seed: u64) -> Device {
    let rng = ChaCha20Rng::seed_from_u64(seed);
    Endpoint::with_generator(rng, MemoryStore::new(), ManualClock::new(MONDAY_10AM_NY), role, local_id)
        .unwrap()
}

fn confirm(text: &str) -> Draft {
    Draft::new(Category::Appointment(AppointmentKind::Confirm), text)
}

fn is_message(received: &Received, text: &str) -> bool {
    matches!(received, Received::Message(message) if &message.text[..] == text)
}

/// The clinician's device verifies the client's current key by scanning the client's code.
fn verify(pair: &Pair<MemoryStore>) {
    let scanned = *pair.client.safety_number(&pair.clinician_id).unwrap().scannable();
    assert!(pair.clinician.verify_peer(&pair.client_id, &scanned).unwrap());
}

#[test]
fn the_clinician_talks_only_to_the_trusted_key_until_the_new_one_is_accepted() {
    let mut pair = pair(601);
    verify(&pair);
    let old_number = pair.clinician.safety_number(&pair.client_id).unwrap();
    let client = reinstalled(Role::Client, "client-42", 602);
    let bundle = client.prekey_bundle().unwrap();
    let key = PrekeyBundle::from_bytes(&bundle).unwrap().identity_key();

    // Refused, with the new safety number to show; the old conversation goes on meanwhile.
    let err = pair.clinician.start_session(&pair.client_id, &bundle).unwrap_err();
    assert_eq!(err, Error::Store(StoreError::IdentityChanged));
    let offered = pair.clinician.safety_number_with(&pair.client_id, &key);
    assert_ne!(offered, old_number);
    assert_eq!(pair.clinician.safety_number(&pair.client_id).unwrap(), old_number);
    let sent = pair.clinician.send(&pair.client_id, confirm("before")).unwrap().envelope.unwrap();
    assert!(is_message(&pair.deliver_to_client(&sent).received, "before"));
    let from_old = pair.client.send(&pair.clinician_id, confirm("old phone")).unwrap().envelope.unwrap();

    // Accepting returns the new number, clears the verification, the agreement and the sessions
    // of the old key: the old device's message is no longer accepted.
    let number = pair.clinician.accept_new_identity(&pair.client_id, &key).unwrap();
    assert_eq!(number, offered);
    assert_eq!(pair.clinician.safety_number(&pair.client_id).unwrap(), offered);
    let record = pair.clinician.store().peer(&pair.client_id).unwrap().unwrap();
    assert_eq!((record.identity, record.verification), (key, Verification::Unverified));
    assert!(pair.clinician.agreement(&pair.client_id).unwrap().is_none());
    assert!(pair.clinician.store().session(&pair.client_id).unwrap().is_none());
    let err = pair.clinician.receive(&pair.client_id, &from_old).unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::NoSession));
    // The old code no longer verifies; the new device's does.
    let old_code = *old_number.scannable();
    assert!(!pair.clinician.verify_peer(&pair.client_id, &old_code).unwrap());

    // Nothing flows before a new session and an agreement signed again under the new key.
    let err = pair.clinician.send(&pair.client_id, confirm("hello?")).unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::NoSession));
    pair.clinician.start_session(&pair.client_id, &bundle).unwrap();
    let err = pair.clinician.send(&pair.client_id, confirm("hello?")).unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::NoAgreement));
    let mut terms = pair.terms(2);
    terms.client = key;
    let proposal = pair.clinician.propose_agreement(&pair.client_id, terms).unwrap();
    let Received::AgreementProposed { id, .. } =
        client.receive(&pair.clinician_id, &proposal).unwrap().received
    else {
        panic!("expected a proposal")
    };
    let acceptance = client.accept_agreement(&pair.clinician_id, id).unwrap();
    let accepted = pair.clinician.receive(&pair.client_id, &acceptance).unwrap().received;
    assert_eq!(accepted, Received::AgreementAccepted { version: 2 });
    let signed = pair.clinician.agreement(&pair.client_id).unwrap().unwrap();
    assert_eq!(signed.terms().client, key);
    let new_code = *client.safety_number(&pair.clinician_id).unwrap().scannable();
    assert!(pair.clinician.verify_peer(&pair.client_id, &new_code).unwrap());
    let sent = client.send(&pair.clinician_id, confirm("new phone")).unwrap().envelope.unwrap();
    assert!(is_message(&pair.clinician.receive(&pair.client_id, &sent).unwrap().received, "new phone"));
}

#[test]
fn the_client_refuses_a_new_clinician_key_until_accepted_and_then_drops_the_old_sessions() {
    let mut pair = pair(603);
    let clinician = reinstalled(Role::Clinician, "dr-lee", 604);
    clinician.start_session(&pair.client_id, &pair.client.prekey_bundle().unwrap()).unwrap();
    let mut terms = pair.terms(1);
    terms.clinician = clinician.identity_key();
    let proposal = clinician.propose_agreement(&pair.client_id, terms).unwrap();
    let Envelope::Prekey(handshake) = Envelope::from_bytes(&proposal).unwrap() else { panic!() };
    let key = handshake.identity_key();

    // Refused, changing nothing; the old clinician device still reaches the client.
    let stored = pair.client.store().session(&pair.clinician_id).unwrap();
    let err = pair.client.receive(&pair.clinician_id, &proposal).unwrap_err();
    assert_eq!(err, Error::Store(StoreError::IdentityChanged));
    assert_eq!(pair.client.store().session(&pair.clinician_id).unwrap(), stored);
    let from_old = pair.clinician.send(&pair.client_id, confirm("old desk")).unwrap().envelope.unwrap();
    let later = pair.clinician.send(&pair.client_id, confirm("old desk again")).unwrap().envelope.unwrap();
    assert!(is_message(&pair.deliver_to_client(&from_old).received, "old desk"));

    let offered = pair.client.safety_number_with(&pair.clinician_id, &key);
    assert_eq!(pair.client.accept_new_identity(&pair.clinician_id, &key).unwrap(), offered);
    // Accepting the same key again changes nothing and gives the same number.
    assert_eq!(pair.client.accept_new_identity(&pair.clinician_id, &key).unwrap(), offered);
    let err = pair.client.receive(&pair.clinician_id, &later).unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::NoSession));
    // The new key's handshake now goes through, and the agreement is signed again under it.
    let Received::AgreementProposed { id, .. } = pair.deliver_to_client(&proposal).received else { panic!() };
    let acceptance = pair.client.accept_agreement(&pair.clinician_id, id).unwrap();
    let accepted = clinician.receive(&pair.client_id, &acceptance).unwrap().received;
    assert_eq!(accepted, Received::AgreementAccepted { version: 1 });
    assert_eq!(pair.client.agreement(&pair.clinician_id).unwrap().unwrap().terms().clinician, key);
    assert_eq!(pair.client.safety_number(&pair.clinician_id).unwrap(), offered);
}

#[test]
fn accepting_a_key_for_an_unknown_peer_is_refused() {
    let pair = pair(605);
    let other = reinstalled(Role::Client, "client-7", 606);
    let nobody = PeerId::new("nobody").unwrap();
    let err = pair.clinician.accept_new_identity(&nobody, &other.identity_key()).unwrap_err();
    assert_eq!(err, Error::Store(StoreError::UnknownPeer));
    assert!(pair.clinician.store().peer(&nobody).unwrap().is_none());
}
