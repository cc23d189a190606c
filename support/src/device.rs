//! A device's identity and private prekeys, and two established sessions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use confidant::keys::{IdentityKeyPair, KemPrekey, OneTimePrekey, PrekeyId, SignedPrekey};
use confidant::session::{Envelope, PrekeyBundle, PrekeyMessage, Session, SessionError};
use rand_chacha::ChaCha20Rng;
use rand_core::CryptoRng;
use zeroize::Zeroizing;

pub use crate::rng::seeded as rng;

/// A device: its identity and its private prekeys (signed prekey 1, one-time prekey 7 when it
/// has one, post-quantum prekey 3).
#[derive(Clone)]
pub struct Device {
    /// The identity key pair.
    pub identity: IdentityKeyPair,
    /// The signed prekey.
    pub signed: SignedPrekey,
    /// The one-time prekey, if the device published one.
    pub one_time: Option<OneTimePrekey>,
    /// The signed post-quantum prekey.
    pub kem: KemPrekey,
}

impl Device {
    /// A new device whose keys are drawn from `rng`, in a fixed order (identity, signed prekey,
    /// one-time prekey, post-quantum prekey), so a seeded `rng` always gives the same device.
    pub fn new<R: CryptoRng + ?Sized>(rng: &mut R, with_one_time: bool) -> Self {
        let identity = IdentityKeyPair::generate(rng);
        let signed = SignedPrekey::generate(rng, PrekeyId(1), &identity);
        let one_time = with_one_time.then(|| OneTimePrekey::generate(rng, PrekeyId(7)));
        let kem = KemPrekey::generate(rng, PrekeyId(3), &identity);
        Self { identity, signed, one_time, kem }
    }

    /// The bundle the device publishes.
    #[must_use]
    pub fn bundle(&self) -> PrekeyBundle {
        PrekeyBundle::new(self.identity.public_key(), &self.signed, self.one_time.as_ref(), &self.kem)
    }

    /// The responder's side, with the prekeys looked up as a store would: the one-time prekey is
    /// passed exactly when the message names one.
    ///
    /// # Errors
    /// As [`Session::respond`].
    pub fn respond(&self, message: &PrekeyMessage) -> Result<(Session, Zeroizing<Vec<u8>>), SessionError> {
        let one_time = message.one_time_prekey_id().and(self.one_time.as_ref());
        Session::respond(&self.identity, message, &self.signed, one_time, &self.kem)
    }

    /// The stored form of every private prekey, to check that nothing changed them.
    #[must_use]
    pub fn prekey_bytes(&self) -> Vec<Zeroizing<Vec<u8>>> {
        let mut out = vec![self.signed.to_bytes(), self.kem.to_bytes()];
        out.extend(self.one_time.as_ref().map(OneTimePrekey::to_bytes));
        out
    }
}

/// Alice starts a session with Bob and Bob answers her first message: both sessions
/// established, and the generator they were drawn from.
///
/// # Panics
/// If the handshake fails: a fixture that cannot be built is a failed test.
#[must_use]
pub fn established(seed: u64) -> (Session, Session, ChaCha20Rng) {
    let mut rng = crate::rng::seeded(seed);
    let alice = Device::new(&mut rng, false);
    let bob = Device::new(&mut rng, true);
    let mut a = Session::initiate(&mut rng, &alice.identity, &bob.bundle()).unwrap();
    let first = a.encrypt(&mut rng, b"hello").unwrap();
    let Envelope::Prekey(prekey) = first else { panic!("first message must carry the handshake") };
    let (b, plaintext) = bob.respond(&prekey).unwrap();
    assert_eq!(&plaintext[..], b"hello");
    (a, b, rng)
}
