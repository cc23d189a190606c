//! A clinician and a client, each with their own encrypted store file, from first contact to the
//! end of their work together: they compare safety numbers, sign a communication agreement,
//! exchange appointment messages, and the agreement's boundaries play out: an auto-reply outside
//! hours, a crisis draft answered with resources and the clinician's own statement, messages
//! expiring, a confirmation asked for and given, a correction, a recall and messages arriving out
//! of order, a one-week support plan with a crisis message and coping guidance inside it, the plan
//! lapsing, the daily limit, and the end of the relationship; for a while the clinician also
//! works from a linked desktop.
//! Everything the relay carries is printed as it sees it: opaque, padded bytes.
//!
//! Run with `cargo run --example clinic`.

use std::path::Path;

use confidant::agreement::{Closure, LocalDate};
use confidant::clock::Clock;
use confidant::content::{CategoryKind, MessageId};
use confidant::expiry::{ExpiryStart, Lifespan};
use confidant::policy::OutOfScopeReason;
use confidant::store::{PeerId, SqliteStore, Store, StoreKeySource};
use confidant::{
    AfterEnd, AgreementStatus, AgreementTerms, AppointmentKind, Availability, Category, CrisisSupport,
    Decision, Draft, Endpoint, HistoryItem, ManualClock, PlanRequest, RecallState, Received, Role, Timestamp,
    Weekday, Window,
};

type Device = Endpoint<SqliteStore, ManualClock>;

const HOUR: u64 = 60 * 60 * 1000;
const DAY: u64 = 24 * HOUR;
/// Monday 2 March 2026, 10:00 in New York.
const MONDAY_10AM_NY: Timestamp = Timestamp(1_772_463_600_000);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let open = |file: &str, role, id: &str| -> Result<Device, confidant::Error> {
        let key = StoreKeySource::passphrase(format!("{id}'s device passphrase"));
        let store = SqliteStore::create(dir.path().join(file), &key)?;
        Endpoint::new(store, ManualClock::new(MONDAY_10AM_NY), role, id)
    };
    let clinician = open("clinician.db", Role::Clinician, "dr-lee")?;
    let client = open("client.db", Role::Client, "sam")?;
    let (sam, dr_lee) = (PeerId::new("sam")?, PeerId::new("dr-lee")?);
    let devices = [&clinician, &client];

    section("First appointment: set-up in person");
    let bundle = client.prekey_bundle()?;
    clinician.start_session(&sam, &bundle)?;
    let proposal = clinician.propose_agreement(&sam, terms(&clinician, &client)?)?;
    relay("clinician -> client", &proposal);
    let Received::AgreementProposed { id, terms } = client.receive(&dr_lee, &proposal)?.received else {
        return Err("expected the agreement proposal".into());
    };
    say("client", &format!("reads the proposed agreement, version {}:", terms.version));
    println!("      the client may send: {}", plain_list(&terms.client_may_send));
    println!(
        "      office hours: Monday to Friday, 9:00 to 17:00, {} time",
        terms.availability.time_zone_name()
    );
    println!("      closed: {}", closures(&terms));
    println!("      crisis messages: only under a support plan both of us sign");
    println!("      the clinician's own words: \"{}\"", terms.texts.crisis_statement());
    println!("      in a crisis: {}", terms.crisis_resources.join("; "));
    println!("      at most {} messages a day from the client", terms.client_messages_per_day.unwrap_or(0));
    println!("      risk disclosure: \"{}\"", terms.risk_disclosure);
    let on_clinician = clinician.safety_number(&sam)?;
    let on_client = client.safety_number(&dr_lee)?;
    println!("    safety number on the clinician's phone: {}", on_clinician.grouped());
    println!("    safety number on the client's phone:    {}", on_client.grouped());
    let verified = clinician.verify_peer(&sam, on_client.scannable())?
        && client.verify_peer(&dr_lee, on_clinician.scannable())?;
    println!(
        "    each scans the other's code: {}",
        if verified { "match, both verified" } else { "MISMATCH" }
    );
    let acceptance = client.accept_agreement(&dr_lee, id)?;
    relay("client -> clinician", &acceptance);
    if let Received::AgreementAccepted { version } = clinician.receive(&sam, &acceptance)?.received {
        say("clinician", &format!("agreement version {version} signed by both, in force"));
    }

    section("Monday 10:00: appointment matters");
    let remind =
        Draft::new(Category::Appointment(AppointmentKind::Reminder), "Reminder: Thursday 3pm, room 204.");
    exchange(&clinician, &client, &sam, &dr_lee, remind)?;
    let confirm = Draft::new(Category::Appointment(AppointmentKind::Confirm), "Confirmed, see you Thursday.");
    exchange(&client, &clinician, &dr_lee, &sam, confirm)?;

    section("Monday 10:30: the clinician's desktop joins, then leaves again");
    set_time(&devices, Timestamp(MONDAY_10AM_NY.0 + HOUR / 2));
    let desktop = open("desktop.db", Role::Clinician, "dr-lee")?;
    desktop.clock().set(clinician.clock().now());
    second_device(&clinician, &desktop, &client, &sam, &dr_lee)?;

    section("The client asks for something the agreement does not cover");
    let off_topic = Draft::new(Category::CheckIn, "Can we talk about what happened at work today?");
    exchange(&client, &clinician, &dr_lee, &sam, off_topic)?;

    section("Monday 19:30: outside office hours");
    set_time(&devices, Timestamp(MONDAY_10AM_NY.0 + 9 * HOUR + HOUR / 2));
    let late =
        Draft::new(Category::Appointment(AppointmentKind::Reschedule), "Could we move Thursday to Friday?");
    exchange(&client, &clinician, &dr_lee, &sam, late)?;

    section("Monday 23:00: a crisis, with no support plan agreed");
    set_time(&devices, Timestamp(MONDAY_10AM_NY.0 + 13 * HOUR));
    let crisis = Draft::new(Category::Crisis, "I don't feel safe tonight.");
    exchange(&client, &clinician, &dr_lee, &sam, crisis)?;

    section("Tuesday 11:00: nothing left open to misreading");
    set_time(&devices, Timestamp(MONDAY_10AM_NY.0 + DAY + HOUR));
    misreading(&clinician, &client, &sam, &dr_lee)?;

    section("Three days later: messages expire");
    let phrases = ["Thursday 3pm", "Friday", "safe tonight", "what happened at work"];
    let files = [("clinician.db", &sam), ("client.db", &dr_lee)];
    for (file, peer) in files {
        inspect(&dir.path().join(file), peer, &phrases)?;
    }
    set_time(&devices, Timestamp(MONDAY_10AM_NY.0 + 3 * DAY));
    let purged = (clinician.purge_expired()?, client.purge_expired()?);
    println!("    purged: {} messages on the clinician's device, {} on the client's", purged.0, purged.1);
    for (who, device, peer) in [("clinician", &clinician, &sam), ("client", &client, &dr_lee)] {
        let left: Vec<String> =
            device.history(peer)?.iter().map(|e| history_line(&e.category, &e.text)).collect();
        println!("    {who}'s history now: {left:?}");
    }
    for (file, peer) in files {
        inspect(&dir.path().join(file), peer, &phrases)?;
    }

    section("Thursday's session: a one-week support plan, agreed case by case");
    let thursday = Timestamp(MONDAY_10AM_NY.0 + 3 * DAY + 5 * HOUR);
    set_time(&devices, thursday);
    let plan = PlanRequest {
        start: thursday,
        end: Timestamp(thursday.0 + 7 * DAY),
        response_time: "I read messages twice a day, at 8:00 and 20:00.".into(),
        clinician_may_send: vec![CategoryKind::CopingGuidance, CategoryKind::CheckIn],
        client_may_send: vec![CategoryKind::Crisis, CategoryKind::CheckIn],
        colleague_consulted: "Dr. Okafor, clinical supervisor".into(),
    };
    let proposal = clinician.propose_support_plan(&sam, plan)?;
    relay("clinician -> client", &proposal);
    let Received::SupportPlanProposed { id, plan } = client.receive(&dr_lee, &proposal)?.received else {
        return Err("expected the support plan".into());
    };
    say("client", "reads the proposed support plan:");
    println!("      for one week, until {}", local_time(plan.end));
    println!("      the client may send: {}", plain_list(&plan.client_may_send));
    println!("      the clinician may send: {}", plain_list(&plan.clinician_may_send));
    println!("      replies: {}", plan.response_time);
    println!("      the clinician consulted: {}", plan.colleague_consulted);
    let signed = client.accept_support_plan(&dr_lee, id)?;
    relay("client -> clinician", &signed);
    if let Received::SupportPlanAccepted { .. } = clinician.receive(&sam, &signed)?.received {
        say("clinician", "the plan is signed by both and runs until next Thursday");
    }

    section("Saturday 23:00: a crisis inside the plan, and coping guidance in reply");
    set_time(&devices, Timestamp(MONDAY_10AM_NY.0 + 5 * DAY + 13 * HOUR));
    let crisis = Draft::new(Category::Crisis, "The panic is back and I can't sleep.");
    if let Some(id) = exchange(&client, &clinician, &dr_lee, &sam, crisis)? {
        let guidance =
            Draft::new(Category::CopingGuidance, "Try step two of your safety plan: the 4-7-8 breathing.")
                .reply_to(id);
        exchange(&clinician, &client, &sam, &dr_lee, guidance)?;
    }

    section("The next Friday: the plan has lapsed on both phones, with no message");
    set_time(&devices, Timestamp(thursday.0 + 7 * DAY + DAY));
    for (who, device, peer) in [("clinician", &clinician, &sam), ("client", &client, &dr_lee)] {
        if let AgreementStatus::InForce { plan: None, .. } = device.agreement_status(peer)? {
            say(who, "no support plan runs now: back to the base agreement");
        }
    }
    let crisis = Draft::new(Category::Crisis, "Are you there?");
    exchange(&client, &clinician, &dr_lee, &sam, crisis)?;

    section("The same Friday: the client reaches the agreed number of messages for the day");
    set_time(&devices, Timestamp(MONDAY_10AM_NY.0 + 11 * DAY + HOUR));
    for text in ["Can we make it 4pm?", "Or 5pm?", "Actually 4pm is fine.", "One more thing..."] {
        let draft = Draft::new(Category::Appointment(AppointmentKind::Reschedule), text);
        exchange(&client, &clinician, &dr_lee, &sam, draft)?;
    }

    section("Later: the relationship ends");
    let notice = clinician.end_agreement(&sam)?;
    relay("clinician -> client", &notice);
    if let Received::AgreementEnded { .. } = client.receive(&dr_lee, &notice)?.received {
        say("client", "the clinician has ended our agreement");
    }
    let after = Draft::new(Category::Appointment(AppointmentKind::Confirm), "Thank you for everything.");
    exchange(&client, &clinician, &dr_lee, &sam, after)?;
    if let AgreementStatus::Ended { purge_at: Some(at), .. } = client.agreement_status(&dr_lee)? {
        say(
            "client",
            &format!("the conversation stays on this phone until {}, then it is deleted", local_time(at)),
        );
    }
    set_time(&devices, Timestamp(clinician.clock().now().0 + 31 * DAY));
    let purged = (clinician.purge_expired()?, client.purge_expired()?);
    println!(
        "    a month later, purged: {} messages on the clinician's device, {} on the client's",
        purged.0, purged.1
    );
    records()?;
    Ok(())
}

/// Office hours Monday to Friday 9-17 in New York, closed over the holidays with a colleague
/// covering; appointment matters both ways; crisis messages only under a support plan; at most
/// three client messages a day; messages live two days from sending, crisis messages a week; the
/// conversation is kept for 30 days after the end.
fn terms(clinician: &Device, client: &Device) -> Result<AgreementTerms, Box<dyn std::error::Error>> {
    let windows = Weekday::ALL[..5].iter().map(|&day| Window::new(day, (9, 0), (17, 0))).collect();
    let mut terms = AgreementTerms::new(
        1,
        clinician.identity_key(),
        client.identity_key(),
        Availability::new("America/New_York", windows)?,
        "I reply within one business day.".into(),
        vec!["Call or text 988 (Suicide & Crisis Lifeline)".into(), "Emergencies: call 911".into()],
    );
    for kind in CategoryKind::ALL {
        terms.lifespans.insert(kind, Lifespan::new(2 * DAY, ExpiryStart::FromSend)?);
    }
    terms.lifespans.insert(CategoryKind::Crisis, Lifespan::new(7 * DAY, ExpiryStart::FromSend)?);
    terms.crisis_support = CrisisSupport::SupportPlanOnly;
    terms.texts.crisis_statement =
        "I don't monitor messages for emergencies. Please use the resources below now.".into();
    terms.texts.auto_reply = "Thank you for your message. I am out of the office.".into();
    terms.texts.outside_hours_notice = "I will read this when the office opens.".into();
    terms.texts.capped_notice =
        "We agreed on three messages a day; let's keep the rest for our session.".into();
    terms.client_messages_per_day = Some(3);
    terms.after_end = AfterEnd::RetainFor { ms: 30 * DAY };
    terms.closures = vec![Closure {
        first_day: LocalDate::new(2026, 12, 24)?,
        last_day: LocalDate::new(2027, 1, 1)?,
        covering: "Dr. Patel, (555) 0100".into(),
    }];
    terms.effective_date = Some(LocalDate::new(2026, 3, 2)?);
    terms.review_date = Some(LocalDate::new(2026, 9, 2)?);
    terms.risk_disclosure = "Messages can be misread, may be delayed, and are not for emergencies.".into();
    Ok(terms)
}

/// `from` sends `draft`; the relay carries it; `to` receives; replies travel back. Returns the
/// id of the message as received, if it was.
/// A confirmation asked for and given, a correction, a recall before reading, and two messages
/// arriving in the wrong order: what each phone shows.
fn misreading(
    clinician: &Device,
    client: &Device,
    sam: &PeerId,
    dr_lee: &PeerId,
) -> Result<(), Box<dyn std::error::Error>> {
    // A message that must not be missed asks to be confirmed.
    let text = "Thursday's session moves to Friday 2pm.";
    let draft =
        Draft::new(Category::Appointment(AppointmentKind::Reschedule), text).request_acknowledgement();
    say(
        "clinician",
        &format!("writes, asking the client to confirm they read and understood it: \"{text}\""),
    );
    let sent = clinician.send(sam, draft)?;
    let (Some(id), Some(envelope)) = (sent.message_id, sent.envelope) else {
        return Err("the change of time was not sent".into());
    };
    relay("clinician -> client", &envelope);
    client.receive(dr_lee, &envelope)?;
    say("client", "reads it, and confirms: read and understood");
    let confirmation = client.acknowledge(dr_lee, id)?;
    relay("client -> clinician", &confirmation);
    clinician.receive(sam, &confirmation)?;
    if let Some(at) = entry(clinician, sam, id)?.and_then(|e| e.marks.acknowledged_at) {
        say("clinician", &format!("history shows: confirmed by the client, {}", local_time(at)));
    }

    // A mistake is corrected in the open, never edited away.
    let wrong = Draft::new(Category::Appointment(AppointmentKind::Directions), "We meet in room 204.");
    if let Some(original) = exchange(clinician, client, sam, dr_lee, wrong)? {
        let fix = Draft::new(Category::Appointment(AppointmentKind::Directions), "Sorry: room 402, not 204.")
            .correcting(original);
        exchange(clinician, client, sam, dr_lee, fix)?;
        for item in client.history_items(dr_lee)? {
            let HistoryItem::Message(e) = item else { continue };
            if e.marks.corrected_by.is_some() {
                say(
                    "client",
                    &format!("history shows \"{}\" marked: corrected by a later message", &e.text[..]),
                );
            } else if e.corrects.is_some() {
                say("client", &format!("history shows \"{}\" marked: a correction", &e.text[..]));
            }
        }
    }

    // A message sent to the wrong person is recalled before it is read.
    let text = "Your invoice for March is attached.";
    say("clinician", &format!("writes: \"{text}\", then sees it went to the wrong client"));
    let sent = clinician.send(sam, Draft::new(Category::Administrative, text))?;
    let (Some(id), Some(envelope)) = (sent.message_id, sent.envelope) else {
        return Err("the invoice message was not sent".into());
    };
    relay("clinician -> client", &envelope);
    client.receive(dr_lee, &envelope)?;
    let recall = clinician.recall(sam, id)?;
    relay("clinician -> client", &recall);
    for answer in client.receive(dr_lee, &recall)?.replies {
        relay("client -> clinician", &answer);
        clinician.receive(sam, &answer)?;
    }
    let unread = entry(clinician, sam, id)?.and_then(|e| e.marks.recall) == Some(RecallState::DeletedUnread);
    let gone = entry(client, dr_lee, id)?.is_none();
    if unread && gone {
        say("clinician", "history shows: recalled; the client's phone deleted it before it was read");
    }

    // Two messages arrive in the wrong order: the history keeps the client's order, and says
    // that an earlier message is missing until it arrives.
    let mut envelopes = Vec::new();
    for text in ["Friday 2pm works for me.", "I'll bring the form you asked for."] {
        say("client", &format!("writes: \"{text}\""));
        let sent = client.send(dr_lee, Draft::new(Category::Appointment(AppointmentKind::Confirm), text))?;
        envelopes.extend(sent.envelope);
    }
    let [first, second] = envelopes.as_slice() else { return Err("expected two envelopes".into()) };
    relay("client -> clinician (arrives first)", second);
    clinician.receive(sam, second)?;
    let waiting = clinician.history_items(sam)?.iter().any(|i| matches!(i, HistoryItem::Gap { .. }));
    if waiting {
        say("clinician", "history shows: \"an earlier message has not arrived yet\"");
    }
    relay("client -> clinician (arrives second)", first);
    clinician.receive(sam, first)?;
    let last_two: Vec<String> = clinician
        .history_items(sam)?
        .into_iter()
        .filter_map(|i| match i {
            HistoryItem::Message(e) => Some(format!("\"{}\"", &e.text[..])),
            _ => None,
        })
        .rev()
        .take(2)
        .collect();
    let in_order: Vec<&str> = last_two.iter().rev().map(String::as_str).collect();
    say("clinician", &format!("history shows, in the client's order: {}", in_order.join(", then ")));
    Ok(())
}

/// The history entry of message `id` on `device`, if it is there.
/// The clinician links a desktop to the phone in person, the client takes the new device list,
/// a message from the desktop reaches the client and a copy reaches the phone, the client's
/// reply reaches both, and the desktop is removed again.
fn second_device(
    phone: &Device,
    desktop: &Device,
    client: &Device,
    sam: &PeerId,
    dr_lee: &PeerId,
) -> Result<(), Box<dyn std::error::Error>> {
    let code = phone.offer_link()?;
    say("phone", &format!("shows a link code ({} characters, as a QR code) to the desktop", code.len()));
    let request = desktop.request_link(&code, "consulting room desktop")?;
    relay("desktop -> phone", &request);
    let accepted = phone.accept_link(&request)?;
    relay("phone -> desktop", &accepted.response);
    desktop.complete_link(&accepted.response)?;
    say(
        "desktop",
        &format!(
            "linked; it speaks for the phone's person key: {}",
            desktop.person_key() == phone.identity_key()
        ),
    );
    let change = client.update_devices(dr_lee, &accepted.devices)?;
    say(
        "client",
        &format!(
            "takes dr-lee's device list, signed by the key it verified: version {}, {} new device",
            change.version,
            change.added.len()
        ),
    );
    client.start_session(dr_lee, &desktop.prekey_bundle()?)?;
    desktop.start_session(sam, &client.prekey_bundle()?)?;
    desktop.start_session(dr_lee, &phone.prekey_bundle()?)?;
    phone.start_session(dr_lee, &desktop.prekey_bundle()?)?;
    phone.sync_agreements(&desktop.identity_key())?;
    for copy in phone.take_outbox() {
        if let Received::AgreementSynced { version, .. } =
            desktop.receive_from(dr_lee, &phone.identity_key(), &copy.envelope)?.received
        {
            say(
                "desktop",
                &format!("holds agreement version {version} with the client, checked under both person keys"),
            );
        }
    }
    let same = desktop.safety_number(sam)? == phone.safety_number(sam)?;
    say("desktop", &format!("safety number with the client is the phone's: {same}"));

    let directions = Draft::new(
        Category::Appointment(AppointmentKind::Directions),
        "Room 204 is on the second floor, left of the lift.",
    );
    say("desktop", &format!("writes: \"{}\"", directions.text()));
    let sent = desktop.send(sam, directions)?;
    let envelope = sent.envelope.ok_or("not sent")?;
    relay("desktop -> client", &envelope);
    if let Received::Message(message) =
        client.receive_from(dr_lee, &desktop.identity_key(), &envelope)?.received
    {
        say("client", &format!("reads: \"{}\"", &message.text[..]));
    }
    for copy in desktop.take_outbox() {
        relay("desktop -> phone (copy)", &copy.envelope);
        if let Received::Synced { .. } =
            phone.receive_from(dr_lee, &desktop.identity_key(), &copy.envelope)?.received
        {
            say("phone", "shows the desktop's message in the conversation too");
        }
    }
    let thanks = Draft::new(Category::Appointment(AppointmentKind::Confirm), "Thanks, found it.");
    let sent = client.send(dr_lee, thanks)?;
    phone.receive(sam, &sent.envelope.ok_or("not sent")?)?;
    for copy in client.take_outbox() {
        relay("client -> desktop", &copy.envelope);
        desktop.receive_from(sam, &client.identity_key(), &copy.envelope)?;
    }
    let lines = |device: &Device| -> Result<usize, confidant::Error> { Ok(device.history(sam)?.len()) };
    say(
        "clinician",
        &format!(
            "the phone shows {} messages with the client, the desktop the {} since it joined (no past message is copied)",
            lines(phone)?,
            lines(desktop)?
        ),
    );

    let list = phone.remove_device(&desktop.identity_key())?;
    let change = client.update_devices(dr_lee, &list)?;
    say(
        "client",
        &format!(
            "takes the new list (version {}): {} device removed, nothing more goes to it",
            change.version,
            change.removed.len()
        ),
    );
    Ok(())
}

fn entry(
    device: &Device,
    peer: &PeerId,
    id: MessageId,
) -> Result<Option<confidant::HistoryEntry>, confidant::Error> {
    Ok(device.history(peer)?.into_iter().find(|e| e.id == id))
}

fn exchange(
    from: &Device,
    to: &Device,
    to_peer: &PeerId,
    from_peer: &PeerId,
    draft: Draft,
) -> Result<Option<MessageId>, confidant::Error> {
    let sender = name(from);
    let text = draft.text().to_owned();
    say(sender, &format!("writes: \"{text}\""));
    let sent = from.send(to_peer, draft)?;
    match &sent.decision {
        Decision::Allowed => {}
        Decision::OutOfScope { reason, allowed_categories, .. } => {
            say(sender, &format!("NOT SENT: {}", plain_reason(*reason)));
            if !allowed_categories.is_empty() && *reason != OutOfScopeReason::AgreementEnded {
                say(sender, &format!("allowed instead: {}", plain_list(allowed_categories)));
            }
        }
        Decision::OutsideHours { next_available, response_time, crisis_resources, notice, covering } => {
            say(
                sender,
                &format!("sent outside office hours; the office opens {}", local_time(*next_available)),
            );
            say(
                sender,
                &format!(
                    "shown: \"{notice}\" \"{response_time}\" In a crisis: {}",
                    crisis_resources.join("; ")
                ),
            );
            if let Some(covering) = covering {
                say(sender, &format!("covering meanwhile: {covering}"));
            }
        }
        Decision::Crisis { crisis_resources } => {
            say(sender, &format!("sent; shown at once: {}", crisis_resources.join("; ")));
        }
        Decision::CrisisNotSent { statement, crisis_resources, .. } => {
            say(sender, "NOT SENT: this practice does not answer crisis messages now.");
            say(sender, &format!("shown at once: \"{statement}\" {}", crisis_resources.join("; ")));
        }
        Decision::Capped { opens_at, notice, crisis_resources } => {
            say(sender, &format!("NOT SENT: \"{notice}\" Sending opens again {}.", local_time(*opens_at)));
            say(sender, &format!("shown at once: {}", crisis_resources.join("; ")));
        }
        _ => say(sender, "NOT SENT"),
    }
    let Some(envelope) = sent.envelope else { return Ok(None) };
    relay(&format!("{sender} -> {}", name(to)), &envelope);
    let incoming = to.receive(from_peer, &envelope)?;
    if let Some(preview) = incoming.preview {
        say(name(to), &format!("notification: \"{preview}\""));
    }
    let mut received = None;
    if let Received::Message(message) = &incoming.received {
        let flag = match message.decision {
            Decision::Crisis { .. } => " [crisis]",
            Decision::OutsideHours { .. } => " [outside hours]",
            _ => "",
        };
        say(name(to), &format!("reads: \"{}\"{flag}", &message.text[..]));
        received = Some(message.id);
    }
    for reply in incoming.replies {
        relay(&format!("{} -> {sender}", name(to)), &reply);
        if let Received::Message(message) = from.receive(to_peer, &reply)?.received {
            say(sender, &format!("reads: \"{}\"", message.text.replace('\n', " / ")));
        }
    }
    Ok(received)
}

/// A category in plain words.
fn plain(kind: CategoryKind) -> &'static str {
    match kind {
        CategoryKind::AppointmentReminder => "appointment reminders",
        CategoryKind::AppointmentConfirm => "appointment confirmations",
        CategoryKind::AppointmentReschedule => "requests to reschedule",
        CategoryKind::AppointmentCancel => "cancellations",
        CategoryKind::AppointmentDirections => "directions",
        CategoryKind::CheckIn => "brief check-ins",
        CategoryKind::Crisis => "crisis messages",
        CategoryKind::Administrative => "billing and forms",
        CategoryKind::CopingGuidance => "coping guidance",
        _ => "messages the app sends itself",
    }
}

fn plain_list(kinds: &[CategoryKind]) -> String {
    kinds.iter().map(|&k| plain(k)).collect::<Vec<_>>().join(", ")
}

/// A refusal in plain words.
fn plain_reason(reason: OutOfScopeReason) -> String {
    match reason {
        OutOfScopeReason::CategoryNotAgreed => "the agreement does not cover this kind of message".into(),
        OutOfScopeReason::TooLong { max_chars } => format!("longer than the agreed {max_chars} characters"),
        OutOfScopeReason::AgreementEnded => "the agreement has ended".into(),
        _ => "outside the agreement".into(),
    }
}

fn history_line(category: &Category, text: &str) -> String {
    match category {
        Category::Agreement(_) => "an agreement message".to_owned(),
        other => format!("{}: \"{text}\"", plain(other.kind())),
    }
}

fn closures(terms: &AgreementTerms) -> String {
    let list: Vec<String> = terms
        .closures
        .iter()
        .map(|c| format!("{} to {} (covering: {})", c.first_day, c.last_day, c.covering))
        .collect();
    list.join("; ")
}

fn name(device: &Device) -> &'static str {
    match device.role() {
        Role::Clinician => "clinician",
        Role::Client => "client",
    }
}

fn set_time(devices: &[&Device], at: Timestamp) {
    for device in devices {
        device.clock().set(at);
    }
}

/// A timestamp as New York wall time, e.g. "Tue 3 Mar 09:00 New York time".
fn local_time(at: Timestamp) -> String {
    let zoned = i64::try_from(at.0)
        .ok()
        .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
        .and_then(|t| t.in_tz("America/New_York").ok());
    match zoned {
        Some(zoned) => format!("{} New York time", zoned.strftime("%a %-d %b %H:%M")),
        None => "(a time past the calendar)".to_owned(),
    }
}

fn section(title: &str) {
    println!("\n== {title}");
}

fn say(who: &str, what: &str) {
    println!("  {who:>9} {what}");
}

/// What the relay sees: a length and bytes that mean nothing to it.
fn relay(label: &str, wire: &[u8]) {
    let preview: String = wire.iter().take(20).map(|b| format!("{b:02x}")).collect();
    println!("    relay [{label}] {} bytes: {preview}...", wire.len());
}

/// What someone holding the store file sees: without the passphrase, no phrase of any message in
/// the raw bytes (the file and its write-ahead log); with it, only the messages not yet purged
/// (deleted ones are overwritten, not just unlinked: see tests/store_forensic.rs).
fn inspect(path: &Path, peer: &PeerId, phrases: &[&str]) -> Result<(), Box<dyn std::error::Error>> {
    scan(path, phrases)?;
    let id = peer.as_str();
    let owner = if id == "sam" { "dr-lee" } else { "sam" };
    let key = StoreKeySource::passphrase(format!("{owner}'s device passphrase"));
    let store = SqliteStore::open(path, &key)?;
    println!("      opened with the passphrase: {} messages stored", store.messages(peer)?.len());
    Ok(())
}

/// Searches the store file and its write-ahead log for each phrase.
fn scan(path: &Path, phrases: &[&str]) -> std::io::Result<()> {
    let mut bytes = std::fs::read(path)?;
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    if let Ok(more) = std::fs::read(Path::new(&wal)) {
        bytes.extend(more);
    }
    let found: Vec<&str> =
        phrases.iter().copied().filter(|p| bytes.windows(p.len()).any(|w| w == p.as_bytes())).collect();
    let file = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    println!("    {file} ({} bytes with its WAL): phrases found: {found:?}", bytes.len());
    Ok(())
}

/// Records: a second clinician and client whose agreement keeps record copies for seven years;
/// the clinician exports the conversation for the clinical record (FHIR R4), the client writes
/// their own transcript, and each device lists its audit trail. The files go into the directory
/// given as the first argument, or a new temporary one that is kept.
fn records() -> Result<(), Box<dyn std::error::Error>> {
    use confidant::agreement::{Consultation, RecordTerms};
    use confidant::records::transcript::TranscriptFormat;
    use confidant::records::Selection;

    section("Records: an export for the clinical record and the client's own transcript");
    let out = match std::env::args_os().nth(1) {
        Some(dir) => std::path::PathBuf::from(dir),
        None => tempfile::Builder::new().prefix("confidant-records-").tempdir()?.keep(),
    };
    std::fs::create_dir_all(&out)?;
    let stores = tempfile::tempdir()?;
    let open = |file: &str, role, id: &str| -> Result<Device, confidant::Error> {
        let key = StoreKeySource::passphrase(format!("{id}'s device passphrase"));
        let store = SqliteStore::create(stores.path().join(file), &key)?;
        Endpoint::new(store, ManualClock::new(MONDAY_10AM_NY), role, id)
    };
    let clinician = open("clinician.db", Role::Clinician, "dr-lee")?;
    let client = open("client.db", Role::Client, "sam")?;
    let (sam, dr_lee) = (PeerId::new("sam")?, PeerId::new("dr-lee")?);
    clinician.start_session(&sam, &client.prekey_bundle()?)?;
    let mut agreed = terms(&clinician, &client)?;
    agreed.records = RecordTerms {
        retention_ms: 7 * 365 * DAY,
        consultation: Consultation::DeIdentified,
        ..RecordTerms::default()
    };
    let proposal = clinician.propose_agreement(&sam, agreed)?;
    let Received::AgreementProposed { id, .. } = client.receive(&dr_lee, &proposal)?.received else {
        return Err("expected the agreement proposal".into());
    };
    clinician.receive(&sam, &client.accept_agreement(&dr_lee, id)?)?;
    say("both", "sign an agreement: record copies kept 7 years, de-identified consultation permitted");
    let remind =
        Draft::new(Category::Appointment(AppointmentKind::Reminder), "Reminder: Thursday 3pm, room 204.");
    let sent = clinician.send(&sam, remind)?;
    client.receive(&dr_lee, &sent.envelope.ok_or("refused")?)?;
    set_time(&[&clinician, &client], Timestamp(MONDAY_10AM_NY.0 + 5 * 60 * 1000));
    let reply = Draft::new(Category::Appointment(AppointmentKind::Confirm), "Confirmed <see you then>.")
        .reply_to(sent.message_id.ok_or("refused")?);
    let sent = client.send(&dr_lee, reply)?;
    clinician.receive(&sam, &sent.envelope.ok_or("refused")?)?;

    let write = |name: &str, text: &str| -> std::io::Result<()> {
        let path = out.join(name);
        std::fs::write(&path, text)?;
        println!("    wrote {}", path.display());
        Ok(())
    };
    say("clinician", "exports the conversation for the clinical record (FHIR R4 Bundle)");
    write("clinical-record.json", &clinician.export_record(&sam, &Selection::All)?)?;
    say("client", "writes their own copy and a readable transcript");
    write("client-copy.json", &client.export_record(&dr_lee, &Selection::All)?)?;
    write("transcript.txt", &client.export_transcript(&dr_lee, &Selection::All, TranscriptFormat::Text)?)?;
    write("transcript.html", &client.export_transcript(&dr_lee, &Selection::All, TranscriptFormat::Html)?)?;

    consult(&clinician, &client, &stores, &sam, &dr_lee)?;

    set_time(&[&clinician, &client], Timestamp(MONDAY_10AM_NY.0 + 3 * DAY));
    let purged = (clinician.purge_expired()?, client.purge_expired()?);
    println!(
        "    three days later, purged: {} on the clinician's device, {} on the client's",
        purged.0, purged.1
    );
    let copies = clinician.store().record_copies(&sam)?.len();
    println!("    the clinician's device keeps {copies} sealed record copies, shown in no conversation");
    for (who, device) in [("clinician", &clinician), ("client", &client)] {
        println!("    {who}'s audit trail (hash chain verified):");
        for entry in device.audit_log()? {
            println!("      {} {:?}", local_time(entry.at), entry.event);
        }
    }
    Ok(())
}

/// The clinician consults a colleague, dr-kim, with a de-identified excerpt of the conversation
/// with sam: both sign colleague terms, the excerpt travels end to end encrypted, and sam's device
/// is told.
fn consult(
    clinician: &Device,
    client: &Device,
    stores: &tempfile::TempDir,
    sam: &PeerId,
    dr_lee: &PeerId,
) -> Result<(), Box<dyn std::error::Error>> {
    use confidant::clock::Clock;

    let key = StoreKeySource::passphrase("dr-kim's device passphrase".to_owned());
    let store = SqliteStore::create(stores.path().join("colleague.db"), &key)?;
    let now = clinician.clock().now();
    let colleague: Device = Endpoint::new(store, ManualClock::new(now), Role::Clinician, "dr-kim")?;
    let dr_kim = PeerId::new("dr-kim")?;
    clinician.start_session(&dr_kim, &colleague.prekey_bundle()?)?;
    let terms = clinician.colleague_terms(&dr_kim, 7 * DAY)?;
    let (by_lee, by_kim) = (clinician.sign_colleague_terms(&terms)?, colleague.sign_colleague_terms(&terms)?);
    clinician.accept_colleague(&dr_kim, &terms, &by_kim)?;
    colleague.accept_colleague(dr_lee, &terms, &by_lee)?;
    say("clinician", "and dr-kim sign colleague terms: excerpts live 7 days");
    let ids: Vec<_> = clinician.history(sam)?.iter().filter(|e| !e.text.is_empty()).map(|e| e.id).collect();
    if clinician.share_excerpt(&dr_kim, sam, &ids, true).is_err() {
        say("clinician", "cannot share an identified excerpt: sam permitted de-identified ones only");
    }
    let share = clinician.share_excerpt(&dr_kim, sam, &ids, false)?;
    relay("clinician -> colleague", &share.envelope);
    if let Received::Message(message) = colleague.receive(dr_lee, &share.envelope)?.received {
        if let Category::Consultation(excerpt) = message.category {
            let count = excerpt.messages.len();
            say("colleague", &format!("receives a de-identified excerpt of {count} messages:"));
            for m in &excerpt.messages {
                let who = if m.from_client { "client" } else { "clinician" };
                println!("      {who}: \"{}\"", &m.text[..]);
            }
        }
    }
    if let Some(notice) = share.notice {
        if let Received::Message(message) = client.receive(dr_lee, &notice)?.received {
            say("client", &format!("is told: \"{}\"", &message.text[..]));
        }
    }
    Ok(())
}
