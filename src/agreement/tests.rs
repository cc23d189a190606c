//! Tampering with each field of signed terms.

use prost::Message;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::canonical::proto;
use super::*;
use crate::category::CategoryKind;
use crate::consts::AGREEMENT_FORMAT_VERSION;
use crate::expiry::{ExpiryStart, Lifespan};
use crate::keys::IdentityKeyPair;

fn parties() -> (IdentityKeyPair, IdentityKeyPair) {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    (IdentityKeyPair::generate(&mut rng), IdentityKeyPair::generate(&mut rng))
}

fn terms(clinician: &IdentityKeyPair, client: &IdentityKeyPair) -> AgreementTerms {
    let weekdays = [Weekday::Monday, Weekday::Wednesday].map(|d| Window::new(d, (9, 0), (17, 0)));
    let mut terms = AgreementTerms::new(
        1,
        clinician.public_key(),
        client.public_key(),
        Availability::new("America/New_York", weekdays.to_vec()).unwrap(),
        "Within one business day".to_owned(),
        vec!["Call or text 988 (Suicide & Crisis Lifeline)".to_owned()],
    );
    terms.lifespans.insert(CategoryKind::CheckIn, Lifespan::new(86_400_000, ExpiryStart::FromRead).unwrap());
    terms.crisis_support = CrisisSupport::OfficeHours;
    terms.texts = TermTexts {
        crisis_statement: "I don't monitor messages for emergencies.".to_owned(),
        auto_reply: "Automatic reply.".to_owned(),
        outside_hours_notice: "Outside office hours.".to_owned(),
        capped_notice: "That is today's messages.".to_owned(),
        language: "en-US".to_owned(),
    };
    terms.client_messages_per_day = Some(3);
    terms.client_messages_per_week = Some(10);
    terms.after_end = AfterEnd::RetainFor { ms: 86_400_000 };
    terms.closures = vec![Closure {
        first_day: LocalDate::new(2026, 12, 24).unwrap(),
        last_day: LocalDate::new(2026, 12, 27).unwrap(),
        covering: "Dr. Patel".to_owned(),
    }];
    terms.effective_date = Some(LocalDate::new(2026, 3, 2).unwrap());
    terms.review_date = Some(LocalDate::new(2026, 9, 2).unwrap());
    terms.risk_disclosure = "Messages can be misread and are not for emergencies.".to_owned();
    terms
}

/// Every way to change one field of the terms while keeping them valid and canonical.
type Tampering = fn(&mut proto::Terms);

fn tamperings() -> Vec<(&'static str, Tampering)> {
    vec![
        ("version", |t| t.version += 1),
        ("clinician categories", |t| {
            t.clinician_may_send.push(CategoryKind::CheckIn.to_wire());
            t.clinician_may_send.sort();
        }),
        ("client categories", |t| t.client_may_send.push(CategoryKind::Administrative.to_wire())),
        ("time zone", |t| t.availability.as_mut().unwrap().time_zone = "Europe/Paris".to_owned()),
        ("window day", |t| t.availability.as_mut().unwrap().windows[1].day = 5),
        ("window start", |t| t.availability.as_mut().unwrap().windows[0].start_minute = 8 * 60),
        ("window end", |t| t.availability.as_mut().unwrap().windows[0].end_minute = 22 * 60),
        ("response time", |t| t.response_time = "Within the hour".to_owned()),
        ("crisis resources", |t| t.crisis_resources[0] = "Call 555 0100".to_owned()),
        ("lifespan duration", |t| t.lifespans[0].duration_ms *= 2),
        ("lifespan start", |t| t.lifespans[0].start = 1),
        ("max message length", |t| t.max_message_chars += 1),
        ("receipts", |t| t.receipts_enabled = !t.receipts_enabled),
        ("auto-reply window", |t| t.auto_reply_window_ms += 60_000),
        ("crisis support", |t| t.crisis_support = 2),
        ("crisis statement", |t| t.crisis_statement.push('!')),
        ("auto-reply text", |t| t.auto_reply_text.push('!')),
        ("outside-hours notice", |t| t.outside_hours_notice.push('!')),
        ("capped notice", |t| t.capped_notice.push('!')),
        ("language", |t| t.language = "fr-CA".to_owned()),
        ("daily cap", |t| t.client_messages_per_day += 1),
        ("weekly cap", |t| t.client_messages_per_week += 1),
        ("retention after end", |t| t.retention_after_end_ms += 1),
        ("closure first day", |t| t.closures[0].first_day = "2026-12-23".to_owned()),
        ("closure last day", |t| t.closures[0].last_day = "2026-12-28".to_owned()),
        ("closure covering", |t| t.closures[0].covering = "Nobody".to_owned()),
        ("effective date", |t| t.effective_date = "2026-03-03".to_owned()),
        ("review date", |t| t.review_date = "2026-09-03".to_owned()),
        ("risk disclosure", |t| t.risk_disclosure.push('!')),
        ("named notifications", |t| t.named_notifications = !t.named_notifications),
    ]
}

fn rewrap(signed: &[u8], edit: impl FnOnce(&mut proto::SignedAgreement)) -> Vec<u8> {
    let mut outer = proto::SignedAgreement::decode(&signed[1..]).unwrap();
    edit(&mut outer);
    let mut bytes = vec![AGREEMENT_FORMAT_VERSION];
    bytes.extend(outer.encode_to_vec());
    bytes
}

#[test]
fn every_tampered_field_is_refused() {
    let (clinician, client) = parties();
    let signed = ProposedAgreement::propose(terms(&clinician, &client), &clinician, None)
        .unwrap()
        .accept(&client, None)
        .unwrap()
        .to_bytes();
    for (field, tamper) in tamperings() {
        let tampered = rewrap(&signed, |outer| {
            let mut inner = proto::Terms::decode(outer.terms.as_slice()).unwrap();
            tamper(&mut inner);
            outer.terms = inner.encode_to_vec();
        });
        // The tampered terms are themselves well-formed: only the signatures betray them.
        let unverified =
            UnverifiedAgreement::from_bytes(&tampered).unwrap_or_else(|e| panic!("{field}: {e:?}"));
        assert_eq!(
            unverified.verify_signed(&clinician.public_key(), &client.public_key()).unwrap_err(),
            AgreementError::BadSignature(Role::Clinician),
            "{field}"
        );
    }
}

#[test]
fn replacing_an_identity_is_refused() {
    let (clinician, client) = parties();
    let mallory = IdentityKeyPair::generate(&mut ChaCha20Rng::seed_from_u64(99));
    let signed = ProposedAgreement::propose(terms(&clinician, &client), &clinician, None)
        .unwrap()
        .accept(&client, None)
        .unwrap()
        .to_bytes();
    for role in [Role::Clinician, Role::Client] {
        let tampered = rewrap(&signed, |outer| {
            let mut inner = proto::Terms::decode(outer.terms.as_slice()).unwrap();
            match role {
                Role::Clinician => inner.clinician_identity = mallory.public_key().to_bytes().to_vec(),
                Role::Client => inner.client_identity = mallory.public_key().to_bytes().to_vec(),
            }
            outer.terms = inner.encode_to_vec();
        });
        let err = SignedAgreement::from_bytes(&tampered, &clinician.public_key(), &client.public_key())
            .unwrap_err();
        assert_eq!(err, AgreementError::WrongSigner(role));
    }
}

proptest::proptest! {
    #[test]
    fn decoding_random_bytes_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
        let _ = UnverifiedAgreement::from_bytes(&bytes);
        let mut versioned = vec![AGREEMENT_FORMAT_VERSION];
        versioned.extend_from_slice(&bytes);
        let _ = UnverifiedAgreement::from_bytes(&versioned);
    }
}

#[test]
fn every_term_round_trips_through_the_canonical_encoding() {
    let (clinician, client) = parties();
    let proposed = ProposedAgreement::propose(terms(&clinician, &client), &clinician, None).unwrap();
    let signed = proposed.accept(&client, None).unwrap();
    let again =
        SignedAgreement::from_bytes(&signed.to_bytes(), &clinician.public_key(), &client.public_key())
            .unwrap();
    assert_eq!(again.terms(), signed.terms());
    assert_eq!(again.terms(), &{
        let mut t = terms(&clinician, &client);
        t.validate().unwrap();
        t
    });
}

#[test]
fn terms_written_before_the_boundaries_fields_read_with_the_safe_defaults() {
    let (clinician, client) = parties();
    let signed = ProposedAgreement::propose(terms(&clinician, &client), &clinician, None)
        .unwrap()
        .accept(&client, None)
        .unwrap()
        .to_bytes();
    let outer = proto::SignedAgreement::decode(&signed[1..]).unwrap();
    let mut inner = proto::Terms::decode(outer.terms.as_slice()).unwrap();
    // What an agreement of the first format held: fields 1 to 12 only.
    let old = proto::Terms {
        version: inner.version,
        clinician_identity: std::mem::take(&mut inner.clinician_identity),
        client_identity: std::mem::take(&mut inner.client_identity),
        clinician_may_send: std::mem::take(&mut inner.clinician_may_send),
        client_may_send: std::mem::take(&mut inner.client_may_send),
        availability: inner.availability.take(),
        response_time: std::mem::take(&mut inner.response_time),
        crisis_resources: std::mem::take(&mut inner.crisis_resources),
        lifespans: std::mem::take(&mut inner.lifespans),
        max_message_chars: inner.max_message_chars,
        receipts_enabled: inner.receipts_enabled,
        auto_reply_window_ms: inner.auto_reply_window_ms,
        ..Default::default()
    };
    let terms = super::canonical::decode_terms(&old.encode_to_vec()).unwrap();
    assert_eq!(terms.crisis_support, CrisisSupport::None);
    assert_eq!(terms.texts, TermTexts::default());
    assert_eq!((terms.client_messages_per_day, terms.client_messages_per_week), (None, None));
    assert_eq!(terms.after_end, AfterEnd::KeepUntilExpiry);
    assert!(terms.closures.is_empty() && terms.effective_date.is_none() && terms.review_date.is_none());
    assert!(!terms.named_notifications);
}

#[test]
fn malformed_new_terms_are_refused() {
    let (clinician, client) = parties();
    let canonical = {
        let mut t = terms(&clinician, &client);
        t.validate().unwrap();
        super::canonical::encode_terms(&t)
    };
    let edits: Vec<(&str, Tampering)> = vec![
        ("crisis support", |t| t.crisis_support = 9),
        ("cap", |t| t.client_messages_per_day = crate::consts::MAX_MESSAGES_CAP + 1),
        ("date", |t| t.effective_date = "2026-3-2".to_owned()),
        ("date", |t| t.review_date = "2026-02-30".to_owned()),
        ("review before effective", |t| t.review_date = "2026-01-01".to_owned()),
        ("closure order", |t| {
            t.closures[0].first_day = "2026-12-28".to_owned();
        }),
        ("overlap", |t| {
            let mut second = t.closures[0].clone();
            second.first_day = "2026-12-27".to_owned();
            second.last_day = "2026-12-30".to_owned();
            t.closures.push(second);
        }),
        ("text", |t| t.crisis_statement = "x".repeat(crate::consts::MAX_TERM_TEXT_LEN + 1)),
        ("language", |t| t.language = "en US".to_owned()),
        ("retention", |t| t.retention_after_end_ms = crate::consts::MAX_RETENTION_AFTER_END_MS + 1),
    ];
    for (what, edit) in edits {
        let mut inner = proto::Terms::decode(canonical.as_slice()).unwrap();
        edit(&mut inner);
        assert!(super::canonical::decode_terms(&inner.encode_to_vec()).is_err(), "{what}");
    }
}

fn plan(clinician: &IdentityKeyPair, client: &IdentityKeyPair) -> SupportPlan {
    SupportPlan {
        agreement_version: 1,
        number: 1,
        clinician: clinician.public_key(),
        client: client.public_key(),
        start: crate::clock::Timestamp(1_772_463_600_000),
        end: crate::clock::Timestamp(1_772_463_600_000 + 7 * 86_400_000),
        response_time: "Within 4 hours".to_owned(),
        clinician_may_send: vec![CategoryKind::CopingGuidance],
        client_may_send: vec![CategoryKind::Crisis, CategoryKind::CheckIn],
        colleague_consulted: "Dr. Okafor".to_owned(),
    }
}

#[test]
fn every_tampered_plan_field_is_refused() {
    let (clinician, client) = parties();
    let signed = SignedPlan::propose(plan(&clinician, &client), &clinician).unwrap().accept(&client).unwrap();
    signed.verify(&clinician.public_key(), &client.public_key(), true).unwrap();
    let again = SignedPlan::from_bytes(&signed.to_bytes()).unwrap();
    assert_eq!(again, signed);
    type PlanTampering = (&'static str, fn(&mut proto::SupportPlan));
    let edits: Vec<PlanTampering> = vec![
        ("agreement version", |p| p.agreement_version += 1),
        ("number", |p| p.number += 1),
        ("start", |p| p.start_ms -= 1),
        ("end", |p| p.end_ms += 1),
        ("response time", |p| p.response_time.push('!')),
        ("clinician categories", |p| p.clinician_may_send.insert(0, CategoryKind::CheckIn.to_wire())),
        ("client categories", |p| {
            p.client_may_send.pop();
        }),
        ("colleague", |p| p.colleague_consulted.push('!')),
    ];
    for (field, edit) in edits {
        let mut outer = proto::SignedSupportPlan::decode(signed.to_bytes().as_slice()).unwrap();
        let mut inner = proto::SupportPlan::decode(outer.plan.as_slice()).unwrap();
        edit(&mut inner);
        outer.plan = inner.encode_to_vec();
        let tampered =
            SignedPlan::from_bytes(&outer.encode_to_vec()).unwrap_or_else(|e| panic!("{field}: {e:?}"));
        assert_eq!(
            tampered.verify(&clinician.public_key(), &client.public_key(), true).unwrap_err(),
            AgreementError::BadSignature(Role::Clinician),
            "{field}"
        );
    }
    // A plan longer than the bound is refused before anyone signs it.
    let mut long = plan(&clinician, &client);
    long.end = long.start.plus_millis(crate::consts::MAX_PLAN_MS + 1);
    assert!(SignedPlan::propose(long, &clinician).is_err());
}

#[test]
fn a_tampered_notice_is_refused() {
    let (clinician, client) = parties();
    let notice = Notice {
        agreement_version: 1,
        plan_number: 0,
        clinician: clinician.public_key(),
        client: client.public_key(),
        ended_by: Role::Client,
        ended_at: crate::clock::Timestamp(5),
    };
    assert!(SignedNotice::sign(notice.clone(), &clinician).is_err(), "only the party ending signs");
    let signed = SignedNotice::sign(notice, &client).unwrap();
    signed.verify(&clinician.public_key(), &client.public_key()).unwrap();
    let edits: Vec<fn(&mut proto::Notice)> =
        vec![|n| n.agreement_version += 1, |n| n.plan_number = 1, |n| n.ended_at_ms += 1, |n| n.ended_by = 1];
    for edit in edits {
        let mut outer = proto::SignedNotice::decode(signed.to_bytes().as_slice()).unwrap();
        let mut inner = proto::Notice::decode(outer.notice.as_slice()).unwrap();
        edit(&mut inner);
        outer.notice = inner.encode_to_vec();
        let tampered = SignedNotice::from_bytes(&outer.encode_to_vec()).unwrap();
        assert!(matches!(
            tampered.verify(&clinician.public_key(), &client.public_key()),
            Err(AgreementError::BadSignature(_))
        ));
    }
}

#[test]
fn standing_round_trips_and_counts_in_rolling_windows() {
    let (clinician, client) = parties();
    let signed = SignedPlan::propose(plan(&clinician, &client), &clinician).unwrap().accept(&client).unwrap();
    let mut standing = Standing::default();
    standing.add_plan(signed);
    let t0 = crate::clock::Timestamp(1_000_000_000);
    for i in 0..3 {
        standing.count(t0.plus_millis(i * 3_600_000));
    }
    assert_eq!(Standing::from_bytes(&standing.to_bytes()).unwrap(), standing);
    let day = crate::consts::CAP_DAY_MS;
    assert_eq!(standing.count_within(day, t0.plus_millis(3 * 3_600_000)), 3);
    assert_eq!(standing.count_within(day, t0.plus_millis(day)), 2);
    // With a cap of 3, sending opens when the first leaves the window; with 2, the second.
    assert_eq!(standing.opens_at(3, day, t0.plus_millis(10)), t0.plus_millis(day));
    assert_eq!(standing.opens_at(2, day, t0.plus_millis(10)), t0.plus_millis(3_600_000 + day));
    // Counts older than a week are forgotten as new ones come in.
    standing.count(t0.plus_millis(8 * day));
    assert_eq!(standing.counted, vec![t0.plus_millis(8 * day)]);
}
