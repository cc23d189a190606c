//! Store costs: a durably stored receive against raw SQLite inserts of the same bytes, opening a
//! store with many sessions, and purging expired messages.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cell::Cell;
use std::path::Path;
use std::time::Duration;

use confidant::store::{
    Direction, KdfParams, MessageId, Passphrase, PeerId, SqliteStore, Store, StoreKeySource, StoredMessage,
    WriteBatch,
};
use confidant::Timestamp;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use rand::rngs::OsRng;
use rusqlite::{params, Connection};

const SESSION_LEN: usize = 1024;
const BODY_LEN: usize = 200;

fn key() -> StoreKeySource {
    StoreKeySource::key([7; 32])
}

fn received(n: u64, peer: &PeerId, expires_at: Option<u64>) -> StoredMessage {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&n.to_be_bytes());
    StoredMessage {
        id: MessageId(id),
        peer: peer.clone(),
        direction: Direction::Inbound,
        at: Timestamp(n),
        expires_at: expires_at.map(Timestamp),
        read_at: None,
        body: vec![0x42; BODY_LEN].into(),
    }
}

fn receive(batch: &mut WriteBatch, n: u64, peer: &PeerId) {
    batch.put_session(peer, &[n as u8; SESSION_LEN]).unwrap().put_message(received(n, peer, None)).unwrap();
}

/// A plain SQLite file with the same durability settings and no encryption.
fn raw_db(path: &Path) -> Connection {
    let conn = Connection::open(path).unwrap();
    conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(())).unwrap();
    conn.execute_batch(
        "PRAGMA synchronous = FULL;
         CREATE TABLE sessions (key BLOB PRIMARY KEY, value BLOB NOT NULL);
         CREATE TABLE messages (key BLOB PRIMARY KEY, peer BLOB NOT NULL, value BLOB NOT NULL);",
    )
    .unwrap();
    conn
}

fn raw_receive(conn: &Connection, n: u64) {
    // The same sizes as the sealed records: version, nonce and tag add 41 bytes, and the message
    // record (id, times, peer id, length, body) is padded to 256 bytes.
    conn.prepare_cached("INSERT OR REPLACE INTO sessions (key, value) VALUES (?1, ?2)")
        .unwrap()
        .execute(params![&[1u8; 32][..], &[n as u8; SESSION_LEN + 41][..]])
        .unwrap();
    conn.prepare_cached("INSERT INTO messages (key, peer, value) VALUES (?1, ?2, ?3)")
        .unwrap()
        .execute(params![&n.to_be_bytes()[..], &[2u8; 32][..], &[0x42u8; 256 + 41][..]])
        .unwrap();
}

fn receives(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::create(dir.path().join("store.db"), &key(), &mut OsRng).unwrap();
    let raw = raw_db(&dir.path().join("raw.db"));
    let peer = PeerId::new("client").unwrap();
    let n = Cell::new(0u64);
    let next = || {
        n.set(n.get() + 1);
        n.get()
    };

    let mut group = c.benchmark_group("receive");
    group.sample_size(20).measurement_time(Duration::from_secs(3));
    group.bench_function("store: one receive per transaction", |b| {
        b.iter(|| {
            let mut batch = WriteBatch::new();
            receive(&mut batch, next(), &peer);
            store.apply(batch).unwrap();
        })
    });
    group.bench_function("raw sqlite: one receive per transaction", |b| {
        b.iter(|| {
            let tx = raw.unchecked_transaction().unwrap();
            raw_receive(&tx, next());
            tx.commit().unwrap();
        })
    });
    group.bench_function("store: 100 receives per transaction", |b| {
        b.iter(|| {
            let mut batch = WriteBatch::new();
            (0..100).for_each(|_| receive(&mut batch, next(), &peer));
            store.apply(batch).unwrap();
        })
    });
    group.bench_function("raw sqlite: 100 receives per transaction", |b| {
        b.iter(|| {
            let tx = raw.unchecked_transaction().unwrap();
            (0..100).for_each(|_| raw_receive(&tx, next()));
            tx.commit().unwrap();
        })
    });
    group.finish();
}

fn open(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sessions.db");
    let store = SqliteStore::create(&path, &key(), &mut OsRng).unwrap();
    let mut batch = WriteBatch::new();
    for i in 0..1000 {
        batch.put_session(&PeerId::new(format!("peer-{i}")).unwrap(), &[1; SESSION_LEN]).unwrap();
    }
    store.apply(batch).unwrap();
    drop(store);

    let mut group = c.benchmark_group("open");
    group.sample_size(20);
    group.bench_function("store with 1000 sessions, platform key", |b| {
        b.iter(|| SqliteStore::open(&path, &key(), &mut OsRng).unwrap())
    });
    group.bench_function("store with 1000 sessions, platform key, read one session", |b| {
        let peer = PeerId::new("peer-500").unwrap();
        b.iter(|| SqliteStore::open(&path, &key(), &mut OsRng).unwrap().session(&peer).unwrap())
    });
    let argon_path = dir.path().join("argon.db");
    let source = StoreKeySource::Passphrase {
        passphrase: Passphrase::new("a passphrase".into()),
        params: KdfParams::default(),
    };
    drop(SqliteStore::create(&argon_path, &source, &mut OsRng).unwrap());
    group.sample_size(10);
    group.bench_function("empty store, passphrase with default Argon2id", |b| {
        b.iter(|| SqliteStore::open(&argon_path, &source, &mut OsRng).unwrap())
    });
    group.finish();
}

fn purge(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("template.db");
    let store = SqliteStore::create(&template, &key(), &mut OsRng).unwrap();
    let peer = PeerId::new("client").unwrap();
    let mut batch = WriteBatch::new();
    for n in 0..10_000 {
        batch.put_message(received(n, &peer, Some(n))).unwrap();
    }
    store.apply(batch).unwrap();
    drop(store);

    let mut group = c.benchmark_group("purge");
    group.sample_size(10);
    let copy = dir.path().join("copy.db");
    group.bench_function("10000 expired messages", |b| {
        b.iter_batched(
            || {
                let _ = std::fs::remove_file(&copy);
                std::fs::copy(&template, &copy).unwrap();
                SqliteStore::open(&copy, &key(), &mut OsRng).unwrap()
            },
            |store| assert_eq!(store.purge_expired(Timestamp(u64::MAX)).unwrap(), 10_000),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, receives, open, purge);
criterion_main!(benches);
