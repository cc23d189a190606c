//! Deleted, expired and replaced values leave no copy of their bytes in the database file or its
//! write-ahead log: deleted and expired ones at once, replaced ones as the wipe policy promises.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use confidant_support::pair as endpoint_common;
use confidant_support::store as store_common;

use std::collections::HashSet;
use std::path::Path;

use confidant::clock::Clock;
use confidant::store::{
    MemoryStore, MessageId, PeerId, SqliteOptions, SqliteStore, Store, WipePolicy, WriteBatch,
};
use confidant::{AppointmentKind, Category, Draft, Received, Timestamp};
use endpoint_common::{pair_with, HOUR};
use rand::Rng;
use store_common::{create, db_path, message, passphrase, peer, raw_files, rng, session_version};

/// The sealed values of a table, read from the file by a separate connection.
fn sealed_values(path: &Path, table: &str) -> Vec<Vec<u8>> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn.prepare(&format!("SELECT value FROM {table}")).unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

/// Whether any 32-byte piece of `secret` (a value may be split over overflow pages) is in the
/// database file or its write-ahead log.
fn leaves_trace(path: &Path, secret: &[u8]) -> bool {
    let pieces: HashSet<&[u8]> = secret.chunks_exact(32).collect();
    let (db, wal) = raw_files(path);
    [db, wal].iter().any(|file| file.windows(32).any(|w| pieces.contains(w)))
}

fn add_noise(store: &SqliteStore, from: u8, count: u8) {
    let mut r = rng(u64::from(from));
    let noise = peer("noise");
    let mut batch = WriteBatch::new();
    for i in from..from + count {
        let mut body = vec![0u8; 100 + usize::from(i) * 37 % 3000];
        r.fill_bytes(&mut body);
        batch.put_message(message(i, &noise, u64::from(i), None, &body)).unwrap();
    }
    store.apply(batch).unwrap();
}

#[test]
fn deleted_expired_and_replaced_values_leave_no_trace() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let store = create(&path);
    let p = peer("patient");
    let expiring = b"EXPIRING PLAINTEXT: appointment moved to Thursday".repeat(2);
    let deleted = b"DELETED PLAINTEXT: large attachment body. ".repeat(500);
    let read = b"READ PLAINTEXT: this one expires after it is read".to_vec();

    // The targets go in first and alone, so their sealed bytes are easy to pick out.
    let mut batch = WriteBatch::new();
    batch
        .put_message(message(1, &p, 1, Some(100), &expiring))
        .unwrap()
        .put_message(message(2, &p, 2, None, &deleted))
        .unwrap()
        .put_message(message(3, &p, 3, None, &read))
        .unwrap()
        .put_session(&p, None, &[0x5a; 1024])
        .unwrap();
    store.apply(batch).unwrap();
    let sealed_messages = sealed_values(&path, "messages");
    let old_session = sealed_values(&path, "sessions").pop().unwrap();
    assert_eq!(sealed_messages.len(), 3);
    for sealed in &sealed_messages {
        assert!(leaves_trace(&path, sealed), "the scan finds stored values");
    }
    for plaintext in [&expiring[..], &deleted, &read] {
        assert!(!leaves_trace(&path, plaintext), "values are never stored in the clear");
    }

    // Other traffic moves pages around before and after the deletions.
    add_noise(&store, 10, 100);
    let mut delete = WriteBatch::new();
    delete
        .delete_message(MessageId([2; 16]))
        .put_session(&p, session_version(&store, &p), &[0x6b; 1024])
        .unwrap();
    store.apply(delete).unwrap();
    store.mark_read(&MessageId([3; 16]), Timestamp(50), Some(Timestamp(60))).unwrap();
    add_noise(&store, 120, 100);
    assert_eq!(store.purge_expired(Timestamp(100)).unwrap(), 2);
    assert!(store.message(&MessageId([1; 16])).unwrap().is_none());

    let check = |when: &str| {
        for (i, sealed) in sealed_messages.iter().enumerate() {
            assert!(!leaves_trace(&path, sealed), "{when}: sealed message {} left a trace", i + 1);
        }
        assert!(!leaves_trace(&path, &old_session), "{when}: replaced session state left a trace");
        for plaintext in [&expiring[..], &deleted, &read] {
            assert!(!leaves_trace(&path, plaintext), "{when}: plaintext found");
        }
    };
    check("store open");
    drop(store);
    check("store closed");
    let (_, wal) = raw_files(&path);
    assert!(wal.is_empty());
}

fn bounded(path: &Path, transactions: u32) -> SqliteStore {
    let options = SqliteOptions::with_wipe(WipePolicy::Bounded { transactions });
    SqliteStore::create_with(path, &passphrase("correct horse battery staple"), options).unwrap()
}

/// Replaces the session with `p` by `fill` and returns its sealed value.
fn replace_session(store: &SqliteStore, path: &Path, p: &PeerId, fill: u8) -> Vec<u8> {
    let mut batch = WriteBatch::new();
    batch.put_session(p, session_version(store, p), &[fill; 1024]).unwrap();
    store.apply(batch).unwrap();
    sealed_values(path, "sessions").pop().unwrap()
}

#[test]
fn every_write_policy_wipes_each_replaced_session_state_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let options = SqliteOptions::with_wipe(WipePolicy::EveryWrite);
    let store =
        SqliteStore::create_with(&path, &passphrase("correct horse battery staple"), options).unwrap();
    let p = peer("patient");
    let mut previous = replace_session(&store, &path, &p, 0);
    for fill in 1..5 {
        let current = replace_session(&store, &path, &p, fill);
        assert!(leaves_trace(&path, &current));
        assert!(!leaves_trace(&path, &previous), "state {} outlived its replacement", fill - 1);
        previous = current;
    }
}

#[test]
fn every_write_policy_wipes_while_another_handle_writes_in_between() {
    // Two handles on one file (an app and its extension): each write of one handle may find the
    // other's transaction in the log, which the handle's own bookkeeping does not know of.
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let a = create(&path);
    let b = store_common::open(&path);
    let (p, q) = (peer("patient-a"), peer("patient-b"));
    let mut older = vec![replace_session(&a, &path, &p, 0), replace_session(&b, &path, &q, 1)];
    for fill in 2..12u8 {
        let (store, who) = match fill % 3 {
            0 => (&b, &q),
            _ => (&a, &p),
        };
        let current = replace_session(store, &path, who, fill);
        assert!(leaves_trace(&path, &current));
        for (i, state) in older.iter().enumerate() {
            let live = sealed_values(&path, "sessions").contains(state);
            assert!(live || !leaves_trace(&path, state), "write {fill}: state {i} outlived its replacement");
        }
        older.push(current);
    }
    drop((a, b));
    let live = sealed_values(&path, "sessions");
    assert_eq!(live.len(), 2);
    for state in older.iter().filter(|s| !live.contains(s)) {
        assert!(!leaves_trace(&path, state));
    }
}

#[test]
fn every_write_policy_wipes_states_copied_by_writes_that_replaced_nothing() {
    // Adding a second session rewrites the page that holds the first one, and replaces nothing,
    // so no wipe follows; the next replacement must still leave no copy of the older state.
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let store = create(&path);
    let (a, b) = (peer("patient-a"), peer("patient-b"));
    replace_session(&store, &path, &a, 0);
    let older = replace_session(&store, &path, &a, 1);
    let mut batch = WriteBatch::new();
    batch.put_session(&b, None, &[2; 1024]).unwrap();
    store.apply(batch).unwrap();
    assert!(leaves_trace(&path, &older));
    replace_session(&store, &path, &a, 3);
    assert!(
        !leaves_trace(&path, &older),
        "a state copied by a write that replaced nothing outlived its replacement"
    );
}

#[test]
fn bounded_policy_wipes_replaced_session_state_within_its_bound() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let store = bounded(&path, 3);
    assert_eq!(store.options().wipe, WipePolicy::Bounded { transactions: 3 });
    let p = peer("patient");
    let mut states = vec![replace_session(&store, &path, &p, 0)];

    // Three replacing transactions may wait: every older state is still somewhere in the files.
    for fill in 1..=3 {
        states.push(replace_session(&store, &path, &p, fill));
    }
    assert!(states[..3].iter().all(|s| leaves_trace(&path, s)), "the policy lets them wait");
    // The fourth replacing transaction wipes all of them.
    states.push(replace_session(&store, &path, &p, 4));
    for (i, state) in states[..4].iter().enumerate() {
        assert!(!leaves_trace(&path, state), "state {i} outlived the bound");
    }
    assert!(leaves_trace(&path, &states[4]));
    let (_, wal) = raw_files(&path);
    assert!(wal.is_empty(), "a wipe truncates the write-ahead log");

    // A deletion wipes at once, older session states included.
    let waiting = replace_session(&store, &path, &p, 5);
    assert!(leaves_trace(&path, &states[4]));
    let mut batch = WriteBatch::new();
    batch.put_message(message(1, &p, 1, Some(10), b"soon gone")).unwrap();
    store.apply(batch).unwrap();
    assert_eq!(store.purge_expired(Timestamp(10)).unwrap(), 1);
    assert!(!leaves_trace(&path, &states[4]), "a purge wipes superseded session state");

    // So does a batch that asks for it.
    let next = replace_session(&store, &path, &p, 6);
    assert!(leaves_trace(&path, &waiting));
    let mut batch = WriteBatch::new();
    batch.put_session(&p, session_version(&store, &p), &[7; 1024]).unwrap().wipe_superseded();
    store.apply(batch).unwrap();
    assert!(!leaves_trace(&path, &waiting) && !leaves_trace(&path, &next));

    // And an explicit wipe.
    let before = sealed_values(&path, "sessions").pop().unwrap();
    replace_session(&store, &path, &p, 8);
    assert!(leaves_trace(&path, &before));
    assert!(store.wipe().unwrap());
    assert!(!leaves_trace(&path, &before));

    // And closing the store.
    let before = sealed_values(&path, "sessions").pop().unwrap();
    let last = replace_session(&store, &path, &p, 9);
    assert!(leaves_trace(&path, &before));
    drop(store);
    assert!(!leaves_trace(&path, &before) && leaves_trace(&path, &last));
    let (_, wal) = raw_files(&path);
    assert!(wal.is_empty());
}

#[test]
fn bounded_policy_keeps_the_deletion_promise() {
    // The scenario of the first test, under the bounded policy: deleting, expiring and re-sealing
    // messages leaves no copy, whatever the bound.
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let store = bounded(&path, 1000);
    let p = peer("patient");
    let body = b"DELETED PLAINTEXT: kept under a lax bound. ".repeat(40);
    let mut batch = WriteBatch::new();
    batch
        .put_message(message(1, &p, 1, Some(100), &body))
        .unwrap()
        .put_message(message(2, &p, 2, None, &body))
        .unwrap();
    store.apply(batch).unwrap();
    let sealed = sealed_values(&path, "messages");
    add_noise(&store, 10, 50);
    let mut delete = WriteBatch::new();
    delete.delete_message(MessageId([2; 16]));
    store.apply(delete).unwrap();
    assert!(!leaves_trace(&path, &sealed[1]), "a deleted message is wiped at once");
    store.mark_read(&MessageId([1; 16]), Timestamp(50), Some(Timestamp(60))).unwrap();
    add_noise(&store, 70, 50);
    assert_eq!(store.purge_expired(Timestamp(100)).unwrap(), 1);
    for (i, s) in sealed.iter().enumerate() {
        assert!(!leaves_trace(&path, s), "sealed message {} left a trace", i + 1);
    }
}

/// A clinician's endpoint over a bounded store: a message it does not keep (expired on arrival)
/// leaves no older session state behind that could decrypt it again.
#[test]
fn endpoint_wipes_older_session_state_after_a_message_it_does_not_keep() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let mut pair = pair_with(21, bounded(&path, 1000), MemoryStore::new(), true);
    let confirm = |text: &str| Draft::new(Category::Appointment(AppointmentKind::Confirm), text);

    let sent = pair.client.send(&pair.clinician_id, confirm("first")).unwrap();
    assert!(matches!(pair.deliver_to_clinician(&sent.envelope.unwrap()).received, Received::Message(_)));
    let first = sealed_values(&path, "sessions").pop().unwrap();
    let sent = pair.client.send(&pair.clinician_id, confirm("second")).unwrap();
    assert!(matches!(pair.deliver_to_clinician(&sent.envelope.unwrap()).received, Received::Message(_)));
    let second = sealed_values(&path, "sessions").pop().unwrap();
    assert!(leaves_trace(&path, &first), "the bound lets superseded state wait");

    // Sent three hours ago with a two-hour lifespan: expired on arrival, not stored.
    pair.client.clock().set(Timestamp(pair.clinician.clock().now().0 - 3 * HOUR));
    let sent = pair.client.send(&pair.clinician_id, confirm("late")).unwrap();
    assert!(matches!(pair.deliver_to_clinician(&sent.envelope.unwrap()).received, Received::Expired { .. }));
    assert!(!leaves_trace(&path, &first) && !leaves_trace(&path, &second));
}
