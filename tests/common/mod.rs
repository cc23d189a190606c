//! Shared set-up for the integration tests: two parties with published prekeys.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use confidant::{IdentityKeyPair, KemPrekey, OneTimePrekey, PrekeyBundle, PrekeyId, Session, SignedPrekey};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// A device's identity and its private prekeys.
pub struct Device {
    pub identity: IdentityKeyPair,
    pub signed: SignedPrekey,
    pub one_time: Option<OneTimePrekey>,
    pub kem: KemPrekey,
}

impl Device {
    pub fn new(rng: &mut ChaCha20Rng, with_one_time: bool) -> Self {
        let identity = IdentityKeyPair::generate(rng);
        let signed = SignedPrekey::generate(rng, PrekeyId(1), &identity);
        let one_time = with_one_time.then(|| OneTimePrekey::generate(rng, PrekeyId(7)));
        let kem = KemPrekey::generate(rng, PrekeyId(3), &identity);
        Self { identity, signed, one_time, kem }
    }

    pub fn bundle(&self) -> PrekeyBundle {
        PrekeyBundle::new(self.identity.public_key(), &self.signed, self.one_time.as_ref(), &self.kem)
    }
}

pub fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// Alice starts a session with Bob and Bob answers her first message: both sessions established.
pub fn established(seed: u64) -> (Session, Session, ChaCha20Rng) {
    let mut rng = rng(seed);
    let alice = Device::new(&mut rng, false);
    let bob = Device::new(&mut rng, true);
    let mut a = Session::initiate(&mut rng, &alice.identity, &bob.bundle()).unwrap();
    let first = a.encrypt(&mut rng, b"hello").unwrap();
    let confidant::Envelope::Prekey(prekey) = first else { panic!("first message must carry the handshake") };
    let (b, plaintext) =
        Session::respond(&bob.identity, &prekey, &bob.signed, bob.one_time.as_ref(), &bob.kem).unwrap();
    assert_eq!(&plaintext[..], b"hello");
    (a, b, rng)
}
