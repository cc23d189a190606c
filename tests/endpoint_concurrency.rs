//! Two endpoints of one device over one store file (an app and its notification extension, in
//! two processes: two connections) sending on the same session at the same time. Each send loads
//! the session, encrypts, and saves the next state naming the version it loaded, so one of two
//! sends that loaded the same state fails with `StoreError::Conflict` instead of saving a second
//! state derived from it: no message key is used twice, and every envelope that was handed out
//! decrypts at the peer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use confidant_support::pair as endpoint_common;

use confidant::store::{MemoryStore, SqliteStore, StoreError, StoreKeySource};
use confidant::{AppointmentKind, Category, Draft, Endpoint, Error, ManualClock, Received, Role};
use endpoint_common::{pair_with, MONDAY_10AM_NY};

const SENDS: usize = 12;

fn key() -> StoreKeySource {
    StoreKeySource::key([4; 32])
}

#[test]
fn two_endpoints_on_one_store_file_never_send_with_the_same_message_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clinician.db");
    let store = SqliteStore::create(&path, &key()).unwrap();
    let pair = pair_with(61, store, MemoryStore::new(), true);
    let client_id = pair.client_id.clone();

    // The app's endpoint (the pair's clinician) and the extension's, each with its connection.
    let app = pair.clinician;
    let extension = Endpoint::new(
        SqliteStore::open(&path, &key()).unwrap(),
        ManualClock::new(MONDAY_10AM_NY),
        Role::Clinician,
        "dr-lee",
    )
    .unwrap();
    assert_eq!(app.identity_key(), extension.identity_key());

    let sender = |endpoint: Endpoint<SqliteStore, ManualClock>, seed: u64| {
        let client_id = client_id.clone();
        std::thread::spawn(move || {
            let (mut envelopes, mut conflicts) = (Vec::new(), 0);
            while envelopes.len() < SENDS {
                let draft = Draft::new(
                    Category::Appointment(AppointmentKind::Confirm),
                    format!("confirmation {seed}-{}", envelopes.len()),
                );
                match endpoint.send(&client_id, draft) {
                    Ok(sent) => envelopes.push(sent.envelope.unwrap()),
                    Err(Error::Store(StoreError::Conflict)) => conflicts += 1,
                    Err(other) => panic!("{other:?}"),
                }
            }
            (envelopes, conflicts)
        })
    };
    let (app_thread, extension_thread) = (sender(app, 1), sender(extension, 2));
    let (app_sent, app_conflicts) = app_thread.join().unwrap();
    let (extension_sent, extension_conflicts) = extension_thread.join().unwrap();
    eprintln!("conflicts: app {app_conflicts}, extension {extension_conflicts}");

    // Every envelope handed out decrypts: none reused a message key another one used.
    for envelope in app_sent.iter().chain(&extension_sent) {
        let incoming = pair.client.receive(&pair.clinician_id, envelope).unwrap();
        assert!(matches!(incoming.received, Received::Message(_)), "{:?}", incoming.received);
    }
    let texts = pair.client.history(&pair.clinician_id).unwrap();
    assert_eq!(texts.iter().filter(|e| e.text.starts_with("confirmation")).count(), 2 * SENDS);
}
