//! Session repair: a device that lost its session asks for a new one; the sender starts it from
//! the bundle in the request and sends its resend queue again, so no message is lost.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use confidant::clock::Clock;
use confidant::consts::{MAX_REPAIR_CLOCK_SKEW_MS, MIN_REPAIR_INTERVAL_MS};
use confidant::store::{Direction, MemoryStore, SqliteStore, Store, StoreError, WriteBatch};
use confidant::{
    AppointmentKind, Category, Draft, Endpoint, EndpointError, Error, ManualClock, Received, Role,
};
use confidant_support::pair::{pair, pair_with, Pair, MONDAY_10AM_NY};
use confidant_support::store::{create, open};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn confirm(text: &str) -> Draft {
    Draft::new(Category::Appointment(AppointmentKind::Confirm), text)
}

fn client_over<S: Store>(store: S, seed: u64) -> Endpoint<S, ManualClock> {
    let rng = ChaCha20Rng::seed_from_u64(seed);
    Endpoint::with_generator(rng, store, ManualClock::new(MONDAY_10AM_NY), Role::Client, "client-42").unwrap()
}

/// The texts of the messages `device` holds from its peer `peer`, oldest first.
fn inbound_texts<S: Store>(
    device: &Endpoint<S, ManualClock>,
    peer: &confidant::store::PeerId,
) -> Vec<String> {
    let history = device.history(peer).unwrap();
    history.iter().filter(|e| e.direction == Direction::Inbound).map(|e| e.text.to_string()).collect()
}

#[test]
fn a_device_that_lost_its_session_is_repaired_after_a_restart_and_no_message_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("clinician.db"), dir.path().join("client.db"));
    let mut pair: Pair<SqliteStore> = pair_with(801, create(&a), create(&b), true);
    let first = pair.clinician.send(&pair.client_id, confirm("one")).unwrap().envelope.unwrap();
    pair.deliver_to_client(&first);

    // The client's session row is lost, and the app restarts.
    let mut batch = WriteBatch::new();
    batch.delete_session(&pair.clinician_id);
    pair.client.store().apply(batch).unwrap();
    let Pair { clinician, client, client_id, clinician_id, .. } = pair;
    drop(client);
    let client = client_over(open(&b), 802);

    // The clinician goes on sending; the client cannot decrypt and asks for a repair.
    let mut lost = Vec::new();
    for text in ["two", "three"] {
        let envelope = clinician.send(&client_id, confirm(text)).unwrap().envelope.unwrap();
        let err = client.receive(&clinician_id, &envelope).unwrap_err();
        assert_eq!(err, Error::Endpoint(EndpointError::NoSession));
        assert!(err.suggests_repair());
        lost.push(envelope);
    }
    let request = client.repair_request(&clinician_id).unwrap();
    let resent = clinician.accept_repair_request(&client_id, &request).unwrap();
    // The resend queue is every message sent in the window, the agreement proposal and the one
    // delivered before included, oldest first.
    assert_eq!(resent.len(), 4);
    for envelope in &resent {
        match client.receive(&clinician_id, envelope) {
            Ok(_) | Err(Error::Store(StoreError::MessageExists)) => {}
            Err(other) => panic!("resent message refused: {other:?}"),
        }
    }
    let texts = inbound_texts(&client, &clinician_id);
    for text in ["one", "two", "three"] {
        assert_eq!(texts.iter().filter(|t| t.as_str() == text).count(), 1, "{text} exactly once");
    }
    // The lost envelopes of the old session stay undecryptable; nothing is stored from them.
    assert!(client.receive(&clinician_id, &lost[0]).is_err());

    // The new session works both ways.
    let reply = client.send(&clinician_id, confirm("got them")).unwrap().envelope.unwrap();
    let received = clinician.receive(&client_id, &reply).unwrap().received;
    assert!(matches!(received, Received::Message(m) if &m.text[..] == "got them"));
    let next = clinician.send(&client_id, confirm("four")).unwrap().envelope.unwrap();
    let received = client.receive(&clinician_id, &next).unwrap().received;
    assert!(matches!(received, Received::Message(m) if &m.text[..] == "four"));
}

#[test]
fn a_reinstall_with_the_same_identity_gets_a_working_session_through_repair() {
    let mut pair = pair(803);
    let identity = pair.client.store().local_identity().unwrap().unwrap();
    let sent = pair.clinician.send(&pair.client_id, confirm("before")).unwrap().envelope.unwrap();
    pair.deliver_to_client(&sent);
    // A fresh store holding only the device's identity (say, restored from a key backup).
    let store = MemoryStore::new();
    store.set_local_identity(&identity).unwrap();
    pair.client = client_over(store, 804);
    let sent = pair.clinician.send(&pair.client_id, confirm("lost")).unwrap().envelope.unwrap();
    let err = pair.client.receive(&pair.clinician_id, &sent).unwrap_err();
    assert!(err.suggests_repair());

    let request = pair.client.repair_request(&pair.clinician_id).unwrap();
    let resent = pair.clinician.accept_repair_request(&pair.client_id, &request).unwrap();
    // Every resent message decrypts on the new session: the agreement proposal is back, and the
    // messages wait for an agreement (refused, not lost from the clinician's queue).
    let mut proposals = 0;
    for envelope in &resent {
        match pair.deliver_to_client(envelope).received {
            Received::AgreementProposed { .. } => proposals += 1,
            Received::Refused { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((proposals, resent.len()), (1, 3));
    let terms = pair.terms(2);
    pair.agree(terms);
    let again = pair.clinician.send(&pair.client_id, confirm("again")).unwrap().envelope.unwrap();
    assert!(matches!(pair.deliver_to_client(&again).received, Received::Message(_)));
    let reply = pair.client.send(&pair.clinician_id, confirm("hi")).unwrap().envelope.unwrap();
    assert!(matches!(pair.deliver_to_clinician(&reply).received, Received::Message(_)));
}

#[test]
fn repairs_are_rate_limited_and_replays_and_forgeries_are_refused() {
    let pair = pair(805);
    let session = || pair.clinician.store().session(&pair.client_id).unwrap();
    let request = pair.client.repair_request(&pair.clinician_id).unwrap();
    let mut forged = request.clone();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    let before = session();
    let err = pair.clinician.accept_repair_request(&pair.client_id, &forged).unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::InvalidRepairRequest));
    assert_eq!(session(), before);
    // A request signed by another identity under the client's peer id.
    let stranger = client_over(MemoryStore::new(), 806);
    let other = stranger.repair_request(&pair.clinician_id).unwrap();
    let err = pair.clinician.accept_repair_request(&pair.client_id, &other).unwrap_err();
    assert_eq!(err, Error::Store(StoreError::IdentityChanged));
    // A request for another device of the client's (it names another recipient key).
    let rng = ChaCha20Rng::seed_from_u64(807);
    let clock = ManualClock::new(MONDAY_10AM_NY);
    let kim = Endpoint::with_generator(rng, MemoryStore::new(), clock, Role::Clinician, "dr-kim").unwrap();
    kim.start_session(&pair.client_id, &pair.client.prekey_bundle().unwrap()).unwrap();
    let mut terms = pair.terms(1);
    terms.clinician = kim.identity_key();
    let proposal = kim.propose_agreement(&pair.client_id, terms).unwrap();
    let kim_id = confidant::store::PeerId::new("dr-kim").unwrap();
    pair.client.receive(&kim_id, &proposal).unwrap();
    let for_kim = pair.client.repair_request(&kim_id).unwrap();
    let err = pair.clinician.accept_repair_request(&pair.client_id, &for_kim).unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::InvalidRepairRequest));
    assert_eq!(session(), before);

    // The genuine request is accepted once; its replay and a new one too soon are refused.
    pair.clinician.accept_repair_request(&pair.client_id, &request).unwrap();
    let repaired = session();
    assert_ne!(repaired, before);
    let err = pair.clinician.accept_repair_request(&pair.client_id, &request).unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::RepairTooSoon));
    pair.client.clock().advance_millis(1);
    pair.clinician.clock().advance_millis(MIN_REPAIR_INTERVAL_MS - 1);
    let soon = pair.client.repair_request(&pair.clinician_id).unwrap();
    let err = pair.clinician.accept_repair_request(&pair.client_id, &soon).unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::RepairTooSoon));
    assert_eq!(session(), repaired);
    pair.clinician.clock().advance_millis(1);
    pair.clinician.accept_repair_request(&pair.client_id, &soon).unwrap();
    // A request dated too far ahead of the clinician's clock is refused: it would block every
    // later one.
    pair.client
        .clock()
        .set(pair.clinician.clock().now().plus_millis(MAX_REPAIR_CLOCK_SKEW_MS + MIN_REPAIR_INTERVAL_MS + 1));
    pair.clinician.clock().advance_millis(MIN_REPAIR_INTERVAL_MS);
    let ahead = pair.client.repair_request(&pair.clinician_id).unwrap();
    let err = pair.clinician.accept_repair_request(&pair.client_id, &ahead).unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::InvalidRepairRequest));
}

#[test]
fn the_resend_queue_leaves_out_recalled_messages_and_sends_marked_ones_as_first_sent() {
    let mut pair = pair(805);
    let identity = pair.client.store().local_identity().unwrap().unwrap();
    // One message asks for a confirmation and gets it (stored with marks on both devices), one
    // is recalled, one is plain.
    let asked =
        pair.clinician.send(&pair.client_id, confirm("please confirm").request_acknowledgement()).unwrap();
    let asked_id = asked.message_id.unwrap();
    pair.deliver_to_client(&asked.envelope.unwrap());
    let ack = pair.client.acknowledge(&pair.clinician_id, asked_id).unwrap();
    pair.deliver_to_clinician(&ack);
    let wrong = pair.clinician.send(&pair.client_id, confirm("sent by mistake")).unwrap();
    let wrong_id = wrong.message_id.unwrap();
    pair.deliver_to_client(&wrong.envelope.unwrap());
    let recall = pair.clinician.recall(&pair.client_id, wrong_id).unwrap();
    for answer in pair.deliver_to_client(&recall).replies {
        pair.deliver_to_clinician(&answer);
    }
    let plain = pair.clinician.send(&pair.client_id, confirm("plain")).unwrap();
    let plain_id = plain.message_id.unwrap();
    pair.deliver_to_client(&plain.envelope.unwrap());

    // The client's device is reinstalled with its identity and asks for a repair.
    let store = MemoryStore::new();
    store.set_local_identity(&identity).unwrap();
    pair.client = client_over(store, 806);
    let request = pair.client.repair_request(&pair.clinician_id).unwrap();
    let resent = pair.clinician.accept_repair_request(&pair.client_id, &request).unwrap();
    // The agreement proposal, the message that asked for a confirmation, and the plain one: not
    // the recalled one. Each decodes on the new device as the content first sent (not as the
    // sender's marked record): the messages wait for an agreement, refused with their own ids.
    let mut proposals = 0;
    let mut refused = Vec::new();
    for envelope in &resent {
        match pair.deliver_to_client(envelope).received {
            Received::AgreementProposed { .. } => proposals += 1,
            Received::Refused { id, .. } => refused.push(id),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(proposals, 1);
    // Sent in the same millisecond, they come in id order.
    refused.sort();
    let mut expected = vec![asked_id, plain_id];
    expected.sort();
    assert_eq!(refused, expected);
    assert!(!refused.contains(&wrong_id));
}

/// A message the requester sent on the old session before it lost it, read by the repairing
/// device after the repair, decrypts there but does not make the old session current again:
/// the repairing device goes on sending on the new session, which the requester has.
#[test]
fn an_old_message_read_after_a_repair_does_not_bring_the_old_session_back() {
    let mut pair = pair(805);
    // The client's message on the session, delayed in transit.
    let late =
        pair.client.send(&pair.clinician_id, confirm("sent before the loss")).unwrap().envelope.unwrap();
    // The client loses its session and asks for a repair, which the clinician grants.
    let mut batch = WriteBatch::new();
    batch.delete_session(&pair.clinician_id);
    pair.client.store().apply(batch).unwrap();
    let request = pair.client.repair_request(&pair.clinician_id).unwrap();
    let resent = pair.clinician.accept_repair_request(&pair.client_id, &request).unwrap();
    for envelope in &resent {
        match pair.client.receive(&pair.clinician_id, envelope) {
            Ok(_) | Err(Error::Store(StoreError::MessageExists)) => {}
            Err(other) => panic!("resent message refused: {other:?}"),
        }
    }
    // The delayed message arrives now, on the old session: the clinician still reads it.
    let received = pair.deliver_to_clinician(&late).received;
    assert!(matches!(received, Received::Message(m) if &m.text[..] == "sent before the loss"));
    // The clinician's next message is on the new session, which the client has.
    let next = pair.clinician.send(&pair.client_id, confirm("after the repair")).unwrap().envelope.unwrap();
    let received = pair.client.receive(&pair.clinician_id, &next).unwrap().received;
    assert!(matches!(received, Received::Message(m) if &m.text[..] == "after the repair"));
}

/// A repair whose resend queue holds only messages the requester already has: every resent
/// envelope is `MessageExists`, and the requester keeps the new session all the same, so it
/// can answer at once instead of asking for another repair.
#[test]
fn a_repair_of_only_held_messages_still_gives_the_requester_a_session() {
    let mut pair = pair(806);
    let sent = pair.clinician.send(&pair.client_id, confirm("held")).unwrap().envelope.unwrap();
    pair.deliver_to_client(&sent);
    // The client loses its session (the messages stay) and asks for a repair.
    let mut batch = WriteBatch::new();
    batch.delete_session(&pair.clinician_id);
    pair.client.store().apply(batch).unwrap();
    let request = pair.client.repair_request(&pair.clinician_id).unwrap();
    let resent = pair.clinician.accept_repair_request(&pair.client_id, &request).unwrap();
    assert!(!resent.is_empty());
    for envelope in &resent {
        let err = pair.client.receive(&pair.clinician_id, envelope).unwrap_err();
        assert_eq!(err, Error::Store(StoreError::MessageExists), "everything resent is held already");
    }
    // The client answers on the repaired session, and the clinician reads it.
    let reply = pair.client.send(&pair.clinician_id, confirm("answer")).unwrap().envelope.unwrap();
    let received = pair.deliver_to_clinician(&reply).received;
    assert!(matches!(received, Received::Message(m) if &m.text[..] == "answer"));
}
