//! A clinician and a client: verify safety numbers, start an end-to-end encrypted session, and
//! exchange appointment messages. Everything the relay carries is printed as opaque bytes.
//!
//! Run with `cargo run --example clinic`.

use confidant::{
    Envelope, IdentityKeyPair, KemPrekey, OneTimePrekey, PrekeyBundle, PrekeyId, SafetyNumber, Session,
    SignedPrekey,
};
use rand::rngs::OsRng;

fn main() -> Result<(), confidant::Error> {
    let mut rng = OsRng;

    // The clinician's device publishes a prekey bundle.
    let clinician = IdentityKeyPair::generate(&mut rng);
    let signed = SignedPrekey::generate(&mut rng, PrekeyId(1), &clinician);
    let one_time = OneTimePrekey::generate(&mut rng, PrekeyId(1));
    let kem = KemPrekey::generate(&mut rng, PrekeyId(1), &clinician);
    let bundle = PrekeyBundle::new(clinician.public_key(), &signed, Some(&one_time), &kem).to_bytes();
    println!("relay stores the clinician's bundle: {} bytes", bundle.len());

    // The client starts a session from the bundle.
    let client = IdentityKeyPair::generate(&mut rng);
    let mut client_session = Session::initiate(&mut rng, &client, &PrekeyBundle::from_bytes(&bundle)?)?;

    // In the first appointment they compare safety numbers.
    let on_client = SafetyNumber::new(&client.public_key(), b"client", &clinician.public_key(), b"clinician");
    let on_clinician =
        SafetyNumber::new(&clinician.public_key(), b"clinician", &client.public_key(), b"client");
    println!("safety number (client)   : {}", on_client.grouped());
    println!("safety number (clinician): {}", on_clinician.grouped());
    println!("scanned code matches     : {}", on_clinician.matches_scanned(on_client.scannable()));

    // The client's first message carries the handshake.
    let wire =
        client_session.encrypt(&mut rng, b"Hi, confirming my appointment on Tuesday at 3pm.")?.to_bytes();
    relay("client -> clinician", &wire);
    let Envelope::Prekey(first) = Envelope::from_bytes(&wire)? else {
        return Err(confidant::DecodeError::InvalidField("expected a prekey message").into());
    };
    let (mut clinician_session, text) = Session::respond(&clinician, &first, &signed, Some(&one_time), &kem)?;
    println!("clinician reads: {}", String::from_utf8_lossy(&text));

    let conversation: [(&str, &[u8]); 3] = [
        ("clinician", b"Confirmed: Tuesday 3pm, room 204."),
        ("client", b"Thanks. Is there parking nearby?"),
        ("clinician", b"Yes, the garage on Elm St. validates tickets."),
    ];
    for (from, text) in conversation {
        let (sender, receiver) = if from == "client" {
            (&mut client_session, &mut clinician_session)
        } else {
            (&mut clinician_session, &mut client_session)
        };
        let wire = sender.encrypt(&mut rng, text)?.to_bytes();
        relay(&format!("{from} ->"), &wire);
        let plaintext = receiver.decrypt(&Envelope::from_bytes(&wire)?)?;
        println!("{from} says: {}", String::from_utf8_lossy(&plaintext));
    }
    Ok(())
}

/// What the relay sees: a length and bytes that mean nothing to it.
fn relay(label: &str, wire: &[u8]) {
    let preview: String = wire.iter().take(24).map(|b| format!("{b:02x}")).collect();
    println!("  relay [{label}] {} bytes: {preview}…", wire.len());
}
