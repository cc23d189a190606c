//! Boundaries: decisions for each role and category, office hours across time zones and
//! daylight-saving changes, the re-check on receipt, and notification previews.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use confidant::agreement::CrisisSupport;
use confidant::agreement::{ProposedAgreement, SignedAgreement};
use confidant::consts::{DEFAULT_CRISIS_STATEMENT, DEFAULT_OUTSIDE_HOURS_NOTICE, MAX_CRISIS_CHARS};
use confidant::content::{CategoryKind, Content, MessageId, Receipt, ReceiptKind};
use confidant::expiry::Lifespan;
use confidant::keys::IdentityKeyPair;
use confidant::policy::{
    classify, classify_content, notification_preview, OutOfScopeReason, PREVIEW_NEUTRAL,
};
use confidant::{
    AgreementTerms, AppointmentKind, Availability, Category, Decision, Role, Timestamp, Weekday, Window,
};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

const RESPONSE_TIME: &str = "Within one business day";
const CRISIS_LINE: &str = "Call or text 988 (Suicide & Crisis Lifeline)";

/// A timestamp from an RFC 3339 string with offset, e.g. "2025-03-09T09:00:00-04:00".
fn at(rfc3339: &str) -> Timestamp {
    let t: jiff::Timestamp = rfc3339.parse().unwrap();
    Timestamp(u64::try_from(t.as_millisecond()).unwrap())
}

fn availability(zone: &str, days: &[Weekday], from: (u8, u8), to: (u8, u8)) -> Availability {
    Availability::new(zone, days.iter().map(|&d| Window::new(d, from, to)).collect()).unwrap()
}

fn agreement_with(edit: impl FnOnce(&mut AgreementTerms)) -> SignedAgreement {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let clinician = IdentityKeyPair::generate(&mut rng);
    let client = IdentityKeyPair::generate(&mut rng);
    let mut terms = AgreementTerms::new(
        1,
        clinician.public_key(),
        client.public_key(),
        availability("America/New_York", &Weekday::ALL, (9, 0), (17, 0)),
        RESPONSE_TIME.to_owned(),
        vec![CRISIS_LINE.to_owned()],
    );
    terms.max_message_chars = 200;
    edit(&mut terms);
    ProposedAgreement::propose(terms, &clinician, None).unwrap().accept(&client, None).unwrap()
}

fn agreement() -> SignedAgreement {
    agreement_with(|_| {})
}

fn in_hours() -> Timestamp {
    at("2025-06-11T11:00:00-04:00") // a Wednesday, 11:00 in New York
}

fn after_hours() -> Timestamp {
    at("2025-06-11T22:30:00-04:00") // the same Wednesday, 22:30
}

#[test]
fn agreed_categories_in_hours_are_allowed_for_each_role() {
    let a = agreement();
    for role in [Role::Clinician, Role::Client] {
        for &kind in a.terms().may_send(role) {
            assert_eq!(classify(&a, role, kind, 20, in_hours()), Decision::Allowed, "{role:?} {kind:?}");
        }
    }
}

#[test]
fn client_outside_hours_is_delivered_with_expectations_and_resources() {
    let a = agreement();
    let decision = classify(&a, Role::Client, CategoryKind::AppointmentReschedule, 40, after_hours());
    assert_eq!(
        decision,
        Decision::OutsideHours {
            next_available: at("2025-06-12T09:00:00-04:00"),
            response_time: RESPONSE_TIME.to_owned(),
            crisis_resources: vec![CRISIS_LINE.to_owned()],
            notice: DEFAULT_OUTSIDE_HOURS_NOTICE.to_owned(),
            covering: None,
        }
    );
}

#[test]
fn clinician_may_send_at_any_hour() {
    let a = agreement();
    assert_eq!(
        classify(&a, Role::Clinician, CategoryKind::AppointmentReminder, 40, after_hours()),
        Decision::Allowed
    );
}

#[test]
fn categories_not_agreed_are_out_of_scope_for_each_role() {
    let a = agreement();
    // Check-ins are not in the default terms for either side; administrative only for the clinician.
    for (role, kind) in [
        (Role::Client, CategoryKind::CheckIn),
        (Role::Clinician, CategoryKind::CheckIn),
        (Role::Client, CategoryKind::Administrative),
    ] {
        let Decision::OutOfScope { reason, allowed_categories, crisis_resources } =
            classify(&a, role, kind, 10, in_hours())
        else {
            panic!("{role:?} {kind:?} was not refused");
        };
        assert_eq!(reason, OutOfScopeReason::CategoryNotAgreed);
        assert!(!allowed_categories.contains(&kind));
        // Crisis is not offered as a way around a refusal; its resources are shown.
        assert!(!allowed_categories.contains(&CategoryKind::Crisis));
        assert_eq!(crisis_resources, vec![CRISIS_LINE.to_owned()]);
        assert!(allowed_categories.contains(&CategoryKind::AppointmentConfirm));
    }
    assert_eq!(
        classify(&a, Role::Clinician, CategoryKind::Administrative, 10, in_hours()),
        Decision::Allowed
    );
}

#[test]
fn crisis_by_default_is_not_sent_but_answered_with_resources_and_the_statement() {
    let a = agreement();
    for role in [Role::Clinician, Role::Client] {
        for now in [in_hours(), after_hours()] {
            assert_eq!(
                classify(&a, role, CategoryKind::Crisis, 10, now),
                Decision::CrisisNotSent {
                    statement: DEFAULT_CRISIS_STATEMENT.to_owned(),
                    crisis_resources: vec![CRISIS_LINE.to_owned()],
                    next_available: None,
                }
            );
        }
    }
}

#[test]
fn crisis_in_office_hours_is_allowed_with_resources_up_to_its_own_length_cap() {
    let a = agreement_with(|t| t.crisis_support = CrisisSupport::OfficeHours);
    let cap = MAX_CRISIS_CHARS as usize;
    for role in [Role::Clinician, Role::Client] {
        let Decision::CrisisNotSent { next_available, .. } =
            classify(&a, role, CategoryKind::Crisis, 10, after_hours())
        else {
            panic!("a crisis outside hours was sent")
        };
        assert_eq!(next_available, Some(at("2025-06-12T09:00:00-04:00")));
        for now in [in_hours()] {
            for len in [1, 1000, cap] {
                assert_eq!(
                    classify(&a, role, CategoryKind::Crisis, len, now),
                    Decision::Crisis { crisis_resources: vec![CRISIS_LINE.to_owned()] }
                );
            }
            let Decision::OutOfScope { reason, .. } = classify(&a, role, CategoryKind::Crisis, cap + 1, now)
            else {
                panic!("a crisis text over the cap was not refused")
            };
            assert_eq!(reason, OutOfScopeReason::TooLong { max_chars: MAX_CRISIS_CHARS });
        }
    }
}

#[test]
fn too_long_is_out_of_scope() {
    let a = agreement();
    for role in [Role::Clinician, Role::Client] {
        assert_eq!(classify(&a, role, CategoryKind::AppointmentConfirm, 200, in_hours()), Decision::Allowed);
        let Decision::OutOfScope { reason, .. } =
            classify(&a, role, CategoryKind::AppointmentConfirm, 201, in_hours())
        else {
            panic!("too long was not refused")
        };
        assert_eq!(reason, OutOfScopeReason::TooLong { max_chars: 200 });
    }
}

#[test]
fn system_messages_follow_fixed_rules() {
    let a = agreement();
    let refused = |d: Decision| match d {
        Decision::OutOfScope { reason, .. } => Some(reason),
        _ => None,
    };
    for role in [Role::Clinician, Role::Client] {
        assert_eq!(classify(&a, role, CategoryKind::Agreement, 0, after_hours()), Decision::Allowed);
        assert_eq!(
            refused(classify(&a, role, CategoryKind::Receipt, 0, in_hours())),
            Some(OutOfScopeReason::ReceiptsDisabled)
        );
    }
    let with_receipts = agreement_with(|t| t.receipts_enabled = true);
    assert_eq!(
        classify(&with_receipts, Role::Client, CategoryKind::Receipt, 0, after_hours()),
        Decision::Allowed
    );
    assert_eq!(classify(&a, Role::Clinician, CategoryKind::AutoReply, 50, after_hours()), Decision::Allowed);
    assert_eq!(
        refused(classify(&a, Role::Client, CategoryKind::AutoReply, 50, in_hours())),
        Some(OutOfScopeReason::CategoryNotAgreed)
    );
}

#[test]
fn the_clinician_rechecks_what_a_modified_client_sends() {
    let a = agreement();
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    // A client app that ignores the agreement composes a check-in anyway; it arrives intact.
    let sent =
        Content::compose(&mut rng, &a, Category::CheckIn, "Just checking in".to_owned(), in_hours()).unwrap();
    let received = Content::decode(&sent.encode_padded()).unwrap();
    assert!(matches!(
        classify_content(&a, Role::Client, &received, in_hours()),
        Decision::OutOfScope { reason: OutOfScopeReason::CategoryNotAgreed, .. }
    ));
    // Sent under another agreement version.
    let old = Content::new(
        MessageId([1; 16]),
        Category::Appointment(AppointmentKind::Confirm),
        "Confirmed".to_owned(),
        in_hours(),
        Lifespan::DEFAULT,
        7,
    )
    .unwrap();
    assert_eq!(
        classify_content(&a, Role::Client, &old, in_hours()),
        Decision::OutOfScope {
            reason: OutOfScopeReason::WrongAgreementVersion { current: 1 },
            allowed_categories: a.terms().may_send(Role::Client).to_vec(),
            crisis_resources: vec![CRISIS_LINE.to_owned()],
        }
    );
    // A crisis message is held to the agreement version too.
    let crisis = Content::new(
        MessageId([2; 16]),
        Category::Crisis,
        "help".to_owned(),
        in_hours(),
        Lifespan::DEFAULT,
        7,
    )
    .unwrap();
    assert!(matches!(
        classify_content(&a, Role::Client, &crisis, after_hours()),
        Decision::OutOfScope { reason: OutOfScopeReason::WrongAgreementVersion { current: 1 }, .. }
    ));
    // Length is counted in characters, not bytes.
    let accented = "é".repeat(200);
    let fits = Content::compose(
        &mut rng,
        &a,
        Category::Appointment(AppointmentKind::Reschedule),
        accented,
        in_hours(),
    )
    .unwrap();
    assert_eq!(classify_content(&a, Role::Client, &fits, in_hours()), Decision::Allowed);
}

fn next_available(a: &SignedAgreement, now: Timestamp) -> Option<Timestamp> {
    match classify(a, Role::Client, CategoryKind::AppointmentConfirm, 5, now) {
        Decision::Allowed => None,
        Decision::OutsideHours { next_available, .. } => Some(next_available),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn new_york_spring_forward() {
    // 2025-03-09: clocks go from 02:00 EST to 03:00 EDT.
    let a = agreement();
    assert_eq!(next_available(&a, at("2025-03-09T08:59:00-04:00")), Some(at("2025-03-09T09:00:00-04:00")));
    assert_eq!(next_available(&a, at("2025-03-09T09:00:00-04:00")), None);
    assert_eq!(next_available(&a, at("2025-03-09T16:59:59-04:00")), None);
    assert_eq!(next_available(&a, at("2025-03-09T17:00:00-04:00")), Some(at("2025-03-10T09:00:00-04:00")));
    // The day before, still on standard time.
    assert_eq!(next_available(&a, at("2025-03-08T09:00:00-05:00")), None);
    assert_eq!(next_available(&a, at("2025-03-08T17:00:00-05:00")), Some(at("2025-03-09T09:00:00-04:00")));
}

#[test]
fn new_york_fall_back() {
    // 2025-11-02: clocks go from 02:00 EDT back to 01:00 EST.
    let a = agreement();
    assert_eq!(next_available(&a, at("2025-11-01T17:00:00-04:00")), Some(at("2025-11-02T09:00:00-05:00")));
    assert_eq!(next_available(&a, at("2025-11-02T08:59:00-05:00")), Some(at("2025-11-02T09:00:00-05:00")));
    assert_eq!(next_available(&a, at("2025-11-02T09:00:00-05:00")), None);
    assert_eq!(next_available(&a, at("2025-11-02T16:59:00-05:00")), None);
    assert_eq!(next_available(&a, at("2025-11-02T17:00:00-05:00")), Some(at("2025-11-03T09:00:00-05:00")));
}

#[test]
fn window_starting_in_the_skipped_hour_opens_at_the_transition() {
    let a = agreement_with(|t| {
        t.availability = availability("America/New_York", &[Weekday::Sunday], (2, 30), (4, 0))
    });
    // 01:00 EST; 02:30 does not exist that night, the window opens when the clocks jump to 03:00 EDT.
    assert_eq!(next_available(&a, at("2025-03-09T01:00:00-05:00")), Some(at("2025-03-09T03:00:00-04:00")));
    assert_eq!(next_available(&a, at("2025-03-09T03:30:00-04:00")), None);
    // A window that lies wholly in the skipped hour does not occur that day: next week instead.
    let b = agreement_with(|t| {
        t.availability = availability("America/New_York", &[Weekday::Sunday], (2, 0), (2, 30))
    });
    assert_eq!(next_available(&b, at("2025-03-09T01:00:00-05:00")), Some(at("2025-03-16T02:00:00-04:00")));
}

#[test]
fn window_in_the_repeated_hour_occurs_twice() {
    let a = agreement_with(|t| {
        t.availability = availability("America/New_York", &[Weekday::Sunday], (1, 0), (1, 30))
    });
    assert_eq!(next_available(&a, at("2025-11-02T00:30:00-04:00")), Some(at("2025-11-02T01:00:00-04:00")));
    assert_eq!(next_available(&a, at("2025-11-02T01:15:00-04:00")), None);
    // Past the first 01:30 (EDT), the window opens again at the second 01:00 (EST).
    assert_eq!(next_available(&a, at("2025-11-02T01:45:00-04:00")), Some(at("2025-11-02T01:00:00-05:00")));
    assert_eq!(next_available(&a, at("2025-11-02T01:15:00-05:00")), None);
    assert_eq!(next_available(&a, at("2025-11-02T01:30:00-05:00")), Some(at("2025-11-09T01:00:00-05:00")));
}

#[test]
fn the_repeated_hour_reopens_a_window_in_its_middle() {
    // Closed after the first 01:20; when clocks fall back at 02:00 to 01:00, the window is open again.
    let ny = agreement_with(|t| {
        t.availability = availability("America/New_York", &[Weekday::Sunday], (0, 30), (1, 20))
    });
    assert_eq!(next_available(&ny, at("2025-11-02T01:30:00-04:00")), Some(at("2025-11-02T01:00:00-05:00")));
    // Sydney falls back from 03:00 to 02:00.
    let syd = agreement_with(|t| {
        t.availability = availability("Australia/Sydney", &[Weekday::Sunday], (1, 50), (2, 15))
    });
    assert_eq!(next_available(&syd, at("2025-04-06T02:30:00+11:00")), Some(at("2025-04-06T02:00:00+10:00")));
    // Lord Howe Island falls back half an hour, from 02:00 to 01:30.
    let lhi = agreement_with(|t| {
        t.availability = availability("Australia/Lord_Howe", &[Weekday::Sunday], (1, 0), (1, 40))
    });
    assert_eq!(next_available(&lhi, at("2025-04-06T01:45:00+11:00")), Some(at("2025-04-06T01:30:00+10:30")));
}

#[test]
fn southern_hemisphere_sydney() {
    let weekdays =
        [Weekday::Monday, Weekday::Tuesday, Weekday::Wednesday, Weekday::Thursday, Weekday::Friday];
    let a = agreement_with(|t| t.availability = availability("Australia/Sydney", &weekdays, (9, 0), (17, 0)));
    // Daylight saving starts on Sunday 2025-10-05 (AEST +10 to AEDT +11).
    assert_eq!(next_available(&a, at("2025-10-03T17:00:00+10:00")), Some(at("2025-10-06T09:00:00+11:00")));
    assert_eq!(next_available(&a, at("2025-10-06T09:00:00+11:00")), None);
    assert_eq!(next_available(&a, at("2025-10-06T08:59:00+11:00")), Some(at("2025-10-06T09:00:00+11:00")));
    // Daylight saving ends on Sunday 2025-04-06 (AEDT +11 to AEST +10).
    assert_eq!(next_available(&a, at("2025-04-04T17:00:00+11:00")), Some(at("2025-04-07T09:00:00+10:00")));
    assert_eq!(next_available(&a, at("2025-04-07T16:59:00+10:00")), None);
    // While New York is in summer, Sydney is in winter: the same instant is a Thursday morning there.
    assert_eq!(next_available(&a, at("2025-06-11T20:30:00-04:00")), None);
}

#[test]
fn zone_without_daylight_saving() {
    let a = agreement_with(|t| {
        t.availability = availability("Asia/Kolkata", &[Weekday::Saturday], (10, 30), (12, 0))
    });
    assert_eq!(next_available(&a, at("2025-03-09T12:00:00+05:30")), Some(at("2025-03-15T10:30:00+05:30")));
}

#[test]
fn preview_carries_no_content() {
    let a = agreement();
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let words = "Rescheduling because my panic attacks came back near the Elm Street office";
    let content = Content::compose(
        &mut rng,
        &a,
        Category::Appointment(AppointmentKind::Reschedule),
        words.to_owned(),
        in_hours(),
    )
    .unwrap();
    let named = agreement_with(|t| t.named_notifications = true);
    for role in [Role::Clinician, Role::Client] {
        // By default, and without an agreement, fully neutral.
        assert_eq!(notification_preview(Some(a.terms()), role, &content), Some(PREVIEW_NEUTRAL));
        assert_eq!(notification_preview(None, role, &content), Some(PREVIEW_NEUTRAL));
        let preview = notification_preview(Some(named.terms()), role, &content).unwrap();
        for word in words.split_whitespace().filter(|w| w.len() > 3) {
            assert!(!preview.to_lowercase().contains(&word.to_lowercase()), "{word}");
        }
        assert!(!preview.to_lowercase().contains("reschedul"));
    }
    assert_ne!(
        notification_preview(Some(named.terms()), Role::Clinician, &content),
        notification_preview(Some(named.terms()), Role::Client, &content)
    );
    let receipt = Content::new(
        MessageId([0; 16]),
        Category::Receipt(Receipt { kind: ReceiptKind::Read, message_ids: vec![content.id()] }),
        String::new(),
        in_hours(),
        Lifespan::DEFAULT,
        1,
    )
    .unwrap();
    assert_eq!(notification_preview(Some(named.terms()), Role::Client, &receipt), None);
    assert_eq!(notification_preview(Some(a.terms()), Role::Client, &receipt), None);
}
