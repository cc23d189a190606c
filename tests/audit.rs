//! The audit trail: append-only, survives restarts, and detects a removed, reordered or altered
//! entry when the file is edited behind the store's back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use confidant::store::{
    AuditEvent, ExportKind, MemoryStore, MessageId, SqliteStore, Store, StoreError, WriteBatch,
};
use confidant::Timestamp;
use confidant_support::store::{create, db_path, message, open, peer};

fn event(n: u8) -> AuditEvent {
    AuditEvent::Exported {
        peer: peer("client-1"),
        kind: ExportKind::ClinicalRecord,
        messages: vec![MessageId([n; 16])],
    }
}

fn append(store: &impl Store, at: u64, n: u8) {
    let mut batch = WriteBatch::new();
    batch.audit(Timestamp(at), event(n)).unwrap();
    store.apply(batch).unwrap();
}

/// A store with three entries, closed.
fn three_entries(path: &Path) {
    let store = create(path);
    for n in 1..=3 {
        append(&store, u64::from(n) * 1_000, n);
    }
}

fn corrupt() -> Option<StoreError> {
    Some(StoreError::Corrupt { table: "audit" })
}

/// `(key, value)` of every row of `table`, in rowid order.
fn rows(path: &Path, table: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn.prepare(&format!("SELECT key, value FROM {table} ORDER BY rowid")).unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
}

fn sql(path: &Path, statement: &str, params: impl rusqlite::Params) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute(statement, params).unwrap();
}

#[test]
fn entries_survive_a_restart_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    three_entries(&path);
    let store = open(&path);
    let log = store.audit_log().unwrap();
    assert_eq!(log.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(log.iter().map(|e| e.event.clone()).collect::<Vec<_>>(), vec![event(1), event(2), event(3)]);
    assert_eq!(log[2].at, Timestamp(3_000));
    // Appending continues the chain after a restart.
    append(&store, 4_000, 4);
    assert_eq!(store.audit_log().unwrap().len(), 4);
}

#[test]
fn a_failed_batch_appends_nothing() {
    for store in [Box::new(MemoryStore::new()) as Box<dyn Store>, Box::new(create_temp())] {
        let p = peer("client-1");
        let mut first = WriteBatch::new();
        first.put_message(message(1, &p, 10, None, b"x")).unwrap();
        store.apply(first).unwrap();
        let mut batch = WriteBatch::new();
        batch.audit(Timestamp(20), event(1)).unwrap();
        // The same message id again: the whole batch fails, audit entry included.
        batch.put_message(message(1, &p, 10, None, b"x")).unwrap();
        assert_eq!(store.apply(batch), Err(StoreError::MessageExists));
        assert!(store.audit_log().unwrap().is_empty());
    }
}

fn create_temp() -> SqliteStore {
    let dir = tempfile::tempdir().unwrap();
    let store = create(&db_path(&dir));
    // The store keeps its file open; the directory may go.
    std::mem::forget(dir);
    store
}

#[test]
fn purge_is_recorded_with_its_count_and_no_text() {
    let store = MemoryStore::new();
    let p = peer("client-1");
    let mut batch = WriteBatch::new();
    batch.put_message(message(1, &p, 10, Some(100), b"secret words")).unwrap();
    batch.put_message(message(2, &p, 10, Some(100), b"more secret words")).unwrap();
    store.apply(batch).unwrap();
    assert_eq!(store.purge_expired(Timestamp(50)).unwrap(), 0);
    assert!(store.audit_log().unwrap().is_empty(), "a purge that deleted nothing is not recorded");
    assert_eq!(store.purge_expired(Timestamp(100)).unwrap(), 2);
    let log = store.audit_log().unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].event, AuditEvent::Purged { messages: 2 });
    assert!(!format!("{log:?}").contains("secret"));
}

#[test]
fn a_removed_entry_is_detected_on_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    three_entries(&path);
    let middle = rows(&path, "audit")[1].0.clone();
    sql(&path, "DELETE FROM audit WHERE key = ?1", [middle]);
    assert_eq!(open(&path).audit_log().err(), corrupt());
}

#[test]
fn a_removed_last_entry_is_detected_by_the_head() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    three_entries(&path);
    let last = rows(&path, "audit")[2].0.clone();
    sql(&path, "DELETE FROM audit WHERE key = ?1", [last]);
    assert_eq!(open(&path).audit_log().err(), corrupt());
}

#[test]
fn a_truncated_log_with_its_head_removed_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    three_entries(&path);
    sql(&path, "DELETE FROM audit", []);
    sql(&path, "DELETE FROM audit_head", []);
    assert_eq!(open(&path).audit_log().err(), corrupt());
}

#[test]
fn reordered_entries_are_detected() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    three_entries(&path);
    let all = rows(&path, "audit");
    // Swap the sealed values of the first two rows.
    sql(&path, "UPDATE audit SET value = ?2 WHERE key = ?1", (all[0].0.clone(), all[1].1.clone()));
    sql(&path, "UPDATE audit SET value = ?2 WHERE key = ?1", (all[1].0.clone(), all[0].1.clone()));
    assert_eq!(open(&path).audit_log().err(), corrupt());
}

#[test]
fn an_altered_entry_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    three_entries(&path);
    let (key, mut value) = rows(&path, "audit")[0].clone();
    let last = value.len() - 1;
    value[last] ^= 1;
    sql(&path, "UPDATE audit SET value = ?2 WHERE key = ?1", (key, value));
    assert_eq!(open(&path).audit_log().err(), corrupt());
}

#[test]
fn an_old_head_put_back_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    three_entries(&path);
    let head = rows(&path, "audit_head")[0].1.clone();
    append(&open(&path), 4_000, 4);
    sql(&path, "UPDATE audit_head SET value = ?1", [head]);
    assert_eq!(open(&path).audit_log().err(), corrupt());
}

#[test]
fn an_untouched_file_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    three_entries(&path);
    // Control for the tests above: the same steps without an edit verify.
    let all = rows(&path, "audit");
    assert_eq!(all.len(), 3);
    assert_eq!(rows(&path, "audit_head").len(), 1);
    assert_eq!(open(&path).audit_log().unwrap().len(), 3);
}

mod endpoint {
    use super::*;
    use confidant::clock::Clock;
    use confidant::keys::IdentityKeyPair;
    use confidant_support::pair::pair;
    use rand_chacha::rand_core::SeedableRng;

    fn events(log: &[confidant::store::AuditEntry]) -> Vec<AuditEvent> {
        log.iter().map(|e| e.event.clone()).collect()
    }

    #[test]
    fn both_devices_record_the_signed_agreement() {
        let pair = pair(1);
        let signed =
            |p: &confidant::store::PeerId| AuditEvent::AgreementSigned { peer: p.clone(), version: 1 };
        assert_eq!(events(&pair.clinician.audit_log().unwrap()), vec![signed(&pair.client_id)]);
        assert_eq!(events(&pair.client.audit_log().unwrap()), vec![signed(&pair.clinician_id)]);
    }

    #[test]
    fn accepting_a_new_identity_is_recorded_and_the_same_one_is_not() {
        let pair = pair(2);
        let same = pair.client.identity_key();
        pair.clinician.accept_new_identity(&pair.client_id, &same).unwrap();
        assert_eq!(pair.clinician.audit_log().unwrap().len(), 1);
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        let other = IdentityKeyPair::generate(&mut rng).public_key();
        pair.clinician.accept_new_identity(&pair.client_id, &other).unwrap();
        let log = pair.clinician.audit_log().unwrap();
        assert_eq!(log.last().unwrap().event, AuditEvent::IdentityAccepted { peer: pair.client_id.clone() });
        assert_eq!(log.len(), 2);
    }

    #[test]
    fn purging_through_the_endpoint_is_recorded() {
        let pair = pair(4);
        // The agreement messages live the default lifespan: past it, both devices purge them.
        pair.advance(400 * 24 * 60 * 60 * 1000);
        let purged = pair.client.purge_expired().unwrap();
        assert!(purged > 0);
        let last = pair.client.audit_log().unwrap().last().unwrap().clone();
        assert_eq!(last.event, AuditEvent::Purged { messages: purged as u64 });
        assert_eq!(last.at, pair.client.clock().now());
    }
}

#[test]
fn a_store_from_before_the_audit_trail_gets_an_empty_one_that_then_detects_truncation() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/store_v1.sqlite");
    std::fs::copy(fixture, &path).unwrap();
    let source = confidant_support::store::passphrase("confidant fixture v1");
    {
        let store = SqliteStore::open(&path, &source).unwrap();
        assert!(store.audit_log().unwrap().is_empty());
        append(&store, 1_000, 1);
    }
    assert_eq!(SqliteStore::open(&path, &source).unwrap().audit_log().unwrap().len(), 1);
    sql(&path, "DELETE FROM audit", []);
    assert_eq!(SqliteStore::open(&path, &source).unwrap().audit_log().err(), corrupt());
}
