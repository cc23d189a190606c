//! Whole-endpoint throughput: a client's endpoint sends check-ins, the clinician's receives them
//! (agreement checks, expiry, a delivery receipt sealed back) and the client receives the
//! receipts, both endpoints on `SqliteStore` files with the default wipe policy, against a floor
//! made of the same primitive work: the session encryption and decryption of the same plaintexts
//! (`confidant::session::Session`, no content, no policy), and raw SQLite transactions writing
//! rows of the same sizes with the same durability (WAL, `synchronous = FULL`).
//!
//! * `endpoint_1`: one message and its receipt: three transactions (the send, the receive with
//!   its receipt, the receipt's receive).
//! * `endpoint_batch_100`: 100 sends (one transaction each, as an app sends), one
//!   `receive_batch` of the 100 envelopes, one `receive_batch` of the 100 receipts.
//!
//! After criterion's groups, a paired pass runs endpoint and floor in alternating rounds on the
//! same disk and prints messages per second and the ratio (median of the per-round ratios).
#![allow(missing_docs, unreachable_pub, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::{Duration, Instant};

use confidant::session::{Envelope, Session};
use confidant::store::{PeerId, SqliteStore, Store, StoreKeySource};
use confidant::{Category, Draft, Endpoint, ManualClock, Received};
use confidant_support::pair::{pair_with, Pair};
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rusqlite::{params, Connection};
use tempfile::TempDir;

const TEXT: &str = "Rough morning, but I used the breathing exercise before the meeting and it helped. \
                    Could we talk about the sleep diary on Thursday?";

fn store(path: &Path) -> SqliteStore {
    SqliteStore::create(path, &StoreKeySource::key([7; 32])).unwrap()
}

/// An agreed pair with receipts on, both on store files.
struct Flow {
    clinician: Endpoint<SqliteStore, ManualClock>,
    client: Endpoint<SqliteStore, ManualClock>,
    client_id: PeerId,
    clinician_id: PeerId,
    dir: TempDir,
}

impl Flow {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (store(&dir.path().join("clinician.db")), store(&dir.path().join("client.db")));
        let mut pair: Pair<SqliteStore> = pair_with(3, a, b, false);
        let mut terms = pair.terms(1);
        terms.receipts_enabled = true;
        pair.agree(terms);
        let Pair { clinician, client, client_id, clinician_id, .. } = pair;
        Self { clinician, client, client_id, clinician_id, dir }
    }

    fn send(&self) -> Vec<u8> {
        self.client.send(&self.clinician_id, Draft::new(Category::CheckIn, TEXT)).unwrap().envelope.unwrap()
    }

    /// One message and its receipt.
    fn one(&self) {
        let envelope = self.send();
        let incoming = self.clinician.receive(&self.client_id, &envelope).unwrap();
        assert!(matches!(incoming.received, Received::Message(_)));
        let [receipt] = &incoming.replies[..] else { panic!("one receipt") };
        let back = self.client.receive(&self.clinician_id, receipt).unwrap();
        assert!(matches!(back.received, Received::Receipt(_)));
    }

    /// `n` messages sent one by one, received in one batch, their receipts in another.
    fn batch(&self, n: usize) {
        let envelopes: Vec<Vec<u8>> = (0..n).map(|_| self.send()).collect();
        let results = self.clinician.receive_batch(&self.client_id, &envelopes).unwrap();
        let mut receipts = Vec::with_capacity(n);
        for result in results {
            let incoming = result.unwrap();
            assert!(matches!(incoming.received, Received::Message(_)));
            receipts.extend(incoming.replies);
        }
        assert_eq!(receipts.len(), n);
        let back = self.client.receive_batch(&self.clinician_id, &receipts).unwrap();
        assert!(back.iter().all(|r| matches!(r, Ok(i) if matches!(i.received, Received::Receipt(_)))));
    }

    /// The current sessions of both sides, in step with each other.
    fn sessions(&self) -> (Session, Session) {
        let session = |store: &SqliteStore, peer: &PeerId| {
            Session::from_bytes(&store.session(peer).unwrap().unwrap().state).unwrap()
        };
        (session(self.client.store(), &self.clinician_id), session(self.clinician.store(), &self.client_id))
    }

    /// `(session, message)` value sizes in a store file.
    fn sizes(&self, file: &str) -> (usize, usize) {
        let conn = Connection::open(self.dir.path().join(file)).unwrap();
        let len = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap() as usize;
        (len("SELECT max(length(value)) FROM sessions"), len("SELECT max(length(value)) FROM messages"))
    }
}

/// A raw SQLite file with the store's durability settings and tables, no encryption.
struct RawDb {
    conn: Connection,
    session: Vec<u8>,
    message: Vec<u8>,
    n: u64,
    _dir: TempDir,
}

impl RawDb {
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
        let session = vec![0x5a; session_len];
        conn.execute("INSERT INTO sessions (key, value) VALUES (?1, ?2)", params![&[1u8; 32][..], session])
            .unwrap();
        RawDb { conn, session, message: vec![0x42; message_len], n: 0, _dir: dir }
    }

    /// One transaction: the session replaced and `messages` messages inserted.
    fn tx(&mut self, messages: usize) {
        self.conn.execute_batch("BEGIN").unwrap();
        for _ in 0..messages {
            self.n += 1;
            let mut key = [0u8; 32];
            key[..8].copy_from_slice(&self.n.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_be_bytes());
            self.conn
                .prepare_cached("INSERT INTO messages (key, peer, expires_at, value) VALUES (?1, ?2, ?3, ?4)")
                .unwrap()
                .execute(params![&key[..], &[2u8; 32][..], self.n as i64, self.message])
                .unwrap();
        }
        self.conn
            .prepare_cached("UPDATE sessions SET value = ?2 WHERE key = ?1")
            .unwrap()
            .execute(params![&[1u8; 32][..], self.session])
            .unwrap();
        self.conn.execute_batch("COMMIT").unwrap();
    }
}

/// The same primitive work without the endpoint: session encryption and decryption of the
/// message and of its receipt (for one message, a ratchet turn each way, as the endpoint's
/// message and receipt make), and raw transactions of the same rows on two files.
struct Floor {
    client: Session,
    clinician: Session,
    rng: ChaCha20Rng,
    message: Vec<u8>,
    receipt: Vec<u8>,
    client_db: RawDb,
    clinician_db: RawDb,
}

impl Floor {
    fn new(flow: &Flow) -> Self {
        // Plaintext sizes: decrypt one real message and its receipt with copies of the sessions.
        let (_, mut clinician) = flow.sessions();
        let envelope = flow.send();
        let message = clinician.decrypt(&Envelope::from_bytes(&envelope).unwrap()).unwrap().len();
        let incoming = flow.clinician.receive(&flow.client_id, &envelope).unwrap();
        let (mut sent_client, _) = flow.sessions();
        let receipt =
            sent_client.decrypt(&Envelope::from_bytes(&incoming.replies[0]).unwrap()).unwrap().len();
        flow.client.receive(&flow.clinician_id, &incoming.replies[0]).unwrap();
        let (client, clinician) = flow.sessions();
        eprintln!("plaintexts: message {message} bytes, receipt {receipt} bytes");
        Floor {
            client,
            clinician,
            rng: ChaCha20Rng::seed_from_u64(9),
            message: vec![0x33; message],
            receipt: vec![0x44; receipt],
            client_db: RawDb::new(flow.sizes("client.db")),
            clinician_db: RawDb::new(flow.sizes("clinician.db")),
        }
    }

    fn crypto(&mut self) {
        let bytes = self.client.encrypt(&mut self.rng, &self.message).unwrap().to_bytes();
        self.clinician.decrypt(&Envelope::from_bytes(&bytes).unwrap()).unwrap();
        let bytes = self.clinician.encrypt(&mut self.rng, &self.receipt).unwrap().to_bytes();
        self.client.decrypt(&Envelope::from_bytes(&bytes).unwrap()).unwrap();
    }

    fn one(&mut self) {
        self.crypto();
        self.client_db.tx(1);
        self.clinician_db.tx(1);
        self.client_db.tx(0);
    }

    /// As the endpoint's batch: `n` messages on one sending chain (one transaction each), the
    /// `n` decrypted and their `n` receipts sealed on the reply chain (one transaction), the
    /// receipts decrypted (one transaction). Two ratchet turns per batch, as for the endpoint.
    fn batch(&mut self, n: usize) {
        let mut envelopes = Vec::with_capacity(n);
        for _ in 0..n {
            envelopes.push(self.client.encrypt(&mut self.rng, &self.message).unwrap().to_bytes());
            self.client_db.tx(1);
        }
        let mut receipts = Vec::with_capacity(n);
        for bytes in &envelopes {
            self.clinician.decrypt(&Envelope::from_bytes(bytes).unwrap()).unwrap();
            receipts.push(self.clinician.encrypt(&mut self.rng, &self.receipt).unwrap().to_bytes());
        }
        self.clinician_db.tx(n);
        for bytes in &receipts {
            self.client.decrypt(&Envelope::from_bytes(bytes).unwrap()).unwrap();
        }
        self.client_db.tx(0);
    }
}

/// Alternating rounds of `per_round` messages (in batches of `batch`, or one by one for 1):
/// prints messages per second of each and the median of the per-round ratios.
fn paired(flow: &Flow, floor: &mut Floor, batch: usize, rounds: usize, per_round: usize) {
    let (mut endpoint, mut raw, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let start = Instant::now();
        for _ in 0..per_round / batch {
            if batch == 1 {
                flow.one()
            } else {
                flow.batch(batch)
            }
        }
        let e = start.elapsed();
        let start = Instant::now();
        for _ in 0..per_round / batch {
            if batch == 1 {
                floor.one()
            } else {
                floor.batch(batch)
            }
        }
        let f = start.elapsed();
        endpoint.push(e);
        raw.push(f);
        ratios.push(f.as_secs_f64() / e.as_secs_f64());
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    ratios.sort_by(f64::total_cmp);
    let rate = |d: Duration| per_round as f64 / d.as_secs_f64();
    let (e, f) = (median(&mut endpoint), median(&mut raw));
    eprintln!(
        "paired, {rounds} rounds of {per_round} messages, batch {batch}: endpoint {:.0} msg/s, floor {:.0} msg/s, \
         endpoint / floor rate {:.2}x",
        rate(e),
        rate(f),
        ratios[ratios.len() / 2]
    );
}

fn throughput(c: &mut Criterion) {
    let quick = std::env::args().any(|a| a == "--test");
    let flow = Flow::new();
    let mut floor = Floor::new(&flow);

    let mut group = c.benchmark_group("endpoint_1");
    group.sample_size(10).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function("endpoint", |b| b.iter(|| flow.one()));
    group.bench_function("floor", |b| b.iter(|| floor.one()));
    group.finish();
    paired(&flow, &mut floor, 1, if quick { 1 } else { 25 }, 10);

    let mut group = c.benchmark_group("endpoint_batch_100");
    group.sample_size(10).measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(1));
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function("endpoint", |b| b.iter(|| flow.batch(100)));
    group.bench_function("floor", |b| b.iter(|| floor.batch(100)));
    group.finish();
    paired(&flow, &mut floor, 100, if quick { 1 } else { 7 }, 100);
}

criterion_group!(benches, throughput);
criterion_main!(benches);
