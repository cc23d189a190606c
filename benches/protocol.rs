//! The protocol core measured three ways in one run: confidant, the primitive floor (the raw
//! primitive calls the protocol needs for the same work, and nothing else), and vodozemac's Olm
//! sessions on the same workload. BENCHMARKS.md explains each group and ratio.
//!
//! `cargo bench --bench protocol` runs every group, then prints the sizes and the table of
//! medians and ratios read back from `target/criterion`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use confidant::keys::{IdentityKeyPair, KemPrekey, OneTimePrekey, PrekeyId, SignedPrekey};
use confidant::session::{Envelope, PrekeyBundle, PrekeyMessage, Session};
use criterion::{BenchmarkId, Criterion, Throughput};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use vodozemac::olm::{Account, OlmMessage, SessionConfig};

/// Message sizes of the in-order group.
const SIZES: [usize; 3] = [64, 1024, 16 * 1024];
/// Messages skipped before the one decrypted in the skipped-keys group.
const SKIPPED: usize = 1000;

fn rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(0x5eed)
}

// ---------------------------------------------------------------------------------------------
// confidant

/// A device with its private prekeys.
struct Device {
    identity: IdentityKeyPair,
    signed: SignedPrekey,
    one_time: OneTimePrekey,
    kem: KemPrekey,
}

impl Device {
    fn new(rng: &mut ChaCha20Rng) -> Self {
        let identity = IdentityKeyPair::generate(rng);
        let signed = SignedPrekey::generate(rng, PrekeyId(1), &identity);
        let one_time = OneTimePrekey::generate(rng, PrekeyId(2));
        let kem = KemPrekey::generate(rng, PrekeyId(3), &identity);
        Self { identity, signed, one_time, kem }
    }

    fn bundle(&self) -> PrekeyBundle {
        PrekeyBundle::new(self.identity.public_key(), &self.signed, Some(&self.one_time), &self.kem)
    }

    fn respond(&self, first: &PrekeyMessage) -> Session {
        Session::respond(&self.identity, first, &self.signed, Some(&self.one_time), &self.kem).unwrap().0
    }
}

fn wire(envelope: &Envelope) -> Envelope {
    Envelope::from_bytes(&envelope.to_bytes()).unwrap()
}

/// Two established sessions (one round trip done, so the initiator sends plain messages).
fn confidant_pair(rng: &mut ChaCha20Rng) -> (Session, Session) {
    let alice_device = Device::new(rng);
    let bob_device = Device::new(rng);
    let mut alice = Session::initiate(rng, &alice_device.identity, &bob_device.bundle()).unwrap();
    let Envelope::Prekey(first) = alice.encrypt(rng, b"hello").unwrap() else { panic!() };
    let mut bob = bob_device.respond(&first);
    alice.decrypt(&bob.encrypt(rng, b"hi").unwrap()).unwrap();
    (alice, bob)
}

fn confidant_send(rng: &mut ChaCha20Rng, from: &mut Session, to: &mut Session, plaintext: &[u8]) {
    let bytes = from.encrypt(rng, plaintext).unwrap().to_bytes();
    let received = to.decrypt(&Envelope::from_bytes(&bytes).unwrap()).unwrap();
    black_box(received);
}

// ---------------------------------------------------------------------------------------------
// the primitive floor

mod floor {
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    use chacha20poly1305::ChaCha20Poly1305;
    use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
    use hkdf::Hkdf;
    use hmac::{Hmac, Mac};
    use ml_kem::{Decapsulate, DecapsulationKey, EncapsulationKey, KeyExport, MlKem768, B32};
    use rand::Rng;
    use rand_chacha::ChaCha20Rng;
    use sha2::{Digest, Sha256, Sha512};
    use x25519_dalek::{PublicKey, StaticSecret};

    const ROOT_INFO: &[u8] = b"confidant-v1 root";
    const MESSAGE_INFO: &[u8] = b"confidant-v1 message";
    const PQXDH_INFO: &[u8] = b"confidant-v1 pqxdh";

    fn hmac(key: &[u8; 32], byte: u8) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(key).unwrap();
        mac.update(&[byte]);
        mac.finalize().into_bytes().into()
    }

    /// `KDF_CK`: 2 HMAC-SHA256. Returns the message key and advances the chain.
    pub(crate) fn kdf_ck(chain: &mut [u8; 32]) -> [u8; 32] {
        let mk = hmac(chain, 1);
        *chain = hmac(chain, 2);
        mk
    }

    /// `KDF_RK`: HKDF-SHA256 to 64 bytes.
    fn kdf_rk(root: &mut [u8; 32], dh: &[u8; 32]) -> [u8; 32] {
        let mut okm = [0u8; 64];
        Hkdf::<Sha256>::new(Some(root), dh).expand(ROOT_INFO, &mut okm).unwrap();
        root.copy_from_slice(&okm[..32]);
        okm[32..].try_into().unwrap()
    }

    /// The message key expanded by HKDF-SHA256 to a ChaCha20-Poly1305 key and nonce (44 bytes).
    fn cipher(mk: &[u8; 32]) -> (ChaCha20Poly1305, [u8; 12]) {
        let mut okm = [0u8; 44];
        Hkdf::<Sha256>::new(Some(&[0u8; 32]), mk).expand(MESSAGE_INFO, &mut okm).unwrap();
        let key: [u8; 32] = okm[..32].try_into().unwrap();
        (ChaCha20Poly1305::new(&key.into()), okm[32..].try_into().unwrap())
    }

    /// The AEAD's associated data: `AD (64) ‖ dh (32) ‖ pn (4) ‖ n (4)`.
    fn aad(ad: &[u8; 64], dh: &[u8; 32], n: u32) -> [u8; 104] {
        let mut out = [0u8; 104];
        out[..64].copy_from_slice(ad);
        out[64..96].copy_from_slice(dh);
        out[100..].copy_from_slice(&n.to_be_bytes());
        out
    }

    pub(crate) fn seal(mk: &[u8; 32], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let (cipher, nonce) = cipher(mk);
        cipher.encrypt(&nonce.into(), Payload { msg: plaintext, aad }).unwrap()
    }

    pub(crate) fn open(mk: &[u8; 32], aad: &[u8], ciphertext: &[u8]) -> Vec<u8> {
        let (cipher, nonce) = cipher(mk);
        cipher.decrypt(&nonce.into(), Payload { msg: ciphertext, aad }).unwrap()
    }

    /// ChaCha20-Poly1305 seal and open under one key and nonce, without the key derivation.
    pub(crate) fn aead_round_trip(key: &[u8; 32], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let nonce = [9u8; 12];
        let ciphertext = ChaCha20Poly1305::new(&(*key).into())
            .encrypt(&nonce.into(), Payload { msg: plaintext, aad })
            .unwrap();
        ChaCha20Poly1305::new(&(*key).into())
            .decrypt(&nonce.into(), Payload { msg: &ciphertext, aad })
            .unwrap()
    }

    /// One direction of an established chain.
    pub(crate) struct Chain {
        ad: [u8; 64],
        dh: [u8; 32],
        sending: [u8; 32],
        receiving: [u8; 32],
        n: u32,
    }

    impl Chain {
        pub(crate) fn new() -> Self {
            Self { ad: [1; 64], dh: [2; 32], sending: [3; 32], receiving: [3; 32], n: 0 }
        }

        /// Encrypt and decrypt the next message: `KDF_CK`, HKDF and seal; `KDF_CK`, HKDF and open.
        pub(crate) fn message(&mut self, plaintext: &[u8]) -> Vec<u8> {
            let aad = aad(&self.ad, &self.dh, self.n);
            let ciphertext = seal(&kdf_ck(&mut self.sending), &aad, plaintext);
            let received = open(&kdf_ck(&mut self.receiving), &aad, &ciphertext);
            self.n += 1;
            received
        }
    }

    /// Two parties' DH ratchet state, in step.
    pub(crate) struct PingPong {
        ad: [u8; 64],
        root: [u8; 32],
        /// The current ratchet key pair of the party that receives next.
        receiver: StaticSecret,
        receiver_public: PublicKey,
    }

    impl PingPong {
        pub(crate) fn new(rng: &mut ChaCha20Rng) -> Self {
            let receiver = StaticSecret::random_from_rng(rng);
            Self { ad: [1; 64], root: [4; 32], receiver_public: PublicKey::from(&receiver), receiver }
        }

        /// One message with a DH ratchet turn. The sender draws a ratchet key pair, does one
        /// X25519 and `KDF_RK`, then `KDF_CK`, HKDF and seal; the receiver does one X25519 and
        /// `KDF_RK`, then `KDF_CK`, HKDF and open. The sender receives next.
        pub(crate) fn turn(&mut self, rng: &mut ChaCha20Rng, plaintext: &[u8]) -> Vec<u8> {
            let sender = StaticSecret::random_from_rng(&mut *rng);
            let sender_public = PublicKey::from(&sender);
            let dh = sender.diffie_hellman(&self.receiver_public);
            let mut sending = kdf_rk(&mut self.root.clone(), dh.as_bytes());
            let aad = aad(&self.ad, sender_public.as_bytes(), 0);
            let ciphertext = seal(&kdf_ck(&mut sending), &aad, plaintext);
            let dh = self.receiver.diffie_hellman(&sender_public);
            let mut receiving = kdf_rk(&mut self.root, dh.as_bytes());
            let received = open(&kdf_ck(&mut receiving), &aad, &ciphertext);
            self.receiver = sender;
            self.receiver_public = sender_public;
            received
        }
    }

    /// The receiver's work for a message after `skipped` others: `KDF_CK` for each skipped key
    /// (kept), then `KDF_CK`, HKDF and open.
    pub(crate) fn after_skipped(chain: &[u8; 32], skipped: usize, aad: &[u8], ciphertext: &[u8]) -> Vec<u8> {
        let mut chain = *chain;
        let mut keys = Vec::with_capacity(skipped);
        for _ in 0..skipped {
            keys.push(kdf_ck(&mut chain));
        }
        std::hint::black_box(&keys);
        open(&kdf_ck(&mut chain), aad, ciphertext)
    }

    /// A message at position `skipped` of a chain: `(chain key, aad, ciphertext)`.
    pub(crate) fn skipped_message(skipped: usize, plaintext: &[u8]) -> ([u8; 32], [u8; 104], Vec<u8>) {
        let start = [5u8; 32];
        let mut chain = start;
        for _ in 0..skipped {
            kdf_ck(&mut chain);
        }
        let aad = aad(&[1; 64], &[2; 32], skipped as u32);
        let ciphertext = seal(&kdf_ck(&mut chain), &aad, plaintext);
        (start, aad, ciphertext)
    }

    /// The responder's published keys and the private halves.
    pub(crate) struct Responder {
        identity: SigningKey,
        identity_public: VerifyingKey,
        identity_dh: StaticSecret,
        signed: StaticSecret,
        signed_public: PublicKey,
        signed_signature: ed25519_dalek::Signature,
        one_time: StaticSecret,
        one_time_public: PublicKey,
        kem_seed: ([u8; 32], [u8; 32]),
        kem_public: Vec<u8>,
        kem_signature: ed25519_dalek::Signature,
    }

    /// The X25519 private key of an Ed25519 identity: `clamp(SHA-512(seed)[..32])`.
    fn identity_dh(identity: &SigningKey) -> StaticSecret {
        let hash = Sha512::digest(identity.to_bytes());
        let scalar: [u8; 32] = hash[..32].try_into().unwrap();
        StaticSecret::from(scalar)
    }

    impl Responder {
        pub(crate) fn new(rng: &mut ChaCha20Rng) -> Self {
            let identity = SigningKey::generate(rng);
            let signed = StaticSecret::random_from_rng(&mut *rng);
            let signed_public = PublicKey::from(&signed);
            let one_time = StaticSecret::random_from_rng(&mut *rng);
            let mut d = [0u8; 32];
            let mut z = [0u8; 32];
            rng.fill_bytes(&mut d);
            rng.fill_bytes(&mut z);
            let dk = DecapsulationKey::<MlKem768>::from_seed(B32::from(d).concat(B32::from(z)));
            let kem_public = dk.encapsulation_key().to_bytes().to_vec();
            Self {
                identity_public: identity.verifying_key(),
                identity_dh: identity_dh(&identity),
                signed_signature: identity.sign(signed_public.as_bytes()),
                kem_signature: identity.sign(&kem_public),
                identity,
                signed,
                signed_public,
                one_time_public: PublicKey::from(&one_time),
                one_time,
                kem_seed: (d, z),
                kem_public,
            }
        }
    }

    /// What the initiator sends: its identity, `EK_A`, `CT`, and the first ratchet message.
    pub(crate) struct First {
        identity: VerifyingKey,
        base_key: PublicKey,
        kem_ciphertext: Vec<u8>,
        ratchet_key: PublicKey,
        ciphertext: Vec<u8>,
    }

    /// The initiator with its identity (its X25519 form computed once, as a device would keep it).
    pub(crate) struct Initiator {
        identity: SigningKey,
        identity_dh: StaticSecret,
    }

    impl Initiator {
        pub(crate) fn new(rng: &mut ChaCha20Rng) -> Self {
            let identity = SigningKey::generate(rng);
            Self { identity_dh: identity_dh(&identity), identity }
        }

        /// PQXDH and the first message: two signature checks, `EK_A`, ML-KEM encapsulation, the
        /// Edwards-to-Montgomery map of `IK_B`, four X25519, HKDF; then the first ratchet key,
        /// one X25519, `KDF_RK`, `KDF_CK`, HKDF and seal.
        pub(crate) fn initiate(&self, rng: &mut ChaCha20Rng, bob: &Responder, plaintext: &[u8]) -> First {
            bob.identity_public.verify_strict(bob.signed_public.as_bytes(), &bob.signed_signature).unwrap();
            bob.identity_public.verify_strict(&bob.kem_public, &bob.kem_signature).unwrap();
            let ephemeral = StaticSecret::random_from_rng(&mut *rng);
            let base_key = PublicKey::from(&ephemeral);
            let mut m = [0u8; 32];
            rng.fill_bytes(&mut m);
            let ek = EncapsulationKey::<MlKem768>::new(bob.kem_public[..].try_into().unwrap()).unwrap();
            let (ct, ss) = ek.encapsulate_deterministic(&m.into());
            let bob_identity_dh = PublicKey::from(bob.identity_public.to_montgomery().to_bytes());
            let mut ikm = [0xffu8; 32 * 6];
            ikm[32..64].copy_from_slice(self.identity_dh.diffie_hellman(&bob.signed_public).as_bytes());
            ikm[64..96].copy_from_slice(ephemeral.diffie_hellman(&bob_identity_dh).as_bytes());
            ikm[96..128].copy_from_slice(ephemeral.diffie_hellman(&bob.signed_public).as_bytes());
            ikm[128..160].copy_from_slice(ephemeral.diffie_hellman(&bob.one_time_public).as_bytes());
            ikm[160..].copy_from_slice(ss.as_slice());
            let mut root = [0u8; 32];
            Hkdf::<Sha256>::new(Some(&[0u8; 32]), &ikm).expand(PQXDH_INFO, &mut root).unwrap();
            let mut ad = [0u8; 64];
            ad[..32].copy_from_slice(self.identity.verifying_key().as_bytes());
            ad[32..].copy_from_slice(bob.identity_public.as_bytes());
            // RatchetInitAlice and the first message.
            let ratchet = StaticSecret::random_from_rng(&mut *rng);
            let ratchet_key = PublicKey::from(&ratchet);
            let mut chain = kdf_rk(&mut root, ratchet.diffie_hellman(&bob.signed_public).as_bytes());
            let ciphertext = seal(&kdf_ck(&mut chain), &aad(&ad, ratchet_key.as_bytes(), 0), plaintext);
            First {
                identity: self.identity.verifying_key(),
                base_key,
                kem_ciphertext: ct.to_vec(),
                ratchet_key,
                ciphertext,
            }
        }
    }

    /// The responder: its two stored signatures checked, the Edwards-to-Montgomery map of
    /// `IK_A`, four X25519, ML-KEM key generation from the seed and decapsulation, HKDF, then
    /// one X25519, `KDF_RK`, `KDF_CK`, HKDF and open, and SHA-256 over the handshake fields.
    pub(crate) fn respond(bob: &Responder, first: &First) -> Vec<u8> {
        bob.identity_public.verify_strict(bob.signed_public.as_bytes(), &bob.signed_signature).unwrap();
        bob.identity_public.verify_strict(&bob.kem_public, &bob.kem_signature).unwrap();
        let alice_identity_dh = PublicKey::from(first.identity.to_montgomery().to_bytes());
        let mut ikm = [0xffu8; 32 * 6];
        ikm[32..64].copy_from_slice(bob.signed.diffie_hellman(&alice_identity_dh).as_bytes());
        ikm[64..96].copy_from_slice(bob.identity_dh.diffie_hellman(&first.base_key).as_bytes());
        ikm[96..128].copy_from_slice(bob.signed.diffie_hellman(&first.base_key).as_bytes());
        ikm[128..160].copy_from_slice(bob.one_time.diffie_hellman(&first.base_key).as_bytes());
        let dk = DecapsulationKey::<MlKem768>::from_seed(
            B32::from(bob.kem_seed.0).concat(B32::from(bob.kem_seed.1)),
        );
        let ct = ml_kem::Ciphertext::<MlKem768>::try_from(&first.kem_ciphertext[..]).unwrap();
        let ss = dk.decapsulate(&ct);
        ikm[160..].copy_from_slice(ss.as_slice());
        let mut root = [0u8; 32];
        Hkdf::<Sha256>::new(Some(&[0u8; 32]), &ikm).expand(PQXDH_INFO, &mut root).unwrap();
        let mut ad = [0u8; 64];
        ad[..32].copy_from_slice(first.identity.as_bytes());
        ad[32..].copy_from_slice(bob.identity.verifying_key().as_bytes());
        let mut chain = kdf_rk(&mut root, bob.signed.diffie_hellman(&first.ratchet_key).as_bytes());
        let aad = aad(&ad, first.ratchet_key.as_bytes(), 0);
        let plaintext = open(&kdf_ck(&mut chain), &aad, &first.ciphertext);
        let mut digest = Sha256::new();
        digest.update(first.identity.as_bytes());
        digest.update(first.base_key.as_bytes());
        digest.update(&first.kem_ciphertext);
        std::hint::black_box(digest.finalize());
        plaintext
    }
}

// ---------------------------------------------------------------------------------------------
// vodozemac

/// Two established Olm sessions (one round trip done, so the initiator sends normal messages).
fn olm_pair() -> (vodozemac::olm::Session, vodozemac::olm::Session) {
    let alice = Account::new();
    let mut bob = Account::new();
    bob.generate_one_time_keys(1);
    let one_time = *bob.one_time_keys().values().next().unwrap();
    let mut a =
        alice.create_outbound_session(SessionConfig::version_1(), bob.curve25519_key(), one_time).unwrap();
    let OlmMessage::PreKey(first) = a.encrypt("hello").unwrap() else { panic!() };
    let mut b = bob
        .create_inbound_session(SessionConfig::version_1(), alice.curve25519_key(), &first)
        .unwrap()
        .session;
    a.decrypt(&b.encrypt("hi").unwrap()).unwrap();
    (a, b)
}

fn olm_send(from: &mut vodozemac::olm::Session, to: &mut vodozemac::olm::Session, plaintext: &[u8]) {
    let (kind, bytes) = from.encrypt(plaintext).unwrap().to_parts();
    let received = to.decrypt(&OlmMessage::from_parts(kind, &bytes).unwrap()).unwrap();
    black_box(received);
}

// ---------------------------------------------------------------------------------------------
// the groups

/// Runs a workload `iters` times and returns the time spent in the work alone.
type Runner<'a> = Box<dyn FnMut(u64) -> Duration + 'a>;

/// One row of the table: the same work done by confidant, the floor and vodozemac.
struct Workload<'a> {
    group: &'static str,
    /// `/size` for the in-order rows, empty otherwise.
    suffix: String,
    runners: [(&'static str, Runner<'a>); 3],
}

fn timed(iters: u64, mut work: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        work();
    }
    start.elapsed()
}

/// Times `routine` on inputs made by `setup` outside the clock, a chunk at a time (the outputs,
/// dropped outside the clock too, can be large).
fn timed_batched<S, O>(
    iters: u64,
    mut setup: impl FnMut() -> S,
    mut routine: impl FnMut(S) -> O,
) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let chunk = left.min(32);
        let inputs: Vec<S> = (0..chunk).map(|_| setup()).collect();
        let mut outputs = Vec::with_capacity(inputs.len());
        let start = Instant::now();
        for input in inputs {
            outputs.push(routine(input));
        }
        total += start.elapsed();
        drop(black_box(outputs));
        left -= chunk;
    }
    total
}

fn in_order(size: usize) -> Workload<'static> {
    let plaintext = vec![0x42u8; size];
    let (p1, p2) = (plaintext.clone(), plaintext.clone());
    let mut rng = rng();
    let (mut alice, mut bob) = confidant_pair(&mut rng);
    let mut chain = floor::Chain::new();
    let (mut a, mut b) = olm_pair();
    Workload {
        group: "in_order",
        suffix: format!("/{size}"),
        runners: [
            (
                "confidant",
                Box::new(move |n| timed(n, || confidant_send(&mut rng, &mut alice, &mut bob, &p1))),
            ),
            ("floor", Box::new(move |n| timed(n, || drop(black_box(chain.message(&p2)))))),
            ("vodozemac", Box::new(move |n| timed(n, || olm_send(&mut a, &mut b, &plaintext)))),
        ],
    }
}

fn ping_pong() -> Workload<'static> {
    let plaintext = [0x42u8; 64];
    let mut rng = rng();
    let (mut alice, mut bob) = confidant_pair(&mut rng);
    let mut floor_rng = self::rng();
    let mut state = floor::PingPong::new(&mut floor_rng);
    let (mut a, mut b) = olm_pair();
    Workload {
        group: "ping_pong",
        suffix: String::new(),
        runners: [
            (
                "confidant",
                Box::new(move |n| {
                    timed(n, || {
                        confidant_send(&mut rng, &mut alice, &mut bob, &plaintext);
                        confidant_send(&mut rng, &mut bob, &mut alice, &plaintext);
                    })
                }),
            ),
            (
                "floor",
                Box::new(move |n| {
                    timed(n, || {
                        black_box(state.turn(&mut floor_rng, &plaintext));
                        black_box(state.turn(&mut floor_rng, &plaintext));
                    })
                }),
            ),
            (
                "vodozemac",
                Box::new(move |n| {
                    timed(n, || {
                        olm_send(&mut a, &mut b, &plaintext);
                        olm_send(&mut b, &mut a, &plaintext);
                    })
                }),
            ),
        ],
    }
}

/// The parties of the setup rows.
struct SetupParties {
    alice: Device,
    bob: Device,
    floor_alice: floor::Initiator,
    floor_bob: floor::Responder,
    olm_alice: Account,
    olm_bob: Account,
}

impl SetupParties {
    fn new() -> Self {
        let mut rng = rng();
        let alice = Device::new(&mut rng);
        let bob = Device::new(&mut rng);
        let floor_bob = floor::Responder::new(&mut rng);
        let floor_alice = floor::Initiator::new(&mut rng);
        let mut olm_bob = Account::new();
        olm_bob.generate_one_time_keys(1);
        Self { alice, bob, floor_alice, floor_bob, olm_alice: Account::new(), olm_bob }
    }

    fn olm_one_time(&self) -> vodozemac::Curve25519PublicKey {
        *self.olm_bob.one_time_keys().values().next().unwrap()
    }
}

/// From a (decoded) bundle to the first message: the handshake and one encryption.
fn setup_initiator(parties: &SetupParties) -> Workload<'_> {
    let plaintext = [0x42u8; 64];
    let bundle = parties.bob.bundle();
    let (mut rng, mut floor_rng) = (rng(), rng());
    let one_time = parties.olm_one_time();
    Workload {
        group: "setup_initiator",
        suffix: String::new(),
        runners: [
            (
                "confidant",
                Box::new(move |n| {
                    timed(n, || {
                        let mut session =
                            Session::initiate(&mut rng, &parties.alice.identity, &bundle).unwrap();
                        black_box(session.encrypt(&mut rng, &plaintext).unwrap());
                    })
                }),
            ),
            (
                "floor",
                Box::new(move |n| {
                    timed(n, || {
                        black_box(parties.floor_alice.initiate(
                            &mut floor_rng,
                            &parties.floor_bob,
                            &plaintext,
                        ));
                    })
                }),
            ),
            (
                "vodozemac",
                Box::new(move |n| {
                    timed(n, || {
                        let mut session = parties
                            .olm_alice
                            .create_outbound_session(
                                SessionConfig::version_1(),
                                parties.olm_bob.curve25519_key(),
                                one_time,
                            )
                            .unwrap();
                        black_box(session.encrypt(plaintext).unwrap());
                    })
                }),
            ),
        ],
    }
}

/// From the (decoded) first message to the responder's session and the plaintext.
fn setup_responder(parties: &SetupParties) -> Workload<'_> {
    let plaintext = [0x42u8; 64];
    let mut rng = rng();
    let mut initiator = Session::initiate(&mut rng, &parties.alice.identity, &parties.bob.bundle()).unwrap();
    let Envelope::Prekey(first) = wire(&initiator.encrypt(&mut rng, &plaintext).unwrap()) else { panic!() };
    let floor_first = parties.floor_alice.initiate(&mut rng, &parties.floor_bob, &plaintext);
    let mut olm_session = parties
        .olm_alice
        .create_outbound_session(
            SessionConfig::version_1(),
            parties.olm_bob.curve25519_key(),
            parties.olm_one_time(),
        )
        .unwrap();
    let OlmMessage::PreKey(olm_first) = olm_session.encrypt(plaintext).unwrap() else { panic!() };
    // Creating an inbound Olm session consumes the one-time key: each iteration gets a fresh
    // copy of the account, made outside the clock.
    let olm_bob = parties.olm_bob.pickle().encrypt(&[0; 32]);
    let olm_alice_key = parties.olm_alice.curve25519_key();
    Workload {
        group: "setup_responder",
        suffix: String::new(),
        runners: [
            ("confidant", Box::new(move |n| timed(n, || drop(black_box(parties.bob.respond(&first)))))),
            (
                "floor",
                Box::new(move |n| {
                    timed(n, || drop(black_box(floor::respond(&parties.floor_bob, &floor_first))))
                }),
            ),
            (
                "vodozemac",
                Box::new(move |n| {
                    timed_batched(
                        n,
                        || {
                            Account::from_pickle(
                                vodozemac::olm::AccountPickle::from_encrypted(&olm_bob, &[0; 32]).unwrap(),
                            )
                        },
                        |mut bob| {
                            bob.create_inbound_session(SessionConfig::version_1(), olm_alice_key, &olm_first)
                                .unwrap()
                        },
                    )
                }),
            ),
        ],
    }
}

/// Decrypting the message that follows 1000 skipped ones (whose keys are kept).
fn skipped() -> Workload<'static> {
    let plaintext = [0x42u8; 64];
    let mut rng = rng();
    let (mut alice, bob) = confidant_pair(&mut rng);
    for _ in 0..SKIPPED {
        alice.encrypt(&mut rng, &plaintext).unwrap();
    }
    let last = alice.encrypt(&mut rng, &plaintext).unwrap().to_bytes();
    let (chain, aad, ciphertext) = floor::skipped_message(SKIPPED, &plaintext);
    let (mut a, b) = olm_pair();
    for _ in 0..SKIPPED {
        a.encrypt(plaintext).unwrap();
    }
    let (kind, olm_last) = a.encrypt(plaintext).unwrap().to_parts();
    let pickle = b.pickle().encrypt(&[0; 32]);
    Workload {
        group: "skipped_1000",
        suffix: String::new(),
        runners: [
            (
                "confidant",
                Box::new(move |n| {
                    timed_batched(
                        n,
                        || bob.clone(),
                        |mut bob| {
                            black_box(bob.decrypt(&Envelope::from_bytes(&last).unwrap()).unwrap());
                            bob
                        },
                    )
                }),
            ),
            (
                "floor",
                Box::new(move |n| {
                    timed(n, || drop(black_box(floor::after_skipped(&chain, SKIPPED, &aad, &ciphertext))))
                }),
            ),
            (
                "vodozemac",
                Box::new(move |n| {
                    timed_batched(
                        n,
                        || {
                            vodozemac::olm::Session::from_pickle(
                                vodozemac::olm::SessionPickle::from_encrypted(&pickle, &[0; 32]).unwrap(),
                            )
                        },
                        |mut bob| {
                            black_box(
                                bob.decrypt(&OlmMessage::from_parts(kind, &olm_last).unwrap()).unwrap(),
                            );
                            bob
                        },
                    )
                }),
            ),
        ],
    }
}

/// ChaCha20-Poly1305 alone, keyed afresh for every message as the protocol does: shows the
/// effect of the `chacha20` / `poly1305` build flags (BENCHMARKS.md).
fn aead(c: &mut Criterion) {
    let mut group = c.benchmark_group("aead");
    let mk = [7u8; 32];
    let aad = [1u8; 104];
    for size in SIZES {
        let plaintext = vec![0x42u8; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(BenchmarkId::new("seal_open", size), |b| {
            b.iter(|| black_box(floor::aead_round_trip(&mk, &aad, &plaintext)));
        });
    }
    group.finish();
}

/// Criterion's measurement of every runner of a workload.
fn bench(c: &mut Criterion, workload: &mut Workload<'_>) {
    let mut group = c.benchmark_group(workload.group);
    for (name, runner) in &mut workload.runners {
        group.bench_function(format!("{name}{}", workload.suffix), |b| b.iter_custom(&mut *runner));
    }
    group.finish();
}

/// The ratios, measured interleaved: each round times a batch of each runner back to back (about
/// 20 ms each), so that a change in the machine's load hits all three alike. Returns the median
/// time per iteration of each runner and the medians of the per-round ratios confidant / floor
/// and confidant / vodozemac.
fn interleaved(workload: &mut Workload<'_>) -> ([f64; 3], [f64; 2]) {
    const ROUNDS: usize = 21;
    let batch = Duration::from_millis(20);
    let iters: Vec<u64> = workload
        .runners
        .iter_mut()
        .map(|(_, run)| {
            let once = run(1).max(Duration::from_nanos(100));
            (batch.as_nanos() / once.as_nanos()).max(1) as u64
        })
        .collect();
    let mut rounds = vec![[0f64; 3]; ROUNDS];
    for round in &mut rounds {
        for (i, (_, run)) in workload.runners.iter_mut().enumerate() {
            round[i] = run(iters[i]).as_nanos() as f64 / iters[i] as f64;
        }
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let ratio = |i: usize| median(rounds.iter().map(|r| r[0] / r[i]).collect());
    ([0, 1, 2].map(|i| median(rounds.iter().map(|r| r[i]).collect())), [ratio(1), ratio(2)])
}

// ---------------------------------------------------------------------------------------------
// sizes and the report

fn sizes() {
    let mut rng = rng();
    let alice_device = Device::new(&mut rng);
    let bob_device = Device::new(&mut rng);
    let mut alice = Session::initiate(&mut rng, &alice_device.identity, &bob_device.bundle()).unwrap();
    println!("\nsizes (bytes)");
    println!("  confidant session, initiator after initiate: {}", alice.to_bytes().len());
    let first = alice.encrypt(&mut rng, &[0u8; 64]).unwrap();
    let first_len = first.to_bytes().len();
    let Envelope::Prekey(first) = first else { panic!() };
    let mut bob = bob_device.respond(&first);
    println!("  confidant session, responder after respond: {}", bob.to_bytes().len());
    for _ in 0..10 {
        confidant_send(&mut rng, &mut alice, &mut bob, &[0u8; 64]);
        confidant_send(&mut rng, &mut bob, &mut alice, &[0u8; 64]);
    }
    println!(
        "  confidant session after 10 round trips: {} / {}",
        alice.to_bytes().len(),
        bob.to_bytes().len()
    );
    let mut full = bob.clone();
    for _ in 0..2 {
        for _ in 0..SKIPPED {
            alice.encrypt(&mut rng, b"").unwrap();
        }
        full.decrypt(&alice.encrypt(&mut rng, b"").unwrap()).unwrap();
    }
    println!("  confidant session with {} skipped keys: {}", full.skipped_keys(), full.to_bytes().len());
    println!("  confidant prekey envelope, 64-byte plaintext: {first_len} (overhead {})", first_len - 64);
    for size in [0usize, 64, 1024, 16 * 1024] {
        let len = alice.encrypt(&mut rng, &vec![0u8; size]).unwrap().to_bytes().len();
        println!("  confidant message envelope, {size}-byte plaintext: {len} (overhead {})", len - size);
    }

    let olm_alice = Account::new();
    let mut olm_bob = Account::new();
    olm_bob.generate_one_time_keys(1);
    let one_time = *olm_bob.one_time_keys().values().next().unwrap();
    let mut a = olm_alice
        .create_outbound_session(SessionConfig::version_1(), olm_bob.curve25519_key(), one_time)
        .unwrap();
    let pickle_len = |s: &vodozemac::olm::Session| {
        (serde_json::to_string(&s.pickle()).unwrap().len(), s.pickle().encrypt(&[0; 32]).len())
    };
    println!("  vodozemac session pickle (JSON / encrypted), initiator after create: {:?}", pickle_len(&a));
    let first = a.encrypt([0u8; 64]).unwrap();
    let first_len = first.to_parts().1.len();
    let OlmMessage::PreKey(first) = first else { panic!() };
    let mut b = olm_bob
        .create_inbound_session(SessionConfig::version_1(), olm_alice.curve25519_key(), &first)
        .unwrap()
        .session;
    println!("  vodozemac session pickle, responder after create: {:?}", pickle_len(&b));
    for _ in 0..10 {
        olm_send(&mut a, &mut b, &[0u8; 64]);
        olm_send(&mut b, &mut a, &[0u8; 64]);
    }
    println!("  vodozemac session pickle after 10 round trips: {:?} / {:?}", pickle_len(&a), pickle_len(&b));
    for _ in 0..SKIPPED {
        a.encrypt(b"").unwrap();
    }
    b.decrypt(&a.encrypt(b"").unwrap()).unwrap();
    println!(
        "  vodozemac session pickle after skipping {SKIPPED} (it keeps at most 40 keys per chain): {:?}",
        pickle_len(&b)
    );
    println!("  vodozemac pre-key message, 64-byte plaintext: {first_len} (overhead {})", first_len - 64);
    for size in [0usize, 64, 1024, 16 * 1024] {
        let len = a.encrypt(vec![0u8; size]).unwrap().to_parts().1.len();
        println!("  vodozemac normal message, {size}-byte plaintext: {len} (overhead {})", len - size);
    }
}

/// The median of one criterion benchmark of this run, in nanoseconds.
fn criterion_median(group: &str, id: &str) -> Option<f64> {
    let dir = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| "target".into(), std::path::PathBuf::from);
    let path = dir.join("criterion").join(group).join(id).join("new/estimates.json");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    json["median"]["point_estimate"].as_f64()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--test" || a == "--list" || a == "--profile-time");
    // Criterion filters are regular expressions; the table takes `a|b` as "contains a or b".
    let filter: Vec<&str> = args.iter().filter(|a| !a.starts_with('-')).flat_map(|a| a.split('|')).collect();
    let selected = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f));

    let mut criterion = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    let parties = SetupParties::new();
    let mut workloads: Vec<Workload<'_>> = SIZES.into_iter().map(in_order).collect();
    workloads.extend([ping_pong(), setup_initiator(&parties), setup_responder(&parties), skipped()]);
    for workload in &mut workloads {
        bench(&mut criterion, workload);
    }
    aead(&mut criterion);
    criterion.final_summary();
    if quick {
        return;
    }
    sizes();

    println!("\nMedian time per operation, and ratios measured interleaved (median of 21 rounds):\n");
    println!("| work | confidant | floor | vodozemac | confidant / floor | confidant / vodozemac |");
    println!("|---|---:|---:|---:|---:|---:|");
    for workload in &mut workloads {
        let name = format!("{}{}", workload.group, workload.suffix);
        if !selected(&name) {
            continue;
        }
        let (medians, ratios) = interleaved(workload);
        let us = |ns: f64| format!("{:.2} µs", ns / 1000.0);
        println!(
            "| {name} | {} | {} | {} | {:.2}x | {:.2}x |",
            us(medians[0]),
            us(medians[1]),
            us(medians[2]),
            ratios[0],
            ratios[1]
        );
    }
    let aead: Vec<String> = SIZES
        .iter()
        .filter_map(|size| {
            criterion_median("aead", &format!("seal_open/{size}"))
                .map(|ns| format!("{size} B: {:.2} µs", ns / 1000.0))
        })
        .collect();
    if !aead.is_empty() {
        println!("\nChaCha20-Poly1305 seal + open alone (criterion median): {}", aead.join(", "));
    }
}
