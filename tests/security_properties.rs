//! Forward secrecy, post-compromise security, and secret-free `Debug` output.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use confidant_support::device as common;

use common::{established, rng, Device};
use confidant::session::{Session, SessionError};

#[test]
fn forward_secrecy_a_later_copy_cannot_decrypt_a_read_message() {
    let (mut a, mut b, mut rng) = established(11);
    let in_order = b.encrypt(&mut rng, b"first").unwrap();
    let skipped = b.encrypt(&mut rng, b"second, arrives late").unwrap();
    let after = b.encrypt(&mut rng, b"third").unwrap();
    a.decrypt(&in_order).unwrap();
    a.decrypt(&after).unwrap();
    a.decrypt(&skipped).unwrap();
    // The state on disk after reading holds no key for any of the three.
    let stolen = Session::from_bytes(&a.to_bytes()).unwrap();
    for message in [&in_order, &skipped, &after] {
        let mut copy = stolen.clone();
        assert_eq!(copy.decrypt(message).unwrap_err(), SessionError::Duplicate);
    }
    assert_eq!(stolen.skipped_keys(), 0);
}

#[test]
fn forward_secrecy_of_earlier_chains() {
    let (mut a, mut b, mut rng) = established(12);
    let old = b.encrypt(&mut rng, b"old chain").unwrap();
    a.decrypt(&old).unwrap();
    // Several DH ratchet turns later.
    for _ in 0..3 {
        let m = a.encrypt(&mut rng, b"ping").unwrap();
        b.decrypt(&m).unwrap();
        let m = b.encrypt(&mut rng, b"pong").unwrap();
        a.decrypt(&m).unwrap();
    }
    let mut stolen = Session::from_bytes(&a.to_bytes()).unwrap();
    assert!(stolen.decrypt(&old).is_err());
}

/// Steals `victim`'s state, then lets both parties each send a reply (a DH ratchet turn each way);
/// afterwards the stolen copy, fed every message the attacker saw, cannot read new messages.
fn post_compromise(victim_is_alice: bool) {
    let (mut a, mut b, mut rng) = established(13);
    let (victim, other) = if victim_is_alice { (&mut a, &mut b) } else { (&mut b, &mut a) };
    let mut stolen = Session::from_bytes(&victim.to_bytes()).unwrap();

    // Before healing, the thief reads what the other party sends.
    let m1 = other.encrypt(&mut rng, b"before healing").unwrap();
    assert_eq!(&stolen.clone().decrypt(&m1).unwrap()[..], b"before healing");
    victim.decrypt(&m1).unwrap();
    let _ = stolen.decrypt(&m1);

    // The victim replies (new ratchet key), the other party replies too.
    let m2 = victim.encrypt(&mut rng, b"victim replies").unwrap();
    other.decrypt(&m2).unwrap();
    let _ = stolen.decrypt(&m2);
    let m3 = other.encrypt(&mut rng, b"other replies").unwrap();
    victim.decrypt(&m3).unwrap();
    let m4 = other.encrypt(&mut rng, b"after healing").unwrap();

    assert!(stolen.clone().decrypt(&m3).is_err(), "the thief read a message after both parties replied");
    assert!(stolen.decrypt(&m4).is_err(), "the thief read a message after both parties replied");
    assert_eq!(&victim.decrypt(&m4).unwrap()[..], b"after healing");
}

#[test]
fn post_compromise_security_initiator_stolen() {
    post_compromise(true);
}

#[test]
fn post_compromise_security_responder_stolen() {
    post_compromise(false);
}

/// `Debug` of every secret-holding type prints none of its secret bytes.
#[test]
fn debug_output_holds_no_key_material() {
    let mut rng = rng(14);
    let device = Device::new(&mut rng, true);
    let one_time = device.one_time.clone().unwrap();
    let (alice, bob, _) = established(15);

    let secrets: Vec<(String, Vec<u8>)> = vec![
        (format!("{:?}", device.identity), device.identity.to_seed().to_vec()),
        (format!("{:?}", device.signed), device.signed.to_bytes()[4..36].to_vec()),
        (format!("{:?}", one_time), one_time.to_bytes()[4..36].to_vec()),
        (format!("{:?}", device.kem), device.kem.to_bytes()[4..68].to_vec()),
        (format!("{:?}", alice), secret_part_of_record(&alice)),
        (format!("{:?}", bob), secret_part_of_record(&bob)),
    ];
    for (debug, secret) in secrets {
        assert_no_secret(&debug, &secret);
    }
    let pair = confidant::keys::DhKeyPair::generate(&mut rng);
    assert_no_secret(&format!("{pair:?}"), &pair.private_bytes()[..]);
    let ratchet = confidant::low_level::Ratchet::init_bob([7; 32], [9; 32], b"ad");
    assert_no_secret(&format!("{ratchet:?}"), &[7; 32]);
    assert_no_secret(&format!("{ratchet:?}"), &[9; 32]);
    let mut alice = confidant::low_level::Ratchet::init_alice([7; 32], pair.public_key().to_bytes(), b"ad");
    let traced = alice.encrypt_traced(&mut rng, b"hello").unwrap();
    assert_no_secret(&format!("{traced:?}"), &traced.message_key[..]);
}

/// A session record with its public keys blanked out: what remains is (mostly) secret.
fn secret_part_of_record(session: &Session) -> Vec<u8> {
    let mut record = session.to_bytes().to_vec();
    let public = [
        session.local_identity().to_bytes(),
        session.remote_identity().to_bytes(),
        session.base_key().to_bytes(),
    ];
    for key in public {
        while let Some(at) = record.windows(32).position(|w| w == key) {
            record[at..at + 32].fill(0);
        }
    }
    record
}

fn assert_no_secret(debug: &str, secret: &[u8]) {
    // Any 8-byte window of the secret, in lowercase hex or as a Rust byte list, would be a leak.
    for window in secret.windows(8) {
        let hex: String = window.iter().map(|b| format!("{b:02x}")).collect();
        assert!(!debug.contains(&hex), "Debug output {debug} contains secret bytes in hex");
        let list = format!("{:?}", window);
        assert!(!debug.contains(&list[1..list.len() - 1]), "Debug output {debug} contains secret bytes");
    }
}
