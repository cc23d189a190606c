//! Threads sharing one store (through an `Arc`) do not corrupt it, and writers of one session,
//! on one store or on two connections to one file, never both save a state derived from the same
//! one: session writes are compare-and-swap.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use confidant_support::store as store_common;

use std::sync::Arc;

use confidant::store::{MemoryStore, MessageId, PeerId, Store, StoreError, WriteBatch};
use confidant::Timestamp;
use store_common::{create, db_path, message, open, peer, raw_files, session_version};

const PER_THREAD: u8 = 60;

fn hammer(store: Arc<dyn Store>) {
    let threads: Vec<_> = (0..2u8)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                let who = peer(&format!("peer-{t}"));
                for i in 0..PER_THREAD {
                    let id = t * 100 + i;
                    let mut batch = WriteBatch::new();
                    batch
                        .put_session(&who, session_version(store.as_ref(), &who), &[id; 700])
                        .unwrap()
                        .put_message(message(id, &who, u64::from(i), Some(u64::from(i % 3)), &[id; 200]))
                        .unwrap();
                    store.apply(batch).unwrap();
                    // Read back what this thread wrote while the other thread writes and purges.
                    assert_eq!(store.session(&who).unwrap().unwrap().state.as_slice(), &[id; 700][..]);
                    store.messages(&who).unwrap();
                    if i % 10 == 0 {
                        store.purge_expired(Timestamp(1)).unwrap();
                    }
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
}

fn check(store: &dyn Store) {
    store.purge_expired(Timestamp(1)).unwrap();
    for t in 0..2u8 {
        let who = peer(&format!("peer-{t}"));
        assert_eq!(
            store.session(&who).unwrap().unwrap().state.as_slice(),
            &[t * 100 + PER_THREAD - 1; 700][..]
        );
        let ids: Vec<u8> = store.messages(&who).unwrap().iter().map(|m| m.id.0[0]).collect();
        let expected: Vec<u8> = (0..PER_THREAD).filter(|i| i % 3 == 2).map(|i| t * 100 + i).collect();
        assert_eq!(ids, expected);
        for id in &expected {
            assert_eq!(
                store.message(&MessageId([*id; 16])).unwrap().unwrap().body.as_slice(),
                &[*id; 200][..]
            );
        }
    }
}

#[test]
fn two_threads_share_a_sqlite_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let store: Arc<dyn Store> = Arc::new(create(&path));
    hammer(Arc::clone(&store));
    check(store.as_ref());
    drop(store);
    check(&open(&path));
}

#[test]
fn two_threads_share_a_memory_store() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    hammer(Arc::clone(&store));
    check(store.as_ref());
}

/// Two handles on one file are two SQLite connections, as an app and its notification extension
/// would have in two processes.
#[test]
fn a_stale_session_write_from_a_second_connection_fails_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let (app, extension) = (create(&path), open(&path));
    let who = peer("sam");
    let mut batch = WriteBatch::new();
    batch.put_session(&who, None, b"state 0").unwrap();
    app.apply(batch).unwrap();

    // Both load state 0, then both save what they derived from it (encrypting with the same
    // message key, if the second save were allowed).
    let (seen_by_app, seen_by_extension) =
        (app.session(&who).unwrap().unwrap(), extension.session(&who).unwrap().unwrap());
    assert_eq!(seen_by_app, seen_by_extension);
    let mut batch = WriteBatch::new();
    batch.put_session(&who, Some(seen_by_app.version), b"state 1 (app)").unwrap();
    app.apply(batch).unwrap();

    let before = raw_files(&path);
    let mut stale = WriteBatch::new();
    stale
        .put_session(&who, Some(seen_by_extension.version), b"state 1 (extension)")
        .unwrap()
        .put_message(message(1, &who, 1, None, b"sent on state 1 (extension)"))
        .unwrap();
    assert_eq!(extension.apply(stale), Err(StoreError::Conflict));
    assert_eq!(raw_files(&path), before, "a conflicting batch writes nothing");
    for store in [&app, &extension] {
        assert_eq!(store.session(&who).unwrap().unwrap().state.as_slice(), b"state 1 (app)");
        assert!(store.message(&MessageId([1; 16])).unwrap().is_none());
    }

    // Loading again and redoing the work succeeds.
    let current = extension.session(&who).unwrap().unwrap();
    let mut redo = WriteBatch::new();
    redo.put_session(&who, Some(current.version), b"state 2 (extension)").unwrap();
    extension.apply(redo).unwrap();
    assert_eq!(app.session(&who).unwrap().unwrap().state.as_slice(), b"state 2 (extension)");
}

const INCREMENTS: u32 = 40;

/// `writers` each take the session's counter `INCREMENTS` times: load the state, "encrypt" with
/// message key number `counter` (a message with that id), and save `counter + 1` with the
/// message in one batch, loading again after a conflict. Every key is used by exactly one saved
/// batch, and no increment is lost. Returns how many conflicts the writers met.
fn race(writers: Vec<Arc<dyn Store>>) -> u32 {
    let who = peer("counter");
    let mut init = WriteBatch::new();
    init.put_session(&who, None, &counter_state(0)).unwrap();
    writers[0].apply(init).unwrap();
    let threads: Vec<_> = writers
        .iter()
        .map(|store| {
            let (store, who) = (Arc::clone(store), who.clone());
            std::thread::spawn(move || take_increments(store.as_ref(), &who))
        })
        .collect();
    let conflicts = threads.into_iter().map(|t| t.join().unwrap()).sum();

    let total = INCREMENTS * u32::try_from(writers.len()).unwrap();
    for store in &writers {
        let state = store.session(&who).unwrap().unwrap().state;
        assert_eq!(state.as_slice(), &counter_state(total)[..], "no increment was lost");
        let used: Vec<MessageId> = store.messages(&who).unwrap().into_iter().map(|m| m.id).collect();
        let expected: Vec<MessageId> = (0..total).map(key_id).collect();
        assert_eq!(used, expected, "every message key was used exactly once");
    }
    conflicts
}

fn counter_state(n: u32) -> Vec<u8> {
    let mut state = n.to_be_bytes().to_vec();
    state.resize(700, 0x5a);
    state
}

fn key_id(n: u32) -> MessageId {
    let mut id = [0u8; 16];
    id[..4].copy_from_slice(&n.to_be_bytes());
    MessageId(id)
}

fn take_increments(store: &dyn Store, who: &PeerId) -> u32 {
    let mut conflicts = 0;
    let mut taken = 0;
    while taken < INCREMENTS {
        let loaded = store.session(who).unwrap().unwrap();
        let n = u32::from_be_bytes(loaded.state[..4].try_into().unwrap());
        // Let the other writers load the same state meanwhile.
        std::thread::yield_now();
        let mut sent = message(0, who, u64::from(n), None, b"encrypted with key n");
        sent.id = key_id(n);
        let mut batch = WriteBatch::new();
        batch
            .put_session(who, Some(loaded.version), &counter_state(n + 1))
            .unwrap()
            .put_message(sent)
            .unwrap();
        match store.apply(batch) {
            Ok(()) => taken += 1,
            Err(StoreError::Conflict) => conflicts += 1,
            Err(other) => panic!("{other:?}"),
        }
    }
    conflicts
}

#[test]
fn writers_on_two_connections_to_one_file_lose_no_update_and_reuse_no_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let first: Arc<dyn Store> = Arc::new(create(&path));
    let second: Arc<dyn Store> = Arc::new(open(&path));
    let conflicts = race(vec![first, second]);
    eprintln!("two connections: {conflicts} conflicts");
}

#[test]
fn threads_sharing_a_sqlite_store_lose_no_update_and_reuse_no_key() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(create(&db_path(&dir)));
    let conflicts = race(vec![Arc::clone(&store), Arc::clone(&store), store]);
    eprintln!("one sqlite store: {conflicts} conflicts");
}

#[test]
fn threads_sharing_a_memory_store_lose_no_update_and_reuse_no_key() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let conflicts = race(vec![Arc::clone(&store), Arc::clone(&store), store]);
    eprintln!("memory store: {conflicts} conflicts");
}
