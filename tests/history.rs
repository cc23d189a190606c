//! History in the senders' order: shuffled, duplicated and same-millisecond deliveries, gaps
//! until the missing messages arrive, and pages, on both devices.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use confidant_support::pair as endpoint_common;

use confidant::clock::Clock;
use confidant::store::{Direction, MemoryStore, MessageId, SqliteStore, Store, StoreKeySource};
use confidant::{AppointmentKind, Category, Draft, Endpoint, HistoryItem, ManualClock, Received};
use endpoint_common::{pair, pair_with, Pair};
use proptest::prelude::*;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// One message sent: by whom, its id, its number in its sender's direction, when, its envelope.
#[derive(Clone)]
struct Sent {
    from_client: bool,
    id: MessageId,
    sequence: u64,
    at: u64,
    envelope: Vec<u8>,
}

fn draft(from_client: bool, n: usize) -> Draft {
    if from_client {
        Draft::new(Category::CheckIn, format!("client {n}"))
    } else {
        Draft::new(Category::Appointment(AppointmentKind::Reminder), format!("clinician {n}"))
    }
}

/// Sends one message per entry of `plan` (sender, then milliseconds to wait after it).
fn send_all<A: Store, B: Store>(pair: &Pair<A, B>, plan: &[(bool, u64)]) -> Vec<Sent> {
    let (mut client_seq, mut clinician_seq) = (0, 0);
    let mut sent = Vec::new();
    for (n, &(from_client, wait)) in plan.iter().enumerate() {
        let at = pair.client.clock().now().0;
        let outgoing = if from_client {
            pair.client.send(&pair.clinician_id, draft(true, n)).unwrap()
        } else {
            pair.clinician.send(&pair.client_id, draft(false, n)).unwrap()
        };
        let sequence = if from_client {
            client_seq += 1;
            client_seq
        } else {
            clinician_seq += 1;
            clinician_seq
        };
        sent.push(Sent {
            from_client,
            id: outgoing.message_id.unwrap(),
            sequence,
            at,
            envelope: outgoing.envelope.unwrap(),
        });
        pair.advance(wait);
    }
    sent
}

/// The senders' order: by time of sending, the clinician's first, then by sequence number.
fn expected_order(sent: &[Sent]) -> Vec<MessageId> {
    let mut order = sent.to_vec();
    order.sort_by_key(|s| (s.at, s.from_client, s.sequence));
    order.iter().map(|s| s.id).collect()
}

/// The numbered messages of a history, in its order.
fn numbered(items: &[HistoryItem]) -> Vec<MessageId> {
    items
        .iter()
        .filter_map(|item| match item {
            HistoryItem::Message(m) if m.sequence > 0 => Some(m.id),
            _ => None,
        })
        .collect()
}

/// The sequence numbers the gaps of a history cover.
fn gap_numbers(items: &[HistoryItem]) -> BTreeSet<u64> {
    items
        .iter()
        .flat_map(|item| match item {
            HistoryItem::Gap { first, last } => (*first..=*last).collect::<Vec<_>>(),
            _ => Vec::new(),
        })
        .collect()
}

/// The numbers missing below the highest of `delivered`.
fn missing(delivered: &BTreeSet<u64>) -> BTreeSet<u64> {
    let highest = delivered.iter().max().copied().unwrap_or(0);
    (1..highest).filter(|n| !delivered.contains(n)).collect()
}

fn deliver<A: Store, B: Store>(pair: &Pair<A, B>, sent: &Sent) -> confidant::Result<confidant::Incoming> {
    if sent.from_client {
        pair.clinician.receive(&pair.client_id, &sent.envelope)
    } else {
        pair.client.receive(&pair.clinician_id, &sent.envelope)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn both_devices_show_the_senders_order_after_shuffled_and_duplicated_deliveries(
        plan in proptest::collection::vec((any::<bool>(), prop_oneof![Just(0u64), Just(1u64), Just(1000u64)]), 2..14),
        seed in any::<u64>(),
        duplicates in proptest::collection::vec(any::<prop::sample::Index>(), 0..4),
    ) {
        let pair = pair(seed);
        let sent = send_all(&pair, &plan);
        let mut deliveries = sent.clone();
        for index in &duplicates {
            deliveries.push(index.get(&sent).clone());
        }
        deliveries.shuffle(&mut ChaCha20Rng::seed_from_u64(seed));
        let (mut at_clinician, mut at_client) = (BTreeSet::new(), BTreeSet::new());
        for delivery in &deliveries {
            let (receiver_set, receiver_history) = if delivery.from_client {
                (&mut at_clinician, pair.clinician.history_items(&pair.client_id).unwrap())
            } else {
                (&mut at_client, pair.client.history_items(&pair.clinician_id).unwrap())
            };
            let result = deliver(&pair, delivery);
            if receiver_set.contains(&delivery.sequence) {
                // A duplicate delivery is refused and changes nothing.
                prop_assert!(result.is_err());
                let after = if delivery.from_client {
                    pair.clinician.history_items(&pair.client_id).unwrap()
                } else {
                    pair.client.history_items(&pair.clinician_id).unwrap()
                };
                prop_assert_eq!(after, receiver_history);
                continue;
            }
            prop_assert!(matches!(result.unwrap().received, Received::Message(_)));
            receiver_set.insert(delivery.sequence);
            // The receiver shows a gap exactly where an earlier message has not arrived yet.
            let history = if delivery.from_client {
                pair.clinician.history_items(&pair.client_id).unwrap()
            } else {
                pair.client.history_items(&pair.clinician_id).unwrap()
            };
            prop_assert_eq!(gap_numbers(&history), missing(receiver_set));
        }
        let expected = expected_order(&sent);
        let clinician_side = pair.clinician.history_items(&pair.client_id).unwrap();
        let client_side = pair.client.history_items(&pair.clinician_id).unwrap();
        prop_assert_eq!(numbered(&clinician_side), expected.clone());
        prop_assert_eq!(numbered(&client_side), expected);
        prop_assert!(gap_numbers(&clinician_side).is_empty() && gap_numbers(&client_side).is_empty());
        // `history` shows the same messages in the same order.
        let plain: Vec<MessageId> =
            pair.client.history(&pair.clinician_id).unwrap().iter().filter(|m| m.sequence > 0).map(|m| m.id).collect();
        prop_assert_eq!(plain, numbered(&client_side));
    }
}

#[test]
fn messages_of_the_same_millisecond_keep_their_sequence_and_the_clinician_comes_first() {
    let pair = pair(3);
    // Nobody's clock moves: every message is sent in the same millisecond.
    let plan = [(true, 0), (false, 0), (true, 0), (true, 0), (false, 0)];
    let sent = send_all(&pair, &plan);
    for s in sent.iter().rev() {
        deliver(&pair, s).unwrap();
    }
    let expected: Vec<MessageId> = [1, 4, 0, 2, 3].iter().map(|&i| sent[i].id).collect();
    assert_eq!(numbered(&pair.clinician.history_items(&pair.client_id).unwrap()), expected);
    assert_eq!(numbered(&pair.client.history_items(&pair.clinician_id).unwrap()), expected);
    let entries = pair.client.history(&pair.clinician_id).unwrap();
    let numbers: Vec<(Direction, u64)> =
        entries.iter().filter(|m| m.sequence > 0).map(|m| (m.direction, m.sequence)).collect();
    use Direction::{Inbound, Outbound};
    assert_eq!(numbers, vec![(Inbound, 1), (Inbound, 2), (Outbound, 1), (Outbound, 2), (Outbound, 3)]);
}

#[test]
fn a_gap_stands_before_the_message_that_follows_it_until_it_is_filled() {
    let pair = pair(5);
    let sent = send_all(&pair, &[(true, 1000), (true, 1000), (true, 1000)]);
    deliver(&pair, &sent[0]).unwrap();
    deliver(&pair, &sent[2]).unwrap();
    let items = pair.clinician.history_items(&pair.client_id).unwrap();
    let gap = items.iter().position(|i| matches!(i, HistoryItem::Gap { first: 2, last: 2 })).unwrap();
    assert!(matches!(&items[gap + 1], HistoryItem::Message(m) if m.id == sent[2].id));
    assert!(matches!(&items[gap - 1], HistoryItem::Message(m) if m.id == sent[0].id));
    // The sender's own history has no gap: all its messages are its own.
    assert!(gap_numbers(&pair.client.history_items(&pair.clinician_id).unwrap()).is_empty());
    deliver(&pair, &sent[1]).unwrap();
    let items = pair.clinician.history_items(&pair.client_id).unwrap();
    assert!(gap_numbers(&items).is_empty());
    assert_eq!(numbered(&items), expected_order(&sent));
}

#[test]
fn the_order_and_the_gaps_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let key = || StoreKeySource::key([7; 32]);
    let path = dir.path().join("clinician.db");
    let store = SqliteStore::create(&path, &key()).unwrap();
    let pair = pair_with(11, store, MemoryStore::new(), true);
    let sent = send_all(&pair, &[(true, 1), (true, 1), (true, 1)]);
    deliver(&pair, &sent[2]).unwrap();
    let before = pair.clinician.history_items(&pair.client_id).unwrap();
    assert_eq!(gap_numbers(&before), BTreeSet::from([1, 2]));
    let Pair { clinician, client_id, .. } = pair;
    let now = clinician.clock().now();
    drop(clinician);
    let reopened = Endpoint::new(
        SqliteStore::open(&path, &key()).unwrap(),
        ManualClock::new(now),
        confidant::Role::Clinician,
        "dr-lee",
    )
    .unwrap();
    assert_eq!(reopened.history_items(&client_id).unwrap(), before);
    // The message already received is still refused after the restart, and changes nothing.
    assert!(reopened.receive(&client_id, &sent[2].envelope).is_err());
    assert_eq!(reopened.history_items(&client_id).unwrap(), before);
    reopened.receive(&client_id, &sent[0].envelope).unwrap();
    assert_eq!(gap_numbers(&reopened.history_items(&client_id).unwrap()), BTreeSet::from([2]));
}

#[test]
fn pages_of_a_sqlite_history_put_together_are_the_whole_history_on_both_devices() {
    let dir = tempfile::tempdir().unwrap();
    let key = || StoreKeySource::key([9; 32]);
    let clinician_store = SqliteStore::create(dir.path().join("a.db"), &key()).unwrap();
    let client_store = SqliteStore::create(dir.path().join("b.db"), &key()).unwrap();
    let pair = pair_with(13, clinician_store, client_store, true);
    let plan: Vec<(bool, u64)> = (0..25).map(|i| (i % 3 == 0, if i % 4 == 0 { 0 } else { 7 })).collect();
    let sent = send_all(&pair, &plan);
    let mut shuffled = sent.clone();
    shuffled.shuffle(&mut ChaCha20Rng::seed_from_u64(13));
    for s in &shuffled {
        deliver(&pair, s).unwrap();
    }
    for (endpoint_items, pages) in [
        (pair.clinician.history_items(&pair.client_id).unwrap(), {
            let mut pages = Vec::new();
            let mut before = None;
            loop {
                let page = pair.clinician.history_page(&pair.client_id, before, 4).unwrap();
                assert!(page.items.len() >= 4 || page.before.is_none());
                pages.push(page.items);
                match page.before {
                    Some(cursor) => before = Some(cursor),
                    None => break,
                }
            }
            pages
        }),
        (pair.client.history_items(&pair.clinician_id).unwrap(), {
            let mut pages = Vec::new();
            let mut before = None;
            loop {
                let page = pair.client.history_page(&pair.clinician_id, before, 6).unwrap();
                pages.push(page.items);
                match page.before {
                    Some(cursor) => before = Some(cursor),
                    None => break,
                }
            }
            pages
        }),
    ] {
        let joined: Vec<HistoryItem> = pages.into_iter().rev().flatten().collect();
        assert_eq!(joined, endpoint_items);
        assert_eq!(numbered(&joined), expected_order(&sent));
    }
    // The newest page comes first: it ends with the last message sent.
    let newest = pair.client.history_page(&pair.clinician_id, None, 1).unwrap();
    assert!(matches!(newest.items.last(), Some(HistoryItem::Message(m)) if m.id == sent[24].id));
    assert!(pair.client.history_page(&pair.clinician_id, None, 0).is_err());
}
