//! No secret is ever left in freed heap memory.
//!
//! This test binary replaces the global allocator with one that, while armed, scans every block
//! it frees for a list of secrets before handing the block back to the system. A `Vec` that grows
//! frees its old buffer through the same path (`realloc` is the trait's default here: a new
//! block, a copy, and `dealloc` of the old one), so a buffer that held a key and was outgrown is
//! caught as surely as one dropped without zeroizing.
//!
//! Each scenario runs twice from the same seeds: once unarmed, to learn its secrets (the message
//! keys it used and the root, chain and ratchet keys in its serialized states), then armed, to
//! check that no block freed during the identical second run held any of them.
// Unsafe code is allowed in this file only, for the allocator below: the library forbids it and
// the workspace denies it.
#![allow(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use confidant::clock::Timestamp;
use confidant::low_level::{self, Header, Ratchet};
use confidant::session::{Envelope, Session};
use confidant_support::device::{established, rng, Device};
use zeroize::Zeroizing;

// ---- The scanning allocator -------------------------------------------------------------------
//
// It must not allocate: the secrets and the findings live in fixed-size statics.

/// Length of every secret looked for.
const SECRET_LEN: usize = 32;
/// Most secrets one scenario may look for.
const MAX_SECRETS: usize = 8192;

/// What a secret is, to say what leaked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
enum Kind {
    RootKey,
    ChainKey,
    RatchetPrivateKey,
    MessageKey,
    HandshakeSecret,
    Plaintext,
}

const KINDS: [Kind; 6] = [
    Kind::RootKey,
    Kind::ChainKey,
    Kind::RatchetPrivateKey,
    Kind::MessageKey,
    Kind::HandshakeSecret,
    Kind::Plaintext,
];

/// The secrets being looked for, sorted, so that each window of a block is one binary search.
struct Secrets {
    list: [([u8; SECRET_LEN], Kind); MAX_SECRETS],
    len: usize,
}

static SECRETS: Mutex<Secrets> =
    Mutex::new(Secrets { list: [([0; SECRET_LEN], Kind::RootKey); MAX_SECRETS], len: 0 });
static ARMED: AtomicBool = AtomicBool::new(false);
/// Blocks scanned while armed, to show the scanner ran.
static SCANNED: AtomicUsize = AtomicUsize::new(0);
/// Per kind: how many times a freed block held a secret of that kind.
static FOUND: [AtomicUsize; KINDS.len()] = [const { AtomicUsize::new(0) }; KINDS.len()];
/// Size of the first freed block found holding a secret.
static FIRST_BLOCK_SIZE: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, zeroing every new block (so that a scan only ever sees bytes the program
/// wrote, never stale bytes of an earlier block) and scanning every block it frees while armed.
struct Scanner;

// SAFETY: every method hands its arguments to `System`, which upholds the `GlobalAlloc` contract
// for them (`alloc` asks it for a zeroed block, which is also a valid block); the scan only reads
// a block before it is freed.
unsafe impl GlobalAlloc for Scanner {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ARMED.load(Ordering::SeqCst) {
            // SAFETY: the caller guarantees that `ptr` is a live block of `layout.size()` bytes
            // from this allocator, which zeroed all of it when it was allocated, so every byte is
            // initialized; the slice is dropped before the block is freed.
            let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
            scan(block);
        }
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Scanner = Scanner;

fn lock_secrets() -> MutexGuard<'static, Secrets> {
    SECRETS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Records every secret that appears whole in `block`. Allocates nothing.
fn scan(block: &[u8]) {
    SCANNED.fetch_add(1, Ordering::SeqCst);
    let secrets = lock_secrets();
    let list = &secrets.list[..secrets.len];
    for window in block.windows(SECRET_LEN) {
        if let Ok(i) = list.binary_search_by(|(secret, _)| secret.as_slice().cmp(window)) {
            FOUND[list[i].1 as usize].fetch_add(1, Ordering::SeqCst);
            let _ = FIRST_BLOCK_SIZE.compare_exchange(0, block.len(), Ordering::SeqCst, Ordering::SeqCst);
        }
    }
}

/// What an armed run found.
#[derive(Debug)]
struct Findings {
    /// Per kind of secret, how many times a freed block held one.
    found: Vec<(Kind, usize)>,
    first_block_size: usize,
}

impl Findings {
    fn is_clean(&self) -> bool {
        self.found.is_empty()
    }
}

/// Scenarios run one at a time: the allocator has one list of secrets.
static SCENARIO: Mutex<()> = Mutex::new(());

/// Runs `run` with the allocator armed to look for `secrets`, and reports what it found along
/// with what `run` returned.
fn armed<T>(secrets: Vec<([u8; SECRET_LEN], Kind)>, run: impl FnOnce() -> T) -> (Findings, T) {
    let mut secrets = secrets;
    secrets.sort_unstable();
    secrets.dedup_by(|a, b| a.0 == b.0);
    assert!(secrets.len() <= MAX_SECRETS, "too many secrets to look for: {}", secrets.len());
    assert!(secrets.iter().all(|(s, _)| s != &[0; SECRET_LEN]), "an all-zero secret would match everything");
    {
        let mut list = lock_secrets();
        list.list[..secrets.len()].copy_from_slice(&secrets);
        list.len = secrets.len();
    }
    drop(secrets);
    for found in &FOUND {
        found.store(0, Ordering::SeqCst);
    }
    FIRST_BLOCK_SIZE.store(0, Ordering::SeqCst);
    SCANNED.store(0, Ordering::SeqCst);

    ARMED.store(true, Ordering::SeqCst);
    let result = run();
    ARMED.store(false, Ordering::SeqCst);

    assert!(SCANNED.load(Ordering::SeqCst) > 0, "the scanner saw no freed block");
    lock_secrets().len = 0;
    let found = KINDS
        .iter()
        .map(|&kind| (kind, FOUND[kind as usize].load(Ordering::SeqCst)))
        .filter(|&(_, n)| n > 0)
        .collect();
    (Findings { found, first_block_size: FIRST_BLOCK_SIZE.load(Ordering::SeqCst) }, result)
}

// ---- Reading secrets out of serialized state ---------------------------------------------------

/// Secrets learned by an unarmed run.
#[derive(Default)]
struct Learned(Vec<([u8; SECRET_LEN], Kind)>);

impl Learned {
    fn add(&mut self, kind: Kind, secret: &[u8]) {
        self.0.push((secret.try_into().unwrap(), kind));
    }

    /// The secret fields of a serialized ratchet state (PROTOCOL.md, "Session record"): `RK`,
    /// `DHs` private, `CKs`, `CKr` and every skipped `mk`.
    fn ratchet_state(&mut self, state: &[u8]) {
        let mut r = Cursor(state);
        let ad_len = r.u32() as usize;
        r.take(ad_len);
        self.add(Kind::RootKey, r.take(32));
        let flags = r.u8();
        if flags & 1 != 0 {
            self.add(Kind::RatchetPrivateKey, r.take(32));
        }
        if flags & 2 != 0 {
            r.take(32);
        }
        for chain in [4, 8] {
            if flags & chain != 0 {
                self.add(Kind::ChainKey, r.take(32));
                r.u32();
            }
        }
        r.u32();
        let previous = r.u8() as usize;
        r.take(32 * previous);
        let skipped = r.u32();
        for _ in 0..skipped {
            r.take(32 + 4);
            self.add(Kind::MessageKey, r.take(32));
        }
        assert!(r.0.is_empty(), "trailing bytes after the ratchet state");
    }

    /// The secret fields of a serialized session: those of its ratchet state.
    fn session_record(&mut self, record: &[u8]) {
        let mut r = Cursor(record);
        assert_eq!(r.u8(), 1, "session record version");
        r.take(3 * 32);
        if r.u8() == 1 {
            r.u32();
            if r.u8() == 1 {
                r.u32();
            }
            r.u32();
            r.take(1088);
        }
        if r.u8() == 1 {
            r.take(32);
        }
        self.ratchet_state(r.0);
    }
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        head
    }

    fn u8(&mut self) -> u8 {
        self.take(1)[0]
    }

    fn u32(&mut self) -> u32 {
        u32::from_be_bytes(self.take(4).try_into().unwrap())
    }
}

// ---- Scenarios --------------------------------------------------------------------------------

/// Messages skipped in each gap of the conversations below.
const SKIPPED: usize = 300;

/// X25519's base point.
const BASE_POINT: [u8; 32] = {
    let mut point = [0; 32];
    point[0] = 9;
    point
};

/// Serializes each state, as a store does after every message; `learn` collects their secrets.
fn save(learn: &mut Option<&mut Learned>, states: [&Ratchet; 2]) {
    for state in states {
        let bytes = state.to_bytes();
        if let Some(learn) = learn.as_deref_mut() {
            learn.ratchet_state(&bytes);
        }
    }
}

/// A conversation between two bare ratchets with long gaps of lost, late and reordered messages,
/// the states serialized after every delivery, and restored once. `learn`, when given, collects
/// every message key used and the secrets of every serialized state. Returns Bob's final state.
fn ratchet_conversation(mut learn: Option<&mut Learned>) -> Zeroizing<Vec<u8>> {
    let mut rng = rng(71);
    let shared_secret = [0x5a; 32];
    let bob_private = [0x3c; 32];
    let bob_public = low_level::x25519(bob_private, BASE_POINT).unwrap();
    let ad = [0xad; 64];
    let mut alice = Ratchet::init_alice(shared_secret, bob_public, &ad);
    let mut bob = Ratchet::init_bob(shared_secret, bob_private, &ad);
    // `count` messages from `from`; `learn` collects their message keys.
    let mut send = |learn: &mut Option<&mut Learned>, from: &mut Ratchet, count: usize| {
        let mut sent: Vec<(Header, Vec<u8>)> = Vec::with_capacity(count);
        for _ in 0..count {
            let message = from.encrypt_traced(&mut rng, b"Can we move Tuesday to 3pm?").unwrap();
            if let Some(learn) = learn.as_deref_mut() {
                learn.add(Kind::MessageKey, &message.message_key[..]);
            }
            sent.push((message.header, message.ciphertext));
        }
        sent
    };

    // Alice's first chain: Bob receives one message of the middle, so keys are skipped before
    // it, and more after it when her next chain arrives.
    let first = send(&mut learn, &mut alice, 2 * SKIPPED);
    let (header, ciphertext) = &first[SKIPPED];
    bob.decrypt(header, ciphertext).unwrap();
    save(&mut learn, [&alice, &bob]);

    // Bob replies; Alice answers on a new chain, of which Bob receives only the last message.
    let reply = send(&mut learn, &mut bob, 1);
    alice.decrypt(&reply[0].0, &reply[0].1).unwrap();
    let second = send(&mut learn, &mut alice, SKIPPED);
    let (header, ciphertext) = &second[SKIPPED - 1];
    bob.decrypt(header, ciphertext).unwrap();
    save(&mut learn, [&alice, &bob]);

    // Late messages of both chains arrive, every third one, newest first.
    for (header, ciphertext) in first.iter().chain(&second).rev().skip(1).step_by(3) {
        if header.n as usize != SKIPPED {
            bob.decrypt(header, ciphertext).unwrap();
        }
    }
    save(&mut learn, [&alice, &bob]);

    // The state is restored from its serialized form, and the rest arrives.
    let mut bob = Ratchet::from_bytes(&bob.to_bytes()).unwrap();
    for (header, ciphertext) in first.iter().chain(&second) {
        let _ = bob.decrypt(header, ciphertext);
    }
    save(&mut learn, [&alice, &bob]);
    bob.to_bytes()
}

/// Two established sessions, with a long gap in one direction, serialized and restored as a
/// store would. `learn`, when given, collects the secrets of every serialized state. Returns the
/// final state of the side that received the gap.
fn session_conversation(mut learn: Option<&mut Learned>) -> Zeroizing<Vec<u8>> {
    let (mut a, mut b, mut rng) = established(72);
    let save = |learn: &mut Option<&mut Learned>, sessions: [&Session; 2]| {
        for session in sessions {
            let bytes = session.to_bytes();
            if let Some(learn) = learn.as_deref_mut() {
                learn.session_record(&bytes);
            }
        }
    };
    save(&mut learn, [&a, &b]);
    let sent: Vec<Envelope> =
        (0..SKIPPED).map(|_| a.encrypt(&mut rng, b"See you on Thursday.").unwrap()).collect();
    b.decrypt(&sent[SKIPPED - 1]).unwrap();
    save(&mut learn, [&a, &b]);
    let mut b = Session::from_bytes(&b.to_bytes()).unwrap();
    for envelope in sent.iter().rev().skip(1).step_by(2) {
        b.decrypt(envelope).unwrap();
    }
    save(&mut learn, [&a, &b]);
    let reply = b.encrypt(&mut rng, b"Thursday works.").unwrap();
    a.decrypt(&reply).unwrap();
    save(&mut learn, [&a, &b]);
    b.to_bytes()
}

/// A PQXDH handshake with a one-time prekey, both sides. `learn`, when given, collects the four
/// DH outputs, the ML-KEM shared secret and `SK`, computed from Bob's private keys. Returns `SK`.
fn handshake(alice: &Device, bob: &Device, learn: Option<&mut Learned>) -> Zeroizing<[u8; 32]> {
    let initiated = low_level::initiate(&mut rng(73), &alice.identity, &bob.bundle(), true).unwrap();
    let ciphertext = initiated.kem_ciphertext.as_deref().unwrap();
    let responded = low_level::respond(
        &bob.identity,
        &alice.identity.public_key(),
        initiated.base_key,
        &bob.signed,
        bob.one_time.as_ref(),
        Some((&bob.kem, ciphertext)),
    )
    .unwrap();
    assert_eq!(initiated.agreement.shared_secret, responded.shared_secret);
    let shared_secret = Zeroizing::new(responded.shared_secret);
    let Some(learn) = learn else { return shared_secret };
    let private = |bytes: &[u8]| -> [u8; 32] { bytes[4..36].try_into().unwrap() };
    let signed = private(&bob.signed.to_bytes());
    let one_time = private(&bob.one_time.as_ref().unwrap().to_bytes());
    let identity = *low_level::identity_dh_private(&bob.identity);
    let alice_identity = low_level::identity_dh_public(&alice.identity.public_key());
    let base = initiated.base_key;
    for (private, public) in [(signed, alice_identity), (identity, base), (signed, base), (one_time, base)] {
        learn.add(Kind::HandshakeSecret, &low_level::x25519(private, public).unwrap());
    }
    let kem_seed: [u8; 64] = bob.kem.to_bytes()[4..68].try_into().unwrap();
    learn.add(Kind::HandshakeSecret, &low_level::kem_decapsulate(&kem_seed, ciphertext).unwrap()[..]);
    learn.add(Kind::HandshakeSecret, &initiated.agreement.shared_secret);
    shared_secret
}

fn clean(findings: &Findings) {
    assert!(
        findings.is_clean(),
        "freed heap blocks held secrets (kind, times found): {:?}; the first such block was {} bytes",
        findings.found,
        findings.first_block_size
    );
}

#[test]
fn no_freed_block_holds_a_ratchet_secret() {
    let _one_at_a_time = SCENARIO.lock().unwrap_or_else(PoisonError::into_inner);
    let mut learned = Learned::default();
    let learned_run = ratchet_conversation(Some(&mut learned));
    let (findings, armed_run) = armed(learned.0, || ratchet_conversation(None));
    assert_eq!(armed_run, learned_run, "the armed run must repeat the learned one");
    clean(&findings);
}

#[test]
fn no_freed_block_holds_a_session_secret() {
    let _one_at_a_time = SCENARIO.lock().unwrap_or_else(PoisonError::into_inner);
    let mut learned = Learned::default();
    let learned_run = session_conversation(Some(&mut learned));
    let (findings, armed_run) = armed(learned.0, || session_conversation(None));
    assert_eq!(armed_run, learned_run, "the armed run must repeat the learned one");
    clean(&findings);
}

#[test]
fn no_freed_block_holds_a_handshake_secret() {
    let _one_at_a_time = SCENARIO.lock().unwrap_or_else(PoisonError::into_inner);
    let mut rng = rng(74);
    let alice = Device::new(&mut rng, false);
    let bob = Device::new(&mut rng, true);
    let mut learned = Learned::default();
    let learned_run = handshake(&alice, &bob, Some(&mut learned));
    let (findings, armed_run) = armed(learned.0, || handshake(&alice, &bob, None));
    assert_eq!(armed_run, learned_run, "the armed run must repeat the learned one");
    clean(&findings);
}

/// The scanner itself: a secret in an outgrown `Vec` is found, one in a buffer that is zeroized
/// before it is freed is not.
#[test]
fn the_scanner_finds_a_secret_in_an_outgrown_buffer() {
    let _one_at_a_time = SCENARIO.lock().unwrap_or_else(PoisonError::into_inner);
    let secret = [0x42; SECRET_LEN];
    let (findings, ()) = armed(vec![(secret, Kind::MessageKey)], || {
        let mut buffer = Zeroizing::new(Vec::with_capacity(SECRET_LEN));
        buffer.extend_from_slice(std::hint::black_box(&secret));
        buffer.extend_from_slice(&[0; 64]);
    });
    assert_eq!(findings.found, vec![(Kind::MessageKey, 1)]);
    assert_eq!(findings.first_block_size, SECRET_LEN);

    let (findings, ()) = armed(vec![(secret, Kind::MessageKey)], || {
        let mut buffer = Zeroizing::new(Vec::with_capacity(SECRET_LEN + 64));
        buffer.extend_from_slice(std::hint::black_box(&secret));
        buffer.extend_from_slice(&[0; 64]);
    });
    clean(&findings);
}

/// Serialized states are allocated once, at exactly their length, however many skipped keys they
/// hold: no buffer was outgrown on the way.
#[test]
fn serialized_states_are_allocated_at_exactly_their_length() {
    let _one_at_a_time = SCENARIO.lock().unwrap_or_else(PoisonError::into_inner);
    for skipped in [0, 1, 1000] {
        let (mut a, mut b, mut rng) = established(75);
        let sent: Vec<Envelope> = (0..=skipped).map(|_| a.encrypt(&mut rng, b"ok").unwrap()).collect();
        b.decrypt(&sent[skipped]).unwrap();
        assert_eq!(b.skipped_keys(), skipped);
        for session in [&a, &b, &Session::from_bytes(&b.to_bytes()).unwrap()] {
            let bytes = session.to_bytes();
            assert_eq!(bytes.capacity(), bytes.len(), "session with {skipped} skipped keys");
        }

        let shared_secret = [0x11; 32];
        let bob_private = [0x22; 32];
        let bob_public = low_level::x25519(bob_private, BASE_POINT).unwrap();
        let mut alice = Ratchet::init_alice(shared_secret, bob_public, &[0xad; 64]);
        let mut bob = Ratchet::init_bob(shared_secret, bob_private, &[0xad; 64]);
        let sent: Vec<_> = (0..=skipped).map(|_| alice.encrypt(&mut rng, b"ok").unwrap()).collect();
        bob.decrypt(&sent[skipped].0, &sent[skipped].1).unwrap();
        for state in [&alice, &bob] {
            let bytes = state.to_bytes();
            assert_eq!(bytes.capacity(), bytes.len(), "ratchet with {skipped} skipped keys");
        }
    }
}

/// Message content through its serde form, both ways (an app that keeps drafts or exports with
/// serde): no freed block holds the text.
#[test]
fn no_freed_block_holds_a_message_text_after_serde() {
    use confidant::content::{Category, Content, MessageId};
    use confidant::expiry::Lifespan;

    let _one_at_a_time = SCENARIO.lock().unwrap_or_else(PoisonError::into_inner);
    let text: [u8; SECRET_LEN] = *b"I don't feel safe tonight, sorry";
    let make = || {
        let text = String::from_utf8(text.to_vec()).unwrap();
        Content::new(MessageId([3; 16]), Category::Crisis, text, Timestamp(1_000), Lifespan::DEFAULT, 1)
            .unwrap()
    };
    let content = make();
    let (findings, ()) = armed(vec![(text, Kind::Plaintext)], || {
        // The JSON goes into a buffer allocated once, large enough, and zeroized: what is
        // looked for is what the content's own serde code leaves behind.
        let mut json = Zeroizing::new(Vec::with_capacity(4096));
        serde_json::to_writer(&mut *json, &content).unwrap();
        let back: Content = serde_json::from_slice(&json).unwrap();
        assert_eq!(back.text(), content.text());
    });
    clean(&findings);
}
