//! No room for misreading: acknowledgements, corrections, recalls, non-delivery notices,
//! sequence numbers a modified sender forges, and damaged records, on both devices.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use confidant_support::pair as endpoint_common;
use confidant_support::store as store_common;

use confidant::clock::Clock;
use confidant::content::{Content, NotDeliveredReason, Receipt, ReceiptKind};
use confidant::policy::OutOfScopeReason;
use confidant::store::{MemoryStore, MessageId, PeerId, SqliteStore, Store, StoreKeySource};
use confidant::{
    AppointmentKind, Category, Draft, Endpoint, EndpointError, Error, HistoryEntry, HistoryItem, ManualClock,
    RecallState, Received,
};
use endpoint_common::{pair, pair_with, send_raw, Pair};

fn reminder(text: &str) -> Draft {
    Draft::new(Category::Appointment(AppointmentKind::Reminder), text)
}

fn check_in(text: &str) -> Draft {
    Draft::new(Category::CheckIn, text)
}

fn entry<S: Store>(
    endpoint: &Endpoint<S, ManualClock>,
    peer: &PeerId,
    id: MessageId,
) -> Option<HistoryEntry> {
    endpoint.history(peer).unwrap().into_iter().find(|m| m.id == id)
}

fn invalid_reference<T: std::fmt::Debug>(result: confidant::Result<T>) {
    assert_eq!(result.unwrap_err(), Error::Endpoint(EndpointError::InvalidReference));
}

/// Content from the client under its agreement, numbered `sequence` (0: none), as a modified app
/// would send it: sealed on its real session, bypassing every check of the endpoint.
fn client_raw(pair: &mut Pair<MemoryStore>, category: Category, text: &str, sequence: u64) -> Vec<u8> {
    let agreement = pair.client.agreement(&pair.clinician_id).unwrap().unwrap();
    let now = pair.client.clock().now();
    let mut content = Content::compose(&mut pair.rng, &agreement, category, text.into(), now).unwrap();
    if sequence > 0 {
        content = content.with_sequence(sequence).unwrap();
    }
    send_raw(&pair.client, &pair.clinician_id, &mut pair.rng, &content.encode_padded())
}

fn receipt(kind: ReceiptKind, id: MessageId) -> Category {
    Category::Receipt(Receipt { kind, message_ids: vec![id] })
}

/// Both devices' histories and the clinician's stored conversation, to show nothing changed.
fn snapshot(pair: &Pair<MemoryStore>) -> (Vec<HistoryItem>, Vec<HistoryItem>) {
    (
        pair.clinician.history_items(&pair.client_id).unwrap(),
        pair.client.history_items(&pair.clinician_id).unwrap(),
    )
}

#[test]
fn an_acknowledgement_comes_back_with_receipts_off_and_shows_on_both_devices() {
    let mut pair = pair(1);
    assert!(!pair.clinician.agreement(&pair.client_id).unwrap().unwrap().terms().receipts_enabled);
    let asked =
        pair.clinician.send(&pair.client_id, reminder("Bring your form").request_acknowledgement()).unwrap();
    let id = asked.message_id.unwrap();
    pair.deliver_to_client(&asked.envelope.unwrap());
    let plain = pair.clinician.send(&pair.client_id, reminder("See you Monday")).unwrap();
    pair.deliver_to_client(&plain.envelope.unwrap());

    let shown = entry(&pair.client, &pair.clinician_id, id).unwrap();
    assert!(shown.ack_requested && shown.marks.acknowledged_at.is_none());
    // Only a message that asked can be acknowledged, and only once.
    invalid_reference(pair.client.acknowledge(&pair.clinician_id, plain.message_id.unwrap()));
    let ack = pair.client.acknowledge(&pair.clinician_id, id).unwrap();
    let now = pair.client.clock().now();
    assert_eq!(entry(&pair.client, &pair.clinician_id, id).unwrap().marks.acknowledged_at, Some(now));
    invalid_reference(pair.client.acknowledge(&pair.clinician_id, id));

    let incoming = pair.deliver_to_clinician(&ack);
    assert_eq!(
        incoming.received,
        Received::Receipt(Receipt { kind: ReceiptKind::Acknowledged, message_ids: vec![id] })
    );
    assert!(incoming.replies.is_empty());
    assert_eq!(entry(&pair.clinician, &pair.client_id, id).unwrap().marks.acknowledged_at, Some(now));
    // The same acknowledgement again is a replay the session refuses.
    assert!(pair.clinician.receive(&pair.client_id, &ack).is_err());
}

#[test]
fn a_forged_acknowledgement_is_refused_and_changes_nothing() {
    let mut pair = pair(2);
    let not_asked = pair.clinician.send(&pair.client_id, reminder("no ack asked")).unwrap();
    let not_asked_id = not_asked.message_id.unwrap();
    pair.deliver_to_client(&not_asked.envelope.unwrap());
    let own = pair.client.send(&pair.clinician_id, check_in("mine")).unwrap();
    pair.deliver_to_clinician(&own.envelope.unwrap());
    let before = snapshot(&pair);
    for named in [not_asked_id, own.message_id.unwrap(), MessageId([0x55; 16])] {
        let forged = client_raw(&mut pair, receipt(ReceiptKind::Acknowledged, named), "", 0);
        invalid_reference(pair.clinician.receive(&pair.client_id, &forged));
        assert_eq!(snapshot(&pair), before);
    }
}

#[test]
fn a_correction_keeps_both_messages_marked_on_both_devices() {
    let mut pair = pair(3);
    let original = pair.client.send(&pair.clinician_id, check_in("I take 50mg")).unwrap();
    let original_id = original.message_id.unwrap();
    pair.deliver_to_clinician(&original.envelope.unwrap());
    let correction =
        pair.client.send(&pair.clinician_id, check_in("I take 15mg").correcting(original_id)).unwrap();
    let correction_id = correction.message_id.unwrap();
    pair.deliver_to_clinician(&correction.envelope.unwrap());
    for (history, peer) in [
        (pair.client.history(&pair.clinician_id).unwrap(), "client"),
        (pair.clinician.history(&pair.client_id).unwrap(), "clinician"),
    ] {
        let original = history.iter().find(|m| m.id == original_id).unwrap();
        let correction = history.iter().find(|m| m.id == correction_id).unwrap();
        assert_eq!(&original.text[..], "I take 50mg", "{peer}: never a silent edit");
        assert_eq!(original.marks.corrected_by, Some(correction_id), "{peer}");
        assert_eq!(correction.corrects, Some(original_id), "{peer}");
        assert_eq!(&correction.text[..], "I take 15mg");
    }
}

#[test]
fn a_correction_of_anything_but_the_senders_own_message_is_refused_on_both_devices() {
    let mut pair = pair(4);
    let theirs = pair.clinician.send(&pair.client_id, reminder("clinician's")).unwrap();
    let theirs_id = theirs.message_id.unwrap();
    pair.deliver_to_client(&theirs.envelope.unwrap());
    let before = snapshot(&pair);
    // The sender's device refuses to send it, and nothing changes.
    invalid_reference(pair.client.send(&pair.clinician_id, check_in("x").correcting(theirs_id)));
    invalid_reference(pair.client.send(&pair.clinician_id, check_in("x").correcting(MessageId([9; 16]))));
    assert_eq!(snapshot(&pair), before);
    // The receiving device refuses what a modified sender sends.
    let agreement = pair.client.agreement(&pair.clinician_id).unwrap().unwrap();
    for named in [theirs_id, MessageId([9; 16])] {
        let now = pair.client.clock().now();
        let content = Content::compose(&mut pair.rng, &agreement, Category::CheckIn, "forged".into(), now)
            .unwrap()
            .correcting(named)
            .unwrap();
        let envelope = send_raw(&pair.client, &pair.clinician_id, &mut pair.rng, &content.encode_padded());
        invalid_reference(pair.clinician.receive(&pair.client_id, &envelope));
        assert_eq!(snapshot(&pair).0, before.0);
    }
}

#[test]
fn a_recall_deletes_an_unread_message_and_marks_a_read_one_on_both_devices() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("client.db");
    let client_store = SqliteStore::create(&path, &StoreKeySource::key([4; 32])).unwrap();
    let mut pair = pair_with(5, MemoryStore::new(), client_store, true);
    let secret = "wrong client: lab results attached";
    let unread = pair.clinician.send(&pair.client_id, reminder(secret)).unwrap();
    let unread_id = unread.message_id.unwrap();
    pair.deliver_to_client(&unread.envelope.unwrap());
    let read = pair.clinician.send(&pair.client_id, reminder("read it already")).unwrap();
    let read_id = read.message_id.unwrap();
    pair.deliver_to_client(&read.envelope.unwrap());
    pair.client.mark_read(&pair.clinician_id, read_id).unwrap();

    for (id, deleted) in [(unread_id, true), (read_id, false)] {
        let recall = pair.clinician.recall(&pair.client_id, id).unwrap();
        assert_eq!(
            entry(&pair.clinician, &pair.client_id, id).unwrap().marks.recall,
            Some(RecallState::Recalled)
        );
        invalid_reference(pair.clinician.recall(&pair.client_id, id));
        let incoming = pair.deliver_to_client(&recall);
        assert_eq!(
            incoming.received,
            Received::Receipt(Receipt { kind: ReceiptKind::Recall, message_ids: vec![id] })
        );
        assert_eq!(incoming.replies.len(), 1, "the outcome goes back, receipts off as they are");
        let kept = entry(&pair.client, &pair.clinician_id, id);
        if deleted {
            assert!(kept.is_none());
            assert!(pair.client.store().message(&id).unwrap().is_none());
        } else {
            assert_eq!(kept.unwrap().marks.recall, Some(RecallState::RecalledAfterRead));
        }
        let answer = pair.deliver_to_clinician(&incoming.replies[0]);
        let expected = if deleted { ReceiptKind::RecalledUnread } else { ReceiptKind::RecalledAfterRead };
        assert_eq!(answer.received, Received::Receipt(Receipt { kind: expected, message_ids: vec![id] }));
        let state = if deleted { RecallState::DeletedUnread } else { RecallState::RecalledAfterRead };
        assert_eq!(entry(&pair.clinician, &pair.client_id, id).unwrap().marks.recall, Some(state));
    }
    // Deleted as a purge deletes: no copy of the text in the file or its log.
    let (file, wal) = store_common::raw_files(&path);
    assert!(
        !store_common::contains(&file, secret.as_bytes()) && !store_common::contains(&wal, secret.as_bytes())
    );
}

#[test]
fn a_recall_of_someone_elses_message_or_a_forged_outcome_is_refused_and_changes_nothing() {
    let mut pair = pair(6);
    let theirs = pair.clinician.send(&pair.client_id, reminder("clinician's")).unwrap();
    let theirs_id = theirs.message_id.unwrap();
    pair.deliver_to_client(&theirs.envelope.unwrap());
    let own = pair.client.send(&pair.clinician_id, check_in("client's")).unwrap();
    let own_id = own.message_id.unwrap();
    pair.deliver_to_clinician(&own.envelope.unwrap());
    let before = snapshot(&pair);
    // Sender side: only its own message can be recalled.
    invalid_reference(pair.client.recall(&pair.clinician_id, theirs_id));
    invalid_reference(pair.client.recall(&pair.clinician_id, MessageId([3; 16])));
    // Receiving side: a recall of the clinician's own message, and an outcome of a recall never
    // made, are refused.
    for category in [
        receipt(ReceiptKind::Recall, theirs_id),
        receipt(ReceiptKind::RecalledUnread, theirs_id),
        receipt(ReceiptKind::NotDelivered(NotDeliveredReason::Expired), own_id),
    ] {
        let forged = client_raw(&mut pair, category, "", 0);
        invalid_reference(pair.clinician.receive(&pair.client_id, &forged));
        assert_eq!(snapshot(&pair), before);
    }
    assert!(pair.clinician.store().message(&theirs_id).unwrap().is_some());
}

#[test]
fn a_message_sent_right_after_accepting_a_renegotiation_is_reported_not_delivered() {
    let mut pair = pair(7);
    let terms = pair.terms(2);
    let proposal = pair.clinician.propose_agreement(&pair.client_id, terms).unwrap();
    let Received::AgreementProposed { id, .. } = pair.deliver_to_client(&proposal).received else { panic!() };
    let acceptance = pair.client.accept_agreement(&pair.clinician_id, id).unwrap();
    // The client writes at once; its message overtakes the acceptance.
    let early = pair.client.send(&pair.clinician_id, check_in("written under version 2")).unwrap();
    let early_id = early.message_id.unwrap();
    let refused = pair.deliver_to_clinician(&early.envelope.unwrap());
    assert_eq!(
        refused.received,
        Received::Refused { id: early_id, reason: OutOfScopeReason::WrongAgreementVersion { current: 1 } }
    );
    assert_eq!(refused.replies.len(), 1, "a non-delivery notice, receipts off as they are");
    let notice = pair.deliver_to_client(&refused.replies[0]);
    let kind = ReceiptKind::NotDelivered(NotDeliveredReason::WrongAgreementVersion);
    assert_eq!(notice.received, Received::Receipt(Receipt { kind, message_ids: vec![early_id] }));
    assert_eq!(
        entry(&pair.client, &pair.clinician_id, early_id).unwrap().marks.not_delivered,
        Some(NotDeliveredReason::WrongAgreementVersion)
    );
    // The refused message leaves no gap on the clinician's side: its number is accounted for.
    pair.deliver_to_clinician(&acceptance);
    let again = pair.client.send(&pair.clinician_id, check_in("written again")).unwrap();
    assert!(matches!(pair.deliver_to_clinician(&again.envelope.unwrap()).received, Received::Message(_)));
    let items = pair.clinician.history_items(&pair.client_id).unwrap();
    assert!(!items.iter().any(|i| matches!(i, HistoryItem::Gap { .. })));
    assert_eq!(
        entry(&pair.client, &pair.clinician_id, again.message_id.unwrap()).unwrap().marks.not_delivered,
        None
    );
}

#[test]
fn notices_never_answer_receipts_or_notices_and_are_limited() {
    let mut pair = pair(8);
    // A receipt refused (receipts are off) gets no notice, nor does a notice.
    let refused_receipt = client_raw(&mut pair, receipt(ReceiptKind::Delivered, MessageId([1; 16])), "", 0);
    let incoming = pair.deliver_to_clinician(&refused_receipt);
    assert!(matches!(
        incoming.received,
        Received::Refused { reason: OutOfScopeReason::ReceiptsDisabled, .. }
    ));
    assert!(incoming.replies.is_empty());
    let notice = client_raw(
        &mut pair,
        receipt(ReceiptKind::NotDelivered(NotDeliveredReason::Refused), MessageId([2; 16])),
        "",
        0,
    );
    assert!(pair.deliver_to_clinician(&notice).replies.is_empty());
    // A flood of refused messages gets a bounded number of notices per hour.
    let mut notices = 0;
    for n in 1..=40 {
        let flood = client_raw(&mut pair, Category::Administrative, "not agreed", n);
        let incoming = pair.deliver_to_clinician(&flood);
        assert!(matches!(incoming.received, Received::Refused { .. }));
        notices += incoming.replies.len();
    }
    assert_eq!(notices, 32);
    pair.advance(endpoint_common::HOUR);
    let later = client_raw(&mut pair, Category::Administrative, "not agreed", 41);
    assert_eq!(pair.deliver_to_clinician(&later).replies.len(), 1);
}

#[test]
fn forged_sequence_numbers_are_refused_and_change_nothing() {
    let mut pair = pair(9);
    let first = client_raw(&mut pair, Category::CheckIn, "one", 1);
    assert!(matches!(pair.deliver_to_clinician(&first).received, Received::Message(_)));
    let before = snapshot(&pair);
    let window = u64::from(confidant::consts::MAX_SKIP);
    for bad in [1, 2 + window, confidant::content::MAX_SEQUENCE] {
        let forged = client_raw(&mut pair, Category::CheckIn, "forged", bad);
        assert_eq!(
            pair.clinician.receive(&pair.client_id, &forged).unwrap_err(),
            Error::Endpoint(EndpointError::BadSequence),
            "{bad}"
        );
        assert_eq!(snapshot(&pair).0, before.0);
    }
    // The session goes on, and the next honest number is taken.
    let next = client_raw(&mut pair, Category::CheckIn, "two", 2);
    assert!(matches!(pair.deliver_to_clinician(&next).received, Received::Message(_)));
    // The client's own device numbers its messages on from where it is.
    let sent = pair.client.send(&pair.clinician_id, check_in("three")).unwrap();
    let stored = pair.client.history(&pair.clinician_id).unwrap();
    assert_eq!(stored.iter().find(|m| Some(m.id) == sent.message_id).unwrap().sequence, 1);
}

#[test]
fn one_damaged_record_is_reported_with_its_place_and_the_rest_is_returned() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clinician.db");
    let key = || StoreKeySource::key([6; 32]);
    let store = SqliteStore::create(&path, &key()).unwrap();
    let mut pair = pair_with(10, store, MemoryStore::new(), true);
    let mut ids = Vec::new();
    for text in ["first", "second", "third"] {
        let sent = pair.client.send(&pair.clinician_id, check_in(text)).unwrap();
        ids.push(sent.message_id.unwrap());
        pair.deliver_to_clinician(&sent.envelope.unwrap());
        pair.advance(1000);
    }
    let Pair { clinician, client_id, .. } = pair;
    let now = clinician.clock().now();
    let before = clinician.history(&client_id).unwrap();
    drop(clinician);
    // Flip one byte of the sealed value of the row that sorts second among the three.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let sort_at: i64 = conn
        .query_row("SELECT sort_at FROM messages ORDER BY sort_at DESC LIMIT 1 OFFSET 1", [], |r| r.get(0))
        .unwrap();
    let mut value: Vec<u8> =
        conn.query_row("SELECT value FROM messages WHERE sort_at = ?1", [sort_at], |r| r.get(0)).unwrap();
    value[40] ^= 0x01;
    conn.execute("UPDATE messages SET value = ?1 WHERE sort_at = ?2", rusqlite::params![value, sort_at])
        .unwrap();
    drop(conn);
    let clinician = Endpoint::new(
        SqliteStore::open(&path, &key()).unwrap(),
        ManualClock::new(now),
        confidant::Role::Clinician,
        "dr-lee",
    )
    .unwrap();
    let items = clinician.history_items(&client_id).unwrap();
    let damaged: Vec<&HistoryItem> =
        items.iter().filter(|i| matches!(i, HistoryItem::Damaged { .. })).collect();
    assert_eq!(damaged.len(), 1);
    let HistoryItem::Damaged { record, at, .. } = damaged[0] else { unreachable!() };
    assert!(record.is_some());
    assert_eq!(at.map(|t| t.0 as i64), Some(sort_at));
    let shown: Vec<MessageId> = clinician.history(&client_id).unwrap().iter().map(|m| m.id).collect();
    assert_eq!(shown.len(), before.len() - 1);
    assert!(shown.contains(&ids[0]) && shown.contains(&ids[2]) && !shown.contains(&ids[1]));
    // The damaged record stands where its message stood: between the first and the third.
    let position = |wanted: &dyn Fn(&HistoryItem) -> bool| items.iter().position(wanted).unwrap();
    let damaged_at = position(&|i| matches!(i, HistoryItem::Damaged { .. }));
    assert!(position(&|i| matches!(i, HistoryItem::Message(m) if m.id == ids[0])) < damaged_at);
    assert!(position(&|i| matches!(i, HistoryItem::Message(m) if m.id == ids[2])) > damaged_at);
    // And in a page of one.
    let page = clinician.history_page(&client_id, None, 2).unwrap();
    assert!(page.items.iter().any(|i| matches!(i, HistoryItem::Damaged { .. })));
}
