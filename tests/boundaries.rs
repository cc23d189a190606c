//! Boundaries v2 on both devices: crisis support as a term, support plans, caps on client
//! messages, the end of the agreement, texts from the terms, closures. Every rule is checked on
//! the sending device and again on the receiving device, against a modified sender
//! (`send_raw`), with each device's own clock deciding.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use confidant::agreement::{AfterEnd, Closure, CrisisSupport, LocalDate};
use confidant::clock::Clock;
use confidant::consts::{CAP_DAY_MS, DEFAULT_CRISIS_STATEMENT};
use confidant::content::{CategoryKind, Content, MessageId, NotDeliveredReason, Receipt, ReceiptKind};
use confidant::expiry::Lifespan;
use confidant::policy::OutOfScopeReason;
use confidant::store::{AuditEvent, MemoryStore, PeerId, SqliteStore, Store, StoreKeySource};
use confidant::{
    AgreementStatus, AgreementTerms, AppointmentKind, Category, Decision, Draft, Endpoint, EndpointError,
    Error, ManualClock, PlanRequest, Received, Role, Timestamp,
};
use confidant_support::pair::{pair_with, send_raw, Pair, HOUR, MINUTE, MONDAY_10AM_NY, MONDAY_6_30PM_NY};

const DAY: u64 = 24 * HOUR;
const STATEMENT: &str = "Je ne surveille pas les messages pour les urgences.";

fn confirm(text: &str) -> Draft {
    Draft::new(Category::Appointment(AppointmentKind::Confirm), text)
}

/// A pair with the fixture's terms (version 1) edited by `edit`, agreed; Monday 10:00 New York.
fn pair_with_terms(seed: u64, edit: impl FnOnce(&mut AgreementTerms)) -> Pair<MemoryStore> {
    let mut pair = pair_with(seed, MemoryStore::new(), MemoryStore::new(), false);
    let mut terms = pair.terms(1);
    edit(&mut terms);
    pair.agree(terms);
    pair
}

/// Content a modified app composes at its own clock and encrypts on its real session.
fn raw<A: Store, B: Store>(
    pair: &mut Pair<A, B>,
    from: Role,
    category: Category,
    text: &str,
    version: u32,
) -> Vec<u8> {
    let (now, id) = match from {
        Role::Client => (pair.client.clock().now(), MessageId::random(&mut pair.rng)),
        Role::Clinician => (pair.clinician.clock().now(), MessageId::random(&mut pair.rng)),
    };
    let content = Content::new(id, category, text.into(), now, Lifespan::DEFAULT, version).unwrap();
    let padded = content.encode_padded();
    match from {
        Role::Client => send_raw(&pair.client, &pair.clinician_id, &mut pair.rng, &padded),
        Role::Clinician => send_raw(&pair.clinician, &pair.client_id, &mut pair.rng, &padded),
    }
}

fn refused(received: &Received) -> Option<OutOfScopeReason> {
    match received {
        Received::Refused { reason, .. } => Some(*reason),
        _ => None,
    }
}

fn crisis_count(device: &Endpoint<MemoryStore, ManualClock>, peer: &PeerId) -> usize {
    device.history(peer).unwrap().iter().filter(|e| e.category == Category::Crisis).count()
}

/// A one-week plan from now: the client may send crisis messages and check-ins, the clinician
/// coping guidance.
fn week_plan(now: Timestamp) -> PlanRequest {
    PlanRequest {
        start: now,
        end: now.plus_millis(7 * DAY),
        response_time: "Within 4 hours, 8:00 to 22:00".into(),
        clinician_may_send: vec![CategoryKind::CopingGuidance, CategoryKind::CheckIn],
        client_may_send: vec![CategoryKind::Crisis, CategoryKind::CheckIn],
        colleague_consulted: "Dr. Okafor (clinical supervisor)".into(),
    }
}

/// Proposes `request`, the client accepts, the clinician records it.
fn sign_plan(pair: &mut Pair<MemoryStore>, request: PlanRequest) {
    let proposal = pair.clinician.propose_support_plan(&pair.client_id, request).unwrap();
    let Received::SupportPlanProposed { id, plan } = pair.deliver_to_client(&proposal).received else {
        panic!("expected a plan proposal")
    };
    assert_eq!(plan.colleague_consulted, "Dr. Okafor (clinical supervisor)");
    let acceptance = pair.client.accept_support_plan(&pair.clinician_id, id).unwrap();
    assert!(matches!(pair.deliver_to_clinician(&acceptance).received, Received::SupportPlanAccepted { .. }));
}

// ---- 1. Crisis support is a term, with a safe default ----

#[test]
fn by_default_a_crisis_draft_is_not_sent_and_the_clinicians_device_refuses_one_anyway() {
    let mut pair = pair_with_terms(1, |t| t.texts.crisis_statement = STATEMENT.into());
    for at in [MONDAY_10AM_NY, MONDAY_6_30PM_NY] {
        pair.set_time(at);
        let sent =
            pair.client.send(&pair.clinician_id, Draft::new(Category::Crisis, "I don't feel safe")).unwrap();
        assert!(sent.envelope.is_none() && sent.message_id.is_none());
        assert_eq!(sent.decision.refusal(), Some(OutOfScopeReason::CrisisNotOffered));
        let Decision::CrisisNotSent { statement, crisis_resources, next_available } = sent.decision else {
            panic!("{:?}", sent.decision)
        };
        assert_eq!((statement.as_str(), next_available), (STATEMENT, None));
        assert!(crisis_resources[0].contains("988"));
    }
    // Nothing of it was stored on the client's device.
    assert_eq!(crisis_count(&pair.client, &pair.clinician_id), 0);
    // A modified client sends it anyway: refused, not stored.
    let envelope = raw(&mut pair, Role::Client, Category::Crisis, "help", 1);
    let incoming = pair.deliver_to_clinician(&envelope);
    assert_eq!(refused(&incoming.received), Some(OutOfScopeReason::CrisisNotOffered));
    let Received::Refused { id, .. } = incoming.received else { panic!("{:?}", incoming.received) };
    // The only reply is the non-delivery notice: no auto-reply answers a refused crisis message.
    assert_eq!(incoming.replies.len(), 1);
    let notice = pair.deliver_to_client(&incoming.replies[0]);
    let kind = ReceiptKind::NotDelivered(NotDeliveredReason::Refused);
    assert_eq!(notice.received, Received::Receipt(Receipt { kind, message_ids: vec![id] }));
    assert_eq!(crisis_count(&pair.clinician, &pair.client_id), 0);
}

#[test]
fn the_default_statement_comes_from_the_librarys_constant() {
    let pair = pair_with_terms(2, |_| {});
    let sent = pair.client.send(&pair.clinician_id, Draft::new(Category::Crisis, "help")).unwrap();
    assert!(
        matches!(sent.decision, Decision::CrisisNotSent { ref statement, .. } if statement == DEFAULT_CRISIS_STATEMENT)
    );
}

#[test]
fn crisis_support_in_office_hours_only() {
    let mut pair = pair_with_terms(3, |t| t.crisis_support = CrisisSupport::OfficeHours);
    let sent = pair.client.send(&pair.clinician_id, Draft::new(Category::Crisis, "in hours")).unwrap();
    assert!(matches!(sent.decision, Decision::Crisis { .. }));
    let Received::Message(m) = pair.deliver_to_clinician(&sent.envelope.unwrap()).received else { panic!() };
    assert!(matches!(m.decision, Decision::Crisis { .. }));
    // 18:30: the office is closed; the draft is refused with when the office opens again.
    pair.set_time(MONDAY_6_30PM_NY);
    let sent = pair.client.send(&pair.clinician_id, Draft::new(Category::Crisis, "after hours")).unwrap();
    assert!(sent.envelope.is_none());
    let Decision::CrisisNotSent { next_available, .. } = sent.decision else { panic!("{:?}", sent.decision) };
    assert_eq!(next_available, Some(Timestamp(MONDAY_10AM_NY.0 + 23 * HOUR)));
    // Sent anyway by a modified app: the clinician's device refuses it by its own clock.
    let envelope = raw(&mut pair, Role::Client, Category::Crisis, "after hours", 1);
    assert_eq!(
        refused(&pair.deliver_to_clinician(&envelope).received),
        Some(OutOfScopeReason::CrisisNotOffered)
    );
    assert_eq!(crisis_count(&pair.clinician, &pair.client_id), 1);
}

#[test]
fn a_plan_may_not_list_crisis_when_the_agreement_offers_no_crisis_support() {
    let pair = pair_with_terms(4, |_| {});
    let err = pair.clinician.propose_support_plan(&pair.client_id, week_plan(MONDAY_10AM_NY)).unwrap_err();
    assert!(matches!(err, Error::Agreement(_)), "{err:?}");
}

// ---- 2. Support plans ----

#[test]
fn a_support_plan_allows_crisis_and_coping_guidance_until_it_lapses_on_both_devices() {
    let mut pair = pair_with_terms(10, |t| t.crisis_support = CrisisSupport::SupportPlanOnly);
    // Before the plan: coping guidance is refused on the clinician's device and, sent anyway,
    // on the client's.
    let sent =
        pair.clinician.send(&pair.client_id, Draft::new(Category::CopingGuidance, "Try 4-7-8")).unwrap();
    assert_eq!(sent.decision.refusal(), Some(OutOfScopeReason::CategoryNotAgreed));
    let envelope = raw(&mut pair, Role::Clinician, Category::CopingGuidance, "Try 4-7-8", 1);
    assert_eq!(
        refused(&pair.deliver_to_client(&envelope).received),
        Some(OutOfScopeReason::CategoryNotAgreed)
    );
    let sent = pair.client.send(&pair.clinician_id, Draft::new(Category::Crisis, "no plan yet")).unwrap();
    assert!(matches!(sent.decision, Decision::CrisisNotSent { .. }));

    sign_plan(&mut pair, week_plan(MONDAY_10AM_NY));
    let status = pair.client.agreement_status(&pair.clinician_id).unwrap();
    assert!(
        matches!(status, AgreementStatus::InForce { plan: Some(ref p), .. } if p.number == 1),
        "{status:?}"
    );

    // Monday 23:00, inside the plan: a crisis message goes through, and coping guidance back.
    pair.set_time(Timestamp(MONDAY_10AM_NY.0 + 13 * HOUR));
    let sent = pair
        .client
        .send(&pair.clinician_id, Draft::new(Category::Crisis, "I don't feel safe tonight"))
        .unwrap();
    assert!(matches!(sent.decision, Decision::Crisis { .. }), "{:?}", sent.decision);
    let Received::Message(m) = pair.deliver_to_clinician(&sent.envelope.unwrap()).received else { panic!() };
    assert!(matches!(m.decision, Decision::Crisis { .. }));
    let reply = Draft::new(Category::CopingGuidance, "Use your safety plan, step 2.").reply_to(m.id);
    let sent = pair.clinician.send(&pair.client_id, reply).unwrap();
    assert_eq!(sent.decision, Decision::Allowed);
    let Received::Message(m) = pair.deliver_to_client(&sent.envelope.unwrap()).received else { panic!() };
    assert_eq!(m.category, Category::CopingGuidance);
    // The client may not send coping guidance, even inside the plan.
    let sent = pair.client.send(&pair.clinician_id, Draft::new(Category::CopingGuidance, "x")).unwrap();
    assert_eq!(sent.decision.refusal(), Some(OutOfScopeReason::CategoryNotAgreed));

    // A week later the plan has lapsed on both devices, with no message.
    pair.set_time(MONDAY_10AM_NY.plus_millis(7 * DAY));
    let sent = pair.client.send(&pair.clinician_id, Draft::new(Category::Crisis, "again")).unwrap();
    assert!(matches!(sent.decision, Decision::CrisisNotSent { .. }));
    let sent = pair.clinician.send(&pair.client_id, Draft::new(Category::CopingGuidance, "more")).unwrap();
    assert_eq!(sent.decision.refusal(), Some(OutOfScopeReason::CategoryNotAgreed));
    let envelope = raw(&mut pair, Role::Client, Category::Crisis, "again", 1);
    assert_eq!(
        refused(&pair.deliver_to_clinician(&envelope).received),
        Some(OutOfScopeReason::CrisisNotOffered)
    );
    let envelope = raw(&mut pair, Role::Clinician, Category::CopingGuidance, "more", 1);
    assert_eq!(
        refused(&pair.deliver_to_client(&envelope).received),
        Some(OutOfScopeReason::CategoryNotAgreed)
    );
    assert!(matches!(
        pair.clinician.agreement_status(&pair.client_id).unwrap(),
        AgreementStatus::InForce { plan: None, .. }
    ));
}

#[test]
fn a_plan_ending_mid_conversation_is_decided_by_the_receivers_clock() {
    let mut pair = pair_with_terms(11, |t| t.crisis_support = CrisisSupport::SupportPlanOnly);
    sign_plan(&mut pair, week_plan(MONDAY_10AM_NY));
    // Written one minute before the plan ends; it arrives one minute after.
    pair.set_time(MONDAY_10AM_NY.plus_millis(7 * DAY - MINUTE));
    let sent = pair.client.send(&pair.clinician_id, Draft::new(Category::Crisis, "last minute")).unwrap();
    assert!(matches!(sent.decision, Decision::Crisis { .. }));
    pair.set_time(MONDAY_10AM_NY.plus_millis(7 * DAY + MINUTE));
    let incoming = pair.deliver_to_clinician(&sent.envelope.unwrap());
    assert_eq!(refused(&incoming.received), Some(OutOfScopeReason::CrisisNotOffered));
}

#[test]
fn a_sender_clock_that_lies_does_not_extend_a_plan() {
    let mut pair = pair_with_terms(12, |t| t.crisis_support = CrisisSupport::SupportPlanOnly);
    sign_plan(&mut pair, week_plan(MONDAY_10AM_NY));
    // The clinician's device is three weeks on; the client's clock is set back inside the plan.
    pair.clinician.clock().set(MONDAY_10AM_NY.plus_millis(21 * DAY));
    pair.client.clock().set(MONDAY_10AM_NY.plus_millis(DAY));
    let sent = pair.client.send(&pair.clinician_id, Draft::new(Category::Crisis, "backdated")).unwrap();
    assert!(matches!(sent.decision, Decision::Crisis { .. }), "the client's own check trusts its clock");
    let incoming = pair.deliver_to_clinician(&sent.envelope.unwrap());
    assert_eq!(refused(&incoming.received), Some(OutOfScopeReason::CrisisNotOffered));
    assert_eq!(crisis_count(&pair.clinician, &pair.client_id), 0);
}

#[test]
fn either_party_ends_a_plan_early_and_renewing_is_a_new_plan() {
    for ender in [Role::Clinician, Role::Client] {
        let mut pair = pair_with_terms(13, |t| t.crisis_support = CrisisSupport::SupportPlanOnly);
        sign_plan(&mut pair, week_plan(MONDAY_10AM_NY));
        let notice = match ender {
            Role::Clinician => pair.clinician.end_support_plan(&pair.client_id).unwrap(),
            Role::Client => pair.client.end_support_plan(&pair.clinician_id).unwrap(),
        };
        let received = match ender {
            Role::Clinician => pair.deliver_to_client(&notice).received,
            Role::Client => pair.deliver_to_clinician(&notice).received,
        };
        assert!(
            matches!(received, Received::SupportPlanEnded { number: 1, by, .. } if by == ender),
            "{received:?}"
        );
        let sent = pair.client.send(&pair.clinician_id, Draft::new(Category::Crisis, "after")).unwrap();
        assert!(matches!(sent.decision, Decision::CrisisNotSent { .. }));
        let envelope = raw(&mut pair, Role::Client, Category::Crisis, "after", 1);
        assert_eq!(
            refused(&pair.deliver_to_clinician(&envelope).received),
            Some(OutOfScopeReason::CrisisNotOffered)
        );
        assert!(matches!(
            pair.client.end_support_plan(&pair.clinician_id).unwrap_err(),
            Error::Endpoint(EndpointError::NoActivePlan)
        ));
        // Renewal: a new signed plan, numbered 2.
        let now = pair.clinician.clock().now();
        sign_plan(&mut pair, week_plan(now));
        let sent = pair.client.send(&pair.clinician_id, Draft::new(Category::Crisis, "renewed")).unwrap();
        assert!(matches!(sent.decision, Decision::Crisis { .. }));
        assert!(matches!(pair.deliver_to_clinician(&sent.envelope.unwrap()).received, Received::Message(_)));
    }
}

#[test]
fn a_new_agreement_version_ends_the_plan() {
    let mut pair = pair_with_terms(14, |t| t.crisis_support = CrisisSupport::SupportPlanOnly);
    sign_plan(&mut pair, week_plan(MONDAY_10AM_NY));
    let mut terms = pair.terms(2);
    terms.crisis_support = CrisisSupport::SupportPlanOnly;
    pair.agree(terms);
    let sent = pair.client.send(&pair.clinician_id, Draft::new(Category::Crisis, "still?")).unwrap();
    assert!(matches!(sent.decision, Decision::CrisisNotSent { .. }));
    let envelope = raw(&mut pair, Role::Client, Category::Crisis, "still?", 2);
    assert_eq!(
        refused(&pair.deliver_to_clinician(&envelope).received),
        Some(OutOfScopeReason::CrisisNotOffered)
    );
}

#[test]
fn a_plan_proposal_is_checked_before_it_can_be_accepted() {
    let mut pair = pair_with_terms(15, |t| t.crisis_support = CrisisSupport::SupportPlanOnly);
    // Too long: more than 90 days.
    let mut long = week_plan(MONDAY_10AM_NY);
    long.end = MONDAY_10AM_NY.plus_millis(91 * DAY);
    assert!(matches!(pair.clinician.propose_support_plan(&pair.client_id, long), Err(Error::Agreement(_))));
    // The client may not be given coping guidance.
    let mut wrong = week_plan(MONDAY_10AM_NY);
    wrong.client_may_send.push(CategoryKind::CopingGuidance);
    assert!(matches!(pair.clinician.propose_support_plan(&pair.client_id, wrong), Err(Error::Agreement(_))));
    // Only the client accepts, and only once; a lapsed proposal cannot be accepted.
    assert!(matches!(
        pair.clinician.accept_support_plan(&pair.client_id, MessageId([0; 16])),
        Err(Error::Endpoint(EndpointError::WrongRole))
    ));
    let proposal = pair.clinician.propose_support_plan(&pair.client_id, week_plan(MONDAY_10AM_NY)).unwrap();
    let Received::SupportPlanProposed { id, .. } = pair.deliver_to_client(&proposal).received else {
        panic!()
    };
    pair.set_time(MONDAY_10AM_NY.plus_millis(8 * DAY));
    assert!(matches!(
        pair.client.accept_support_plan(&pair.clinician_id, id),
        Err(Error::Endpoint(EndpointError::ProposalExpired))
    ));
}

// ---- 3. Caps on client messages ----

#[test]
fn the_daily_cap_holds_on_both_devices_and_says_when_sending_opens() {
    let mut pair = pair_with_terms(20, |t| {
        t.client_messages_per_day = Some(3);
        t.texts.capped_notice = "We agreed on three messages a day.".into();
    });
    for i in 0..3 {
        pair.set_time(MONDAY_10AM_NY.plus_millis(i * HOUR));
        let sent = pair.client.send(&pair.clinician_id, confirm("ok")).unwrap();
        assert_eq!(sent.decision, Decision::Allowed, "message {i}");
        assert!(matches!(pair.deliver_to_clinician(&sent.envelope.unwrap()).received, Received::Message(_)));
    }
    pair.set_time(MONDAY_10AM_NY.plus_millis(3 * HOUR));
    let sent = pair.client.send(&pair.clinician_id, confirm("a fourth")).unwrap();
    assert!(sent.envelope.is_none());
    let Decision::Capped { opens_at, notice, crisis_resources } = sent.decision else {
        panic!("{:?}", sent.decision)
    };
    assert_eq!(opens_at, MONDAY_10AM_NY.plus_millis(CAP_DAY_MS));
    assert_eq!(notice, "We agreed on three messages a day.");
    assert!(crisis_resources[0].contains("988"), "the crisis resources are always shown");
    // A crisis draft counts against the caps too (here it would not be sent anyway).
    // A modified client sends a fourth: the clinician's device counted what it accepted.
    let envelope = raw(&mut pair, Role::Client, Category::Appointment(AppointmentKind::Confirm), "fourth", 1);
    assert_eq!(refused(&pair.deliver_to_clinician(&envelope).received), Some(OutOfScopeReason::OverCap));
    // The clinician is not capped, and system messages do not count.
    let sent = pair.clinician.send(&pair.client_id, confirm("noted")).unwrap();
    assert_eq!(sent.decision, Decision::Allowed);
    // Once the first message leaves the rolling 24 hours, one more may go.
    pair.set_time(opens_at);
    let sent = pair.client.send(&pair.clinician_id, confirm("next day")).unwrap();
    assert_eq!(sent.decision, Decision::Allowed);
    assert!(matches!(pair.deliver_to_clinician(&sent.envelope.unwrap()).received, Received::Message(_)));
}

#[test]
fn the_weekly_cap_and_purged_messages() {
    let mut pair = pair_with_terms(21, |t| t.client_messages_per_week = Some(2));
    for day in 0..2 {
        pair.set_time(MONDAY_10AM_NY.plus_millis(day * DAY));
        let sent = pair.client.send(&pair.clinician_id, confirm("ok")).unwrap();
        pair.deliver_to_clinician(&sent.envelope.unwrap());
    }
    // Every message is purged (confirmations live two hours): the counts remain.
    pair.set_time(MONDAY_10AM_NY.plus_millis(2 * DAY));
    pair.clinician.purge_expired().unwrap();
    pair.client.purge_expired().unwrap();
    assert!(pair.client.history(&pair.clinician_id).unwrap().iter().all(|e| e.category.kind().is_system()));
    let sent = pair.client.send(&pair.clinician_id, confirm("third")).unwrap();
    let Decision::Capped { opens_at, .. } = sent.decision else { panic!("{:?}", sent.decision) };
    assert_eq!(opens_at, MONDAY_10AM_NY.plus_millis(7 * DAY));
    let envelope = raw(&mut pair, Role::Client, Category::Appointment(AppointmentKind::Confirm), "third", 1);
    assert_eq!(refused(&pair.deliver_to_clinician(&envelope).received), Some(OutOfScopeReason::OverCap));
}

#[test]
fn counts_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let key = StoreKeySource::key([9; 32]);
    let path = dir.path().join("client.db");
    let mut pair = pair_with(22, MemoryStore::new(), SqliteStore::create(&path, &key).unwrap(), false);
    let mut terms = pair.terms(1);
    terms.client_messages_per_day = Some(1);
    pair.agree(terms);
    let sent = pair.client.send(&pair.clinician_id, confirm("one")).unwrap();
    assert_eq!(sent.decision, Decision::Allowed);
    let reopened = Endpoint::new(
        SqliteStore::open(&path, &key).unwrap(),
        ManualClock::new(MONDAY_10AM_NY.plus_millis(HOUR)),
        Role::Client,
        "client-42",
    )
    .unwrap();
    let sent = reopened.send(&pair.clinician_id, confirm("two")).unwrap();
    assert!(matches!(sent.decision, Decision::Capped { .. }), "{:?}", sent.decision);
}

// ---- 4. Ending the relationship ----

#[test]
fn after_the_end_notice_nothing_else_is_sent_or_accepted_on_either_device() {
    for ender in [Role::Clinician, Role::Client] {
        let mut pair = pair_with_terms(30, |t| t.after_end = AfterEnd::RetainFor { ms: 30 * DAY });
        let sent =
            pair.client.send(&pair.clinician_id, Draft::new(Category::CheckIn, "before the end")).unwrap();
        pair.deliver_to_clinician(&sent.envelope.unwrap());
        let notice = match ender {
            Role::Clinician => pair.clinician.end_agreement(&pair.client_id).unwrap(),
            Role::Client => pair.client.end_agreement(&pair.clinician_id).unwrap(),
        };
        let incoming = match ender {
            Role::Clinician => pair.deliver_to_client(&notice),
            Role::Client => pair.deliver_to_clinician(&notice),
        };
        assert!(matches!(incoming.received, Received::AgreementEnded { by, .. } if by == ender));
        // Neither device sends anything now.
        for (sent, what) in [
            (pair.client.send(&pair.clinician_id, confirm("still there?")).unwrap(), "client"),
            (pair.clinician.send(&pair.client_id, confirm("still there?")).unwrap(), "clinician"),
        ] {
            assert!(sent.envelope.is_none(), "{what}");
            assert_eq!(sent.decision.refusal(), Some(OutOfScopeReason::AgreementEnded), "{what}");
        }
        assert!(matches!(
            pair.clinician.propose_agreement(&pair.client_id, pair.terms(2)),
            Err(Error::Endpoint(EndpointError::AgreementEnded))
        ));
        assert!(matches!(
            pair.client.end_agreement(&pair.clinician_id),
            Err(Error::Endpoint(EndpointError::AgreementEnded))
        ));
        // Modified apps send anyway: each device refuses.
        let envelope = raw(&mut pair, Role::Client, Category::Appointment(AppointmentKind::Confirm), "x", 1);
        assert_eq!(
            refused(&pair.deliver_to_clinician(&envelope).received),
            Some(OutOfScopeReason::AgreementEnded)
        );
        let envelope =
            raw(&mut pair, Role::Clinician, Category::Appointment(AppointmentKind::Confirm), "x", 1);
        assert_eq!(
            refused(&pair.deliver_to_client(&envelope).received),
            Some(OutOfScopeReason::AgreementEnded)
        );
        // What happens to the conversation is the agreed term, which both devices report.
        for status in [
            pair.clinician.agreement_status(&pair.client_id).unwrap(),
            pair.client.agreement_status(&pair.clinician_id).unwrap(),
        ] {
            let AgreementStatus::Ended { by, at, after_end, purge_at } = status else { panic!("{status:?}") };
            assert_eq!((by, after_end), (ender, AfterEnd::RetainFor { ms: 30 * DAY }));
            assert_eq!(purge_at, Some(at.plus_millis(30 * DAY)));
        }
        // Retention over: the whole conversation goes, on both devices.
        pair.advance(30 * DAY);
        pair.clinician.purge_expired().unwrap();
        pair.client.purge_expired().unwrap();
        assert!(pair.clinician.history(&pair.client_id).unwrap().is_empty());
        assert!(pair.client.history(&pair.clinician_id).unwrap().is_empty());
        assert!(pair.clinician.store().messages(&pair.client_id).unwrap().is_empty());
    }
}

#[test]
fn without_a_retention_term_messages_are_kept_until_they_expire() {
    let mut pair = pair_with_terms(31, |_| {});
    let sent = pair.client.send(&pair.clinician_id, Draft::new(Category::CheckIn, "kept")).unwrap();
    pair.deliver_to_clinician(&sent.envelope.unwrap());
    let notice = pair.clinician.end_agreement(&pair.client_id).unwrap();
    pair.deliver_to_client(&notice);
    let status = pair.client.agreement_status(&pair.clinician_id).unwrap();
    assert!(matches!(
        status,
        AgreementStatus::Ended { purge_at: None, after_end: AfterEnd::KeepUntilExpiry, .. }
    ));
    pair.advance(HOUR);
    pair.clinician.purge_expired().unwrap();
    assert!(pair.clinician.history(&pair.client_id).unwrap().iter().any(|e| &e.text[..] == "kept"));
}

// ---- 5. Texts from the terms; the auto-reply is never refused by its own limits ----

#[test]
fn the_auto_reply_is_worded_by_the_terms_and_never_refused_by_the_length_limit() {
    let mut pair = pair_with_terms(40, |t| {
        t.max_message_chars = 20;
        t.texts.auto_reply = "Réponse automatique : je lis mes messages en semaine.".into();
        t.texts.outside_hours_notice = "Hors des heures de bureau.".into();
        t.texts.language = "fr-CA".into();
    });
    pair.set_time(MONDAY_6_30PM_NY);
    let sent = pair.client.send(&pair.clinician_id, confirm("ok")).unwrap();
    let Decision::OutsideHours { notice, covering, .. } = &sent.decision else {
        panic!("{:?}", sent.decision)
    };
    assert_eq!((notice.as_str(), covering), ("Hors des heures de bureau.", &None));
    let incoming = pair.deliver_to_clinician(&sent.envelope.unwrap());
    assert_eq!(incoming.replies.len(), 1);
    let Received::Message(reply) = pair.deliver_to_client(&incoming.replies[0]).received else {
        panic!("the auto-reply was refused")
    };
    assert_eq!(reply.category, Category::AutoReply);
    assert!(reply.text.starts_with("Réponse automatique"));
    assert!(reply.text.chars().count() > 20);
    assert!(reply.text.contains("988"));
    // The limit still holds for the clinician's own messages.
    let sent = pair.clinician.send(&pair.client_id, confirm(&"x".repeat(21))).unwrap();
    assert_eq!(sent.decision.refusal(), Some(OutOfScopeReason::TooLong { max_chars: 20 }));
}

// ---- 6. Closures, with a covering colleague, across a daylight-saving change ----

#[test]
fn a_closure_across_the_spring_change_names_the_covering_colleague() {
    // New York springs forward on Sunday 8 March 2026. The practice closes Friday 6 to Monday 9.
    let mut pair = pair_with_terms(50, |t| {
        t.closures = vec![Closure {
            first_day: LocalDate::new(2026, 3, 6).unwrap(),
            last_day: LocalDate::new(2026, 3, 9).unwrap(),
            covering: "Dr. Patel, 555 0100".into(),
        }];
        t.crisis_support = CrisisSupport::OfficeHours;
    });
    // Monday 9 March, 10:00 EDT (14:00 UTC): inside weekly hours, but closed.
    let monday = Timestamp(1_773_064_800_000);
    pair.set_time(monday);
    let sent = pair.client.send(&pair.clinician_id, confirm("ok")).unwrap();
    let Decision::OutsideHours { next_available, covering, .. } = &sent.decision else {
        panic!("{:?}", sent.decision)
    };
    assert_eq!(covering.as_deref(), Some("Dr. Patel, 555 0100"));
    // Tuesday 10 March 09:00 EDT = 13:00 UTC.
    assert_eq!(*next_available, Timestamp(1_773_147_600_000));
    let received = pair.deliver_to_clinician(&sent.envelope.unwrap()).received;
    assert!(
        matches!(received, Received::Message(ref m) if matches!(m.decision, Decision::OutsideHours { .. }))
    );
    // Crisis support in office hours does not run during a closure, on either device.
    let sent = pair.client.send(&pair.clinician_id, Draft::new(Category::Crisis, "help")).unwrap();
    assert!(
        matches!(sent.decision, Decision::CrisisNotSent { next_available: Some(t), .. } if t == Timestamp(1_773_147_600_000))
    );
    let envelope = raw(&mut pair, Role::Client, Category::Crisis, "help", 1);
    assert_eq!(
        refused(&pair.deliver_to_clinician(&envelope).received),
        Some(OutOfScopeReason::CrisisNotOffered)
    );
    // The closure ends at local midnight: Tuesday 00:00 EDT is 04:00 UTC.
    pair.set_time(Timestamp(1_773_115_200_000 - 1));
    assert!(pair
        .clinician
        .agreement(&pair.client_id)
        .unwrap()
        .unwrap()
        .terms()
        .closure_at(pair.clinician.clock().now())
        .is_some());
    pair.set_time(Timestamp(1_773_115_200_000));
    assert!(pair
        .clinician
        .agreement(&pair.client_id)
        .unwrap()
        .unwrap()
        .terms()
        .closure_at(pair.clinician.clock().now())
        .is_none());
}

#[test]
fn a_plan_ending_in_the_repeated_hour_of_the_autumn_change_ends_at_its_instant() {
    // New York falls back on Sunday 1 November 2026 at 02:00 EDT (06:00 UTC); 01:30 occurs twice.
    let mut pair = pair_with_terms(51, |t| t.crisis_support = CrisisSupport::SupportPlanOnly);
    let first_0130 = Timestamp(1_793_511_000_000); // 01:30 EDT = 05:30 UTC
    let start = first_0130.0 - 6 * DAY;
    pair.set_time(Timestamp(start));
    let mut request = week_plan(Timestamp(start));
    request.end = first_0130;
    sign_plan(&mut pair, request);
    pair.set_time(Timestamp(first_0130.0 - 1));
    let sent = pair.client.send(&pair.clinician_id, Draft::new(Category::Crisis, "before")).unwrap();
    assert!(matches!(sent.decision, Decision::Crisis { .. }));
    assert!(matches!(pair.deliver_to_clinician(&sent.envelope.unwrap()).received, Received::Message(_)));
    // The second 01:30 (EST, an hour later) is after the end, though the wall clock reads the same.
    pair.set_time(first_0130.plus_millis(HOUR));
    let envelope = raw(&mut pair, Role::Client, Category::Crisis, "after", 1);
    assert_eq!(
        refused(&pair.deliver_to_clinician(&envelope).received),
        Some(OutOfScopeReason::CrisisNotOffered)
    );
    let sent = pair.client.send(&pair.clinician_id, Draft::new(Category::Crisis, "after")).unwrap();
    assert!(matches!(sent.decision, Decision::CrisisNotSent { .. }));
}

// ---- 7. Notifications ----

#[test]
fn notifications_are_neutral_by_default() {
    let mut pair = pair_with_terms(60, |_| {});
    let sent = pair.client.send(&pair.clinician_id, confirm("hello")).unwrap();
    assert_eq!(pair.deliver_to_clinician(&sent.envelope.unwrap()).preview, Some("New message"));
    let sent = pair.clinician.send(&pair.client_id, confirm("hello")).unwrap();
    assert_eq!(pair.deliver_to_client(&sent.envelope.unwrap()).preview, Some("New message"));
}

// ---- 8. Renegotiating the new terms ----

#[test]
fn a_changed_boundary_term_applies_only_once_both_signed_the_new_version() {
    let mut pair = pair_with_terms(70, |t| t.client_messages_per_day = Some(1));
    let sent = pair.client.send(&pair.clinician_id, confirm("one")).unwrap();
    pair.deliver_to_clinician(&sent.envelope.unwrap());
    // The clinician proposes more room and crisis support in office hours; not yet accepted.
    let mut terms = pair.terms(2);
    terms.client_messages_per_day = Some(5);
    terms.crisis_support = CrisisSupport::OfficeHours;
    let proposal = pair.clinician.propose_agreement(&pair.client_id, terms).unwrap();
    let Received::AgreementProposed { id, terms } = pair.deliver_to_client(&proposal).received else {
        panic!()
    };
    assert_eq!((terms.client_messages_per_day, terms.crisis_support), (Some(5), CrisisSupport::OfficeHours));
    let sent = pair.client.send(&pair.clinician_id, confirm("two")).unwrap();
    assert!(matches!(sent.decision, Decision::Capped { .. }), "version 1 still holds");
    let sent = pair.client.send(&pair.clinician_id, Draft::new(Category::Crisis, "help")).unwrap();
    assert!(matches!(sent.decision, Decision::CrisisNotSent { .. }));
    // Accepted on both devices: the new terms hold on both, and the counts carry over.
    let acceptance = pair.client.accept_agreement(&pair.clinician_id, id).unwrap();
    assert!(matches!(
        pair.deliver_to_clinician(&acceptance).received,
        Received::AgreementAccepted { version: 2 }
    ));
    let sent = pair.client.send(&pair.clinician_id, confirm("two")).unwrap();
    assert_eq!(sent.decision, Decision::Allowed);
    assert!(matches!(pair.deliver_to_clinician(&sent.envelope.unwrap()).received, Received::Message(_)));
    let sent = pair.client.send(&pair.clinician_id, Draft::new(Category::Crisis, "help")).unwrap();
    assert!(matches!(pair.deliver_to_clinician(&sent.envelope.unwrap()).received, Received::Message(_)));
    // Three counted of five: two more, then capped on both devices.
    for _ in 0..2 {
        let sent = pair.client.send(&pair.clinician_id, confirm("more")).unwrap();
        pair.deliver_to_clinician(&sent.envelope.unwrap());
    }
    assert!(matches!(
        pair.client.send(&pair.clinician_id, confirm("six")).unwrap().decision,
        Decision::Capped { .. }
    ));
    let envelope = raw(&mut pair, Role::Client, Category::Appointment(AppointmentKind::Confirm), "six", 2);
    assert_eq!(refused(&pair.deliver_to_clinician(&envelope).received), Some(OutOfScopeReason::OverCap));
}

#[test]
fn the_audit_trail_of_each_device_records_a_plan_signed_and_ended_early_and_the_purge_after_the_end() {
    let mut pair = pair_with_terms(31, |t| {
        t.crisis_support = CrisisSupport::SupportPlanOnly;
        t.after_end = AfterEnd::RetainFor { ms: DAY };
        t.records.retention_ms = 30 * DAY;
    });
    let plans = |device: &Endpoint<MemoryStore, ManualClock>| -> (usize, usize, usize) {
        let log = device.audit_log().unwrap();
        let count = |f: &dyn Fn(&AuditEvent) -> bool| log.iter().filter(|e| f(&e.event)).count();
        (
            count(&|e| matches!(e, AuditEvent::PlanStarted { .. })),
            count(&|e| matches!(e, AuditEvent::PlanEnded { .. })),
            count(&|e| matches!(e, AuditEvent::Purged { .. })),
        )
    };
    assert_eq!((plans(&pair.clinician), plans(&pair.client)), ((0, 0, 0), (0, 0, 0)));
    let now = pair.clinician.clock().now();
    sign_plan(&mut pair, week_plan(now));
    assert_eq!((plans(&pair.clinician), plans(&pair.client)), ((1, 0, 0), (1, 0, 0)));
    let sent = pair.client.send(&pair.clinician_id, Draft::new(Category::CheckIn, "Checking in")).unwrap();
    let checked_in = sent.message_id.unwrap();
    pair.deliver_to_clinician(&sent.envelope.unwrap());
    let notice = pair.client.end_support_plan(&pair.clinician_id).unwrap();
    pair.deliver_to_clinician(&notice);
    assert_eq!((plans(&pair.clinician), plans(&pair.client)), ((1, 1, 0), (1, 1, 0)));
    let end = pair.clinician.end_agreement(&pair.client_id).unwrap();
    pair.deliver_to_client(&end);
    pair.advance(DAY + HOUR);
    assert!(pair.clinician.purge_expired().unwrap() > 0);
    assert!(pair.client.purge_expired().unwrap() > 0);
    assert_eq!((plans(&pair.clinician), plans(&pair.client)), ((1, 1, 1), (1, 1, 1)));
    // The clinician's device kept the check-in as a record copy under the record terms before
    // the conversation was purged; the client's device keeps none.
    let copies = pair.clinician.store().record_copies(&pair.client_id).unwrap();
    assert_eq!(copies.iter().map(|c| c.message.id).collect::<Vec<_>>(), vec![checked_in]);
    assert!(pair.client.store().record_copies(&pair.clinician_id).unwrap().is_empty());
}
