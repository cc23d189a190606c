//! Deleted, expired and replaced values leave no copy of their bytes in the database file or its
//! write-ahead log.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod store_common;

use std::collections::HashSet;
use std::path::Path;

use confidant::store::{MessageId, SqliteStore, Store, WriteBatch};
use confidant::Timestamp;
use rand::RngCore;
use store_common::{create, db_path, message, peer, raw_files, rng};

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
        .put_session(&p, &[0x5a; 1024])
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
    delete.delete_message(MessageId([2; 16])).put_session(&p, &[0x6b; 1024]).unwrap();
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
