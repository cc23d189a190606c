//! Ways around the communication agreement, tried as an attacker would: a modified app on the
//! other side (which encrypts whatever it likes on its real session), or a peer whose identity
//! changed. Each test shows that the device on the receiving end holds to the agreement.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use confidant::agreement::{
    AgreementError, CrisisSupport, Notice, PlanMessage, SignedNotice, UnverifiedAgreement,
};
use confidant::clock::Clock;
use confidant::consts::{
    CONTENT_BUCKETS, DEFAULT_LIFESPAN_MS, MAX_CRISIS_CHARS, MAX_LIFESPAN_MS, MAX_UNREAD_MS,
};
use confidant::content::{CategoryKind, Content, ContentError, MessageId};
use confidant::expiry::{ExpiryStart, Lifespan};
use confidant::policy::OutOfScopeReason;
use confidant::session::{Envelope, PrekeyBundle};
use confidant::store::{
    Direction, MemoryStore, PeerId, SqliteStore, Store, StoreError, StoreKeySource, Verification, WriteBatch,
};
use confidant::{
    AppointmentKind, Category, Decision, Draft, Endpoint, EndpointError, Error, ManualClock, PlanRequest,
    Received, ReceivedMessage, Role, Timestamp,
};
use confidant_support::pair::{
    pair, pair_with, send_raw, Pair, HOUR, MINUTE, MONDAY_10AM_NY, MONDAY_6_30PM_NY,
};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

type Device = Endpoint<MemoryStore, ManualClock>;

const DAY: u64 = 24 * HOUR;

/// A pair whose agreement (version 1) offers crisis support within office hours; Monday 10:00.
fn crisis_pair(seed: u64) -> Pair<MemoryStore> {
    let mut pair = pair_with(seed, MemoryStore::new(), MemoryStore::new(), false);
    let mut terms = pair.terms(1);
    terms.crisis_support = CrisisSupport::OfficeHours;
    pair.agree(terms);
    pair
}

fn confirm() -> Category {
    Category::Appointment(AppointmentKind::Confirm)
}

/// A content the client's app composes at its own clock, with whatever lifespan and agreement
/// version it likes.
fn from_client(
    pair: &mut Pair<MemoryStore>,
    category: Category,
    text: &str,
    lifespan: Lifespan,
    version: u32,
) -> Vec<u8> {
    let now = pair.client.clock().now();
    let content =
        Content::new(MessageId::random(&mut pair.rng), category, text.into(), now, lifespan, version)
            .unwrap();
    let padded = content.encode_padded();
    send_raw(&pair.client, &pair.clinician_id, &mut pair.rng, &padded)
}

/// `padded` content with a text field added to its protobuf (the content layer's own constructor
/// may refuse such a content; a modified app writes the bytes itself).
fn with_text(padded: &[u8], text: &str) -> Vec<u8> {
    let end = padded.iter().rposition(|&b| b != 0).unwrap();
    assert_eq!(padded[end], 0x80, "padding marker");
    let mut body = padded[..end].to_vec();
    body.push(0x1a); // field 3 (text), length-delimited
    let mut len = text.len();
    while len >= 0x80 {
        body.push(u8::try_from(len & 0x7f).unwrap() | 0x80);
        len >>= 7;
    }
    body.push(u8::try_from(len).unwrap());
    body.extend_from_slice(text.as_bytes());
    let bucket = CONTENT_BUCKETS.iter().copied().find(|&b| b > body.len()).unwrap();
    body.push(0x80);
    body.resize(bucket, 0);
    body
}

/// The clinician's stored copy of its proposal of `version`.
fn outbound_proposal(clinician: &Device, peer: &PeerId, version: u32) -> confidant::store::StoredMessage {
    let messages = clinician.store().messages(peer).unwrap();
    let found = messages.into_iter().find(|m| {
        m.direction == Direction::Outbound
            && matches!(Content::decode(&m.body).unwrap().category(),
                Category::Agreement(a) if a.terms().version == version && !a.is_countersigned())
    });
    found.unwrap()
}

fn delivered(incoming: confidant::Incoming) -> ReceivedMessage {
    match incoming.received {
        Received::Message(message) => message,
        other => panic!("expected a message, got {other:?}"),
    }
}

// ---- 3. The receiver applies the agreed lifespan ----

#[test]
fn the_receiver_keeps_a_message_for_the_agreed_lifespan_not_the_one_the_sender_wrote() {
    let mut pair = pair(301);
    let now = MONDAY_10AM_NY;
    let year = Lifespan::new(MAX_LIFESPAN_MS, ExpiryStart::FromSend).unwrap();
    let year_from_reading = Lifespan::new(MAX_LIFESPAN_MS, ExpiryStart::FromRead).unwrap();

    // Confirmations live two hours from sending: neither a year nor "from reading" sticks.
    for lifespan in [year, year_from_reading] {
        let envelope = from_client(&mut pair, confirm(), "confirmed", lifespan, 1);
        let message = delivered(pair.deliver_to_clinician(&envelope));
        assert_eq!(message.expires_at, Some(Timestamp(now.0 + 2 * HOUR)), "{lifespan:?}");
        pair.clinician.mark_read(&pair.client_id, message.id).unwrap();
        let stored = pair.clinician.store().message(&message.id).unwrap().unwrap();
        assert_eq!(stored.expires_at, Some(Timestamp(now.0 + 2 * HOUR)), "reading does not restart it");
    }

    // Check-ins live one day from reading: a year from sending becomes the unread cap, then a day.
    let envelope = from_client(&mut pair, Category::CheckIn, "hello", year, 1);
    let message = delivered(pair.deliver_to_clinician(&envelope));
    assert_eq!(message.expires_at, Some(Timestamp(now.0 + MAX_UNREAD_MS)));
    pair.advance(HOUR);
    pair.clinician.mark_read(&pair.client_id, message.id).unwrap();
    let stored = pair.clinician.store().message(&message.id).unwrap().unwrap();
    assert_eq!(stored.expires_at, Some(Timestamp(now.0 + HOUR + DAY)));

    // The sender may shorten a message's life: the shorter duration, from the agreed start.
    let ten_minutes = Lifespan::new(10 * MINUTE, ExpiryStart::FromSend).unwrap();
    let envelope = from_client(&mut pair, confirm(), "soon gone", ten_minutes, 1);
    let message = delivered(pair.deliver_to_clinician(&envelope));
    assert_eq!(message.expires_at, Some(Timestamp(now.0 + HOUR + 10 * MINUTE)));
    let envelope = from_client(&mut pair, Category::CheckIn, "brief", ten_minutes, 1);
    let message = delivered(pair.deliver_to_clinician(&envelope));
    assert_eq!(message.expires_at, Some(Timestamp(now.0 + HOUR + MAX_UNREAD_MS)), "from reading");
    pair.clinician.mark_read(&pair.client_id, message.id).unwrap();
    let stored = pair.clinician.store().message(&message.id).unwrap().unwrap();
    assert_eq!(stored.expires_at, Some(Timestamp(now.0 + HOUR + 10 * MINUTE)));
    let history = pair.clinician.history(&pair.client_id).unwrap();
    assert!(history.iter().all(|entry| entry.expires_at <= Some(Timestamp(now.0 + HOUR + MAX_UNREAD_MS))));
}

// ---- 4. Crisis messages: a length cap, the agreement version, no invitation to relabel ----

#[test]
fn a_crisis_message_is_bounded_in_length_on_both_devices() {
    let mut pair = crisis_pair(401);
    let cap = usize::try_from(MAX_CRISIS_CHARS).unwrap();
    let too_long = MAX_CRISIS_CHARS;
    // The sender's check: up to the cap it goes out, one character more and it does not.
    let sent = pair.client.send(&pair.clinician_id, Draft::new(Category::Crisis, "é".repeat(cap))).unwrap();
    assert!(matches!(sent.decision, Decision::Crisis { .. }));
    assert!(matches!(
        delivered(pair.deliver_to_clinician(&sent.envelope.unwrap())).decision,
        Decision::Crisis { .. }
    ));
    let long = "x".repeat(cap + 1);
    let sent = pair.client.send(&pair.clinician_id, Draft::new(Category::Crisis, long.clone())).unwrap();
    assert!(sent.envelope.is_none(), "the sender's check refuses it");
    let Decision::OutOfScope { reason, crisis_resources, .. } = sent.decision else {
        panic!("{:?}", sent.decision)
    };
    assert_eq!(reason, OutOfScopeReason::TooLong { max_chars: too_long });
    assert!(crisis_resources[0].contains("988"), "the resources are still shown");

    // The clinician's device checks again what a modified app sends anyway.
    let envelope = from_client(&mut pair, Category::Crisis, &long, Lifespan::DEFAULT, 1);
    let incoming = pair.deliver_to_clinician(&envelope);
    assert!(
        matches!(incoming.received, Received::Refused { reason: OutOfScopeReason::TooLong { max_chars }, .. } if max_chars == too_long),
        "{:?}",
        incoming.received
    );
    let crises = pair.clinician.history(&pair.client_id).unwrap();
    assert_eq!(crises.iter().filter(|e| e.category == Category::Crisis).count(), 1);
}

#[test]
fn a_crisis_message_is_checked_against_the_agreement_version() {
    let mut pair = crisis_pair(402);
    let envelope = from_client(&mut pair, Category::Crisis, "help", Lifespan::DEFAULT, 7);
    let incoming = pair.deliver_to_clinician(&envelope);
    assert!(
        matches!(
            incoming.received,
            Received::Refused { reason: OutOfScopeReason::WrongAgreementVersion { current: 1 }, .. }
        ),
        "{:?}",
        incoming.received
    );
    // A genuine crisis message within the agreed crisis support goes through, with the resources.
    let sent = pair.client.send(&pair.clinician_id, Draft::new(Category::Crisis, "I need help")).unwrap();
    assert!(
        matches!(&sent.decision, Decision::Crisis { crisis_resources } if crisis_resources[0].contains("988"))
    );
    let message = delivered(pair.deliver_to_clinician(&sent.envelope.unwrap()));
    assert!(matches!(message.decision, Decision::Crisis { .. }));
}

#[test]
fn a_refusal_does_not_suggest_relabelling_as_crisis() {
    let mut pair = pair(403);
    let sent =
        pair.client.send(&pair.clinician_id, Draft::new(Category::Administrative, "Invoice?")).unwrap();
    let Decision::OutOfScope { allowed_categories, crisis_resources, .. } = sent.decision else {
        panic!("{:?}", sent.decision)
    };
    assert!(!allowed_categories.contains(&CategoryKind::Crisis), "{allowed_categories:?}");
    assert!(allowed_categories.contains(&CategoryKind::CheckIn));
    assert!(crisis_resources[0].contains("988"));
    let sent = pair.client.send(&pair.clinician_id, Draft::new(Category::CheckIn, "x".repeat(1001))).unwrap();
    let Decision::OutOfScope { reason, allowed_categories, .. } = sent.decision else { panic!() };
    assert_eq!(reason, OutOfScopeReason::TooLong { max_chars: 1000 });
    assert!(!allowed_categories.contains(&CategoryKind::Crisis));
    // The clinician's refusals, too.
    let sent = pair.clinician.send(&pair.client_id, Draft::new(Category::CheckIn, "How are you?")).unwrap();
    let Decision::OutOfScope { allowed_categories, .. } = sent.decision else { panic!() };
    assert!(!allowed_categories.contains(&CategoryKind::Crisis));
    // And the version refusal on the receiving device.
    let envelope = from_client(&mut pair, confirm(), "old terms", Lifespan::DEFAULT, 9);
    assert!(matches!(
        pair.deliver_to_clinician(&envelope).received,
        Received::Refused { reason: OutOfScopeReason::WrongAgreementVersion { current: 1 }, .. }
    ));
}

// ---- 5. A peer's new identity ----

/// Accepting a new key in the store retires the agreement with it, in one transaction; the same
/// key again changes nothing. Run against both stores.
fn accepting_a_new_key_retires_the_agreement(store: &dyn Store) {
    let pair = pair(501);
    let stored = pair.clinician.store().agreement(&pair.client_id).unwrap().unwrap();
    let old = pair.client.identity_key();
    let new = pair_with(502, MemoryStore::new(), MemoryStore::new(), false).client.identity_key();
    let mut batch = WriteBatch::new();
    batch.put_peer_identity(&pair.client_id, &old).put_agreement(&pair.client_id, stored.clone()).unwrap();
    store.apply(batch).unwrap();
    store.mark_verified(&pair.client_id, &old, MONDAY_10AM_NY).unwrap();

    store.accept_identity(&pair.client_id, &old).unwrap();
    assert!(store.agreement(&pair.client_id).unwrap().is_some());
    assert!(matches!(
        store.peer(&pair.client_id).unwrap().unwrap().verification,
        Verification::Verified { .. }
    ));

    store.accept_identity(&pair.client_id, &new).unwrap();
    assert!(store.agreement(&pair.client_id).unwrap().is_none(), "the old agreement is retired");
    let record = store.peer(&pair.client_id).unwrap().unwrap();
    assert_eq!((record.identity, record.verification), (new, Verification::Unverified));
}

#[test]
fn accepting_a_new_identity_in_the_store_retires_the_agreement() {
    accepting_a_new_key_retires_the_agreement(&MemoryStore::new());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let store = SqliteStore::create(&path, &StoreKeySource::key([5; 32])).unwrap();
    accepting_a_new_key_retires_the_agreement(&store);
}

fn reinstalled(role: Role, local_id: &str, seed: u64) -> Device {
    let rng = ChaCha20Rng::seed_from_u64(seed);
    Endpoint::with_generator(rng, MemoryStore::new(), ManualClock::new(MONDAY_10AM_NY), role, local_id)
        .unwrap()
}

#[test]
fn a_client_with_a_new_identity_is_refused_until_accepted_then_agrees_again() {
    let pair = pair(503);
    // The client reinstalls the app: a new device identity under the same account id.
    let client = reinstalled(Role::Client, "client-42", 504);
    let bundle = client.prekey_bundle().unwrap();
    let err = pair.clinician.start_session(&pair.client_id, &bundle).unwrap_err();
    assert_eq!(err, Error::Store(StoreError::IdentityChanged));
    // Refused until accepted: the old conversation is untouched, and an unknown peer has
    // nothing to accept.
    assert_eq!(pair.clinician.agreement(&pair.client_id).unwrap().unwrap().version(), 1);
    let unknown = PeerId::new("nobody").unwrap();
    let err = pair.clinician.accept_new_identity(&unknown, &client.identity_key()).unwrap_err();
    assert_eq!(err, Error::Store(StoreError::UnknownPeer));

    // The clinician's user accepts the key the bundle presented.
    let key = PrekeyBundle::from_bytes(&bundle).unwrap().identity_key();
    let verified = pair
        .clinician
        .verify_peer(&pair.client_id, pair.client.safety_number(&pair.clinician_id).unwrap().scannable());
    assert!(verified.unwrap());
    pair.clinician.accept_new_identity(&pair.client_id, &key).unwrap();
    assert!(pair.clinician.agreement(&pair.client_id).unwrap().is_none(), "the old agreement is retired");
    let record = pair.clinician.store().peer(&pair.client_id).unwrap().unwrap();
    assert_eq!((record.identity, record.verification), (key, Verification::Unverified));
    pair.clinician.start_session(&pair.client_id, &bundle).unwrap();

    // Nothing but a new agreement goes out; it is proposed, accepted, and messages flow.
    let err = pair.clinician.send(&pair.client_id, Draft::new(confirm(), "hello?")).unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::NoAgreement));
    let mut terms = pair.terms(1);
    terms.client = key;
    let proposal = pair.clinician.propose_agreement(&pair.client_id, terms).unwrap();
    let Received::AgreementProposed { id, .. } =
        client.receive(&pair.clinician_id, &proposal).unwrap().received
    else {
        panic!("expected a proposal")
    };
    let acceptance = client.accept_agreement(&pair.clinician_id, id).unwrap();
    let accepted = pair.clinician.receive(&pair.client_id, &acceptance).unwrap();
    assert_eq!(accepted.received, Received::AgreementAccepted { version: 1 });
    let sent = client.send(&pair.clinician_id, Draft::new(confirm(), "New phone, same me")).unwrap();
    let message = delivered(pair.clinician.receive(&pair.client_id, &sent.envelope.unwrap()).unwrap());
    assert_eq!(&message.text[..], "New phone, same me");
    let sent = pair.clinician.send(&pair.client_id, Draft::new(confirm(), "Welcome back")).unwrap();
    delivered(client.receive(&pair.clinician_id, &sent.envelope.unwrap()).unwrap());
}

#[test]
fn a_clinician_with_a_new_identity_is_refused_until_accepted_then_agrees_again() {
    let mut pair = pair(506);
    // The clinician reinstalls the app and starts again from a bundle the client publishes.
    let clinician = reinstalled(Role::Clinician, "dr-lee", 507);
    clinician.start_session(&pair.client_id, &pair.client.prekey_bundle().unwrap()).unwrap();
    let mut terms = pair.terms(1);
    terms.clinician = clinician.identity_key();
    let proposal = clinician.propose_agreement(&pair.client_id, terms).unwrap();

    // The client's device refuses the handshake, and nothing changes, until its user accepts.
    let session = pair.client.store().session(&pair.clinician_id).unwrap();
    let err = pair.client.receive(&pair.clinician_id, &proposal).unwrap_err();
    assert_eq!(err, Error::Store(StoreError::IdentityChanged));
    assert_eq!(pair.client.store().session(&pair.clinician_id).unwrap(), session);
    assert_eq!(pair.client.agreement(&pair.clinician_id).unwrap().unwrap().version(), 1);
    let Envelope::Prekey(handshake) = Envelope::from_bytes(&proposal).unwrap() else { panic!() };
    pair.client.accept_new_identity(&pair.clinician_id, &handshake.identity_key()).unwrap();
    assert!(pair.client.agreement(&pair.clinician_id).unwrap().is_none());

    // The same envelope now goes through: the proposal from the new key is accepted.
    let Received::AgreementProposed { id, .. } = pair.deliver_to_client(&proposal).received else { panic!() };
    let acceptance = pair.client.accept_agreement(&pair.clinician_id, id).unwrap();
    let accepted = clinician.receive(&pair.client_id, &acceptance).unwrap();
    assert_eq!(accepted.received, Received::AgreementAccepted { version: 1 });
    let sent = pair.client.send(&pair.clinician_id, Draft::new(confirm(), "Found you")).unwrap();
    delivered(clinician.receive(&pair.client_id, &sent.envelope.unwrap()).unwrap());
    // A proposal from the old key that is still stored cannot be accepted any more.
    let old = pair.client.store().messages(&pair.clinician_id).unwrap();
    let old_proposal = old
        .iter()
        .find(|m| {
            m.id != id
                && m.direction == Direction::Inbound
                && matches!(Content::decode(&m.body).unwrap().category(), Category::Agreement(_))
        })
        .unwrap();
    assert!(pair.client.accept_agreement(&pair.clinician_id, old_proposal.id).is_err());
}

// ---- 6. Superseded and withdrawn proposals ----

/// The clinician proposes `version` (the default terms); the client receives it. Returns the id
/// of the message that carries the proposal on the client's device.
fn propose(pair: &mut Pair<MemoryStore>, version: u32) -> MessageId {
    let proposal = pair.clinician.propose_agreement(&pair.client_id, pair.terms(version)).unwrap();
    match pair.deliver_to_client(&proposal).received {
        Received::AgreementProposed { id, .. } => id,
        other => panic!("expected a proposal, got {other:?}"),
    }
}

#[test]
fn a_superseded_proposal_cannot_be_accepted() {
    let mut pair = pair(601);
    let v2 = propose(&mut pair, 2);
    let v3 = propose(&mut pair, 3);

    let session = pair.client.store().session(&pair.clinician_id).unwrap();
    let err = pair.client.accept_agreement(&pair.clinician_id, v2).unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::ProposalSuperseded), "v2 accepted after v3 was proposed");
    assert_eq!(pair.client.store().session(&pair.clinician_id).unwrap(), session);
    assert_eq!(pair.client.agreement(&pair.clinician_id).unwrap().unwrap().version(), 1);

    let acceptance = pair.client.accept_agreement(&pair.clinician_id, v3).unwrap();
    assert_eq!(pair.deliver_to_clinician(&acceptance).received, Received::AgreementAccepted { version: 3 });
    // Once v3 is in force, v2 is still not acceptable.
    let err = pair.client.accept_agreement(&pair.clinician_id, v2).unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::ProposalSuperseded));
}

#[test]
fn a_new_proposal_must_supersede_the_earlier_ones() {
    let mut pair = pair(602);
    propose(&mut pair, 3);
    // Version 2 would be superseded by version 3 on arrival: the clinician's device refuses it.
    let err = pair.clinician.propose_agreement(&pair.client_id, pair.terms(2)).unwrap_err();
    assert_eq!(err, Error::Agreement(AgreementError::Stale { current: 3, offered: 2 }));
    let err = pair.clinician.propose_agreement(&pair.client_id, pair.terms(3)).unwrap_err();
    assert_eq!(err, Error::Agreement(AgreementError::Stale { current: 3, offered: 3 }));
    // Once version 3 has expired, a lower version may be proposed again.
    pair.advance(DEFAULT_LIFESPAN_MS);
    let v2 = propose(&mut pair, 2);
    let acceptance = pair.client.accept_agreement(&pair.clinician_id, v2).unwrap();
    assert_eq!(pair.deliver_to_clinician(&acceptance).received, Received::AgreementAccepted { version: 2 });
}

#[test]
fn the_clinician_does_not_put_a_superseded_proposal_in_force() {
    let mut pair = pair(603);
    let v2 = propose(&mut pair, 2);
    // The clinician proposes v3 while the client, not having seen it, accepts v2.
    let v3 = pair.clinician.propose_agreement(&pair.client_id, pair.terms(3)).unwrap();
    let acceptance = pair.client.accept_agreement(&pair.clinician_id, v2).unwrap();
    let session = pair.clinician.store().session(&pair.client_id).unwrap();
    let err = pair.clinician.receive(&pair.client_id, &acceptance).unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::ProposalSuperseded));
    assert_eq!(pair.clinician.store().session(&pair.client_id).unwrap(), session);
    assert_eq!(pair.clinician.agreement(&pair.client_id).unwrap().unwrap().version(), 1);

    // The client sees v3 and accepts it: both devices hold v3.
    let Received::AgreementProposed { id: v3, .. } = pair.deliver_to_client(&v3).received else { panic!() };
    let acceptance = pair.client.accept_agreement(&pair.clinician_id, v3).unwrap();
    assert_eq!(pair.deliver_to_clinician(&acceptance).received, Received::AgreementAccepted { version: 3 });
    assert_eq!(pair.client.agreement(&pair.clinician_id).unwrap().unwrap().version(), 3);
    let sent = pair.client.send(&pair.clinician_id, Draft::new(confirm(), "v3 it is")).unwrap();
    delivered(pair.deliver_to_clinician(&sent.envelope.unwrap()));
}

#[test]
fn the_clinician_can_withdraw_a_proposal() {
    let mut pair = pair(604);
    let err = pair.clinician.withdraw_proposal(&pair.client_id).unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::NoOpenProposal));
    let err = pair.client.withdraw_proposal(&pair.clinician_id).unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::WrongRole));

    let v2 = propose(&mut pair, 2);
    let withdrawal = pair.clinician.withdraw_proposal(&pair.client_id).unwrap();
    let incoming = pair.deliver_to_client(&withdrawal);
    let Received::ProposalWithdrawn { proposal, .. } = incoming.received else {
        panic!("{:?}", incoming.received)
    };
    assert_eq!(proposal, v2);
    assert!(incoming.preview.is_some());
    let err = pair.client.accept_agreement(&pair.clinician_id, v2).unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::ProposalWithdrawn));
    assert_eq!(pair.client.agreement(&pair.clinician_id).unwrap().unwrap().version(), 1);
    // Nothing is left to withdraw; a new proposal needs a greater version, and can be accepted.
    let err = pair.clinician.withdraw_proposal(&pair.client_id).unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::NoOpenProposal));
    let v3 = propose(&mut pair, 3);
    let acceptance = pair.client.accept_agreement(&pair.clinician_id, v3).unwrap();
    assert_eq!(pair.deliver_to_clinician(&acceptance).received, Received::AgreementAccepted { version: 3 });
}

#[test]
fn withdrawing_the_newest_proposal_does_not_reopen_the_one_it_superseded() {
    let mut pair = pair(605);
    let v2 = propose(&mut pair, 2);
    propose(&mut pair, 3);
    let withdrawal = pair.clinician.withdraw_proposal(&pair.client_id).unwrap();
    pair.deliver_to_client(&withdrawal);
    let err = pair.client.accept_agreement(&pair.clinician_id, v2).unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::ProposalSuperseded));
    let err = pair.clinician.withdraw_proposal(&pair.client_id).unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::NoOpenProposal));
}

#[test]
fn the_clinician_does_not_put_a_withdrawn_proposal_in_force() {
    let mut pair = pair(606);
    let v2 = propose(&mut pair, 2);
    // The withdrawal and the acceptance cross: the client accepted before the withdrawal arrived.
    let withdrawal = pair.clinician.withdraw_proposal(&pair.client_id).unwrap();
    let acceptance = pair.client.accept_agreement(&pair.clinician_id, v2).unwrap();
    let err = pair.clinician.receive(&pair.client_id, &acceptance).unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::ProposalWithdrawn));
    assert_eq!(pair.clinician.agreement(&pair.client_id).unwrap().unwrap().version(), 1);
    assert!(matches!(pair.deliver_to_client(&withdrawal).received, Received::ProposalWithdrawn { .. }));
    // The client's device put v2 in force before it learned of the withdrawal; the clinician
    // proposes again, with a greater version, and both devices hold the same agreement.
    assert_eq!(pair.client.agreement(&pair.clinician_id).unwrap().unwrap().version(), 2);
    let v3 = propose(&mut pair, 3);
    let acceptance = pair.client.accept_agreement(&pair.clinician_id, v3).unwrap();
    assert_eq!(pair.deliver_to_clinician(&acceptance).received, Received::AgreementAccepted { version: 3 });
}

#[test]
fn a_withdrawal_that_arrives_before_its_proposal_still_holds() {
    let mut pair = pair(607);
    let proposal = pair.clinician.propose_agreement(&pair.client_id, pair.terms(2)).unwrap();
    let withdrawal = pair.clinician.withdraw_proposal(&pair.client_id).unwrap();
    assert!(matches!(pair.deliver_to_client(&withdrawal).received, Received::ProposalWithdrawn { .. }));
    let Received::AgreementProposed { id, .. } = pair.deliver_to_client(&proposal).received else { panic!() };
    let err = pair.client.accept_agreement(&pair.clinician_id, id).unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::ProposalWithdrawn));
}

#[test]
fn a_withdrawal_must_name_a_proposal() {
    let mut pair = pair(608);
    // A modified clinician app "withdraws" one of the client's own messages, and a text message.
    let sent = pair.client.send(&pair.clinician_id, Draft::new(confirm(), "See you")).unwrap();
    let own = sent.message_id.unwrap();
    let reminder = Draft::new(Category::Appointment(AppointmentKind::Reminder), "Tomorrow 3pm");
    let sent = pair.clinician.send(&pair.client_id, reminder).unwrap();
    let text = delivered(pair.deliver_to_client(&sent.envelope.unwrap())).id;
    for named in [own, text] {
        let now = pair.clinician.clock().now();
        let content = Content::new(
            MessageId::random(&mut pair.rng),
            Category::Withdrawal(named),
            String::new(),
            now,
            Lifespan::DEFAULT,
            1,
        )
        .unwrap();
        let envelope = send_raw(&pair.clinician, &pair.client_id, &mut pair.rng, &content.encode_padded());
        let before = pair.client.store().messages(&pair.clinician_id).unwrap();
        let err = pair.client.receive(&pair.clinician_id, &envelope).unwrap_err();
        assert_eq!(err, Error::Endpoint(EndpointError::NotAProposal));
        assert_eq!(pair.client.store().messages(&pair.clinician_id).unwrap(), before);
    }
    // The endpoint does not send a withdrawal as a message, and a withdrawal carries no text.
    let draft = Draft::new(Category::Withdrawal(own), "");
    assert!(pair.clinician.send(&pair.client_id, draft).is_err());
    let now = pair.clinician.clock().now();
    let content =
        Content::new(MessageId([4; 16]), Category::Withdrawal(own), "why".into(), now, Lifespan::DEFAULT, 1);
    assert_eq!(content.unwrap_err(), ContentError::InvalidField("text"));
    // A client cannot withdraw the clinician's proposals.
    let v2 = pair.clinician.propose_agreement(&pair.client_id, pair.terms(2)).unwrap();
    let Received::AgreementProposed { id: v2, .. } = pair.deliver_to_client(&v2).received else { panic!() };
    let now = pair.client.clock().now();
    let content = Content::new(
        MessageId::random(&mut pair.rng),
        Category::Withdrawal(v2),
        String::new(),
        now,
        Lifespan::DEFAULT,
        1,
    )
    .unwrap();
    let envelope = send_raw(&pair.client, &pair.clinician_id, &mut pair.rng, &content.encode_padded());
    let err = pair.clinician.receive(&pair.client_id, &envelope).unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::UnexpectedAgreement));
}

// ---- 7. The auto-reply rate limit outlives the auto-replies ----

/// Auto-replies that live one minute, at most one an hour; the client writes after hours at each
/// of `minutes`, the clinician's device purging expired messages before each. How many
/// auto-replies went out each time.
fn auto_replies_with_purges<A: Store, B: Store>(pair: &mut Pair<A, B>, minutes: &[u64]) -> Vec<usize> {
    let mut terms = pair.terms(2);
    terms.auto_reply_window_ms = HOUR;
    terms.lifespans.insert(CategoryKind::AutoReply, Lifespan::new(MINUTE, ExpiryStart::FromSend).unwrap());
    pair.agree(terms);
    let mut replies = Vec::new();
    for &minute in minutes {
        pair.set_time(Timestamp(MONDAY_6_30PM_NY.0 + minute * MINUTE));
        // The last auto-reply lived a minute: it is gone from the store before the next message.
        pair.clinician.purge_expired().unwrap();
        let sent = pair.client.send(&pair.clinician_id, Draft::new(confirm(), "after hours")).unwrap();
        replies.push(pair.deliver_to_clinician(&sent.envelope.unwrap()).replies.len());
    }
    replies
}

#[test]
fn purging_an_auto_reply_does_not_reset_the_rate_limit() {
    let mut pair = pair(701);
    assert_eq!(auto_replies_with_purges(&mut pair, &[0, 5, 30, 61, 62]), vec![1, 0, 0, 1, 0]);
    let history = pair.clinician.history(&pair.client_id).unwrap();
    assert!(history.iter().all(|entry| entry.category != Category::AutoReply), "all purged");
    assert_eq!(
        pair.clinician.store().last_auto_reply(&pair.client_id).unwrap(),
        Some(Timestamp(MONDAY_6_30PM_NY.0 + 61 * MINUTE))
    );
}

#[test]
fn the_rate_limit_is_kept_in_the_store_file() {
    let dir = tempfile::tempdir().unwrap();
    let key = StoreKeySource::key([7; 32]);
    let path = dir.path().join("clinician.db");
    let store = SqliteStore::create(&path, &key).unwrap();
    let mut pair = pair_with(703, store, MemoryStore::new(), true);
    assert_eq!(auto_replies_with_purges(&mut pair, &[0, 5]), vec![1, 0]);
    let reopened = SqliteStore::open(&path, &key).unwrap();
    assert_eq!(reopened.last_auto_reply(&pair.client_id).unwrap(), Some(MONDAY_6_30PM_NY));
    assert_eq!(reopened.last_auto_reply(&pair.clinician_id).unwrap(), None);
}

// ---- 8. Expired means gone ----

#[test]
fn marking_an_expired_message_read_is_refused_and_changes_nothing() {
    let mut pair = pair(801);
    let sent = pair.client.send(&pair.clinician_id, Draft::new(Category::CheckIn, "hi")).unwrap();
    let message = delivered(pair.deliver_to_clinician(&sent.envelope.unwrap()));
    // Never opened: it expires 30 days after it arrived.
    pair.advance(MAX_UNREAD_MS);
    let before = pair.clinician.store().message(&message.id).unwrap().unwrap();
    let err = pair.clinician.mark_read(&pair.client_id, message.id).unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::MessageExpired));
    assert_eq!(pair.clinician.store().message(&message.id).unwrap().unwrap(), before);
    assert!(pair.clinician.history(&pair.client_id).unwrap().iter().all(|e| e.id != message.id));
    // Purged, it is gone for good.
    assert!(pair.clinician.purge_expired().unwrap() >= 1);
    assert!(pair.clinician.store().message(&message.id).unwrap().is_none());
    let err = pair.clinician.mark_read(&pair.client_id, message.id).unwrap_err();
    assert_eq!(err, Error::Store(StoreError::UnknownMessage));

    // A message read in time, once its day from reading is over, is not read again either.
    let sent = pair.client.send(&pair.clinician_id, Draft::new(Category::CheckIn, "again")).unwrap();
    let message = delivered(pair.deliver_to_clinician(&sent.envelope.unwrap()));
    pair.clinician.mark_read(&pair.client_id, message.id).unwrap();
    pair.advance(DAY);
    let err = pair.clinician.mark_read(&pair.client_id, message.id).unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::MessageExpired));
}

#[test]
fn an_expired_proposal_cannot_be_accepted() {
    let mut pair = pair(802);
    let proposal = pair.clinician.propose_agreement(&pair.client_id, pair.terms(2)).unwrap();
    let Received::AgreementProposed { id, .. } = pair.deliver_to_client(&proposal).received else { panic!() };
    pair.advance(DEFAULT_LIFESPAN_MS);
    let session = pair.client.store().session(&pair.clinician_id).unwrap();
    let err = pair.client.accept_agreement(&pair.clinician_id, id).unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::ProposalExpired));
    assert_eq!(pair.client.store().session(&pair.clinician_id).unwrap(), session);
    assert_eq!(pair.client.agreement(&pair.clinician_id).unwrap().unwrap().version(), 1);
}

#[test]
fn the_clinician_does_not_put_an_expired_proposal_in_force() {
    let mut pair = pair(803);
    let proposal = pair.clinician.propose_agreement(&pair.client_id, pair.terms(2)).unwrap();
    let Received::AgreementProposed { id, .. } = pair.deliver_to_client(&proposal).received else { panic!() };
    pair.advance(DEFAULT_LIFESPAN_MS - MINUTE);
    let acceptance = pair.client.accept_agreement(&pair.clinician_id, id).unwrap();
    // The acceptance arrives after the proposal expired on the clinician's device.
    pair.advance(2 * MINUTE);
    let session = pair.clinician.store().session(&pair.client_id).unwrap();
    let err = pair.clinician.receive(&pair.client_id, &acceptance).unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::ProposalExpired));
    assert_eq!(pair.clinician.store().session(&pair.client_id).unwrap(), session);
    assert_eq!(pair.clinician.agreement(&pair.client_id).unwrap().unwrap().version(), 1);
    // Purged, the proposal is unknown there: the acceptance fits no proposal.
    pair.clinician.purge_expired().unwrap();
    let err = pair.clinician.receive(&pair.client_id, &acceptance).unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::UnexpectedAgreement));
}

// ---- 11. Agreement messages carry no text ----

#[test]
fn an_agreement_message_with_text_is_refused() {
    let mut pair = pair(1101);
    // A modified clinician app sends a genuine proposal with a text beside it.
    pair.clinician.propose_agreement(&pair.client_id, pair.terms(2)).unwrap();
    let copy = outbound_proposal(&pair.clinician, &pair.client_id, 2);
    let padded = with_text(&copy.body, "Text me on my private number instead");
    let envelope = send_raw(&pair.clinician, &pair.client_id, &mut pair.rng, &padded);
    let session = pair.client.store().session(&pair.clinician_id).unwrap();
    let err = pair.client.receive(&pair.clinician_id, &envelope).unwrap_err();
    assert_eq!(err, Error::Content(ContentError::InvalidField("text")));
    assert_eq!(pair.client.store().session(&pair.clinician_id).unwrap(), session);
    let history = pair.client.history(&pair.clinician_id).unwrap();
    assert!(history.iter().all(|entry| !entry.text.contains("private number")));

    // The content layer does not build one either.
    let Category::Agreement(agreement) = Content::decode(&copy.body).unwrap().category().clone() else {
        panic!()
    };
    let agreement: UnverifiedAgreement = *agreement;
    let built = Content::new(
        MessageId([9; 16]),
        Category::Agreement(Box::new(agreement)),
        "note".into(),
        MONDAY_10AM_NY,
        Lifespan::DEFAULT,
        1,
    );
    assert_eq!(built.unwrap_err(), ContentError::InvalidField("text"));
}

// ---- 12. Support plans and end notices from a modified app ----

/// A pair whose agreement offers crisis support only under a plan, with plan 1 signed by both.
/// Returns the client's copy of its acceptance message (the countersigned plan).
fn planned_pair(seed: u64) -> (Pair<MemoryStore>, Content) {
    let mut pair = pair_with(seed, MemoryStore::new(), MemoryStore::new(), false);
    let mut terms = pair.terms(1);
    terms.crisis_support = CrisisSupport::SupportPlanOnly;
    pair.agree(terms);
    let request = PlanRequest {
        start: MONDAY_10AM_NY,
        end: Timestamp(MONDAY_10AM_NY.0 + 7 * DAY),
        response_time: "Within 4 hours".into(),
        clinician_may_send: vec![CategoryKind::CopingGuidance],
        client_may_send: vec![CategoryKind::Crisis],
        colleague_consulted: String::new(),
    };
    let proposal = pair.clinician.propose_support_plan(&pair.client_id, request).unwrap();
    let Received::SupportPlanProposed { id, .. } = pair.deliver_to_client(&proposal).received else {
        panic!()
    };
    let acceptance = pair.client.accept_support_plan(&pair.clinician_id, id).unwrap();
    assert!(matches!(pair.deliver_to_clinician(&acceptance).received, Received::SupportPlanAccepted { .. }));
    let copy = pair
        .client
        .store()
        .messages(&pair.clinician_id)
        .unwrap()
        .into_iter()
        .filter(|m| m.direction == Direction::Outbound)
        .map(|m| Content::decode(&m.body).unwrap())
        .find(|c| matches!(c.category(), Category::SupportPlan(_)))
        .unwrap();
    (pair, copy)
}

#[test]
fn a_replayed_plan_acceptance_is_refused_and_changes_nothing() {
    let (mut pair, copy) = planned_pair(1201);
    // A modified client sends the same countersigned plan again, in a new message.
    let again = Content::new(
        MessageId::random(&mut pair.rng),
        copy.category().clone(),
        String::new(),
        pair.client.clock().now(),
        Lifespan::DEFAULT,
        1,
    )
    .unwrap();
    let envelope = send_raw(&pair.client, &pair.clinician_id, &mut pair.rng, &again.encode_padded());
    let standing = pair.clinician.store().standing(&pair.client_id).unwrap();
    let session = pair.clinician.store().session(&pair.client_id).unwrap();
    let err = pair.clinician.receive(&pair.client_id, &envelope).unwrap_err();
    assert_eq!(err, Error::Agreement(AgreementError::NotForThisAgreement));
    assert_eq!(pair.clinician.store().standing(&pair.client_id).unwrap(), standing);
    assert_eq!(pair.clinician.store().session(&pair.client_id).unwrap(), session);
}

#[test]
fn notices_that_do_not_fit_the_agreement_are_refused_and_change_nothing() {
    let (mut pair, _) = planned_pair(1202);
    let client_key = pair.client.store().local_identity().unwrap().unwrap();
    let notice = |plan_number, agreement_version| Notice {
        agreement_version,
        plan_number,
        clinician: pair.clinician.identity_key(),
        client: pair.client.identity_key(),
        ended_by: Role::Client,
        ended_at: MONDAY_10AM_NY,
    };
    // The client cannot sign for the clinician.
    let mut forged = notice(0, 1);
    forged.ended_by = Role::Clinician;
    assert_eq!(
        SignedNotice::sign(forged, &client_key).unwrap_err(),
        AgreementError::WrongSigner(Role::Clinician)
    );
    // Genuinely signed by the client, but for a plan that does not exist, or for another
    // agreement version: refused, nothing changes, the plan still runs.
    let wrong = [
        Category::SupportPlan(Box::new(PlanMessage::End(
            SignedNotice::sign(notice(9, 1), &client_key).unwrap(),
        ))),
        Category::EndNotice(Box::new(SignedNotice::sign(notice(0, 5), &client_key).unwrap())),
        Category::EndNotice(Box::new(SignedNotice::sign(notice(1, 1), &client_key).unwrap())),
    ];
    for category in wrong {
        let content = Content::new(
            MessageId::random(&mut pair.rng),
            category,
            String::new(),
            pair.client.clock().now(),
            Lifespan::DEFAULT,
            1,
        )
        .unwrap();
        let envelope = send_raw(&pair.client, &pair.clinician_id, &mut pair.rng, &content.encode_padded());
        let standing = pair.clinician.store().standing(&pair.client_id).unwrap();
        let err = pair.clinician.receive(&pair.client_id, &envelope).unwrap_err();
        assert_eq!(err, Error::Agreement(AgreementError::NotForThisAgreement));
        assert_eq!(pair.clinician.store().standing(&pair.client_id).unwrap(), standing);
    }
    let sent = pair.client.send(&pair.clinician_id, Draft::new(Category::Crisis, "still covered")).unwrap();
    assert!(matches!(
        delivered(pair.deliver_to_clinician(&sent.envelope.unwrap())).decision,
        Decision::Crisis { .. }
    ));
}
