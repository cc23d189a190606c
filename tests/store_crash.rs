//! Crash safety: a child process writes a stream of batches and is killed with SIGKILL at random
//! points; after each kill the store holds every batch the child reported as committed, and no
//! batch is half written.
//!
//! The child is this test binary run again with `CRASH_CHILD_ENV` set, executing only the ignored
//! test `crash_child`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use confidant_support::store as store_common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use confidant::store::{MessageId, SqliteStore, Store, StoredMessage, WriteBatch};
use rand::{Rng, RngExt, SeedableRng};
use store_common::{app_key, db_path, message, peer, session_version};

const CRASH_CHILD_ENV: &str = "CONFIDANT_STORE_CRASH_CHILD";
const FIRST_BATCH_ENV: &str = "CONFIDANT_STORE_CRASH_FIRST";
const PEERS: u32 = 3;
/// Each batch deletes the message written this many batches before it.
const KEEP: u32 = 4;

fn peer_of(i: u32) -> confidant::store::PeerId {
    peer(&format!("peer-{}", i % PEERS))
}

fn session_bytes(i: u32) -> Vec<u8> {
    (0..1024u32).map(|k| (i.wrapping_mul(31).wrapping_add(k) % 251) as u8).collect()
}

fn message_id(i: u32) -> MessageId {
    let mut id = [0u8; 16];
    id[..4].copy_from_slice(&i.to_be_bytes());
    MessageId(id)
}

fn batch_message(i: u32) -> StoredMessage {
    let mut m = message(0, &peer_of(i), u64::from(i), None, &[(i % 256) as u8; 200]);
    m.id = message_id(i);
    m
}

/// Batch `i`: the session state and message of a receive, and the deletion of an old message.
fn batch(store: &SqliteStore, i: u32) -> WriteBatch {
    let mut batch = WriteBatch::new();
    let replaces = session_version(store, &peer_of(i));
    batch
        .put_session(&peer_of(i), replaces, &session_bytes(i))
        .unwrap()
        .put_message(batch_message(i))
        .unwrap();
    if i >= KEEP {
        batch.delete_message(message_id(i - KEEP));
    }
    batch
}

#[test]
#[ignore = "run by crash_safety_under_sigkill in a child process"]
fn crash_child() {
    let Ok(path) = std::env::var(CRASH_CHILD_ENV) else { return };
    let first: u32 = std::env::var(FIRST_BATCH_ENV).unwrap().parse().unwrap();
    let store = SqliteStore::open(&path, &app_key(7)).unwrap();
    let mut out = std::io::stdout().lock();
    for i in first.. {
        store.apply(batch(&store, i)).unwrap();
        writeln!(out, "committed {i}").unwrap();
        out.flush().unwrap();
    }
}

/// Runs the child from batch `first`, kills it at a random point, and returns the last batch
/// it reported as committed.
fn run_child_and_kill(path: &Path, first: u32, r: &mut impl Rng) -> Option<u32> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["crash_child", "--exact", "--ignored", "--nocapture", "--test-threads=1", "-q"])
        .env(CRASH_CHILD_ENV, path)
        .env(FIRST_BATCH_ENV, first.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let wait_for = r.random_range(1..25);
    let mut last = None;
    for line in lines.by_ref() {
        if let Some(n) = line.unwrap().strip_prefix("committed ") {
            last = Some(n.parse().unwrap());
            if last.unwrap() + 1 - first >= wait_for {
                break;
            }
        }
    }
    std::thread::sleep(Duration::from_micros(r.random_range(0..3000)));
    child.kill().unwrap();
    child.wait().unwrap();
    for line in lines {
        if let Some(n) = line.unwrap().strip_prefix("committed ") {
            last = Some(n.parse().unwrap());
        }
    }
    last
}

/// Checks that the store holds exactly the effects of batches `0..=m` for some `m` in
/// `[reported, reported + 1]` (the child may be killed between commit and report); returns `m`.
fn check_store(path: &Path, reported: u32) -> u32 {
    let store = SqliteStore::open(path, &app_key(7)).unwrap();
    let m = if store.message(&message_id(reported + 1)).unwrap().is_some() { reported + 1 } else { reported };
    let mut present: Vec<u32> = (0..PEERS)
        .flat_map(|p| store.messages(&peer(&format!("peer-{p}"))).unwrap())
        .map(|msg| u32::from_be_bytes(msg.id.0[..4].try_into().unwrap()))
        .collect();
    present.sort_unstable();
    let expected: Vec<u32> = (m.saturating_sub(KEEP - 1)..=m).collect();
    assert_eq!(present, expected, "reported {reported}");
    for i in &expected {
        assert_eq!(store.message(&message_id(*i)).unwrap().unwrap(), batch_message(*i));
    }
    for p in 0..PEERS.min(m + 1) {
        let last = (0..=m).rev().find(|j| j % PEERS == p).unwrap();
        let session = store.session(&peer_of(p)).unwrap().unwrap();
        assert!(
            session.state.as_slice() == session_bytes(last),
            "session of peer {p} is not from batch {last}"
        );
    }
    m
}

#[test]
fn crash_safety_under_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let store = SqliteStore::create(&path, &app_key(7)).unwrap();
    store.apply(batch(&store, 0)).unwrap();
    drop(store);

    let seed: u64 = rand::random();
    eprintln!("crash test seed {seed}");
    let mut r = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    let started = Instant::now();
    let mut committed = 0u32;
    let mut runs = 0;
    while runs < 150 && (runs < 10 || started.elapsed() < Duration::from_secs(12)) {
        let reported = run_child_and_kill(&path, committed + 1, &mut r).unwrap_or(committed);
        committed = check_store(&path, reported);
        runs += 1;
    }
    eprintln!("{runs} kills, {committed} batches committed in {:?}", started.elapsed());
    assert!(committed > runs);
}
