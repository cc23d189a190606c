//! The SQLite store's file handling: persistence, keys, and every way a file can be bad.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use confidant_support::store as store_common;

use std::path::Path;

use confidant::keys::IdentityKeyPair;
use confidant::store::{KdfParams, Owner, SqliteStore, Store, StoreError, WriteBatch};
use confidant::Role;
use rusqlite::Connection;
use store_common::{app_key, create, db_path, message, open, passphrase, peer, raw_files, rng};

fn open_with(path: &Path, source: &confidant::store::StoreKeySource) -> Result<SqliteStore, StoreError> {
    SqliteStore::open(path, source)
}

/// A closed store holding sessions for two peers and a message.
fn populated(path: &Path) {
    let store = create(path);
    let (a, b) = (peer("alice"), peer("bob"));
    let mut batch = WriteBatch::new();
    batch
        .put_session(&a, None, b"alice session")
        .unwrap()
        .put_session(&b, None, b"bob session")
        .unwrap()
        .put_message(message(1, &a, 10, Some(500), b"a message"))
        .unwrap();
    store.apply(batch).unwrap();
}

fn raw(path: &Path) -> Connection {
    Connection::open(path).unwrap()
}

#[test]
fn contents_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    populated(&path);
    let store = open(&path);
    assert_eq!(store.session(&peer("alice")).unwrap().unwrap().state.as_slice(), b"alice session");
    assert_eq!(
        store.messages(&peer("alice")).unwrap(),
        vec![message(1, &peer("alice"), 10, Some(500), b"a message")]
    );
}

#[test]
fn the_owner_survives_reopening_and_another_is_refused_with_the_file_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    populated(&path);
    let dr_lee = Owner::new(Role::Clinician, "dr-lee").unwrap();
    let store = open(&path);
    assert_eq!(store.owner().unwrap(), None);
    store.set_owner(&dr_lee).unwrap();
    drop(store);

    let before = raw_files(&path);
    assert!(!store_common::contains(&before.0, b"dr-lee"), "the local id is sealed");
    for other in [Owner::new(Role::Client, "dr-lee").unwrap(), Owner::new(Role::Clinician, "DR-LEE").unwrap()]
    {
        let store = open(&path);
        assert_eq!(store.set_owner(&other), Err(StoreError::OwnerMismatch));
        assert_eq!(store.owner().unwrap(), Some(dr_lee.clone()));
        drop(store);
        assert_eq!(raw_files(&path), before, "a refused owner changes nothing in the file");
    }
    let store = open(&path);
    store.set_owner(&dr_lee).unwrap();
    assert_eq!(store.owner().unwrap(), Some(dr_lee));
    assert_eq!(store.session(&peer("alice")).unwrap().unwrap().state.as_slice(), b"alice session");
    drop(store);
    assert_eq!(raw_files(&path), before, "checking the same owner writes nothing");
}

#[test]
fn the_owner_record_opens_only_in_its_own_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let store = create(&path);
    store.set_owner(&Owner::new(Role::Client, "sam").unwrap()).unwrap();
    store.set_local_identity(&IdentityKeyPair::generate(&mut rng(1))).unwrap();
    drop(store);
    let conn = raw(&path);
    let owner: Vec<u8> = conn.query_row("SELECT value FROM owner", [], |r| r.get(0)).unwrap();
    conn.execute("UPDATE owner SET value = (SELECT value FROM identity)", []).unwrap();
    conn.execute("UPDATE identity SET value = ?1", [owner]).unwrap();
    drop(conn);

    let store = open(&path);
    let corrupt = |table| Err(StoreError::Corrupt { table });
    assert_eq!(store.owner().map(|_| ()), corrupt("owner"));
    assert_eq!(store.set_owner(&Owner::new(Role::Client, "sam").unwrap()), corrupt("owner"));
    assert_eq!(store.local_identity().map(|_| ()), corrupt("identity"));
}

#[test]
fn wrong_key_is_refused_and_the_file_is_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    populated(&path);
    let before = raw_files(&path);
    assert_eq!(open_with(&path, &passphrase("wrong")).err(), Some(StoreError::WrongKey));
    assert_eq!(open_with(&path, &app_key(1)).err(), Some(StoreError::WrongKey));
    assert_eq!(raw_files(&path), before);

    let keyed = dir.path().join("keyed.db");
    drop(SqliteStore::create(&keyed, &app_key(1)).unwrap());
    assert_eq!(open_with(&keyed, &app_key(2)).err(), Some(StoreError::WrongKey));
    assert_eq!(open_with(&keyed, &passphrase("x")).err(), Some(StoreError::WrongKey));
    assert!(open_with(&keyed, &app_key(1)).is_ok());
}

#[test]
fn changing_the_passphrase_rewraps_only_and_wipes_the_old_wrap() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    populated(&path);
    let old_wrap: Vec<u8> =
        raw(&path).query_row("SELECT wrapped_key FROM store_header", [], |r| r.get(0)).unwrap();
    let sealed_before: Vec<u8> =
        raw(&path).query_row("SELECT value FROM messages", [], |r| r.get(0)).unwrap();

    let store = open(&path);
    store.change_passphrase(&passphrase("new passphrase")).unwrap();
    let (db, wal) = raw_files(&path);
    assert!(!store_common::contains(&db, &old_wrap) && !store_common::contains(&wal, &old_wrap));
    drop(store);

    assert_eq!(
        open_with(&path, &passphrase("correct horse battery staple")).err(),
        Some(StoreError::WrongKey)
    );
    let store = open_with(&path, &passphrase("new passphrase")).unwrap();
    assert_eq!(store.session(&peer("bob")).unwrap().unwrap().state.as_slice(), b"bob session");
    store.change_passphrase(&app_key(3)).unwrap();
    drop(store);
    let sealed_after: Vec<u8> = raw(&path).query_row("SELECT value FROM messages", [], |r| r.get(0)).unwrap();
    assert_eq!(sealed_before, sealed_after, "records are not re-encrypted");
    assert!(open_with(&path, &app_key(3)).is_ok());

    let bad = KdfParams::without_floor(1, 1, 1);
    let source = confidant::store::StoreKeySource::Passphrase {
        passphrase: confidant::store::Passphrase::new("p".into()),
        params: bad,
    };
    let store = open_with(&path, &app_key(3)).unwrap();
    assert_eq!(store.change_passphrase(&source), Err(StoreError::InvalidInput("kdf parameters")));
    assert_eq!(store.change_passphrase(&passphrase("")), Err(StoreError::InvalidInput("passphrase")));
}

#[test]
fn tampered_and_truncated_records_name_their_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    populated(&path);
    let dave = IdentityKeyPair::generate(&mut rng(1)).public_key();
    let store = open(&path);
    let mut contact = WriteBatch::new();
    contact.put_peer_identity(&peer("dave"), &dave);
    store.apply(contact).unwrap();
    drop(store);

    let conn = raw(&path);
    conn.execute("UPDATE sessions SET value = substr(value, 1, length(value) - 1)", []).unwrap();
    conn.execute("UPDATE messages SET value = zeroblob(length(value))", []).unwrap();
    let flipped: Vec<u8> = conn.query_row("SELECT value FROM peers", [], |r| r.get(0)).unwrap();
    let mut flipped = flipped;
    flipped[40] ^= 0x20;
    conn.execute("UPDATE peers SET value = ?1", [flipped]).unwrap();
    drop(conn);

    let store = open(&path);
    let corrupt = |table| Err(StoreError::Corrupt { table });
    assert_eq!(store.session(&peer("alice")).map(|_| ()), corrupt("sessions"));
    assert_eq!(store.messages(&peer("alice")).map(|_| ()), corrupt("messages"));
    assert_eq!(store.peers().map(|_| ()), corrupt("peers"));
    let id = confidant::store::MessageId([1; 16]);
    assert_eq!(store.mark_read(&id, confidant::Timestamp(1), None), corrupt("messages"));
    // A batch that needs a corrupt record fails and writes nothing.
    let mut batch = WriteBatch::new();
    batch.put_session(&peer("carol"), None, b"c").unwrap().put_peer_identity(&peer("dave"), &dave);
    assert_eq!(store.apply(batch), corrupt("peers"));
    assert_eq!(store.session(&peer("carol")), Ok(None));
}

#[test]
fn a_changed_clear_column_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    populated(&path);
    raw(&path).execute("UPDATE messages SET expires_at = 999999", []).unwrap();
    let store = open(&path);
    assert_eq!(
        store.message(&confidant::store::MessageId([1; 16])).err(),
        Some(StoreError::Corrupt { table: "messages" })
    );
}

#[test]
fn rows_swapped_between_peers_do_not_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    populated(&path);
    raw(&path)
        .execute_batch(
            "CREATE TEMP TABLE s AS SELECT key, value FROM sessions;
             UPDATE sessions SET value = (SELECT value FROM s WHERE s.key <> sessions.key);",
        )
        .unwrap();
    let store = open(&path);
    for who in ["alice", "bob"] {
        assert_eq!(store.session(&peer(who)).err(), Some(StoreError::Corrupt { table: "sessions" }));
    }
}

#[test]
fn a_record_moved_to_another_table_does_not_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    populated(&path);
    let store = open(&path);
    let agreement = confidant::store::StoredAgreement { version: 1, bytes: b"x".to_vec().into() };
    let mut batch = WriteBatch::new();
    batch.put_agreement(&peer("alice"), agreement).unwrap();
    store.apply(batch).unwrap();
    drop(store);
    raw(&path).execute("UPDATE agreements SET value = (SELECT value FROM sessions LIMIT 1)", []).unwrap();
    let store = open(&path);
    assert_eq!(store.agreement(&peer("alice")).err(), Some(StoreError::Corrupt { table: "agreements" }));
}

#[test]
fn a_truncated_file_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    populated(&path);
    let full = std::fs::read(&path).unwrap();
    for cut in [full.len() - 1, full.len() / 2, 4096, 200] {
        std::fs::write(&path, &full[..cut]).unwrap();
        assert_eq!(
            open_with(&path, &passphrase("correct horse battery staple")).err(),
            Some(StoreError::Truncated),
            "cut {cut}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), &full[..cut]);
    }
    for cut in [99, 0] {
        std::fs::write(&path, &full[..cut]).unwrap();
        assert_eq!(open_with(&path, &passphrase("x")).err(), Some(StoreError::NotAStore), "cut {cut}");
    }
}

#[test]
fn a_newer_schema_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    populated(&path);
    raw(&path).pragma_update(None, "user_version", 99).unwrap();
    let before = raw_files(&path);
    assert_eq!(
        open_with(&path, &passphrase("correct horse battery staple")).err(),
        Some(StoreError::NewerSchema { found: 99, supported: confidant::store::consts::SCHEMA_VERSION })
    );
    assert_eq!(raw_files(&path), before);
}

#[test]
fn files_that_are_not_stores_are_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let random = dir.path().join("random.bin");
    let mut bytes = vec![0u8; 8192];
    rand::Rng::fill_bytes(&mut rng(3), &mut bytes);
    std::fs::write(&random, &bytes).unwrap();
    assert_eq!(open_with(&random, &passphrase("x")).err(), Some(StoreError::NotAStore));
    assert_eq!(std::fs::read(&random).unwrap(), bytes);

    let other = dir.path().join("other.sqlite");
    raw(&other).execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('hi');").unwrap();
    let before = raw_files(&other);
    assert_eq!(open_with(&other, &passphrase("x")).err(), Some(StoreError::NotAStore));
    assert_eq!(raw_files(&other), before);

    let empty = dir.path().join("empty");
    std::fs::write(&empty, b"").unwrap();
    assert_eq!(open_with(&empty, &passphrase("x")).err(), Some(StoreError::NotAStore));

    assert_eq!(open_with(&dir.path().join("missing"), &passphrase("x")).err(), Some(StoreError::NotFound));
    assert_eq!(SqliteStore::create(&random, &passphrase("x")).err(), Some(StoreError::AlreadyExists));
}

#[test]
fn a_header_asking_for_absurd_kdf_memory_is_refused_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    populated(&path);
    // Memory field of the encoded Argon2id header: bytes 5..9.
    let conn = raw(&path);
    let mut kdf: Vec<u8> = conn.query_row("SELECT kdf FROM store_header", [], |r| r.get(0)).unwrap();
    kdf[5..9].copy_from_slice(&[0xff; 4]);
    conn.execute("UPDATE store_header SET kdf = ?1", [kdf]).unwrap();
    drop(conn);
    assert_eq!(open_with(&path, &passphrase("x")).err(), Some(StoreError::KdfAboveCeiling));
}

#[test]
fn errors_convert_into_the_crate_error() {
    fn opens(path: &Path) -> confidant::Result<SqliteStore> {
        Ok(SqliteStore::open(path, &passphrase("x"))?)
    }
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(opens(&dir.path().join("none")).err(), Some(confidant::Error::Store(StoreError::NotFound)));
}

/// Opening a store used to seed its nonce generator from the caller's generator, so two opens
/// with the same seeded generator sealed their first writes under the same nonce. Nonces now
/// come from the operating system on every write.
#[test]
fn nonces_do_not_repeat_across_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    drop(create(&path));
    let who = peer("alice");
    let sealed_after_open = || {
        let store = SqliteStore::open(&path, &passphrase("correct horse battery staple")).unwrap();
        let mut batch = WriteBatch::new();
        batch.put_session(&who, store_common::session_version(&store, &who), b"the same state").unwrap();
        store.apply(batch).unwrap();
        drop(store);
        raw(&path).query_row("SELECT value FROM sessions", [], |r| r.get::<_, Vec<u8>>(0)).unwrap()
    };
    let (first, second) = (sealed_after_open(), sealed_after_open());
    assert_ne!(first[1..25], second[1..25], "each write draws a fresh nonce");
    assert_ne!(first, second);
}

/// Replaces the Argon2id parameters recorded in the file's header.
fn set_kdf_params(path: &Path, memory_kib: u32, iterations: u32, parallelism: u32) {
    let conn = raw(path);
    let mut kdf: Vec<u8> = conn.query_row("SELECT kdf FROM store_header", [], |r| r.get(0)).unwrap();
    kdf[5..9].copy_from_slice(&memory_kib.to_be_bytes());
    kdf[9..13].copy_from_slice(&iterations.to_be_bytes());
    kdf[13..17].copy_from_slice(&parallelism.to_be_bytes());
    conn.execute("UPDATE store_header SET kdf = ?1", [kdf]).unwrap();
}

#[test]
fn a_header_asking_for_more_than_the_ceiling_is_refused_before_argon2_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    populated(&path);
    // Each over the ceiling in one parameter, cheap to compute if it were run anyway.
    for (m, t, p) in [(8, 11, 1), (72, 1, 9), (8, u32::MAX, 1), (1024 * 1024 + 1, 1, 1), (u32::MAX, 1, 1)] {
        set_kdf_params(&path, m, t, p);
        let before = raw_files(&path);
        let started = std::time::Instant::now();
        assert_eq!(
            open_with(&path, &passphrase("correct horse battery staple")).err(),
            Some(StoreError::KdfAboveCeiling),
            "m = {m} KiB, t = {t}, p = {p}"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "Argon2id did not run");
        assert_eq!(raw_files(&path), before, "the file is untouched");
    }
    // At the ceiling the header is accepted and Argon2id runs: the unwrap then fails, as the
    // parameters are bound into the wrapped key's associated data.
    set_kdf_params(&path, 80, 10, 8);
    assert_eq!(
        open_with(&path, &passphrase("correct horse battery staple")).err(),
        Some(StoreError::WrongKey)
    );
    set_kdf_params(&path, 8, 1, 1);
    assert!(open_with(&path, &passphrase("correct horse battery staple")).is_ok());
}

/// New stores are held to the floor; only tests (with the `low-level` feature) go below it.
#[test]
fn kdf_parameters_below_the_floor_are_refused_for_new_stores() {
    assert_eq!(KdfParams::new(8, 1, 1), Err(StoreError::KdfBelowFloor));
    assert_eq!(KdfParams::new(19 * 1024, 1, 4), Err(StoreError::KdfBelowFloor));
    assert_eq!(KdfParams::new(16 * 1024, 3, 1), Err(StoreError::KdfBelowFloor));
    assert_eq!(KdfParams::new(64 * 1024, 11, 4), Err(StoreError::KdfAboveCeiling));

    // A store at the floor is created, opens, and records the floor in its header.
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let floor = KdfParams::new(19 * 1024, 2, 1).unwrap();
    let source = |text: &str| confidant::store::StoreKeySource::Passphrase {
        passphrase: confidant::store::Passphrase::new(text.into()),
        params: floor,
    };
    drop(SqliteStore::create(&path, &source("at the floor")).unwrap());
    let kdf: Vec<u8> = raw(&path).query_row("SELECT kdf FROM store_header", [], |r| r.get(0)).unwrap();
    assert_eq!(
        kdf[5..17],
        [&(19u32 * 1024).to_be_bytes()[..], &2u32.to_be_bytes(), &1u32.to_be_bytes()].concat()
    );
    let store = open_with(&path, &source("at the floor")).unwrap();

    // Changing the passphrase keeps to the same rules.
    let over = KdfParams::without_floor(2 * 1024 * 1024, 1, 1);
    let source_over = confidant::store::StoreKeySource::Passphrase {
        passphrase: confidant::store::Passphrase::new("p".into()),
        params: over,
    };
    assert_eq!(store.change_passphrase(&source_over), Err(StoreError::KdfAboveCeiling));
    assert_eq!(
        SqliteStore::create(dir.path().join("over.db"), &source_over).err(),
        Some(StoreError::KdfAboveCeiling)
    );
    assert!(!dir.path().join("over.db").exists());
}
