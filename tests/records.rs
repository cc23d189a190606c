//! Export of a conversation: a FHIR R4 Bundle for the record on the clinician's device, the
//! client's own copy and transcript on the client's, each an explicit act in the audit trail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use confidant::content::MessageId;
use confidant::records::transcript::TranscriptFormat;
use confidant::records::Selection;
use confidant::store::{AuditEvent, ExportKind, MemoryStore, StoreError};
use confidant::{AppointmentKind, Category, Draft, Error};
use confidant_support::pair::{pair, Pair, HOUR};
use serde_json::Value;

/// The client checks in, the clinician replies to it, then confirms an appointment. Returns the
/// three message ids.
fn conversation(pair: &mut Pair<MemoryStore>) -> [MessageId; 3] {
    let sent = pair
        .client
        .send(&pair.clinician_id, Draft::new(Category::CheckIn, "Rough day <b>today</b>"))
        .unwrap();
    let check_in = sent.message_id.unwrap();
    pair.advance(60_000);
    pair.deliver_to_clinician(&sent.envelope.unwrap());
    pair.advance(60_000);
    let reply = Draft::new(Category::Administrative, "Thanks for telling me.").reply_to(check_in);
    let sent = pair.clinician.send(&pair.client_id, reply).unwrap();
    let answer = sent.message_id.unwrap();
    pair.deliver_to_client(&sent.envelope.unwrap());
    pair.advance(60_000);
    let confirm = Draft::new(Category::Appointment(AppointmentKind::Confirm), "See you Thursday at 3.");
    let sent = pair.clinician.send(&pair.client_id, confirm).unwrap();
    let confirmation = sent.message_id.unwrap();
    pair.deliver_to_client(&sent.envelope.unwrap());
    [check_in, answer, confirmation]
}

fn hex(id: &MessageId) -> String {
    id.0.iter().map(|b| format!("{b:02x}")).collect()
}

fn entries(bundle: &str) -> Vec<Value> {
    let bundle: Value = serde_json::from_str(bundle).unwrap();
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "collection");
    bundle["entry"].as_array().unwrap().clone()
}

#[test]
fn the_clinicians_export_holds_each_message_with_its_parties_times_category_and_links() {
    let mut pair = pair(11);
    let [check_in, answer, confirmation] = conversation(&mut pair);
    let bundle = pair.clinician.export_record(&pair.client_id, &Selection::All).unwrap();
    let entries = entries(&bundle);
    assert_eq!(entries.len(), 3, "agreement messages are left out");
    let resources: Vec<&Value> = entries.iter().map(|e| &e["resource"]).collect();
    assert_eq!(
        resources.iter().map(|r| r["id"].as_str().unwrap()).collect::<Vec<_>>(),
        vec![hex(&check_in), hex(&answer), hex(&confirmation)]
    );
    let first = resources[0];
    assert_eq!(first["resourceType"], "Communication");
    assert_eq!(first["status"], "completed");
    assert_eq!(first["sender"]["type"], "Patient");
    assert_eq!(first["sender"]["identifier"]["value"], "client-42");
    assert_eq!(first["recipient"][0]["type"], "Practitioner");
    assert_eq!(first["recipient"][0]["identifier"]["value"], "dr-lee");
    assert_eq!(first["subject"]["identifier"]["value"], "client-42");
    assert_eq!(first["sent"], "2026-03-02T15:00:00.000Z");
    assert_eq!(first["received"], "2026-03-02T15:01:00.000Z");
    assert_eq!(first["payload"][0]["contentString"], "Rough day <b>today</b>");
    let coding = &first["category"][0]["coding"][0];
    assert_eq!(coding["system"], "urn:confidant:fhir:message-category");
    assert_eq!(coding["code"], "check-in");
    assert_eq!(first["extension"][0]["url"], "urn:confidant:fhir:agreement-version");
    assert_eq!(first["extension"][0]["valueUnsignedInt"], 1);
    // The reply points to its original's entry; the clinician's own messages have no received time.
    assert_eq!(resources[1]["inResponseTo"][0]["reference"], entries[0]["fullUrl"]);
    assert!(resources[1].get("received").is_none());
    assert_eq!(resources[2]["category"][0]["coding"][0]["code"], "appointment-confirm");
    assert!(resources[2].get("inResponseTo").is_none());
}

#[test]
fn a_selection_exports_only_its_messages_and_a_reply_points_to_an_original_left_out_by_id() {
    let mut pair = pair(12);
    let [check_in, answer, _] = conversation(&mut pair);
    let bundle = pair.clinician.export_record(&pair.client_id, &Selection::Messages(vec![answer])).unwrap();
    let entries = entries(&bundle);
    assert_eq!(entries.len(), 1);
    let link = &entries[0]["resource"]["inResponseTo"][0];
    assert!(link.get("reference").is_none());
    assert_eq!(link["identifier"]["value"], hex(&check_in));
}

#[test]
fn every_export_is_recorded_with_who_and_which_messages() {
    let mut pair = pair(13);
    let ids = conversation(&mut pair);
    let before = pair.clinician.audit_log().unwrap().len();
    pair.clinician.export_record(&pair.client_id, &Selection::All).unwrap();
    let log = pair.clinician.audit_log().unwrap();
    assert_eq!(log.len(), before + 1);
    let entry = log.last().unwrap();
    assert_eq!(
        entry.event,
        AuditEvent::Exported {
            peer: pair.client_id.clone(),
            kind: ExportKind::ClinicalRecord,
            messages: ids.to_vec(),
        }
    );
    assert!(!format!("{log:?}").contains("Rough day"), "the audit trail holds no text");
    // The client's device records its own copy and its transcript.
    pair.client.export_record(&pair.clinician_id, &Selection::All).unwrap();
    pair.client.export_transcript(&pair.clinician_id, &Selection::All, TranscriptFormat::Text).unwrap();
    let kinds: Vec<ExportKind> = pair
        .client
        .audit_log()
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.event {
            AuditEvent::Exported { kind, .. } => Some(kind),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, vec![ExportKind::ClientCopy, ExportKind::Transcript]);
}

#[test]
fn unknown_expired_or_textless_messages_are_refused_and_nothing_is_recorded() {
    let mut pair = pair(14);
    let [_, _, confirmation] = conversation(&mut pair);
    let before = pair.clinician.audit_log().unwrap();
    let unknown = Selection::Messages(vec![MessageId([0xee; 16])]);
    assert_eq!(
        pair.clinician.export_record(&pair.client_id, &unknown).unwrap_err(),
        Error::Store(StoreError::UnknownMessage)
    );
    // The appointment confirmation lives two hours from sending.
    pair.advance(2 * HOUR);
    let expired = Selection::Messages(vec![confirmation]);
    assert_eq!(
        pair.clinician.export_record(&pair.client_id, &expired).unwrap_err(),
        Error::Store(StoreError::UnknownMessage)
    );
    let all = entries(&pair.clinician.export_record(&pair.client_id, &Selection::All).unwrap());
    assert_eq!(all.len(), 2, "an expired message is not exported");
    assert_eq!(pair.clinician.audit_log().unwrap().len(), before.len() + 1);
}

#[test]
fn the_clients_copy_and_transcript_hold_the_conversation_and_nothing_else() {
    let mut pair = pair(15);
    let [check_in, ..] = conversation(&mut pair);
    let copy = entries(&pair.client.export_record(&pair.clinician_id, &Selection::All).unwrap());
    assert_eq!(copy.len(), 3);
    assert_eq!(copy[0]["resource"]["id"], hex(&check_in));
    assert_eq!(copy[0]["resource"]["sender"]["type"], "Patient");
    let text =
        pair.client.export_transcript(&pair.clinician_id, &Selection::All, TranscriptFormat::Text).unwrap();
    assert_eq!(
        &text[..],
        "2026-03-02T15:00:00.000Z  client-42 to dr-lee  (Check in)\n  Rough day <b>today</b>\n\n\
         2026-03-02T15:02:00.000Z  dr-lee to client-42  (Administrative)\n  Thanks for telling me.\n\n\
         2026-03-02T15:03:00.000Z  dr-lee to client-42  (Appointment confirm)\n  See you Thursday at 3.\n\n"
    );
    let html =
        pair.client.export_transcript(&pair.clinician_id, &Selection::All, TranscriptFormat::Html).unwrap();
    assert!(html.contains("Rough day &lt;b&gt;today&lt;/b&gt;"));
    assert!(!html.contains("<b>") && !html.contains(&hex(&check_in)));
}

/// Writes a sample export to the file named by `CONFIDANT_SAMPLE_BUNDLE`, if set (for checking
/// it with an external FHIR validator by hand).
#[test]
fn sample_bundle_for_external_validation() {
    let Ok(path) = std::env::var("CONFIDANT_SAMPLE_BUNDLE") else { return };
    let mut pair = pair(16);
    conversation(&mut pair);
    std::fs::write(path, pair.clinician.export_record(&pair.client_id, &Selection::All).unwrap().as_bytes())
        .unwrap();
}

mod retention {
    use super::*;
    use confidant::agreement::RecordTerms;
    use confidant::store::{SqliteStore, Store};
    use confidant_support::pair::pair_with;
    use confidant_support::store::{contains, create, raw_files};

    const DAY: u64 = 24 * HOUR;

    fn agreed<A: Store, B: Store>(seed: u64, clinician: A, client: B, records: RecordTerms) -> Pair<A, B> {
        let mut pair = pair_with(seed, clinician, client, false);
        let mut terms = pair.terms(1);
        terms.records = records;
        pair.agree(terms);
        pair
    }

    /// The clinician confirms an appointment (a two-hour lifespan); the client receives it.
    fn confirm<A: Store, B: Store>(pair: &mut Pair<A, B>) -> MessageId {
        let draft = Draft::new(Category::Appointment(AppointmentKind::Confirm), "Thursday at 3.");
        let sent = pair.clinician.send(&pair.client_id, draft).unwrap();
        pair.client.receive(&pair.clinician_id, &sent.envelope.unwrap()).unwrap();
        sent.message_id.unwrap()
    }

    fn in_history<A: Store, B: Store>(pair: &Pair<A, B>, id: MessageId) -> (bool, bool) {
        (
            pair.clinician.history(&pair.client_id).unwrap().iter().any(|e| e.id == id),
            pair.client.history(&pair.clinician_id).unwrap().iter().any(|e| e.id == id),
        )
    }

    #[test]
    fn the_clinician_keeps_a_record_copy_for_the_retention_and_the_client_purges_on_the_lifespan() {
        let records = RecordTerms { retention_ms: 30 * DAY, ..RecordTerms::default() };
        let mut pair = agreed(21, MemoryStore::new(), MemoryStore::new(), records);
        let id = confirm(&mut pair);
        let sent_at = pair.clinician.store().message(&id).unwrap().unwrap().at;
        pair.advance(2 * HOUR);
        pair.clinician.purge_expired().unwrap();
        pair.client.purge_expired().unwrap();
        // Neither device shows it as conversation any more; only the clinician keeps a copy.
        assert_eq!(in_history(&pair, id), (false, false));
        assert!(pair.clinician.store().message(&id).unwrap().is_none());
        assert!(pair.client.store().message(&id).unwrap().is_none());
        assert!(pair.client.store().record_copies(&pair.clinician_id).unwrap().is_empty());
        let copies = pair.clinician.store().record_copies(&pair.client_id).unwrap();
        assert_eq!(copies.len(), 1);
        assert_eq!(copies[0].message.id, id);
        assert_eq!(copies[0].retain_until, Some(confidant::Timestamp(sent_at.0 + 30 * DAY)));
        // The record copy is part of the record.
        let bundle = pair.clinician.export_record(&pair.client_id, &Selection::Messages(vec![id])).unwrap();
        assert_eq!(entries(&bundle).len(), 1);
        // At the end of its retention it goes, and the purge is recorded.
        pair.advance(30 * DAY);
        pair.clinician.purge_expired().unwrap();
        assert!(pair.clinician.store().record_copies(&pair.client_id).unwrap().is_empty());
        let last = pair.clinician.audit_log().unwrap().last().unwrap().event.clone();
        assert_eq!(last, AuditEvent::RecordsPurged { messages: 1 });
    }

    #[test]
    fn without_record_terms_nothing_is_kept() {
        let mut pair = agreed(22, MemoryStore::new(), MemoryStore::new(), RecordTerms::default());
        confirm(&mut pair);
        pair.advance(2 * HOUR);
        assert_eq!(pair.clinician.purge_expired().unwrap(), 1);
        assert!(pair.clinician.store().record_copies(&pair.client_id).unwrap().is_empty());
    }

    #[test]
    fn an_export_is_required_before_a_purge_when_the_terms_say_so() {
        let records = RecordTerms { export_required_before_purge: true, ..RecordTerms::default() };
        let mut pair = agreed(23, MemoryStore::new(), MemoryStore::new(), records);
        let exported_first = confirm(&mut pair);
        pair.clinician.export_record(&pair.client_id, &Selection::Messages(vec![exported_first])).unwrap();
        pair.advance(60_000);
        let held = confirm(&mut pair);
        pair.advance(3 * HOUR);
        pair.clinician.purge_expired().unwrap();
        // The exported message went; the other is held, out of the conversation, until exported.
        let copies = pair.clinician.store().record_copies(&pair.client_id).unwrap();
        assert_eq!(
            copies.iter().map(|c| (c.message.id, c.retain_until)).collect::<Vec<_>>(),
            vec![(held, None)]
        );
        assert_eq!(in_history(&pair, held), (false, false));
        pair.advance(365 * DAY);
        pair.clinician.purge_expired().unwrap();
        assert_eq!(pair.clinician.store().record_copies(&pair.client_id).unwrap().len(), 1);
        // The client's device never waits for an export.
        assert!(pair.client.store().message(&held).unwrap().is_some(), "control: not purged yet");
        pair.client.purge_expired().unwrap();
        assert!(pair.client.store().message(&held).unwrap().is_none());
        // Exported, it goes at the next purge.
        pair.clinician.export_record(&pair.client_id, &Selection::All).unwrap();
        pair.clinician.purge_expired().unwrap();
        assert!(pair.clinician.store().record_copies(&pair.client_id).unwrap().is_empty());
    }

    #[test]
    fn a_record_copy_leaves_no_trace_in_the_file_once_its_retention_ended() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clinician.db");
        let records = RecordTerms { retention_ms: DAY, ..RecordTerms::default() };
        let mut pair = agreed(24, create(&path), MemoryStore::new(), records);
        confirm(&mut pair);
        pair.advance(2 * HOUR);
        pair.clinician.purge_expired().unwrap();
        let conn = rusqlite::Connection::open(&path).unwrap();
        let sealed: Vec<u8> = conn.query_row("SELECT value FROM record_copies", [], |r| r.get(0)).unwrap();
        drop(conn);
        let (file, wal) = raw_files(&path);
        assert!(contains(&file, &sealed) || contains(&wal, &sealed), "control: the copy is on disk");
        pair.advance(DAY);
        pair.clinician.purge_expired().unwrap();
        let (file, wal) = raw_files(&path);
        assert!(!contains(&file, &sealed) && !contains(&wal, &sealed));
        let _: &SqliteStore = pair.clinician.store();
    }
}

#[test]
fn a_correction_is_exported_with_a_link_to_the_message_it_corrects_on_both_devices() {
    let mut pair = pair(17);
    let [_, answer, _] = conversation(&mut pair);
    let fix = Draft::new(Category::Administrative, "Thanks for telling me, Sam.").correcting(answer);
    let sent = pair.clinician.send(&pair.client_id, fix).unwrap();
    let correction = sent.message_id.unwrap();
    pair.advance(60_000);
    pair.deliver_to_client(&sent.envelope.unwrap());
    let clinician = pair.clinician.export_record(&pair.client_id, &Selection::All).unwrap();
    let client = pair.client.export_record(&pair.clinician_id, &Selection::All).unwrap();
    for bundle in [clinician, client] {
        let entries = entries(&bundle);
        let resource = entries
            .iter()
            .map(|e| &e["resource"])
            .find(|r| r["id"] == hex(&correction).as_str())
            .expect("the correction is exported");
        let link = resource["extension"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["url"] == "urn:confidant:fhir:corrects")
            .expect("a correction links to its original");
        // The original stays in the record, unchanged (never a silent edit), and the link
        // points to its entry.
        let original = entries.iter().find(|e| e["resource"]["id"] == hex(&answer).as_str()).unwrap();
        assert_eq!(original["resource"]["payload"][0]["contentString"], "Thanks for telling me.");
        assert_eq!(link["valueReference"]["reference"], original["fullUrl"], "{link}");
    }
}
