//! Purging expired messages through the endpoint leaves nothing on disk: neither the sealed
//! records of the expired messages nor their text is in the database file or its write-ahead log.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use confidant_support::pair as endpoint_common;

use std::collections::HashSet;
use std::path::Path;

use confidant::store::{MemoryStore, SqliteStore, StoreKeySource};
use confidant::{AppointmentKind, Category, Draft, Received};
use endpoint_common::{pair_with, HOUR};

/// Every file of the store: the database and its write-ahead log.
fn raw_bytes(path: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(path).unwrap();
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    if let Ok(more) = std::fs::read(Path::new(&wal)) {
        bytes.extend(more);
    }
    bytes
}

/// The sealed message records as they are in the file, read with a separate connection.
fn sealed_messages(path: &Path) -> Vec<Vec<u8>> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn.prepare("SELECT value FROM messages").unwrap();
    stmt.query_map([], |row| row.get(0)).unwrap().map(Result::unwrap).collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn purged_messages_leave_no_sealed_bytes_and_no_text_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clinician.db");
    let store = SqliteStore::create(&path, &StoreKeySource::key([3; 32])).unwrap();
    let mut pair = pair_with(31, store, MemoryStore::new(), true);
    let before_messages: HashSet<Vec<u8>> = sealed_messages(&path).into_iter().collect();

    // Confirmations live two hours from sending (the test agreement's terms).
    let texts: Vec<String> =
        (0..5).map(|i| format!("CONFIRMED appointment number {i} at the Elm St clinic")).collect();
    for text in &texts {
        let draft = Draft::new(Category::Appointment(AppointmentKind::Confirm), text.clone());
        let sent = pair.client.send(&pair.clinician_id, draft).unwrap();
        assert!(matches!(pair.deliver_to_clinician(&sent.envelope.unwrap()).received, Received::Message(_)));
    }
    let expiring: Vec<Vec<u8>> =
        sealed_messages(&path).into_iter().filter(|value| !before_messages.contains(value)).collect();
    assert_eq!(expiring.len(), texts.len());
    let bytes = raw_bytes(&path);
    assert!(
        expiring.iter().all(|value| contains(&bytes, &value[..32])),
        "the sealed records are in the file"
    );
    assert!(texts.iter().all(|text| !contains(&bytes, text.as_bytes())), "text is never in the file");

    pair.advance(3 * HOUR);
    assert_eq!(pair.clinician.purge_expired().unwrap(), texts.len());

    let bytes = raw_bytes(&path);
    for value in &expiring {
        // A record may be split over pages: no 32-byte piece of it may remain anywhere.
        for piece in value.chunks_exact(32) {
            assert!(!contains(&bytes, piece), "a piece of a purged record is still on disk");
        }
    }
    assert!(texts.iter().all(|text| !contains(&bytes, text.as_bytes())));
    assert!(pair.clinician.history(&pair.client_id).unwrap().iter().all(|e| !e.text.contains("CONFIRMED")));
}
