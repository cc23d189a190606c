//! The store's generation and the rollback counter (PROTOCOL.md, section 11, "Rollback"): which
//! writes raise the generation, how the counter follows it, what opening does with a file behind
//! or ahead of it, the window a failed advance leaves, and recovery.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use confidant::keys::{IdentityKeyPair, KemPrekey, OneTimePrekey, PrekeyId, SignedPrekey};
use confidant::store::{
    CounterError, NoRollbackCounter, Owner, SqliteOptions, SqliteStore, Store, StoreError, StoredAgreement,
    WriteBatch,
};
use confidant::{Role, Timestamp};
use confidant_support::store::{
    app_key, contains, copy_file, db_path, message, passphrase, peer, raw_files, restore_file, rng,
    session_version, TestCounter,
};
use rusqlite::Connection;

fn create(path: &Path, counter: &Arc<TestCounter>) -> SqliteStore {
    SqliteStore::create_with(path, &app_key(3), counter.options()).unwrap()
}

fn open(path: &Path, counter: &Arc<TestCounter>) -> Result<SqliteStore, StoreError> {
    SqliteStore::open_with(path, &app_key(3), counter.options())
}

fn dr_lee() -> Owner {
    Owner::new(Role::Clinician, "dr-lee").unwrap()
}

/// Saves `state` as the session with `name`, over whatever is stored.
fn put_session(store: &SqliteStore, name: &str, state: &[u8]) {
    let mut batch = WriteBatch::new();
    batch.put_session(&peer(name), session_version(store, &peer(name)), state).unwrap();
    store.apply(batch).unwrap();
}

fn copy_path(dir: &tempfile::TempDir) -> PathBuf {
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    elsewhere.join("store.db")
}

#[test]
fn the_generation_rises_with_every_write_of_session_state_and_the_counter_follows() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let counter = TestCounter::new();
    let store = create(&path, &counter);
    assert_eq!(store.generation().unwrap(), 0);
    assert_eq!(counter.value(), None, "nothing to advance yet");

    // Writes that touch no session state leave it.
    let mut r = rng(1);
    let identity = IdentityKeyPair::generate(&mut r);
    store.set_owner(&dr_lee()).unwrap();
    store.set_local_identity(&identity).unwrap();
    let mut batch = WriteBatch::new();
    batch.put_one_time_prekey(&OneTimePrekey::generate(&mut r, PrekeyId(1)));
    batch.put_message(message(1, &peer("sam"), 10, Some(20), b"hello")).unwrap();
    store.apply(batch).unwrap();
    store.mark_read(&message(1, &peer("sam"), 10, None, b"").id, Timestamp(15), None).unwrap();
    store.purge_expired(Timestamp(20)).unwrap();
    assert_eq!(store.generation().unwrap(), 0);

    // Each transaction that writes or deletes session state raises it by one, however many
    // sessions it writes, and the counter follows once it committed.
    put_session(&store, "sam", b"state 1");
    assert_eq!((store.generation().unwrap(), counter.value()), (1, Some(1)));
    let mut batch = WriteBatch::new();
    batch.put_session(&peer("sam"), session_version(&store, &peer("sam")), b"state 2").unwrap();
    batch.put_session(&peer("alex"), None, b"state 1").unwrap();
    store.apply(batch).unwrap();
    assert_eq!((store.generation().unwrap(), counter.value()), (2, Some(2)));
    let mut batch = WriteBatch::new();
    batch.delete_session(&peer("alex"));
    store.apply(batch).unwrap();
    assert_eq!((store.generation().unwrap(), counter.value()), (3, Some(3)));

    // A batch that fails writes no generation either.
    let mut stale = WriteBatch::new();
    stale.put_session(&peer("sam"), None, b"from a stale read").unwrap();
    assert_eq!(store.apply(stale), Err(StoreError::Conflict));
    assert_eq!((store.generation().unwrap(), counter.value()), (3, Some(3)));
    drop(store);

    // The generation is kept in the file.
    let store = open(&path, &counter).unwrap();
    assert_eq!(store.generation().unwrap(), 3);
}

#[test]
fn a_counter_ahead_of_the_file_refuses_it_untouched_and_one_behind_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let counter = TestCounter::new();
    let store = create(&path, &counter);
    put_session(&store, "sam", b"state 1");
    put_session(&store, "sam", b"state 2");
    drop(store);
    let closed = raw_files(&path);

    counter.set(3);
    assert_eq!(open(&path, &counter).err(), Some(StoreError::RolledBack { file: 2, counter: 3 }));
    assert_eq!(raw_files(&path), closed, "a refused open changed the file");

    // Another counter, never advanced or behind: the file wins and the counter is advanced.
    let fresh = TestCounter::new();
    drop(open(&path, &fresh).unwrap());
    assert_eq!(fresh.value(), Some(2));
    // The advance fails at the open: the store opens all the same, and the next write, of any
    // kind, advances it.
    let behind = TestCounter::new();
    behind.set(1);
    behind.fail_advances(1);
    let store = open(&path, &behind).unwrap();
    assert_eq!(behind.value(), Some(1));
    store.purge_expired(Timestamp(0)).unwrap();
    assert_eq!(behind.value(), Some(2));
}

#[test]
fn a_counter_that_cannot_be_read_refuses_to_open_or_create() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let counter = TestCounter::new();
    counter.fail_reads(1);
    let err = SqliteStore::create_with(&path, &app_key(3), counter.options()).unwrap_err();
    assert_eq!(err, StoreError::RollbackCounter(CounterError::Unavailable));
    assert!(!path.exists(), "no file was created");

    let store = create(&path, &counter);
    put_session(&store, "sam", b"state 1");
    drop(store);
    let closed = raw_files(&path);
    counter.fail_reads(1);
    assert_eq!(open(&path, &counter).err(), Some(StoreError::RollbackCounter(CounterError::Unavailable)));
    assert_eq!(raw_files(&path), closed, "a refused open changed the file");
    assert!(open(&path, &counter).is_ok());
}

#[test]
fn a_failed_advance_does_not_fail_the_write_and_leaves_a_window_of_one_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let copy = copy_path(&dir);
    let counter = TestCounter::new();
    let store = create(&path, &counter);
    put_session(&store, "sam", b"state 1");
    drop(store);
    copy_file(&path, &copy);

    // The write commits; the counter's advance fails: the write is reported as saved.
    let store = open(&path, &counter).unwrap();
    counter.fail_advances(1);
    put_session(&store, "sam", b"state 2");
    assert_eq!(store.session(&peer("sam")).unwrap().unwrap().state.as_slice(), b"state 2");
    assert_eq!((store.generation().unwrap(), counter.value()), (2, Some(1)));
    drop(store);

    // The window: until the counter catches up, the file can be put back by that one write
    // without being noticed.
    restore_file(&copy, &path);
    let store = open(&path, &counter).unwrap();
    assert_eq!(store.session(&peer("sam")).unwrap().unwrap().state.as_slice(), b"state 1");

    // Once the next write advanced it, the same rollback is refused.
    counter.fail_advances(1);
    put_session(&store, "sam", b"state 2 again");
    assert_eq!(counter.value(), Some(1), "the advance failed again");
    put_session(&store, "sam", b"state 3");
    assert_eq!((store.generation().unwrap(), counter.value()), (3, Some(3)));
    drop(store);
    restore_file(&copy, &path);
    assert_eq!(open(&path, &counter).err(), Some(StoreError::RolledBack { file: 1, counter: 3 }));
}

#[test]
fn a_deleted_or_damaged_generation_record_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let counter = TestCounter::new();
    let store = create(&path, &counter);
    put_session(&store, "sam", b"state 1");
    drop(store);

    let raw = Connection::open(&path).unwrap();
    let (key, sealed): (Vec<u8>, Vec<u8>) =
        raw.query_row("SELECT key, value FROM generation", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    raw.execute("DELETE FROM generation", []).unwrap();
    drop(raw);
    assert_eq!(open(&path, &counter).err(), Some(StoreError::RolledBack { file: 0, counter: 1 }));

    // An altered record, or one moved from another table, does not open.
    let raw = Connection::open(&path).unwrap();
    let mut altered = sealed.clone();
    *altered.last_mut().unwrap() ^= 1;
    raw.execute("INSERT INTO generation (key, value) VALUES (?1, ?2)", [&key, &altered]).unwrap();
    drop(raw);
    assert_eq!(open(&path, &counter).err(), Some(StoreError::Corrupt { table: "generation" }));
    let raw = Connection::open(&path).unwrap();
    let session: Vec<u8> = raw.query_row("SELECT value FROM sessions", [], |r| r.get(0)).unwrap();
    raw.execute("UPDATE generation SET value = ?1", [&session]).unwrap();
    drop(raw);
    assert_eq!(open(&path, &counter).err(), Some(StoreError::Corrupt { table: "generation" }));

    // Recovery replaces it.
    let store = SqliteStore::recover_from_rollback(&path, &app_key(3), &dr_lee(), counter.options()).unwrap();
    assert_eq!((store.generation().unwrap(), counter.value()), (2, Some(2)));
}

#[test]
fn a_store_from_before_generations_opens_and_cannot_be_rolled_back_to_undetected() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/store_v1.sqlite");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store_v1.sqlite");
    std::fs::copy(&fixture, &path).unwrap();
    let key = passphrase("confidant fixture v1");
    let counter = TestCounter::new();
    let store = SqliteStore::open_with(&path, &key, counter.options()).unwrap();
    assert_eq!(store.generation().unwrap(), 0);
    let client = peer("client-1");
    let mut batch = WriteBatch::new();
    batch.put_session(&client, session_version(&store, &client), b"next state").unwrap();
    store.apply(batch).unwrap();
    assert_eq!((store.generation().unwrap(), counter.value()), (1, Some(1)));
    drop(store);

    // Putting the unmigrated file back is a rollback, refused before the schema is upgraded.
    std::fs::copy(&fixture, &path).unwrap();
    let err = SqliteStore::open_with(&path, &key, counter.options()).unwrap_err();
    assert_eq!(err, StoreError::RolledBack { file: 0, counter: 1 });
    let version: u32 =
        Connection::open(&path).unwrap().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, 1, "the refused file was not migrated");
}

#[test]
fn a_new_store_starts_at_a_counter_left_over_from_a_deleted_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let counter = TestCounter::new();
    let store = create(&path, &counter);
    for i in 0..5u8 {
        put_session(&store, "sam", &[i; 8]);
    }
    drop(store);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let store = create(&path, &counter);
    assert_eq!(store.generation().unwrap(), 5);
    drop(store);
    let store = open(&path, &counter).unwrap();
    put_session(&store, "sam", b"state");
    assert_eq!((store.generation().unwrap(), counter.value()), (6, Some(6)));
}

#[test]
fn handles_on_one_file_share_a_counter_without_refusing_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let counter = TestCounter::new();
    let first = create(&path, &counter);
    let second = open(&path, &counter).unwrap();
    for i in 0..6u8 {
        let store = if i % 2 == 0 { &first } else { &second };
        put_session(store, "sam", &[i; 8]);
    }
    assert_eq!((first.generation().unwrap(), counter.value()), (6, Some(6)));
    let third = open(&path, &counter).unwrap();
    put_session(&third, "sam", b"state");
    put_session(&first, "sam", b"state");
    assert_eq!(counter.value(), Some(8));
}

#[test]
fn recovery_deletes_sessions_and_prekeys_wipes_them_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let copy = copy_path(&dir);
    let counter = TestCounter::new();
    let mut r = rng(2);
    let identity = IdentityKeyPair::generate(&mut r);
    let store = create(&path, &counter);
    store.set_owner(&dr_lee()).unwrap();
    store.set_local_identity(&identity).unwrap();
    let (sam, alex) = (peer("sam"), peer("alex"));
    let mut batch = WriteBatch::new();
    batch
        .put_signed_prekey(&SignedPrekey::generate(&mut r, PrekeyId(1), &identity))
        .put_one_time_prekey(&OneTimePrekey::generate(&mut r, PrekeyId(1)))
        .put_kem_prekey(&KemPrekey::generate(&mut r, PrekeyId(1), &identity))
        .put_peer_identity(&sam, &IdentityKeyPair::generate(&mut r).public_key())
        .put_last_auto_reply(&sam, Timestamp(5))
        .put_message(message(1, &sam, 10, None, b"kept"))
        .unwrap()
        .put_agreement(&sam, StoredAgreement { version: 2, bytes: b"agreement".to_vec().into() })
        .unwrap()
        .put_session(&sam, None, b"sam session")
        .unwrap()
        .put_session(&alex, None, b"alex session")
        .unwrap();
    store.apply(batch).unwrap();
    drop(store);
    copy_file(&path, &copy);
    let store = open(&path, &counter).unwrap();
    put_session(&store, "sam", b"sam session, later");
    drop(store);
    restore_file(&copy, &path);
    assert!(matches!(open(&path, &counter), Err(StoreError::RolledBack { .. })));
    let raw = Connection::open(&path).unwrap();
    let sealed: Vec<Vec<u8>> = raw
        .prepare("SELECT value FROM sessions")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    drop(raw);
    assert_eq!(sealed.len(), 2);

    // Another owner is refused and nothing is deleted.
    let client = Owner::new(Role::Client, "dr-lee").unwrap();
    let err = SqliteStore::recover_from_rollback(&path, &app_key(3), &client, counter.options()).unwrap_err();
    assert_eq!(err, StoreError::OwnerMismatch);
    let store = SqliteStore::open_with(&path, &app_key(3), SqliteOptions::default()).unwrap();
    assert!(store.session(&sam).unwrap().is_some());
    drop(store);

    let store = SqliteStore::recover_from_rollback(&path, &app_key(3), &dr_lee(), counter.options()).unwrap();
    assert_eq!((store.generation().unwrap(), counter.value()), (3, Some(3)));
    assert_eq!(store.session(&sam).unwrap(), None);
    assert_eq!(store.session(&alex).unwrap(), None);
    assert!(store.signed_prekey(PrekeyId(1)).unwrap().is_none());
    assert_eq!(store.one_time_prekey_count().unwrap(), 0);
    assert!(store.kem_prekey(PrekeyId(1)).unwrap().is_none());
    assert_eq!(store.owner().unwrap(), Some(dr_lee()));
    assert_eq!(*store.local_identity().unwrap().unwrap().to_seed(), *identity.to_seed());
    assert!(store.peer(&sam).unwrap().is_some());
    assert_eq!(store.messages(&sam).unwrap().len(), 1);
    assert_eq!(store.agreement(&sam).unwrap().unwrap().version, 2);
    assert_eq!(store.last_auto_reply(&sam).unwrap(), Some(Timestamp(5)));
    // The deleted session states are wiped from the file and its log.
    let (db, wal) = raw_files(&path);
    for value in &sealed {
        for piece in value.chunks(32).filter(|piece| piece.len() == 32) {
            assert!(!contains(&db, piece) && !contains(&wal, piece), "a deleted session state remains");
        }
    }
    drop(store);

    // The recovered file opens and takes new sessions; the old copy stays refused.
    let store = open(&path, &counter).unwrap();
    put_session(&store, "sam", b"a new session");
    assert_eq!(counter.value(), Some(4));
    drop(store);
    assert!(matches!(open(&copy, &counter), Err(StoreError::RolledBack { .. })));
}

#[test]
fn without_a_counter_nothing_is_detected_and_recovery_still_works() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let copy = copy_path(&dir);
    let options = || SqliteOptions::default().rollback_counter(Arc::new(NoRollbackCounter));
    let store = SqliteStore::create_with(&path, &app_key(3), options()).unwrap();
    put_session(&store, "sam", b"state 1");
    drop(store);
    copy_file(&path, &copy);
    let store = SqliteStore::open_with(&path, &app_key(3), options()).unwrap();
    put_session(&store, "sam", b"state 2");
    drop(store);
    restore_file(&copy, &path);

    // Not detected: the older state opens.
    let store = SqliteStore::open_with(&path, &app_key(3), options()).unwrap();
    assert_eq!(store.session(&peer("sam")).unwrap().unwrap().state.as_slice(), b"state 1");
    drop(store);
    // An application that knows the file was restored (from a backup) recovers all the same.
    let store = SqliteStore::recover_from_rollback(&path, &app_key(3), &dr_lee(), options()).unwrap();
    assert_eq!(store.session(&peer("sam")).unwrap(), None);
    assert_eq!(store.generation().unwrap(), 2);
}

/// A store and an endpoint that hold a counter stay unwind safe, as they were before stores took
/// one (bindings catch panics at their boundary).
#[test]
fn a_store_with_a_counter_stays_unwind_safe() {
    fn unwind_safe<T: std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}
    unwind_safe::<SqliteStore>();
    unwind_safe::<confidant::Endpoint>();
    unwind_safe::<SqliteOptions>();
}
