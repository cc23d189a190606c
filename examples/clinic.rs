//! A clinician and a client, each with their own encrypted store file, from first contact to
//! expiry: they compare safety numbers, sign a communication agreement, exchange appointment
//! messages, and the agreement's boundaries, auto-reply, crisis path and expiry play out.
//! Everything the relay carries is printed as it sees it: opaque, padded bytes.
//!
//! Run with `cargo run --example clinic`.

use std::path::Path;

use confidant::content::CategoryKind;
use confidant::expiry::{ExpiryStart, Lifespan};
use confidant::store::{PeerId, SqliteStore, Store, StoreKeySource};
use confidant::{
    AgreementTerms, AppointmentKind, Availability, Category, Decision, Draft, Endpoint, ManualClock,
    Received, Role, Timestamp, Weekday, Window,
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

    section("First appointment: set-up in person");
    let bundle = client.prekey_bundle()?;
    clinician.start_session(&sam, &bundle)?;
    let proposal = clinician.propose_agreement(&sam, terms(&clinician, &client)?)?;
    relay("clinician -> client", &proposal);
    let Received::AgreementProposed { id, terms } = client.receive(&dr_lee, &proposal)?.received else {
        return Err("expected the agreement proposal".into());
    };
    say("client", &format!("reads the proposed agreement, version {}:", terms.version));
    println!("      client may send: {:?}", terms.client_may_send);
    println!("      office hours: Mon-Fri 9:00-17:00 {}", terms.availability.time_zone_name());
    println!("      in a crisis: {}", terms.crisis_resources.join("; "));
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

    section("The client asks for something the agreement does not cover");
    let off_topic = Draft::new(Category::CheckIn, "Can we talk about what happened at work today?");
    exchange(&client, &clinician, &dr_lee, &sam, off_topic)?;

    section("Monday 19:30: outside office hours");
    set_time(&[&clinician, &client], Timestamp(MONDAY_10AM_NY.0 + 9 * HOUR + HOUR / 2));
    let late =
        Draft::new(Category::Appointment(AppointmentKind::Reschedule), "Could we move Thursday to Friday?");
    exchange(&client, &clinician, &dr_lee, &sam, late)?;

    section("Monday 23:00: a crisis");
    set_time(&[&clinician, &client], Timestamp(MONDAY_10AM_NY.0 + 13 * HOUR));
    let crisis = Draft::new(Category::Crisis, "I don't feel safe tonight.");
    exchange(&client, &clinician, &dr_lee, &sam, crisis)?;

    section("Three days later: messages expire");
    let phrases = ["Thursday 3pm", "Friday", "safe tonight", "what happened at work"];
    let files = [("clinician.db", &sam), ("client.db", &dr_lee)];
    for (file, peer) in files {
        inspect(&dir.path().join(file), peer, &phrases)?;
    }
    set_time(&[&clinician, &client], Timestamp(MONDAY_10AM_NY.0 + 3 * DAY));
    let purged = (clinician.purge_expired()?, client.purge_expired()?);
    println!("    purged: {} messages on the clinician's device, {} on the client's", purged.0, purged.1);
    for (who, device, peer) in [("clinician", &clinician, &sam), ("client", &client, &dr_lee)] {
        let left: Vec<String> = device
            .history(peer)?
            .iter()
            .map(|e| match &e.category {
                Category::Agreement(_) => "an agreement message".to_owned(),
                other => format!("{:?}: \"{}\"", other.kind(), &e.text[..]),
            })
            .collect();
        println!("    {who}'s history now: {left:?}");
    }
    for (file, peer) in files {
        inspect(&dir.path().join(file), peer, &phrases)?;
    }
    Ok(())
}

/// Office hours Monday to Friday 9-17 in New York; appointment matters both ways; messages live
/// two days from sending, crisis messages a week.
fn terms(clinician: &Device, client: &Device) -> Result<AgreementTerms, confidant::Error> {
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
    Ok(terms)
}

/// `from` sends `draft`; the relay carries it; `to` receives; replies travel back.
fn exchange(
    from: &Device,
    to: &Device,
    to_peer: &PeerId,
    from_peer: &PeerId,
    draft: Draft,
) -> Result<(), confidant::Error> {
    let sender = name(from);
    let text = draft.text().to_owned();
    say(sender, &format!("writes: \"{text}\""));
    let sent = from.send(to_peer, draft)?;
    match &sent.decision {
        Decision::Allowed => {}
        Decision::OutOfScope { reason, allowed_categories, .. } => {
            say(sender, &format!("NOT SENT: {reason:?}; allowed instead: {allowed_categories:?}"));
        }
        Decision::OutsideHours { next_available, response_time, crisis_resources, notice, .. } => {
            say(
                sender,
                &format!("sent outside office hours; next available {}", local_time(*next_available)),
            );
            say(sender, &format!("shown: \"{notice}\" \"{response_time}\" and: {}", crisis_resources.join("; ")));
        }
        Decision::Crisis { crisis_resources } => {
            say(sender, &format!("sent; shown at once: {}", crisis_resources.join("; ")));
        }
        Decision::CrisisNotSent { statement, crisis_resources, .. } => {
            say(sender, "NOT SENT: this practice does not answer crisis messages now.");
            say(sender, &format!("shown at once: \"{statement}\" and: {}", crisis_resources.join("; ")));
        }
        Decision::Capped { opens_at, notice, crisis_resources } => {
            say(sender, &format!("NOT SENT: \"{notice}\" Sending opens again {}.", local_time(*opens_at)));
            say(sender, &format!("shown at once: {}", crisis_resources.join("; ")));
        }
        _ => say(sender, "NOT SENT"),
    }
    let Some(envelope) = sent.envelope else { return Ok(()) };
    relay(&format!("{sender} -> {}", name(to)), &envelope);
    let incoming = to.receive(from_peer, &envelope)?;
    if let Some(preview) = incoming.preview {
        say(name(to), &format!("notification: \"{preview}\""));
    }
    if let Received::Message(message) = &incoming.received {
        let flag = match message.decision {
            Decision::Crisis { .. } => " [CRISIS]",
            Decision::OutsideHours { .. } => " [outside hours]",
            _ => "",
        };
        say(name(to), &format!("reads: \"{}\"{flag}", &message.text[..]));
    }
    for reply in incoming.replies {
        relay(&format!("{} -> {sender}", name(to)), &reply);
        if let Received::Message(message) = from.receive(to_peer, &reply)?.received {
            say(sender, &format!("reads: \"{}\"", &message.text[..]));
        }
    }
    Ok(())
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

/// A timestamp as New York wall time (UTC-5 in March 2026, before the clocks change).
fn local_time(at: Timestamp) -> String {
    let minutes = (at.0 / 60_000) as i64 - 5 * 60;
    let (days, minute_of_day) = (minutes.div_euclid(24 * 60), minutes.rem_euclid(24 * 60));
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][days.rem_euclid(7) as usize];
    format!("{weekday} {:02}:{:02} New York time", minute_of_day / 60, minute_of_day % 60)
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
