//! A store file replaced by an older copy of itself (PROTOCOL.md, section 11, "Rollback"): with a
//! rollback counter the endpoint refuses to open it, so that it never sends again with a message
//! key it already used; without one it is not detected; a counter that falls behind after a crash
//! catches up; and recovery deletes the sessions so that new ones can be started.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use confidant::session::{Envelope, Header, SessionError};
use confidant::store::{
    MemoryStore, PeerId, SqliteOptions, SqliteStore, Store, StoreError, StoreKeySource, StoredMessage,
};
use confidant::{
    AppointmentKind, Category, Draft, Endpoint, EndpointError, Error, ManualClock, Received, Role,
};
use confidant_support::pair::{pair_with, Pair, MONDAY_10AM_NY};
use confidant_support::store::{copy_file, restore_file, TestCounter};

fn key() -> StoreKeySource {
    StoreKeySource::key([7; 32])
}

fn note(text: &str) -> Draft {
    Draft::new(Category::Administrative, text)
}

/// The ratchet header of an envelope: the sending chain (`dh`) and the message's place in it
/// (`n`), which together determine its message key and nonce.
fn header(envelope: &[u8]) -> Header {
    *Envelope::from_bytes(envelope).unwrap().ratchet_message().header()
}

/// A clinician whose store is the file at `path` (closed between uses, as an app that is quit
/// and started again), and a client in memory, with an agreement in force.
struct Conversation {
    _dir: tempfile::TempDir,
    path: PathBuf,
    copy: PathBuf,
    client: Endpoint<MemoryStore, ManualClock>,
    client_id: PeerId,
    clinician_id: PeerId,
}

impl Conversation {
    fn new(seed: u64, options: SqliteOptions) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clinician.db");
        // The copy is kept outside the store's directory, as an attacker's would be.
        let copy = dir.path().join("elsewhere").join("clinician.db");
        std::fs::create_dir(copy.parent().unwrap()).unwrap();
        let store = SqliteStore::create_with(&path, &key(), options).unwrap();
        let Pair { clinician, client, client_id, clinician_id, .. } =
            pair_with(seed, store, MemoryStore::new(), true);
        let c = Self { _dir: dir, path, copy, client, client_id, clinician_id };
        // The clinician's sending chain is in use: its next message derives its key from the
        // stored chain key (the first message after a reply would draw a new ratchet key).
        c.exchange(&clinician, "Welcome; here is how this works.");
        drop(clinician);
        c
    }

    /// The clinician's endpoint over its store file, opened with `options`.
    fn clinician(&self, options: SqliteOptions) -> Result<Endpoint<SqliteStore, ManualClock>, Error> {
        let store = SqliteStore::open_with(&self.path, &key(), options)?;
        Endpoint::new(store, ManualClock::new(MONDAY_10AM_NY), Role::Clinician, "dr-lee")
    }

    /// The clinician sends `text`; the client receives it. Returns the envelope.
    fn exchange(&self, clinician: &Endpoint<SqliteStore, ManualClock>, text: &str) -> Vec<u8> {
        let envelope = clinician.send(&self.client_id, note(text)).unwrap().envelope.unwrap();
        let incoming = self.client.receive(&self.clinician_id, &envelope).unwrap();
        assert!(matches!(incoming.received, Received::Message(_)));
        envelope
    }

    fn messages(&self, clinician: &Endpoint<SqliteStore, ManualClock>) -> Vec<StoredMessage> {
        clinician.store().messages(&self.client_id).unwrap()
    }
}

#[test]
fn a_rolled_back_store_file_is_refused_before_anything_is_sent() {
    let counter = TestCounter::new();
    let c = Conversation::new(1, counter.options());
    copy_file(&c.path, &c.copy);

    // The clinician sends after the copy was taken.
    let clinician = c.clinician(counter.options()).unwrap();
    c.exchange(&clinician, "The intake form is attached.");
    let generation = clinician.store().generation().unwrap();
    drop(clinician);
    assert_eq!(counter.value(), Some(generation), "the counter follows every session write");

    // The file is put back as it was before that send: its session would send with the same
    // message key again. The open is refused, nothing is sent, and the file is not modified.
    restore_file(&c.copy, &c.path);
    let restored = std::fs::read(&c.path).unwrap();
    let rolled_back = StoreError::RolledBack { file: generation - 1, counter: generation };
    let err = Endpoint::open_with(&c.path, &key(), Role::Clinician, "dr-lee", counter.options()).unwrap_err();
    assert_eq!(err, Error::Store(rolled_back.clone()));
    assert_eq!(c.clinician(counter.options()).unwrap_err(), Error::Store(rolled_back));
    assert_eq!(std::fs::read(&c.path).unwrap(), restored, "a refused open changed the file");
    assert_eq!(counter.value(), Some(generation), "a refused open does not lower the counter");
}

#[test]
fn a_generation_put_back_while_the_store_is_open_fails_the_send_with_no_envelope() {
    let counter = TestCounter::new();
    let c = Conversation::new(2, counter.options());
    let clinician = c.clinician(counter.options()).unwrap();
    let raw = rusqlite::Connection::open(&c.path).unwrap();
    let old: Vec<u8> = raw.query_row("SELECT value FROM generation", [], |r| r.get(0)).unwrap();
    c.exchange(&clinician, "The intake form is attached.");

    // Someone with write access puts the older generation record back under the running app.
    raw.execute("UPDATE generation SET value = ?1", [&old]).unwrap();
    let session = clinician.store().session(&c.client_id).unwrap().unwrap();
    let messages = c.messages(&clinician);
    let err = clinician.send(&c.client_id, note("Second form")).unwrap_err();
    assert!(matches!(err, Error::Store(StoreError::RolledBack { .. })), "{err:?}");
    assert_eq!(clinician.store().session(&c.client_id).unwrap().unwrap(), session, "nothing was written");
    assert_eq!(c.messages(&clinician), messages);
}

/// The limit, written down: without a counter the rolled-back file opens, and its session sends
/// again from the place in its chain that it already used.
#[test]
fn without_a_counter_a_rolled_back_file_is_not_detected_and_reuses_a_message_key() {
    let c = Conversation::new(3, SqliteOptions::default());
    copy_file(&c.path, &c.copy);
    let clinician = c.clinician(SqliteOptions::default()).unwrap();
    let first = c.exchange(&clinician, "The intake form is attached.");
    drop(clinician);

    restore_file(&c.copy, &c.path);
    drop(Endpoint::open(&c.path, &key(), Role::Clinician, "dr-lee").unwrap());
    let clinician = c.clinician(SqliteOptions::default()).unwrap();
    let second = clinician.send(&c.client_id, note("Please bring your insurance card.")).unwrap();
    let second = second.envelope.unwrap();
    // The same chain and the same message number: the same ChaCha20-Poly1305 key and nonce over
    // another plaintext. The client, which already used that key, takes it for a replay.
    assert_eq!(header(&second), header(&first));
    assert_ne!(second, first);
    let err = c.client.receive(&c.clinician_id, &second).unwrap_err();
    assert_eq!(err, Error::Session(SessionError::Duplicate));
}

#[test]
fn a_counter_left_behind_by_a_crash_catches_up_at_the_next_open() {
    let counter = TestCounter::new();
    let c = Conversation::new(4, counter.options());
    let clinician = c.clinician(counter.options()).unwrap();

    // The write commits, then the process dies before the counter is advanced.
    counter.fail_advances(1);
    c.exchange(&clinician, "The intake form is attached.");
    let generation = clinician.store().generation().unwrap();
    assert_eq!(counter.value(), Some(generation - 1), "the advance failed; the send did not");
    drop(clinician);

    // The file is ahead of the counter: it opens, and the counter catches up.
    let clinician = c.clinician(counter.options()).unwrap();
    assert_eq!(counter.value(), Some(generation));
    c.exchange(&clinician, "Please bring your insurance card.");
    assert_eq!(counter.value(), Some(generation + 1));
}

#[test]
fn recovery_deletes_the_sessions_keeps_the_rest_and_a_new_session_works() {
    let counter = TestCounter::new();
    let c = Conversation::new(5, counter.options());
    let clinician = c.clinician(counter.options()).unwrap();
    let identity = clinician.identity_key();
    let kept = c.messages(&clinician);
    let agreement = clinician.store().agreement(&c.client_id).unwrap().unwrap();
    drop(clinician);
    copy_file(&c.path, &c.copy);
    let clinician = c.clinician(counter.options()).unwrap();
    c.exchange(&clinician, "The intake form is attached.");
    let rolled_back_at = clinician.store().generation().unwrap();
    drop(clinician);
    restore_file(&c.copy, &c.path);
    let spare_copy = c.copy.with_file_name("spare.db");
    copy_file(&c.copy, &spare_copy);
    assert!(matches!(c.clinician(counter.options()), Err(Error::Store(StoreError::RolledBack { .. }))));

    // Recovery, for the store's owner only.
    let err = Endpoint::recover_from_rollback(&c.path, &key(), Role::Client, "dr-lee", counter.options())
        .unwrap_err();
    assert_eq!(err, Error::Store(StoreError::OwnerMismatch));
    let recovered =
        Endpoint::recover_from_rollback(&c.path, &key(), Role::Clinician, "dr-lee", counter.options())
            .unwrap();
    assert_eq!(recovered.identity_key(), identity);
    let generation = recovered.store().generation().unwrap();
    assert!(generation > rolled_back_at, "the file's generation is raised above the counter");
    assert_eq!(counter.value(), Some(generation));
    drop(recovered);

    // The sessions and prekeys are gone; messages, agreement, peer and identity are kept.
    let clinician = c.clinician(counter.options()).unwrap();
    assert_eq!(clinician.identity_key(), identity);
    assert_eq!(clinician.store().session(&c.client_id).unwrap(), None);
    assert_eq!(clinician.store().one_time_prekey_count().unwrap(), 0);
    assert_eq!(c.messages(&clinician), kept);
    assert_eq!(clinician.store().agreement(&c.client_id).unwrap(), Some(agreement));
    assert!(clinician.agreement(&c.client_id).unwrap().is_some(), "the agreement still verifies");
    assert_eq!(clinician.store().peers().unwrap().len(), 1);
    let err = clinician.send(&c.client_id, note("Anything")).unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::NoSession));

    // The counter is respected: the old copy stays refused, the recovered file opens.
    let err = SqliteStore::open_with(&spare_copy, &key(), counter.options()).unwrap_err();
    assert!(matches!(err, StoreError::RolledBack { .. }), "{err:?}");

    // A new session from a fresh bundle of the client, in both directions. The client keeps the
    // new session behind the one it has received on until a second message arrives on it
    // (PROTOCOL.md, section 12, rules 3 and 4); a reply before that would go on the old session,
    // which the clinician no longer has.
    let bundle = c.client.prekey_bundle().unwrap();
    clinician.start_session(&c.client_id, &bundle).unwrap();
    c.exchange(&clinician, "Starting over: the intake form again.");
    c.exchange(&clinician, "And the consent form.");
    let confirm = Draft::new(Category::Appointment(AppointmentKind::Confirm), "Thursday at 3pm works");
    let reply = c.client.send(&c.clinician_id, confirm).unwrap().envelope.unwrap();
    let incoming = clinician.receive(&c.client_id, &reply).unwrap();
    assert!(matches!(incoming.received, Received::Message(_)));
    assert_eq!(counter.value(), Some(clinician.store().generation().unwrap()));
}

#[test]
fn open_without_options_keeps_working_and_open_with_creates_a_store_at_the_counter() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("client.db");
    drop(Endpoint::open(&path, &key(), Role::Client, "sam").unwrap());
    assert!(Endpoint::open(&path, &key(), Role::Client, "sam").is_ok());

    // A counter left over from an earlier store at another path: the new store starts there.
    let counter = TestCounter::new();
    counter.set(40);
    let other: &Path = &dir.path().join("client-2.db");
    let endpoint = Endpoint::open_with(other, &key(), Role::Client, "sam", counter.options()).unwrap();
    assert_eq!(endpoint.store().generation().unwrap(), 40);
    drop(endpoint);
    assert!(Endpoint::open_with(other, &key(), Role::Client, "sam", counter.options()).is_ok());
}
