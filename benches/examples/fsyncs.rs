//! Receives `<count>` messages on a clinician's endpoint over a `SqliteStore` (the default wipe
//! policy, or `bounded` for `WipePolicy::Bounded { transactions: 64 }`), or writes `<count>` raw
//! SQLite transactions of the same sizes (`raw`), so that the syncs per receive can be counted:
//!
//! ```sh
//! cargo build -p confidant-benches --example fsyncs
//! for n in 0 100; do strace -f -e trace=fsync,fdatasync -c target/debug/examples/fsyncs every-write $n; done
//! ```
//!
//! The difference between the two counts, divided by 100, is the syncs per receive; the set-up
//! (creating the store, the agreement, the first messages) is the same in both runs.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use confidant::store::{
    MemoryStore, SqliteOptions, SqliteStore, Store, StoreKeySource, WipePolicy, WriteBatch,
};
use confidant::{Category, Draft, Received};
use confidant_support::pair::{pair_with, Pair};
use rusqlite::{params, Connection};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map_or("every-write", String::as_str);
    let count: usize = args.get(2).map_or(100, |n| n.parse().unwrap());
    let dir = tempfile::tempdir().unwrap();
    if mode == "raw" {
        raw(&dir.path().join("raw.db"), count);
        return;
    }
    let policy = match mode {
        "bounded" => WipePolicy::Bounded { transactions: 64 },
        _ => WipePolicy::EveryWrite,
    };
    let options = SqliteOptions::with_wipe(policy);
    let store =
        SqliteStore::create_with(dir.path().join("clinician.db"), &StoreKeySource::key([7; 32]), options)
            .unwrap();
    let Pair { clinician, client, client_id, clinician_id, .. } =
        pair_with(1, store, MemoryStore::new(), true);
    // The envelopes are made first, so that only receives run in the counted part.
    let envelopes: Vec<Vec<u8>> = (0..count)
        .map(|_| {
            let sent =
                client.send(&clinician_id, Draft::new(Category::CheckIn, "How was the week?")).unwrap();
            let mut forget = WriteBatch::new();
            forget.delete_message(sent.message_id.unwrap());
            client.store().apply(forget).unwrap();
            sent.envelope.unwrap()
        })
        .collect();
    for envelope in &envelopes {
        let incoming = clinician.receive(&client_id, envelope).unwrap();
        assert!(matches!(incoming.received, Received::Message(_)));
    }
    eprintln!("{count} receives, {mode}");
}

/// `count` transactions, each replacing a 350-byte row and inserting a 1129-byte one, in WAL mode
/// with `synchronous = FULL`.
fn raw(path: &std::path::Path, count: usize) {
    let conn = Connection::open(path).unwrap();
    conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(())).unwrap();
    conn.execute_batch(
        "PRAGMA synchronous = FULL;
         CREATE TABLE sessions (key BLOB PRIMARY KEY, value BLOB);
         CREATE TABLE messages (key BLOB PRIMARY KEY, value BLOB);
         INSERT INTO sessions VALUES (x'01', zeroblob(350));",
    )
    .unwrap();
    for n in 0..count {
        conn.execute_batch("BEGIN").unwrap();
        conn.execute("UPDATE sessions SET value = ?1 WHERE key = x'01'", params![vec![n as u8; 350]])
            .unwrap();
        conn.execute(
            "INSERT INTO messages VALUES (?1, ?2)",
            params![(n as u64).to_be_bytes(), vec![1u8; 1129]],
        )
        .unwrap();
        conn.execute_batch("COMMIT").unwrap();
    }
    eprintln!("{count} raw transactions");
}
