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

/// A fresh initiator's state (no ratchet key pair of its own until its first send) survives
/// `to_bytes` / `from_bytes`, and the restored state sends exactly what the original would.
#[test]
fn a_fresh_initiator_state_round_trips_without_a_local_ratchet_key() {
    use confidant::low_level::Ratchet;
    let bob = confidant::keys::DhKeyPair::generate(&mut rng(4403));
    let alice = Ratchet::init_alice([3; 32], bob.public_key().to_bytes(), b"associated data");
    let bytes = alice.to_bytes();
    let restored = Ratchet::from_bytes(&bytes).unwrap();
    assert_eq!(restored.to_bytes()[..], bytes[..]);
    let (mut a, mut b) = (alice.clone(), restored);
    let sent_a = a.encrypt(&mut rng(4404), b"first").unwrap();
    let sent_b = b.encrypt(&mut rng(4404), b"first").unwrap();
    assert_eq!(format!("{sent_a:?}"), format!("{sent_b:?}"));
}

/// The ratchet's `Debug` shows which keys it holds, each redacted by name.
#[test]
fn a_ratchet_debug_names_its_keys_and_shows_none() {
    use confidant::low_level::Ratchet;
    let mut rng = rng(4405);
    let bob_pair = confidant::keys::DhKeyPair::generate(&mut rng);
    let mut alice = Ratchet::init_alice([5; 32], bob_pair.public_key().to_bytes(), b"ad");
    let mut bob = Ratchet::init_bob([5; 32], bob_pair.private_bytes().as_slice().try_into().unwrap(), b"ad");
    let _skipped = alice.encrypt(&mut rng, b"one").unwrap();
    let (header, ciphertext) = alice.encrypt(&mut rng, b"two").unwrap();
    bob.decrypt(&header, &ciphertext).unwrap();
    let debug = format!("{bob:?}");
    for name in ["RootKey(..)", "ChainKey(..)"] {
        assert!(debug.contains(name), "{name} missing from {debug}");
    }
}

/// A stored state with a sending chain but no ratchet key of its own, or a receiving chain but
/// no remote ratchet key, is refused: each inconsistency alone.
#[test]
fn a_state_with_a_chain_but_not_its_ratchet_key_is_refused() {
    use confidant::low_level::Ratchet;
    let mut rng = rng(4406);
    let bob_pair = confidant::keys::DhKeyPair::generate(&mut rng);
    let mut alice = Ratchet::init_alice([6; 32], bob_pair.public_key().to_bytes(), b"ad");
    alice.encrypt(&mut rng, b"one").unwrap();
    let bytes = alice.to_bytes().to_vec();
    // u32 length and "ad", the root key, then the flags: local 1, remote 2, sending 4, receiving 8.
    let flags_at = 4 + 2 + 32;
    assert_eq!(bytes[flags_at], 1 | 2 | 4, "a sender's state: own key, remote key, sending chain");
    assert!(Ratchet::from_bytes(&bytes).is_ok());

    // Without its own key (flag and 32 bytes removed), the sending chain has no key pair.
    let mut no_local = bytes.clone();
    no_local[flags_at] &= !1;
    no_local.drain(flags_at + 1..flags_at + 33);
    assert_eq!(
        Ratchet::from_bytes(&no_local).unwrap_err(),
        confidant::session::DecodeError::InvalidField("session chains")
    );

    // A receiving chain without the remote key it belongs to: Bob after receiving, remote removed.
    let mut bob = Ratchet::init_bob([6; 32], bob_pair.private_bytes().as_slice().try_into().unwrap(), b"ad");
    let (header, ciphertext) = alice.encrypt(&mut rng, b"two").unwrap();
    bob.decrypt(&header, &ciphertext).unwrap();
    let bytes = bob.to_bytes().to_vec();
    assert_eq!(bytes[flags_at], 1 | 2 | 8, "a receiver's state: own key, remote key, receiving chain");
    let mut no_remote = bytes.clone();
    no_remote[flags_at] &= !2;
    no_remote.drain(flags_at + 33..flags_at + 65);
    assert_eq!(
        Ratchet::from_bytes(&no_remote).unwrap_err(),
        confidant::session::DecodeError::InvalidField("session chains")
    );
}
