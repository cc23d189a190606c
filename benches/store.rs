//! Store costs, each measured next to raw SQLite in the same run:
//!
//! * `receive_1_per_tx`: `Endpoint::receive` of one envelope (decrypt, then session state and
//!   message saved in one transaction) over a `SqliteStore`, for each wipe policy, next to a raw
//!   rusqlite transaction writing rows of the same sizes (one session replaced, one message
//!   inserted);
//! * `receive_batch_100`: `Endpoint::receive_batch` of 100 queued envelopes (one transaction),
//!   next to one raw transaction with the same rows (one session replaced, 100 messages);
//! * `open`: opening a store holding 1000 sessions;
//! * `purge`: purging 10000 expired messages.
//!
//! The envelopes are made by a client endpoint over a `MemoryStore` outside the timed region,
//! and received in the order they were sent.
//!
//! The disk of a shared machine changes speed from one minute to the next, and criterion runs
//! one benchmark after the other, so after each receive group the same receives also run in
//! interleaved rounds (every policy and raw SQLite in turn); the medians and means of those
//! rounds and the ratios of their rates are printed as `paired` lines.
#![allow(missing_docs, unreachable_pub, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use confidant_support::pair as endpoint_common;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use confidant::store::{
    Direction, KdfParams, MemoryStore, MessageId, Passphrase, PeerId, SqliteOptions, SqliteStore, Store,
    StoreKeySource, StoredMessage, WipePolicy, WriteBatch,
};
use confidant::{Category, Draft, Endpoint, ManualClock, Received, Timestamp};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, SamplingMode};
use endpoint_common::{pair_with, Pair};
use rand::rand_core::UnwrapErr;
use rand::rngs::SysRng;
use rand::Rng;
use rusqlite::{params, Connection};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

const SESSION_LEN: usize = 1024;
const BODY_LEN: usize = 200;
/// A check-in of typical length.
const TEXT: &str = "Rough morning, but I used the breathing exercise before the meeting and it helped. \
                    Could we talk about the sleep diary on Thursday?";
/// Wipe after at most this many transactions under the bounded policy measured here.
const BOUND: u32 = 64;

fn key() -> StoreKeySource {
    StoreKeySource::key([7; 32])
}

fn policies() -> [(&'static str, WipePolicy); 2] {
    [("every-write", WipePolicy::EveryWrite), ("bounded-64", WipePolicy::Bounded { transactions: BOUND })]
}

/// A clinician's endpoint over a `SqliteStore` with `policy` receiving from a client's over a
/// `MemoryStore`, with an agreement in force.
struct Conversation {
    clinician: Endpoint<SqliteStore, ManualClock>,
    client: Endpoint<MemoryStore, ManualClock>,
    client_id: PeerId,
    clinician_id: PeerId,
    path: PathBuf,
    _dir: TempDir,
}

impl Conversation {
    fn new(policy: WipePolicy) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clinician.db");
        let options = SqliteOptions::with_wipe(policy);
        let store = SqliteStore::create_with(&path, &key(), options).unwrap();
        let Pair { clinician, client, client_id, clinician_id, .. } =
            pair_with(1, store, MemoryStore::new(), true);
        Self { clinician, client, client_id, clinician_id, path, _dir: dir }
    }

    /// The client's next check-in to the clinician. The client forgets its copy at once: a
    /// `MemoryStore` copies all its contents on every write, and the set-up would slow down as
    /// it grows.
    fn envelope(&mut self) -> Vec<u8> {
        let draft = Draft::new(Category::CheckIn, TEXT);
        let sent = self.client.send(&self.clinician_id, draft).unwrap();
        let mut forget = WriteBatch::new();
        forget.delete_message(sent.message_id.unwrap());
        self.client.store().apply(forget).unwrap();
        sent.envelope.unwrap()
    }

    fn envelopes(&mut self, n: usize) -> Vec<Vec<u8>> {
        (0..n).map(|_| self.envelope()).collect()
    }

    fn receive(&mut self, envelope: &[u8]) {
        let incoming = self.clinician.receive(&self.client_id, envelope).unwrap();
        assert!(matches!(incoming.received, Received::Message(_)));
    }

    fn receive_batch(&mut self, envelopes: &[Vec<u8>]) {
        let results = self.clinician.receive_batch(&self.client_id, envelopes).unwrap();
        assert!(results.iter().all(|r| matches!(r, Ok(i) if matches!(i.received, Received::Message(_)))));
    }
}

/// The sizes of the rows a receive writes: `(session value, message value)`, read from the file.
fn stored_sizes(path: &Path) -> (usize, usize) {
    let conn = Connection::open(path).unwrap();
    let len = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap() as usize;
    (len("SELECT max(length(value)) FROM sessions"), len("SELECT max(length(value)) FROM messages"))
}

/// A plain SQLite file with the store's durability settings (WAL, `synchronous = FULL`), the
/// same tables and indexes, and no encryption.
struct Raw {
    conn: Connection,
    session: Vec<u8>,
    message: Vec<u8>,
    n: u64,
    _dir: TempDir,
}

impl Raw {
    fn new((session_len, message_len): (usize, usize)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("raw.db")).unwrap();
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(())).unwrap();
        conn.execute_batch(
            "PRAGMA synchronous = FULL;
             CREATE TABLE sessions (key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL) STRICT;
             CREATE TABLE messages (key BLOB PRIMARY KEY NOT NULL, peer BLOB NOT NULL,
                                    expires_at INTEGER, value BLOB NOT NULL) STRICT;
             CREATE INDEX messages_by_peer ON messages (peer);
             CREATE INDEX messages_by_expiry ON messages (expires_at) WHERE expires_at IS NOT NULL;",
        )
        .unwrap();
        let random = |len| {
            let mut v = vec![0u8; len];
            UnwrapErr(SysRng).fill_bytes(&mut v);
            v
        };
        let (session, message) = (random(session_len), random(message_len));
        conn.execute("INSERT INTO sessions (key, value) VALUES (?1, ?2)", params![&[1u8; 32][..], session])
            .unwrap();
        Raw { conn, session, message, n: 0, _dir: dir }
    }

    fn put_session(&self) {
        self.conn
            .prepare_cached("UPDATE sessions SET value = ?2 WHERE key = ?1")
            .unwrap()
            .execute(params![&[1u8; 32][..], self.session])
            .unwrap();
    }

    fn put_message(&mut self) {
        self.n += 1;
        // Keys spread over the index like the store's keyed hashes.
        let key = Sha256::digest(self.n.to_be_bytes());
        self.conn
            .prepare_cached("INSERT INTO messages (key, peer, expires_at, value) VALUES (?1, ?2, NULL, ?3)")
            .unwrap()
            .execute(params![&key[..], &[2u8; 32][..], self.message])
            .unwrap();
    }

    /// One transaction: the session replaced and `messages` messages inserted.
    fn receive(&mut self, messages: usize) {
        self.conn.execute_batch("BEGIN").unwrap();
        for _ in 0..messages {
            self.put_message();
        }
        self.put_session();
        self.conn.execute_batch("COMMIT").unwrap();
    }
}

/// The median and the mean of `times`.
fn median_mean(times: &mut [Duration]) -> (Duration, Duration) {
    times.sort();
    let total: Duration = times.iter().sum();
    (times[times.len() / 2], total / u32::try_from(times.len()).unwrap())
}

/// Interleaved rounds: in each, one receive of `per_tx` envelopes under each policy and one raw
/// transaction, so that all of them see the same state of the shared, noisy disk. Prints the
/// median and the mean of each, and the ratio of the rates by the means (the total time, which
/// counts the occasional costlier transactions that the median leaves out: SQLite's automatic
/// checkpoints, and the wipes of the bounded policy).
fn paired(conversations: &[(&str, RefCell<Conversation>)], raw: &mut Raw, per_tx: usize, rounds: usize) {
    let mut times = vec![Vec::with_capacity(rounds); conversations.len() + 1];
    for _ in 0..rounds {
        for (i, (_, conversation)) in conversations.iter().enumerate() {
            let mut conversation = conversation.borrow_mut();
            let envelopes = conversation.envelopes(per_tx);
            let start = Instant::now();
            if per_tx == 1 {
                conversation.receive(&envelopes[0]);
            } else {
                conversation.receive_batch(&envelopes);
            }
            times[i].push(start.elapsed());
        }
        let start = Instant::now();
        raw.receive(per_tx);
        times[conversations.len()].push(start.elapsed());
    }
    let (raw_median, raw_mean) = median_mean(times.last_mut().unwrap());
    eprintln!(
        "paired, {rounds} interleaved rounds, {per_tx} per transaction: raw sqlite median {raw_median:?}, \
         mean {raw_mean:?}"
    );
    for (i, (name, _)) in conversations.iter().enumerate() {
        let (median, mean) = median_mean(&mut times[i]);
        let ratio = raw_mean.as_secs_f64() / mean.as_secs_f64();
        eprintln!(
            "paired, {per_tx} per transaction: endpoint {name} median {median:?}, mean {mean:?}, \
             rate {ratio:.2}x raw"
        );
    }
}

fn receives(c: &mut Criterion) {
    let quick = std::env::args().any(|a| a == "--test");
    let conversations: Vec<_> = policies()
        .into_iter()
        .map(|(name, policy)| (name, RefCell::new(Conversation::new(policy))))
        .collect();
    let sizes = {
        let mut first = conversations[0].1.borrow_mut();
        let envelope = first.envelope();
        first.receive(&envelope);
        stored_sizes(&first.path)
    };
    eprintln!(
        "rows as the store writes them: session value {} bytes, message value {} bytes",
        sizes.0, sizes.1
    );
    let mut raw = Raw::new(sizes);

    let mut group = c.benchmark_group("receive_1_per_tx");
    group.sample_size(30).measurement_time(Duration::from_secs(4)).sampling_mode(SamplingMode::Flat);
    for (name, conversation) in &conversations {
        group.bench_function(format!("endpoint {name}"), |b| {
            b.iter_batched(
                || conversation.borrow_mut().envelope(),
                |envelope| conversation.borrow_mut().receive(&envelope),
                BatchSize::SmallInput,
            )
        });
    }
    group.bench_function("raw sqlite", |b| b.iter(|| raw.receive(1)));
    group.finish();
    paired(&conversations, &mut raw, 1, if quick { 2 } else { 400 });

    let mut group = c.benchmark_group("receive_batch_100");
    group.sample_size(15).measurement_time(Duration::from_secs(6)).sampling_mode(SamplingMode::Flat);
    for (name, conversation) in &conversations {
        group.bench_function(format!("endpoint {name}"), |b| {
            b.iter_batched(
                || conversation.borrow_mut().envelopes(100),
                |envelopes| conversation.borrow_mut().receive_batch(&envelopes),
                BatchSize::PerIteration,
            )
        });
    }
    group.bench_function("raw sqlite", |b| b.iter(|| raw.receive(100)));
    group.finish();
    paired(&conversations, &mut raw, 100, if quick { 2 } else { 130 });
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

fn open(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sessions.db");
    let store = SqliteStore::create(&path, &key()).unwrap();
    let mut batch = WriteBatch::new();
    for i in 0..1000 {
        batch.put_session(&PeerId::new(format!("peer-{i}")).unwrap(), None, &[1; SESSION_LEN]).unwrap();
    }
    store.apply(batch).unwrap();
    drop(store);

    let mut group = c.benchmark_group("open");
    group.sample_size(20);
    group.bench_function("store with 1000 sessions, platform key", |b| {
        b.iter(|| SqliteStore::open(&path, &key()).unwrap())
    });
    group.bench_function("store with 1000 sessions, platform key, read one session", |b| {
        let peer = PeerId::new("peer-500").unwrap();
        b.iter(|| SqliteStore::open(&path, &key()).unwrap().session(&peer).unwrap())
    });
    let argon_path = dir.path().join("argon.db");
    let source = StoreKeySource::Passphrase {
        passphrase: Passphrase::new("a passphrase".into()),
        params: KdfParams::default(),
    };
    drop(SqliteStore::create(&argon_path, &source).unwrap());
    group.sample_size(10);
    group.bench_function("empty store, passphrase with default Argon2id", |b| {
        b.iter(|| SqliteStore::open(&argon_path, &source).unwrap())
    });
    group.finish();
}

fn purge(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("template.db");
    let store = SqliteStore::create(&template, &key()).unwrap();
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
                SqliteStore::open(&copy, &key()).unwrap()
            },
            |store| assert_eq!(store.purge_expired(Timestamp(u64::MAX)).unwrap(), 10_000),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, receives, open, purge);
criterion_main!(benches);
