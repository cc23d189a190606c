//! Edges of the session layer that mutation testing showed no other test pinned down
//! (MUTANTS.md): each test names the rule it holds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use confidant::keys::{KemPrekey, OneTimePrekey, PrekeyId, SignedPrekey};
use confidant::session::HandshakeError;
use confidant::session::{Envelope, Session, SessionError};
use confidant_support::device::{established, rng, Device};

/// `Session::respond` refuses prekeys other than the ones the message names, each on its own:
/// a mismatch of any one of the signed, one-time or post-quantum prekey is `PrekeyMismatch`,
/// before any key agreement runs.
#[test]
fn a_mismatch_of_any_one_prekey_is_refused_as_such() {
    let mut rng = rng(4401);
    let alice = Device::new(&mut rng, false);
    let bob = Device::new(&mut rng, true);
    let mut session = Session::initiate(&mut rng, &alice.identity, &bob.bundle()).unwrap();
    let Envelope::Prekey(first) = session.encrypt(&mut rng, b"hello").unwrap() else {
        panic!("a prekey message")
    };
    let one_time = bob.one_time.clone().unwrap();
    let other_signed = SignedPrekey::generate(&mut rng, PrekeyId(2), &bob.identity);
    let other_one_time = OneTimePrekey::generate(&mut rng, PrekeyId(8));
    let other_kem = KemPrekey::generate(&mut rng, PrekeyId(4), &bob.identity);
    let mismatch = SessionError::from(HandshakeError::PrekeyMismatch);
    let cases = [
        Session::respond(&bob.identity, &first, &other_signed, Some(&one_time), &bob.kem),
        Session::respond(&bob.identity, &first, &bob.signed, Some(&other_one_time), &bob.kem),
        Session::respond(&bob.identity, &first, &bob.signed, None, &bob.kem),
        Session::respond(&bob.identity, &first, &bob.signed, Some(&one_time), &other_kem),
    ];
    for (n, case) in cases.into_iter().enumerate() {
        assert_eq!(case.err(), Some(mismatch), "case {n}");
    }
    assert!(Session::respond(&bob.identity, &first, &bob.signed, Some(&one_time), &bob.kem).is_ok());
}

/// A session's `Debug` names it and its public keys (for logs), and nothing secret
/// (tests/security_properties.rs checks the second half).
#[test]
fn a_sessions_debug_names_its_public_keys() {
    let (alice, _, _) = established(4402);
    let debug = format!("{alice:?}");
    assert!(debug.starts_with("Session"), "{debug}");
    assert!(debug.contains(&format!("{:?}", alice.remote_identity())), "{debug}");
    assert!(debug.contains(&format!("{:?}", alice.base_key())), "{debug}");
}
