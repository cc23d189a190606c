//! Threads sharing one store (through an `Arc`) do not corrupt it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use confidant_support::store as store_common;

use std::sync::Arc;

use confidant::store::{MemoryStore, MessageId, Store, WriteBatch};
use confidant::Timestamp;
use store_common::{create, db_path, message, open, peer};

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
                        .put_session(&who, &[id; 700])
                        .unwrap()
                        .put_message(message(id, &who, u64::from(i), Some(u64::from(i % 3)), &[id; 200]))
                        .unwrap();
                    store.apply(batch).unwrap();
                    // Read back what this thread wrote while the other thread writes and purges.
                    assert_eq!(store.session(&who).unwrap().unwrap().as_slice(), &[id; 700][..]);
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
        assert_eq!(store.session(&who).unwrap().unwrap().as_slice(), &[t * 100 + PER_THREAD - 1; 700][..]);
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
