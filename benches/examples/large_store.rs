//! A clinician's store at clinic scale, built directly through `Store::apply`, then timed:
//!
//! ```sh
//! cargo run --release -p confidant-benches --example large_store -- 100000   # messages
//! cargo run --release -p confidant-benches --example large_store -- 10000 500  # and clients
//! ```
//!
//! The store holds `clients` (default 1000) peers, each with an identity, a session and an
//! agreement written in three successive versions, and `messages` messages spread evenly over
//! them (except one long conversation that holds a tenth of them), 10% of which have expired. Records are real ones: the session and agreement bytes of an
//! agreed endpoint pair, message bodies of the length of a padded check-in. It then measures,
//! each on its own and with the peak resident memory over it (`VmHWM` from `/proc/self/status`,
//! reset through `/proc/self/clear_refs` before each step):
//!
//! * **open**: `SqliteStore::open` with a platform key (no Argon2id), then `Store::owner`;
//! * **newest page**: the newest 50 messages of a typical conversation and of the longest one
//!   (median and maximum of 21 calls);
//! * **purge**: `Store::purge_expired` of the expired 10%;
//! * the file's size (database and write-ahead log) before and after the purge.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::{Duration, Instant};

use confidant::store::{
    Direction, MemoryStore, MessageId, PageEntry, PeerId, SqliteOptions, SqliteStore, Store, StoreKeySource,
    StoredAgreement, StoredMessage, WipePolicy, WriteBatch,
};
use confidant::Timestamp;
use confidant_support::pair::pair;

const PAGE: usize = 50;
const BODY_LEN: usize = 256;
/// Messages written per transaction while building.
const CHUNK: usize = 2000;
const NOW: u64 = 1_800_000_000_000;

fn key() -> StoreKeySource {
    StoreKeySource::key([7; 32])
}

/// The newest page of `PAGE` messages with `peer`, newest first: one indexed query
/// (`Store::messages_page`), as `Endpoint::history_page` makes it.
fn newest_page(store: &SqliteStore, peer: &PeerId) -> Vec<StoredMessage> {
    let page = store.messages_page(peer, None, PAGE).unwrap();
    page.entries
        .into_iter()
        .rev()
        .filter_map(|entry| match entry {
            PageEntry::Message(message) => Some(message),
            PageEntry::Damaged(_) => None,
        })
        .collect()
}

fn status(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse().ok())
        .unwrap_or(0)
}

/// Resets the peak resident size to the current one (Linux 4.0 and later).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Runs `f`, returning its result, its time, and the peak resident memory during it above the
/// resident memory before it (KiB).
fn measured<T>(f: impl FnOnce() -> T) -> (T, Duration, u64) {
    reset_peak();
    let before = status("VmRSS:");
    let start = Instant::now();
    let out = f();
    let elapsed = start.elapsed();
    (out, elapsed, status("VmHWM:").saturating_sub(before))
}

fn file_size(path: &Path) -> u64 {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let len = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
    len(path) + len(Path::new(&wal))
}

fn message(n: u64, peer: &PeerId, expired: bool) -> StoredMessage {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&n.to_be_bytes());
    StoredMessage {
        id: MessageId(id),
        peer: peer.clone(),
        direction: if n.is_multiple_of(2) { Direction::Inbound } else { Direction::Outbound },
        at: Timestamp(NOW - 1_000_000_000 + n * 1000),
        expires_at: Some(Timestamp(if expired { NOW - 1 } else { NOW + 86_400_000 })),
        read_at: None,
        body: vec![(n % 251) as u8; BODY_LEN].into(),
    }
}

fn build(path: &Path, clients: usize, messages: usize) {
    // Real records: an agreed pair's session and agreement.
    let p = pair(5);
    let session = p.clinician.store().session(&p.client_id).unwrap().unwrap().state;
    let agreement = p.clinician.store().agreement(&p.client_id).unwrap().unwrap();
    let identity = p.client.identity_key();
    let _ = MemoryStore::new();
    let options = SqliteOptions::with_wipe(WipePolicy::Bounded { transactions: 1000 });
    let store = SqliteStore::create_with(path, &key(), options).unwrap();
    let peers: Vec<PeerId> = (0..clients).map(|i| PeerId::new(format!("client-{i:05}")).unwrap()).collect();
    for chunk in peers.chunks(100) {
        let mut batch = WriteBatch::new();
        for peer in chunk {
            batch.put_peer_identity(peer, &identity);
            batch.put_session(peer, None, &session).unwrap();
        }
        store.apply(batch).unwrap();
    }
    // Three versions of each agreement, one after the other.
    for version in 1..=3 {
        for chunk in peers.chunks(100) {
            let mut batch = WriteBatch::new();
            for peer in chunk {
                let record = StoredAgreement { version, bytes: agreement.bytes.clone() };
                batch.put_agreement(peer, record).unwrap();
            }
            store.apply(batch).unwrap();
        }
    }
    let mut n = 0u64;
    while (n as usize) < messages {
        let mut batch = WriteBatch::new();
        for _ in 0..CHUNK.min(messages - n as usize) {
            // One long conversation holds a tenth of all messages; the rest are spread evenly.
            let peer = if n.is_multiple_of(10) { &peers[0] } else { &peers[1 + n as usize % (clients - 1)] };
            batch.put_message(message(n, peer, n % 10 == 3)).unwrap();
            n += 1;
        }
        store.apply(batch).unwrap();
    }
    drop(store);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let messages: usize = args.get(1).map_or(100_000, |n| n.parse().unwrap());
    let clients: usize = args.get(2).map_or(1000, |n| n.parse().unwrap());
    let dir = tempfile::Builder::new().prefix("large-store").tempdir().unwrap();
    let path = dir.path().join("clinician.db");

    let ((), built, build_peak) = measured(|| build(&path, clients, messages));
    let before = file_size(&path);
    println!(
        "store: {clients} clients, {messages} messages, 3 agreement versions each; built in {:.1} s \
         (peak +{} KiB); file {:.1} MiB",
        built.as_secs_f64(),
        build_peak,
        before as f64 / 1048576.0
    );

    let (store, open, open_peak) = measured(|| {
        let store = SqliteStore::open(&path, &key()).unwrap();
        store.owner().unwrap();
        store
    });
    println!("open: {:.2} ms (peak +{open_peak} KiB)", open.as_secs_f64() * 1e3);

    for (name, peer) in [("a typical", clients / 2), ("the longest", 0)] {
        let peer = PeerId::new(format!("client-{peer:05}")).unwrap();
        let mut times = Vec::new();
        let mut page_peak = 0;
        let mut len = 0;
        for _ in 0..21 {
            let (page, t, peak) = measured(|| newest_page(&store, &peer));
            len = page.len();
            times.push(t);
            page_peak = page_peak.max(peak);
        }
        times.sort();
        println!(
            "newest page of {name} conversation ({len} messages of {}): median {:.2} ms, max {:.2} ms (peak +{page_peak} KiB)",
            store.messages(&peer).unwrap().len(),
            times[times.len() / 2].as_secs_f64() * 1e3,
            times[times.len() - 1].as_secs_f64() * 1e3
        );
    }

    let (purged, purge, purge_peak) = measured(|| store.purge_expired(Timestamp(NOW)).unwrap());
    let after = file_size(&path);
    println!(
        "purge: {purged} expired messages in {:.1} ms (peak +{purge_peak} KiB); file {:.1} MiB -> {:.1} MiB",
        purge.as_secs_f64() * 1e3,
        before as f64 / 1048576.0,
        after as f64 / 1048576.0
    );
    println!("process peak resident memory: {} KiB", status("VmHWM:"));
}
