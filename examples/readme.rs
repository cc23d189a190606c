//! The README's example: a clinician and a client sign an agreement, and a message inside it
//! is sent while one outside it is refused.

use confidant::store::{MemoryStore, PeerId};
use confidant::{
    AgreementTerms, AppointmentKind, Availability, Category, Decision, Draft, Endpoint, ManualClock,
    Received, Role, Timestamp, Weekday, Window,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // One endpoint per device. An app opens a passphrase-protected SQLite file with
    // `Endpoint::open` and the system clock; this example keeps both devices in memory at a
    // fixed time: Monday 2 March 2026, 10:00 in New York.
    let monday_10am = || ManualClock::new(Timestamp(1_772_463_600_000));
    let clinician = Endpoint::new(MemoryStore::new(), monday_10am(), Role::Clinician, "dr-lee")?;
    let client = Endpoint::new(MemoryStore::new(), monday_10am(), Role::Client, "sam")?;
    let (sam, dr_lee) = (PeerId::new("sam")?, PeerId::new("dr-lee")?);

    // A session from the client's prekey bundle, then the agreement: proposed, accepted, signed
    // by both. Every value here travels over the app's own transport as opaque bytes.
    let bundle = client.prekey_bundle()?;
    clinician.start_session(&sam, &bundle)?;
    let hours = Weekday::ALL[..5].iter().map(|&day| Window::new(day, (9, 0), (17, 0))).collect();
    let terms = AgreementTerms::new(
        1,
        clinician.identity_key(),
        client.identity_key(),
        Availability::new("America/New_York", hours)?,
        "I reply within one business day.".into(),
        vec!["Call or text 988 (Suicide & Crisis Lifeline)".into()],
    );
    let proposal = clinician.propose_agreement(&sam, terms)?;
    let Received::AgreementProposed { id, .. } = client.receive(&dr_lee, &proposal)?.received else {
        return Err("expected the clinician's proposal".into());
    };
    let acceptance = client.accept_agreement(&dr_lee, id)?;
    clinician.receive(&sam, &acceptance)?;

    // Within the agreement: sent. Outside it: refused on the device, with the reason.
    let draft = Draft::new(Category::Appointment(AppointmentKind::Confirm), "See you Thursday");
    let sent = client.send(&dr_lee, draft)?;
    let envelope = sent.envelope.ok_or("an appointment confirmation is within the agreement")?;
    if let Received::Message(message) = clinician.receive(&sam, &envelope)?.received {
        println!("the clinician reads: {}", &message.text[..]);
    }
    let refused = client.send(&dr_lee, Draft::new(Category::CheckIn, "Can we talk tonight?"))?;
    assert!(matches!(refused.decision, Decision::OutOfScope { .. }));
    println!("a check-in is refused before it leaves the client's device");
    Ok(())
}
