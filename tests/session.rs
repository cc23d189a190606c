//! Full handshake plus conversation through the public API, including the wire encoding.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use confidant_support::device as common;

use common::{established, rng, Device};
use confidant::session::{DecodeError, Envelope, HandshakeError, Session, SessionError};

fn wire(envelope: &Envelope) -> Envelope {
    Envelope::from_bytes(&envelope.to_bytes()).unwrap()
}

#[test]
fn handshake_then_conversation_over_the_wire() {
    let mut rng = rng(1);
    let clinician = Device::new(&mut rng, true);
    let client = Device::new(&mut rng, false);
    let bundle = confidant::session::PrekeyBundle::from_bytes(&clinician.bundle().to_bytes()).unwrap();
    let mut c = Session::initiate(&mut rng, &client.identity, &bundle).unwrap();

    // The initiator attaches the handshake until it hears back.
    let m1 = wire(&c.encrypt(&mut rng, b"Can we move Tuesday to 3pm?").unwrap());
    let m2 = wire(&c.encrypt(&mut rng, b"Or Wednesday.").unwrap());
    let Envelope::Prekey(p1) = &m1 else { panic!("expected a prekey message") };
    assert!(matches!(m2, Envelope::Prekey(_)));
    let (mut k, first) = Session::respond(
        &clinician.identity,
        p1,
        &clinician.signed,
        clinician.one_time.as_ref(),
        &clinician.kem,
    )
    .unwrap();
    assert_eq!(&first[..], b"Can we move Tuesday to 3pm?");
    assert_eq!(&k.decrypt(&m2).unwrap()[..], b"Or Wednesday.");
    assert_eq!(k.remote_identity(), client.identity.public_key());

    let reply = wire(&k.encrypt(&mut rng, b"3pm Tuesday works.").unwrap());
    assert!(matches!(reply, Envelope::Message(_)));
    assert_eq!(&c.decrypt(&reply).unwrap()[..], b"3pm Tuesday works.");
    // Having heard back, the initiator sends plain ratchet messages.
    let m3 = wire(&c.encrypt(&mut rng, b"Thanks").unwrap());
    assert!(matches!(m3, Envelope::Message(_)));
    assert_eq!(&k.decrypt(&m3).unwrap()[..], b"Thanks");
}

#[test]
fn self_sessions_are_refused_and_the_responder_can_reply() {
    let mut rng = rng(2);
    let dev = Device::new(&mut rng, false);
    let err = Session::initiate(&mut rng, &dev.identity, &dev.bundle()).unwrap_err();
    assert_eq!(err, SessionError::Handshake(HandshakeError::SelfSession));
    let mut rng2 = rng;
    let bob = Device::new(&mut rng2, false);
    let carol = Device::new(&mut rng2, false);
    let mut a = Session::initiate(&mut rng2, &carol.identity, &bob.bundle()).unwrap();
    let Envelope::Prekey(p) = a.encrypt(&mut rng2, b"x").unwrap() else { panic!() };
    let (mut b, _) = Session::respond(&bob.identity, &p, &bob.signed, None, &bob.kem).unwrap();
    assert!(b.encrypt(&mut rng2, b"y").is_ok(), "responder can send after receiving");
}

#[test]
fn bundle_with_bad_signature_is_refused() {
    let mut rng = rng(4);
    let alice = Device::new(&mut rng, false);
    let bob = Device::new(&mut rng, true);
    let mut bytes = bob.bundle().to_bytes();
    // The last field is the KEM prekey signature: flip a bit in its last byte.
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let bundle = confidant::session::PrekeyBundle::from_bytes(&bytes).unwrap();
    let err = Session::initiate(&mut rng, &alice.identity, &bundle).unwrap_err();
    assert_eq!(err, SessionError::Handshake(HandshakeError::BadKemPrekeySignature));
}

#[test]
fn wrong_prekeys_and_modified_kem_ciphertext_fail_cleanly() {
    let mut rng = rng(5);
    let alice = Device::new(&mut rng, false);
    let bob = Device::new(&mut rng, true);
    let mut a = Session::initiate(&mut rng, &alice.identity, &bob.bundle()).unwrap();
    let Envelope::Prekey(p) = a.encrypt(&mut rng, b"hi").unwrap() else { panic!() };
    let err = Session::respond(&bob.identity, &p, &bob.signed, None, &bob.kem).unwrap_err();
    assert_eq!(err, SessionError::Handshake(HandshakeError::PrekeyMismatch));

    // Flip one bit of the ML-KEM ciphertext on the wire: implicit rejection, then AEAD failure.
    let mut bytes = Envelope::Prekey(p.clone()).to_bytes();
    let probe = &p.kem_ciphertext().as_bytes()[..32];
    let at = bytes.windows(32).position(|w| w == probe).unwrap();
    bytes[at] ^= 1;
    let Envelope::Prekey(tampered) = Envelope::from_bytes(&bytes).unwrap() else { panic!() };
    assert_ne!(tampered.kem_ciphertext(), p.kem_ciphertext());
    let err =
        Session::respond(&bob.identity, &tampered, &bob.signed, bob.one_time.as_ref(), &bob.kem).unwrap_err();
    assert_eq!(err, SessionError::Decrypt);
    // The genuine message still completes the handshake afterwards.
    assert!(Session::respond(&bob.identity, &p, &bob.signed, bob.one_time.as_ref(), &bob.kem).is_ok());
}

#[test]
fn session_record_round_trips_exactly() {
    let (mut a, mut b, mut rng) = established(6);
    for i in 0..5u8 {
        let e = b.encrypt(&mut rng, &[i; 10]).unwrap();
        if i != 2 {
            a.decrypt(&e).unwrap();
        }
    }
    let restored = Session::from_bytes(&a.to_bytes()).unwrap();
    assert_eq!(restored.to_bytes(), a.to_bytes());
    assert_eq!(restored.skipped_keys(), 1);
    let mut truncated = a.to_bytes().to_vec();
    truncated.pop();
    assert!(matches!(
        Session::from_bytes(&truncated),
        Err(SessionError::Decode(DecodeError::InvalidField(_)))
    ));
    let mut newer = a.to_bytes().to_vec();
    newer[0] = 2;
    assert_eq!(
        Session::from_bytes(&newer).unwrap_err(),
        SessionError::Decode(DecodeError::UnsupportedVersion(2))
    );
}

#[test]
fn duplicate_is_its_own_error_and_changes_nothing() {
    let (mut a, mut b, mut rng) = established(7);
    let e = b.encrypt(&mut rng, b"once").unwrap();
    assert_eq!(&a.decrypt(&e).unwrap()[..], b"once");
    let before = a.to_bytes();
    assert_eq!(a.decrypt(&e).unwrap_err(), SessionError::Duplicate);
    assert_eq!(a.to_bytes(), before);
}

#[test]
fn envelope_decoder_rejects_bad_input_with_typed_errors() {
    assert_eq!(Envelope::from_bytes(&[]).unwrap_err(), DecodeError::Empty);
    assert_eq!(Envelope::from_bytes(&[9, 1, 2]).unwrap_err(), DecodeError::UnsupportedVersion(9));
    // Garbage reads as garbage: a first byte that no version of the format may use is not
    // reported as a version mismatch.
    assert_eq!(Envelope::from_bytes(&[176, 1, 2]).unwrap_err(), DecodeError::Malformed);
    assert_eq!(Envelope::from_bytes(&[0, 1, 2]).unwrap_err(), DecodeError::Malformed);
    assert_eq!(Envelope::from_bytes(&[0x0f, 1, 2]).unwrap_err(), DecodeError::UnsupportedVersion(0x0f));
    assert_eq!(Envelope::from_bytes(&[0x10, 1, 2]).unwrap_err(), DecodeError::Malformed);
    assert_eq!(Envelope::from_bytes(&[1, 0xff, 0xff]).unwrap_err(), DecodeError::Malformed);
    assert_eq!(
        Envelope::from_bytes(&vec![1; confidant::consts::MAX_ENVELOPE_LEN + 1]).unwrap_err(),
        DecodeError::TooLarge
    );
    assert_eq!(Envelope::from_bytes(&[1]).unwrap_err(), DecodeError::InvalidField("envelope body"));
}
