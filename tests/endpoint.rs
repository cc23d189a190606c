//! The high-level API end to end: agreement, boundaries on both ends, auto-replies, expiry,
//! receipts, previews, batched receive, trust, and the store's owner.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use confidant_support::pair as endpoint_common;

use std::path::Path;

use confidant::agreement::AgreementError;
use confidant::content::{CategoryKind, Content, ReceiptKind};
use confidant::policy::{OutOfScopeReason, PREVIEW_FROM_CLIENT};
use confidant::session::{Envelope, SessionError};
use confidant::store::{MemoryStore, Owner, SqliteStore, Store, StoreError, StoreKeySource, WriteBatch};
use confidant::{
    AppointmentKind, Category, Decision, Draft, Endpoint, EndpointError, Error, ManualClock, Received, Role,
    Timestamp,
};
use endpoint_common::{pair, pair_with, send_raw, Pair, HOUR, MINUTE, MONDAY_10AM_NY, MONDAY_6_30PM_NY};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn confirm(text: &str) -> Draft {
    Draft::new(Category::Appointment(AppointmentKind::Confirm), text)
}

/// Sends `content` from the client on its real session, as a modified client app would, without
/// the boundary check; returns the envelope.
fn send_bypassing_policy(pair: &mut Pair<MemoryStore>, category: Category, text: &str) -> Vec<u8> {
    let agreement = pair.client.agreement(&pair.clinician_id).unwrap().unwrap();
    let now = pair.client.clock().now();
    let content = Content::compose(&mut pair.rng, &agreement, category, text.into(), now).unwrap();
    send_raw(&pair.client, &pair.clinician_id, &mut pair.rng, &content.encode_padded())
}

use confidant::clock::Clock;

#[test]
fn agreement_is_signed_by_both_and_renegotiated_with_a_higher_version() {
    let mut pair = pair(1);
    let on_client = pair.client.agreement(&pair.clinician_id).unwrap().unwrap();
    let on_clinician = pair.clinician.agreement(&pair.client_id).unwrap().unwrap();
    assert_eq!(on_client.to_bytes(), on_clinician.to_bytes());
    assert_eq!(on_client.version(), 1);

    // Only the clinician proposes.
    let terms = pair.terms(2);
    let err = pair.client.propose_agreement(&pair.clinician_id, terms).unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::WrongRole));
    // A stale version is refused.
    let terms = pair.terms(1);
    let err = pair.clinician.propose_agreement(&pair.client_id, terms).unwrap_err();
    assert!(matches!(err, Error::Agreement(AgreementError::Stale { .. })), "{err:?}");
    // Version 2 replaces version 1 on both sides.
    let mut terms = pair.terms(2);
    terms.receipts_enabled = true;
    pair.agree(terms);
    assert_eq!(pair.client.agreement(&pair.clinician_id).unwrap().unwrap().version(), 2);
    assert_eq!(pair.clinician.agreement(&pair.client_id).unwrap().unwrap().version(), 2);
}

#[test]
fn half_signed_or_tampered_agreements_are_refused_and_change_nothing() {
    let mut pair = pair(2);
    let terms = pair.terms(2);
    let proposal = pair.clinician.propose_agreement(&pair.client_id, terms).unwrap();
    let Received::AgreementProposed { id, .. } = pair.deliver_to_client(&proposal).received else { panic!() };

    // The client sends the proposal back without countersigning it: half-signed.
    let stored = pair.client.store().message(&id).unwrap().unwrap();
    let Category::Agreement(half_signed) = Content::decode(&stored.body).unwrap().category().clone() else {
        panic!()
    };
    let envelope = send_bypassing_policy(&mut pair, Category::Agreement(half_signed.clone()), "");
    let before = pair.clinician.store().session(&pair.client_id).unwrap();
    let err = pair.clinician.receive(&pair.client_id, &envelope).unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::UnexpectedAgreement));
    assert_eq!(pair.clinician.store().session(&pair.client_id).unwrap(), before, "session changed");
    assert_eq!(pair.clinician.agreement(&pair.client_id).unwrap().unwrap().version(), 1);

    // The client changes a term before countersigning: the clinician's signature no longer holds.
    let mut bytes = half_signed.to_bytes();
    let at = bytes.windows(b"business".len()).position(|w| w == b"business").unwrap();
    bytes[at] = b'B';
    let tampered = confidant::agreement::UnverifiedAgreement::from_bytes(&bytes).unwrap();
    let err =
        tampered.verify_proposal(&pair.clinician.identity_key(), &pair.client.identity_key()).unwrap_err();
    assert!(matches!(err, AgreementError::BadSignature(_)), "{err:?}");
}

#[test]
fn client_decisions_allowed_out_of_scope_outside_hours_and_crisis() {
    let mut pair = pair(3);
    // Allowed, within hours.
    let sent = pair.client.send(&pair.clinician_id, confirm("See you at 3pm")).unwrap();
    assert_eq!(sent.decision, Decision::Allowed);
    let Received::Message(m) = pair.deliver_to_clinician(&sent.envelope.unwrap()).received else { panic!() };
    assert_eq!((&m.text[..], &m.decision), ("See you at 3pm", &Decision::Allowed));

    // Out of scope: not sent, with the reason and what is allowed instead.
    let sent = pair.client.send(&pair.clinician_id, Draft::new(Category::Administrative, "Invoice?"));
    let sent = sent.unwrap();
    assert!(sent.envelope.is_none());
    let Decision::OutOfScope { reason, allowed_categories, .. } = sent.decision else { panic!() };
    assert_eq!(reason, OutOfScopeReason::CategoryNotAgreed);
    assert!(allowed_categories.contains(&CategoryKind::CheckIn));

    // Outside hours: delivered; the client learns when to expect a reply and sees the resources.
    pair.set_time(MONDAY_6_30PM_NY);
    let sent = pair.client.send(&pair.clinician_id, Draft::new(Category::CheckIn, "Rough day")).unwrap();
    let Decision::OutsideHours { next_available, crisis_resources, .. } = &sent.decision else { panic!() };
    // Tuesday 9:00 in New York is 14:00 UTC (EST).
    assert_eq!(*next_available, Timestamp(MONDAY_10AM_NY.0 + 23 * HOUR));
    assert!(crisis_resources[0].contains("988"));
    let incoming = pair.deliver_to_clinician(&sent.envelope.unwrap());
    assert!(
        matches!(incoming.received, Received::Message(ref m) if matches!(m.decision, Decision::OutsideHours { .. }))
    );
    assert_eq!(incoming.replies.len(), 1, "one auto-reply");
    let Received::Message(reply) = pair.deliver_to_client(&incoming.replies[0]).received else { panic!() };
    assert_eq!(reply.category, Category::AutoReply);
    assert!(reply.text.contains("one business day") && reply.text.contains("988"));

    // Crisis: these terms offer no crisis support by message, so the draft is not sent; the
    // clinician's statement and the resources are shown at once (tests/boundaries.rs has the rest).
    let sent = pair.client.send(&pair.clinician_id, Draft::new(Category::Crisis, "I need help")).unwrap();
    assert!(sent.envelope.is_none());
    assert!(matches!(
        &sent.decision,
        Decision::CrisisNotSent { crisis_resources, statement, .. }
            if crisis_resources[0].contains("988") && !statement.is_empty()
    ));
}

#[test]
fn clinician_side_refuses_what_a_modified_client_sends_anyway() {
    let mut pair = pair(4);
    let envelope = send_bypassing_policy(&mut pair, Category::Administrative, "Can you lend me money?");
    let incoming = pair.deliver_to_clinician(&envelope);
    assert!(matches!(
        incoming.received,
        Received::Refused { reason: OutOfScopeReason::CategoryNotAgreed, .. }
    ));
    assert!(incoming.preview.is_none());
    assert!(pair
        .clinician
        .history(&pair.client_id)
        .unwrap()
        .iter()
        .all(|e| e.category != Category::Administrative));
    let long = "x".repeat(1001);
    let envelope = send_bypassing_policy(&mut pair, Category::CheckIn, &long);
    assert!(matches!(
        pair.deliver_to_clinician(&envelope).received,
        Received::Refused { reason: OutOfScopeReason::TooLong { max_chars: 1000 }, .. }
    ));
    // The session went on: the next genuine message arrives.
    let sent = pair.client.send(&pair.clinician_id, confirm("ok")).unwrap();
    assert!(matches!(pair.deliver_to_clinician(&sent.envelope.unwrap()).received, Received::Message(_)));
}

#[test]
fn a_message_that_is_not_kept_still_uses_up_its_key() {
    let mut pair = pair(14);
    let refused = send_bypassing_policy(&mut pair, Category::Administrative, "Can you lend me money?");
    assert!(matches!(pair.deliver_to_clinician(&refused).received, Received::Refused { .. }));
    // The session state that consumed the message key was saved: the envelope does not open again.
    assert!(pair.clinician.receive(&pair.client_id, &refused).is_err());

    pair.client.clock().set(Timestamp(pair.clinician.clock().now().0 - 3 * HOUR));
    let late = pair.client.send(&pair.clinician_id, confirm("behind")).unwrap();
    let late = late.envelope.unwrap();
    assert!(matches!(pair.deliver_to_clinician(&late).received, Received::Expired { .. }));
    assert!(pair.clinician.receive(&pair.client_id, &late).is_err());

    // In a batch too.
    let refused = send_bypassing_policy(&mut pair, Category::Administrative, "Again?");
    let results = pair.clinician.receive_batch(&pair.client_id, &[&refused]).unwrap();
    assert!(matches!(results[0].as_ref().unwrap().received, Received::Refused { .. }));
    assert!(pair.clinician.receive(&pair.client_id, &refused).is_err());
}

#[test]
fn clinician_is_bound_too() {
    let mut pair = pair(5);
    let sent = pair.clinician.send(&pair.client_id, Draft::new(Category::CheckIn, "How are you?"));
    assert!(matches!(sent.unwrap().decision, Decision::OutOfScope { .. }));
    let sent = pair.clinician.send(&pair.client_id, Draft::new(Category::Administrative, "Form")).unwrap();
    assert!(matches!(pair.deliver_to_client(&sent.envelope.unwrap()).received, Received::Message(_)));
}

#[test]
fn auto_reply_at_most_once_per_window() {
    let mut pair = pair(6);
    pair.set_time(MONDAY_6_30PM_NY);
    let mut replies = Vec::new();
    for minutes in [0, 5, 14, 16, 20, 40] {
        pair.set_time(Timestamp(MONDAY_6_30PM_NY.0 + minutes * MINUTE));
        let sent = pair.client.send(&pair.clinician_id, confirm("after hours")).unwrap();
        replies.push(pair.deliver_to_clinician(&sent.envelope.unwrap()).replies.len());
    }
    // Windows of 15 minutes from each auto-reply: at 0, then 16 (16 - 0 > 15), then 40 (40 - 16 > 15).
    assert_eq!(replies, vec![1, 0, 0, 1, 0, 1]);
}

#[test]
fn expiry_from_sending_from_reading_and_with_wrong_sender_clocks() {
    let mut pair = pair(7);
    // From sending: two hours.
    let sent = pair.client.send(&pair.clinician_id, confirm("confirmed")).unwrap();
    let Received::Message(m) = pair.deliver_to_clinician(&sent.envelope.unwrap()).received else { panic!() };
    assert_eq!(m.expires_at, Some(Timestamp(MONDAY_10AM_NY.0 + 2 * HOUR)));

    // From reading: kept at most 30 days unread, then a day from the reader's clock once read.
    let sent = pair.client.send(&pair.clinician_id, Draft::new(Category::CheckIn, "hi")).unwrap();
    let Received::Message(check_in) = pair.deliver_to_clinician(&sent.envelope.unwrap()).received else {
        panic!()
    };
    assert_eq!(check_in.expires_at, Some(Timestamp(MONDAY_10AM_NY.0 + confidant::consts::MAX_UNREAD_MS)));
    pair.advance(HOUR);
    pair.clinician.mark_read(&pair.client_id, check_in.id).unwrap();
    let stored = pair.clinician.store().message(&check_in.id).unwrap().unwrap();
    assert_eq!(stored.expires_at, Some(Timestamp(MONDAY_10AM_NY.0 + 25 * HOUR)));

    // Sender clock an hour ahead: the message does not live longer on the receiver.
    pair.client.clock().set(Timestamp(pair.clinician.clock().now().0 + HOUR));
    let sent = pair.client.send(&pair.clinician_id, confirm("ahead")).unwrap();
    let Received::Message(m) = pair.deliver_to_clinician(&sent.envelope.unwrap()).received else { panic!() };
    assert_eq!(m.expires_at, Some(Timestamp(pair.clinician.clock().now().0 + 2 * HOUR)));

    // Sender clock three hours behind: already expired on arrival, not stored, session goes on.
    pair.client.clock().set(Timestamp(pair.clinician.clock().now().0 - 3 * HOUR));
    let sent = pair.client.send(&pair.clinician_id, confirm("behind")).unwrap();
    let id = sent.message_id.unwrap();
    assert_eq!(pair.deliver_to_clinician(&sent.envelope.unwrap()).received, Received::Expired { id });
    assert!(pair.clinician.store().message(&id).unwrap().is_none());
    pair.client.clock().set(pair.clinician.clock().now());
    let sent = pair.client.send(&pair.clinician_id, confirm("in sync")).unwrap();
    assert!(matches!(pair.deliver_to_clinician(&sent.envelope.unwrap()).received, Received::Message(_)));

    // Time passes: expired messages vanish from the history at once and from the store on purge.
    let before = pair.clinician.history(&pair.client_id).unwrap().len();
    pair.advance(3 * HOUR);
    let after = pair.clinician.history(&pair.client_id).unwrap().len();
    assert!(after < before, "{after} < {before}");
    assert!(pair.clinician.purge_expired().unwrap() >= before - after);
    assert!(pair.clinician.store().message(&m.id).unwrap().is_none());
}

#[test]
fn receipts_when_agreed_and_previews_without_content() {
    let mut pair = pair(8);
    let mut terms = pair.terms(2);
    terms.receipts_enabled = true;
    // Notifications are neutral ("New message") unless the terms let them say who wrote.
    terms.named_notifications = true;
    pair.agree(terms);
    let sent = pair.client.send(&pair.clinician_id, confirm("Tuesday 3pm works")).unwrap();
    let incoming = pair.deliver_to_clinician(&sent.envelope.unwrap());
    assert_eq!(incoming.preview, Some(PREVIEW_FROM_CLIENT));
    for word in ["Tuesday", "3pm", "works"] {
        assert!(!incoming.preview.unwrap().contains(word));
    }
    let Received::Message(message) = incoming.received else { panic!() };
    assert_eq!(incoming.replies.len(), 1);
    let delivered = pair.deliver_to_client(&incoming.replies[0]);
    assert!(delivered.preview.is_none());
    let Received::Receipt(receipt) = delivered.received else { panic!() };
    assert_eq!((receipt.kind, receipt.message_ids), (ReceiptKind::Delivered, vec![message.id]));
    let read = pair.clinician.mark_read(&pair.client_id, message.id).unwrap().unwrap();
    let Received::Receipt(receipt) = pair.deliver_to_client(&read).received else { panic!() };
    assert_eq!(receipt.kind, ReceiptKind::Read);
    assert!(pair.clinician.mark_read(&pair.client_id, message.id).unwrap().is_none());
}

#[test]
fn batched_receive_keeps_the_good_and_skips_the_bad() {
    let pair = pair(9);
    let mut envelopes: Vec<Vec<u8>> = (0..5)
        .map(|i| {
            let sent = pair.client.send(&pair.clinician_id, confirm(&format!("msg {i}"))).unwrap();
            sent.envelope.unwrap()
        })
        .collect();
    let last = envelopes[2].len() - 1;
    envelopes[2][last] ^= 1;
    envelopes.swap(0, 4);
    let results = pair.clinician.receive_batch(&pair.client_id, &envelopes).unwrap();
    let oks = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(oks, 4);
    assert!(matches!(results[2], Err(Error::Session(SessionError::Decrypt))));
    let texts: Vec<String> = pair
        .clinician
        .history(&pair.client_id)
        .unwrap()
        .iter()
        .filter(|e| e.category.kind() == CategoryKind::AppointmentConfirm)
        .map(|e| e.text.to_string())
        .collect();
    assert_eq!(texts.len(), 4);
    assert!(!texts.contains(&"msg 2".to_string()));
}

#[test]
fn a_failed_receive_changes_nothing() {
    let pair = pair(10);
    let sent = pair.client.send(&pair.clinician_id, confirm("hello")).unwrap();
    let mut envelope = sent.envelope.unwrap();
    let session_before = pair.clinician.store().session(&pair.client_id).unwrap();
    let messages_before = pair.clinician.store().messages(&pair.client_id).unwrap().len();
    let len = envelope.len();
    envelope[len - 3] ^= 0x40;
    assert!(pair.clinician.receive(&pair.client_id, &envelope).is_err());
    assert!(pair.clinician.receive(&pair.client_id, b"\x01garbage").is_err());
    assert_eq!(pair.clinician.store().session(&pair.client_id).unwrap(), session_before);
    assert_eq!(pair.clinician.store().messages(&pair.client_id).unwrap().len(), messages_before);
}

#[test]
fn a_new_identity_for_a_known_peer_is_refused_until_accepted() {
    let mut pair = pair(11);
    let impostor = pair_with(12, MemoryStore::new(), MemoryStore::new(), false);
    let bundle = impostor.client.prekey_bundle().unwrap();
    let err = pair.clinician.start_session(&pair.client_id, &bundle).unwrap_err();
    assert_eq!(err, Error::Store(StoreError::IdentityChanged));
    // The real session is untouched.
    let sent = pair.client.send(&pair.clinician_id, confirm("still me")).unwrap();
    assert!(matches!(pair.deliver_to_clinician(&sent.envelope.unwrap()).received, Received::Message(_)));
}

#[test]
fn safety_numbers_match_and_verification_is_recorded() {
    let pair = pair(13);
    let on_clinician = pair.clinician.safety_number(&pair.client_id).unwrap();
    let on_client = pair.client.safety_number(&pair.clinician_id).unwrap();
    assert_eq!(on_clinician.digits(), on_client.digits());
    assert!(pair.clinician.verify_peer(&pair.client_id, on_client.scannable()).unwrap());
    let record = pair.clinician.store().peer(&pair.client_id).unwrap().unwrap();
    assert!(matches!(record.verification, confidant::store::Verification::Verified { .. }));
    let mut wrong = *on_client.scannable();
    wrong[5] ^= 1;
    assert!(!pair.client.verify_peer(&pair.clinician_id, &wrong).unwrap());
}

#[test]
fn nothing_is_sent_before_an_agreement() {
    let pair = pair_with(14, MemoryStore::new(), MemoryStore::new(), false);
    let err = pair.clinician.send(&pair.client_id, confirm("hi")).unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::NoAgreement));
    let err = pair.client.send(&pair.clinician_id, confirm("hi")).unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::NoSession));
}

#[test]
fn bundles_are_single_use_and_a_replayed_handshake_is_refused() {
    let mut pair = endpoint_common::pair_with(15, MemoryStore::new(), MemoryStore::new(), false);
    let terms = pair.terms(1);
    let proposal = pair.clinician.propose_agreement(&pair.client_id, terms).unwrap();
    let Envelope::Prekey(first) = Envelope::from_bytes(&proposal).unwrap() else { panic!() };
    assert!(pair.client.store().signed_prekey(first.signed_prekey_id()).unwrap().is_some());
    pair.deliver_to_client(&proposal);
    // All three private prekeys of the bundle are gone once the session exists.
    assert!(pair.client.store().signed_prekey(first.signed_prekey_id()).unwrap().is_none());
    assert!(pair.client.store().kem_prekey(first.kem_prekey_id()).unwrap().is_none());
    assert_eq!(pair.client.store().one_time_prekey_count().unwrap(), 0);
    // The same envelope again is a duplicate of the session's first message.
    let err = pair.client.receive(&pair.clinician_id, &proposal).unwrap_err();
    assert_eq!(err, Error::Session(SessionError::Duplicate));
}

#[test]
fn a_stored_agreement_that_changed_is_verified_again() {
    let mut pair = pair(15);
    let sent = pair.client.send(&pair.clinician_id, confirm("See you")).unwrap();
    assert!(matches!(pair.deliver_to_clinician(&sent.envelope.unwrap()).received, Received::Message(_)));
    let stored = pair.clinician.store().agreement(&pair.client_id).unwrap().unwrap();
    assert!(pair.clinician.agreement(&pair.client_id).unwrap().is_some());

    // The same bytes with one signature bit flipped no longer verify, although the agreement
    // was just verified.
    let mut tampered = stored.bytes.to_vec();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    let mut batch = WriteBatch::new();
    let changed = confidant::store::StoredAgreement { version: stored.version, bytes: tampered.into() };
    batch.put_agreement(&pair.client_id, changed).unwrap();
    pair.clinician.store().apply(batch).unwrap();
    assert!(pair.clinician.agreement(&pair.client_id).is_err());
    let sent = pair.client.send(&pair.clinician_id, confirm("Still on?")).unwrap();
    assert!(pair.clinician.receive(&pair.client_id, &sent.envelope.unwrap()).is_err());

    // Restored, it verifies again.
    let mut batch = WriteBatch::new();
    batch.put_agreement(&pair.client_id, stored).unwrap();
    pair.clinician.store().apply(batch).unwrap();
    assert!(pair.clinician.agreement(&pair.client_id).unwrap().is_some());
}

/// The bytes of a store file and of its write-ahead log, if there is one.
fn store_files(path: &Path) -> (Vec<u8>, Option<Vec<u8>>) {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    (std::fs::read(path).unwrap(), std::fs::read(Path::new(&wal)).ok())
}

#[test]
fn a_store_file_opens_only_for_the_owner_it_was_created_for() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clinician.db");
    let key = StoreKeySource::key([7; 32]);
    let endpoint = Endpoint::open(&path, &key, Role::Clinician, "dr-lee").unwrap();
    let identity = endpoint.identity_key();
    assert_eq!(endpoint.store().owner().unwrap(), Some(Owner::new(Role::Clinician, "dr-lee").unwrap()));
    drop(endpoint);

    // Another role, or the local id with a byte changed, is refused, and the file stays as it was.
    let before = store_files(&path);
    let others = [
        (Role::Client, "dr-lee"),
        (Role::Clinician, "DR-LEE"),
        (Role::Clinician, "dr-lee "),
        (Role::Client, "sam"),
    ];
    for (role, local_id) in others {
        let err = Endpoint::open(&path, &key, role, local_id).unwrap_err();
        assert_eq!(err, Error::Store(StoreError::OwnerMismatch), "{role:?} {local_id}");
        assert_eq!(store_files(&path), before, "a refused open changed the file");
        let store = SqliteStore::open(&path, &key).unwrap();
        let err = Endpoint::new(store, ManualClock::new(MONDAY_10AM_NY), role, local_id).unwrap_err();
        assert_eq!(err, Error::Store(StoreError::OwnerMismatch), "{role:?} {local_id}");
        assert_eq!(store_files(&path), before, "a refused endpoint changed the file");
    }

    // The owner opens it again, with the identity it had.
    let endpoint = Endpoint::open(&path, &key, Role::Clinician, "dr-lee").unwrap();
    assert_eq!(endpoint.identity_key(), identity);
    assert_eq!(endpoint.role(), Role::Clinician);
    drop(endpoint);
    let store = SqliteStore::open(&path, &key).unwrap();
    let endpoint = Endpoint::new(store, ManualClock::new(MONDAY_10AM_NY), Role::Clinician, "dr-lee").unwrap();
    assert_eq!(endpoint.identity_key(), identity);
}

#[test]
fn an_endpoint_records_its_owner_and_refuses_a_store_of_another() {
    let _rng = ChaCha20Rng::seed_from_u64(41);
    let clock = || ManualClock::new(MONDAY_10AM_NY);
    let endpoint = Endpoint::new(MemoryStore::new(), clock(), Role::Client, "sam").unwrap();
    assert_eq!(endpoint.store().owner().unwrap(), Some(Owner::new(Role::Client, "sam").unwrap()));

    let owned_by_sam = || {
        let store = MemoryStore::new();
        store.set_owner(&Owner::new(Role::Client, "sam").unwrap()).unwrap();
        store
    };
    for (role, local_id) in [(Role::Clinician, "sam"), (Role::Client, "Sam"), (Role::Client, "dr-lee")] {
        let err = Endpoint::new(owned_by_sam(), clock(), role, local_id).unwrap_err();
        assert_eq!(err, Error::Store(StoreError::OwnerMismatch), "{role:?} {local_id}");
    }
    assert!(Endpoint::new(owned_by_sam(), clock(), Role::Client, "sam").is_ok());

    // A local id the peers could not use is refused before any store is touched.
    let err = Endpoint::new(MemoryStore::new(), clock(), Role::Client, "").unwrap_err();
    assert_eq!(err, Error::Store(StoreError::InvalidInput("local id")));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("client.db");
    let err = Endpoint::open(&path, &StoreKeySource::key([7; 32]), Role::Client, "").unwrap_err();
    assert_eq!(err, Error::Store(StoreError::InvalidInput("local id")));
    assert!(!path.exists(), "no store was created");
}

/// An app supplies no generator: every endpoint draws from the operating system, so two devices
/// never share an identity and two bundles of one device never share a key.
#[test]
fn an_endpoint_draws_its_own_randomness() {
    let device =
        || Endpoint::new(MemoryStore::new(), ManualClock::new(MONDAY_10AM_NY), Role::Client, "sam").unwrap();
    let (a, b) = (device(), device());
    assert_ne!(a.identity_key(), b.identity_key());
    assert_ne!(a.prekey_bundle().unwrap(), a.prekey_bundle().unwrap());
}

/// With the `low-level` feature, a seeded generator makes an endpoint's keys reproducible.
#[test]
fn an_injected_generator_makes_an_endpoint_reproducible() {
    let device = |seed| {
        let rng = ChaCha20Rng::seed_from_u64(seed);
        Endpoint::with_generator(
            rng,
            MemoryStore::new(),
            ManualClock::new(MONDAY_10AM_NY),
            Role::Client,
            "sam",
        )
        .unwrap()
    };
    let (a, b, c) = (device(5), device(5), device(6));
    assert_eq!(a.identity_key(), b.identity_key());
    assert_eq!(a.prekey_bundle().unwrap(), b.prekey_bundle().unwrap());
    assert_ne!(a.identity_key(), c.identity_key());
}
