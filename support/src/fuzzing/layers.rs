//! Fuzz properties of the decoders above the session layer (message content, agreements) and of
//! the store's at-rest format (sealed records, whole store files).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use super::Violation;
use crate::rng::DeterministicRng;
use confidant::agreement::{
    AfterEnd, Closure, CrisisSupport, LocalDate, Notice, PlanMessage, ProposedAgreement,
    Role as AgreementRole, SignedNotice, SignedPlan, Standing, SupportPlan, TermTexts, UnverifiedAgreement,
};
use confidant::consts::CONTENT_BUCKETS;
use confidant::content::{CategoryKind, Content, MessageId, NotDeliveredReason, Receipt, ReceiptKind};
use confidant::expiry::Lifespan;
use confidant::keys::{IdentityKey, IdentityKeyPair};
use confidant::low_level::RecordSealer;
use confidant::policy::notification_preview;
use confidant::store::{
    Direction, Owner, PeerId, SqliteStore, Store, StoreError, StoreKeySource, StoredMessage, WriteBatch,
};
use confidant::{AgreementTerms, AppointmentKind, Availability, Category, Role, Timestamp, Weekday, Window};

/// Any bytes as padded message content: no panic; what decodes re-encodes to a bucket length
/// and decodes to the same content; the notification preview never fails.
pub(super) fn content_decode(data: &[u8]) -> Result<(), Violation> {
    let Ok(content) = Content::decode(data) else { return Ok(()) };
    let encoded = content.encode_padded();
    if !CONTENT_BUCKETS.contains(&encoded.len()) {
        return Err(Violation::new(format!("content: re-encoded to {} bytes, not a bucket", encoded.len())));
    }
    match Content::decode(&encoded) {
        Ok(again) if again == content => {}
        Ok(_) => return Err(Violation::new("content: re-encoding decodes to another value")),
        Err(e) => return Err(Violation::new(format!("content: re-encoding does not decode: {e}"))),
    }
    let _ = notification_preview(None, Role::Client, &content);
    let _ = notification_preview(None, Role::Clinician, &content);
    Ok(())
}

/// A clinician, a client, the agreement the clinician proposed and the one both signed.
struct AgreementFixture {
    clinician: IdentityKey,
    client: IdentityKey,
    proposal: Vec<u8>,
    signed: Vec<u8>,
    /// A support plan both signed, and a notice ending it (protobuf `PlanMessage`s).
    plan_messages: Vec<Vec<u8>>,
}

fn agreement_fixture() -> Result<&'static AgreementFixture, Violation> {
    static FIXTURE: OnceLock<Result<AgreementFixture, Violation>> = OnceLock::new();
    FIXTURE
        .get_or_init(|| {
            let mut rng = DeterministicRng::new(b"confidant fuzz agreement fixture");
            let clinician = IdentityKeyPair::generate(&mut rng);
            let client = IdentityKeyPair::generate(&mut rng);
            let windows = Weekday::ALL[..5].iter().map(|&day| Window::new(day, (9, 0), (17, 0))).collect();
            let availability = Availability::new("America/New_York", windows)
                .map_err(|e| Violation::new(format!("fixture: availability: {e}")))?;
            let mut terms = AgreementTerms::new(
                1,
                clinician.public_key(),
                client.public_key(),
                availability,
                "I reply within one business day.".into(),
                vec!["Call or text 988".into()],
            );
            // Every boundaries term set, so that the seeds hold each field.
            let date =
                |y, m, d| LocalDate::new(y, m, d).map_err(|e| Violation::new(format!("fixture: date: {e}")));
            terms.crisis_support = CrisisSupport::SupportPlanOnly;
            terms.texts = TermTexts {
                crisis_statement: "I don't monitor messages for emergencies.".into(),
                auto_reply: "Automatic reply.".into(),
                outside_hours_notice: "Outside office hours.".into(),
                capped_notice: "That is today's messages.".into(),
                language: "en-US".into(),
            };
            terms.client_messages_per_day = Some(3);
            terms.client_messages_per_week = Some(10);
            terms.after_end = AfterEnd::RetainFor { ms: 86_400_000 };
            terms.closures = vec![Closure {
                first_day: date(2026, 12, 24)?,
                last_day: date(2026, 12, 27)?,
                covering: "Dr. Patel".into(),
            }];
            terms.effective_date = Some(date(2026, 3, 2)?);
            terms.review_date = Some(date(2026, 9, 2)?);
            terms.risk_disclosure = "Messages can be misread.".into();
            let proposal = ProposedAgreement::propose(terms, &clinician, None)
                .map_err(|e| Violation::new(format!("fixture: propose: {e}")))?;
            let proposal_bytes = proposal.to_bytes();
            let signed = proposal
                .accept(&client, None)
                .map_err(|e| Violation::new(format!("fixture: accept: {e}")))?;
            let plan = SupportPlan {
                agreement_version: 1,
                number: 1,
                clinician: clinician.public_key(),
                client: client.public_key(),
                start: Timestamp(1_000),
                end: Timestamp(1_000 + 86_400_000),
                response_time: "Within 4 hours".into(),
                clinician_may_send: vec![CategoryKind::CopingGuidance],
                client_may_send: vec![CategoryKind::Crisis],
                colleague_consulted: "Dr. Okafor".into(),
            };
            let plan = SignedPlan::propose(plan, &clinician)
                .and_then(|p| p.accept(&client))
                .map_err(|e| Violation::new(format!("fixture: plan: {e}")))?;
            let notice = Notice {
                agreement_version: 1,
                plan_number: 1,
                clinician: clinician.public_key(),
                client: client.public_key(),
                ended_by: AgreementRole::Client,
                ended_at: Timestamp(2_000),
            };
            let notice = SignedNotice::sign(notice, &client)
                .map_err(|e| Violation::new(format!("fixture: notice: {e}")))?;
            Ok(AgreementFixture {
                clinician: clinician.public_key(),
                client: client.public_key(),
                proposal: proposal_bytes,
                signed: signed.to_bytes(),
                plan_messages: vec![PlanMessage::Plan(plan).to_bytes(), PlanMessage::End(notice).to_bytes()],
            })
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Any bytes as an agreement: no panic; only canonical bytes decode (they re-encode to
/// themselves); only the genuine proposal and the genuine signed agreement verify against the
/// fixture's parties.
pub(super) fn agreement_decode(data: &[u8]) -> Result<(), Violation> {
    let fixture = agreement_fixture()?;
    plan_decode(data)?;
    let Ok(agreement) = UnverifiedAgreement::from_bytes(data) else { return Ok(()) };
    if agreement.to_bytes() != data {
        return Err(Violation::new("agreement: decoded bytes that are not canonical"));
    }
    if agreement.clone().verify_proposal(&fixture.clinician, &fixture.client).is_ok()
        && data != fixture.proposal
    {
        return Err(Violation::new("agreement: a proposal other than the genuine one verified"));
    }
    if agreement.verify_signed(&fixture.clinician, &fixture.client).is_ok() && data != fixture.signed {
        return Err(Violation::new("agreement: a signed agreement other than the genuine one verified"));
    }
    Ok(())
}

/// The same bytes as the other signed objects of the agreement layer: a support-plan message,
/// a notice, a stored standing. No panic; what decodes re-encodes to itself; only the genuine
/// plan and notice verify.
fn plan_decode(data: &[u8]) -> Result<(), Violation> {
    let fixture = agreement_fixture()?;
    let (clinician, client) = (&fixture.clinician, &fixture.client);
    if let Ok(message) = PlanMessage::from_bytes(data) {
        if message.to_bytes() != data {
            return Err(Violation::new("plan message: decoded bytes that are not canonical"));
        }
        let verified = match &message {
            PlanMessage::Plan(plan) => plan.verify(clinician, client, plan.is_countersigned()).is_ok(),
            PlanMessage::End(notice) => notice.verify(clinician, client).is_ok(),
        };
        if verified && !fixture.plan_messages.iter().any(|genuine| genuine == data) {
            return Err(Violation::new("plan message: a forged plan or notice verified"));
        }
    }
    if let Ok(notice) = SignedNotice::from_bytes(data) {
        if notice.to_bytes() != data {
            return Err(Violation::new("notice: decoded bytes that are not canonical"));
        }
    }
    if let Ok(standing) = Standing::from_bytes(data) {
        if Standing::from_bytes(&standing.to_bytes()).ok().as_ref() != Some(&standing) {
            return Err(Violation::new("standing: re-encoding decodes to another value"));
        }
    }
    Ok(())
}

/// Seeds: the genuine proposal and signed agreement, and message contents of several kinds.
pub(super) fn agreement_seeds() -> Result<Vec<Vec<u8>>, Violation> {
    let fixture = agreement_fixture()?;
    let mut truncated = fixture.signed.clone();
    truncated.truncate(truncated.len() / 2);
    let mut seeds = vec![fixture.proposal.clone(), fixture.signed.clone(), truncated, vec![1]];
    seeds.extend(fixture.plan_messages.iter().cloned());
    Ok(seeds)
}

pub(super) fn content_seeds() -> Result<Vec<Vec<u8>>, Violation> {
    let fixture = agreement_fixture()?;
    let agreement = UnverifiedAgreement::from_bytes(&fixture.signed)
        .map_err(|e| Violation::new(format!("fixture: agreement: {e}")))?;
    let mut rng = DeterministicRng::new(b"confidant fuzz content seeds");
    let kinds = [
        (Category::Appointment(AppointmentKind::Confirm), "See you Thursday at 3pm".to_owned(), 1),
        (Category::Crisis, "I need help".to_owned(), 1),
        (Category::Agreement(Box::new(agreement)), String::new(), 0),
        (Category::CheckIn, "x".repeat(2000), 1),
        (Category::Withdrawal(MessageId([7; 16])), String::new(), 1),
        (Category::CopingGuidance, "Breathe in for four counts".to_owned(), 1),
    ];
    let mut kinds = kinds.to_vec();
    for bytes in &fixture.plan_messages {
        let message = PlanMessage::from_bytes(bytes)
            .map_err(|e| Violation::new(format!("fixture: plan message: {e}")))?;
        if let PlanMessage::End(notice) = &message {
            kinds.push((Category::EndNotice(Box::new(notice.clone())), String::new(), 1));
        }
        kinds.push((Category::SupportPlan(Box::new(message)), String::new(), 1));
    }
    let mut seeds = Vec::new();
    for (category, text, version) in kinds {
        let content = Content::new(
            MessageId::random(&mut rng),
            category,
            text,
            Timestamp(1_000),
            Lifespan::DEFAULT,
            version,
        )
        .map_err(|e| Violation::new(format!("fixture: content: {e}")))?;
        seeds.push(content.encode_padded().to_vec());
    }
    // A numbered correction asking for an acknowledgement, and the receipts and notices.
    let invalid = |e: confidant::content::ContentError| Violation::new(format!("fixture: content: {e}"));
    let numbered = Content::new(
        MessageId::random(&mut rng),
        Category::CheckIn,
        "corrected".to_owned(),
        Timestamp(2_000),
        Lifespan::DEFAULT,
        1,
    )
    .and_then(|c| c.with_sequence(42))
    .and_then(Content::requesting_acknowledgement)
    .and_then(|c| c.correcting(MessageId([3; 16])))
    .map_err(invalid)?;
    seeds.push(numbered.encode_padded().to_vec());
    for kind in [
        ReceiptKind::Acknowledged,
        ReceiptKind::NotDelivered(NotDeliveredReason::WrongAgreementVersion),
        ReceiptKind::Recall,
        ReceiptKind::RecalledUnread,
        ReceiptKind::RecalledAfterRead,
    ] {
        let receipt = Category::Receipt(Receipt { kind, message_ids: vec![MessageId([5; 16])] });
        let content = Content::new(
            MessageId::random(&mut rng),
            receipt,
            String::new(),
            Timestamp(3_000),
            Lifespan::DEFAULT,
            1,
        )
        .map_err(invalid)?;
        seeds.push(content.encode_padded().to_vec());
    }
    seeds.push(vec![1; 256]);
    Ok(seeds)
}

/// The tables of the store, in the order the first input byte selects them.
const TABLES: [&str; 22] = [
    "identity",
    "signed_prekeys",
    "one_time_prekeys",
    "kem_prekeys",
    "peers",
    "sessions",
    "agreements",
    "messages",
    "owner",
    "auto_replies",
    "generation",
    "audit",
    "audit_head",
    "record_copies",
    "colleagues",
    "boundaries",
    "conversations",
    "prekey_schedule",
    "last_resort_handshakes",
    "repairs",
    "device_lists",
    "own_devices",
];
/// The clear columns every fuzzed record is opened with.
const ROW: &[u8] = b"fuzzed row";
const FIXTURE_KEY: [u8; 32] = [0x5a; 32];

fn record_keys() -> &'static RecordSealer {
    static KEYS: OnceLock<RecordSealer> = OnceLock::new();
    KEYS.get_or_init(|| RecordSealer::new(FIXTURE_KEY))
}

/// Any bytes as a sealed record of any table (first byte even), or as a whole store file (first
/// byte odd): no panic; a record that does not authenticate is `Corrupt` naming its table; a file
/// that is not a valid store opened with the fixture key is refused with a typed error, and a
/// valid one can be read in full.
pub(super) fn store_record(data: &[u8]) -> Result<(), Violation> {
    let Some((&mode, rest)) = data.split_first() else { return Ok(()) };
    if mode % 2 == 0 {
        let Some((&table, sealed)) = rest.split_first() else { return Ok(()) };
        let table = TABLES[usize::from(table) % TABLES.len()];
        return match record_keys().open(table, &[ROW], sealed) {
            Ok(plaintext) if plaintext.as_slice() == genuine_plaintext(table) => Ok(()),
            Ok(_) => Err(Violation::new(format!("store: a forged record of {table} opened"))),
            Err(StoreError::Corrupt { table: named }) if named == table => Ok(()),
            Err(e) => Err(Violation::new(format!("store: record of {table} failed with {e:?}"))),
        };
    }
    store_file(rest).map(|_| ())
}

fn genuine_plaintext(table: &str) -> Vec<u8> {
    format!("genuine record of {table}").into_bytes()
}

fn store_file(bytes: &[u8]) -> Result<bool, Violation> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("confidant-fuzz-{}-{n}.db", std::process::id()));
    let result = std::fs::write(&path, bytes)
        .map_err(|e| Violation::new(format!("store: cannot write a scratch file: {e}")))
        .and_then(|()| read_store_file(&path));
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(std::path::Path::new(&name));
    }
    result
}

/// Opens the file with the fixture key and reads it; whether it opened.
fn read_store_file(path: &std::path::Path) -> Result<bool, Violation> {
    let Ok(store) = SqliteStore::open(path, &StoreKeySource::key(FIXTURE_KEY)) else {
        return Ok(false);
    };
    // A file that opened: every read either works or reports a typed error.
    let _ = store.owner();
    let _ = store.local_identity();
    let _ = store.peers();
    if let Ok(peer) = PeerId::new("fuzz peer") {
        let _ = store.session(&peer);
        let _ = store.messages(&peer);
        let _ = store.agreement(&peer);
    }
    let _ = store.generation();
    let _ = store.purge_expired(Timestamp(u64::from(u32::MAX)));
    Ok(true)
}

/// Seeds: genuine records of every table, a forged one, and a small genuine store file.
pub(super) fn store_record_seeds() -> Result<Vec<Vec<u8>>, Violation> {
    let mut rng = DeterministicRng::new(b"confidant fuzz store seeds");
    let mut seeds = Vec::new();
    for (i, table) in TABLES.iter().enumerate() {
        let sealed = record_keys()
            .seal(&mut rng, table, &[ROW], &genuine_plaintext(table))
            .map_err(|e| Violation::new(format!("fixture: seal: {e}")))?;
        let mut seed = vec![0, u8::try_from(i).unwrap_or(0)];
        seed.extend_from_slice(&sealed);
        seeds.push(seed);
    }
    let mut moved = seeds[5].clone();
    moved[1] = 7;
    seeds.push(moved);
    seeds.push(small_store_file()?);
    Ok(seeds)
}

fn small_store_file() -> Result<Vec<u8>, Violation> {
    let fail = |e: StoreError| Violation::new(format!("fixture: store: {e}"));
    let dir = std::env::temp_dir().join(format!("confidant-fuzz-seed-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("seed.db");
    let _ = std::fs::remove_file(&path);
    // The store draws its key and nonces from the operating system, so this seed differs from
    // run to run; it opens with the fixture key all the same.
    let store = SqliteStore::create(&path, &StoreKeySource::key(FIXTURE_KEY)).map_err(fail)?;
    store.set_owner(&Owner::new(Role::Clinician, "fuzz owner").map_err(fail)?).map_err(fail)?;
    let peer = PeerId::new("fuzz peer").map_err(fail)?;
    let mut batch = WriteBatch::new();
    batch.put_session(&peer, None, b"session state").map_err(fail)?;
    batch
        .put_message(StoredMessage {
            id: MessageId([7; 16]),
            peer,
            direction: Direction::Inbound,
            at: Timestamp(1),
            expires_at: Some(Timestamp(2)),
            read_at: None,
            body: b"message body".to_vec().into(),
        })
        .map_err(fail)?;
    store.apply(batch).map_err(fail)?;
    drop(store);
    let bytes = std::fs::read(&path).map_err(|e| Violation::new(format!("fixture: read store: {e}")));
    let _ = std::fs::remove_dir_all(&dir);
    let mut seed = vec![1];
    seed.extend(bytes?);
    if !store_file(&seed[1..])? {
        return Err(Violation::new("fixture: the genuine store file does not open"));
    }
    Ok(seed)
}
