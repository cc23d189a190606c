//! A review of the crate as an attacker would try it (PROTOCOL.md, section 14, "Attacks tried and
//! their tests"): decoders given lengths and counts far beyond their input, measured with a
//! counting allocator; the ratchet's limits at their boundaries (the previous receiving chains it
//! remembers, the skip guard of a first reply); replays across a restart of a store file; a
//! message from an older chain after a reload; identities that differ from the known peer's;
//! two initiators racing for one bundle, and prekeys used after deletion; sealed values moved
//! between rows, tables and peers of the SQLite file.
#![allow(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use confidant::agreement::UnverifiedAgreement;
use confidant::consts::{CONTENT_BUCKETS, CONTENT_VERSION, MAX_PREVIOUS_RECEIVING_KEYS, MAX_SKIP};
use confidant::content::Content;
use confidant::low_level::{x25519, Header, Ratchet};
use confidant::session::{DecodeError, Envelope, PrekeyBundle, SessionError};
use confidant_support::rng::seeded;

// ---------------------------------------------------------------------------------------------
// A counting allocator: while a thread measures, it records the largest single allocation and
// the total it requested.

struct Counting;

thread_local! {
    static MEASURING: Cell<bool> = const { Cell::new(false) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
    static TOTAL: Cell<usize> = const { Cell::new(0) };
}

fn count(size: usize) {
    // `try_with`: the thread-locals may already be gone while a thread exits.
    let _ = MEASURING.try_with(|measuring| {
        if measuring.get() {
            let _ = LARGEST.try_with(|largest| largest.set(largest.get().max(size)));
            let _ = TOTAL.try_with(|total| total.set(total.get().saturating_add(size)));
        }
    });
}

// SAFETY: every method hands its arguments to `System`, which upholds the `GlobalAlloc`
// contract; the counting touches only `const`-initialised thread-locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: as the caller's contract for `alloc`.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: as the caller's contract for `alloc_zeroed`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: as the caller's contract for `realloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as the caller's contract for `dealloc`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// What `f` allocated on this thread: `(its result, largest allocation, total bytes requested)`.
fn measure<T>(f: impl FnOnce() -> T) -> (T, usize, usize) {
    LARGEST.with(|c| c.set(0));
    TOTAL.with(|c| c.set(0));
    MEASURING.with(|m| m.set(true));
    let out = f();
    MEASURING.with(|m| m.set(false));
    (out, LARGEST.with(Cell::get), TOTAL.with(Cell::get))
}

/// The allocator sees what it must: without this, every bound below would hold trivially.
#[test]
fn the_counting_allocator_counts() {
    let (buffer, largest, total) = measure(|| vec![7u8; 100_000]);
    assert_eq!(buffer.len(), 100_000);
    assert!(largest >= 100_000 && total >= 100_000, "{largest} / {total}");
    let ((), largest, total) = measure(|| ());
    assert_eq!((largest, total), (0, 0));
}

/// A protobuf varint.
fn varint(mut value: u64) -> Vec<u8> {
    let mut out = Vec::new();
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
    out
}

/// A length-delimited protobuf field `field` that claims `claimed` bytes and holds `held`.
fn claim(field: u32, claimed: u64, held: &[u8]) -> Vec<u8> {
    let mut out = varint(u64::from(field << 3 | 2));
    out.extend(varint(claimed));
    out.extend_from_slice(held);
    out
}

/// Lengths an attacker would claim: just past the input, past every limit, and the largest
/// lengths a varint can carry.
const CLAIMS: [u64; 5] = [40, 70_000, 1 << 31, u32::MAX as u64, u64::MAX >> 1];

/// No decoder allocates more than a few kilobytes for an input of a few dozen bytes, whatever
/// length it claims.
const BOUND: usize = 16 * 1024;

#[test]
fn claimed_lengths_in_envelopes_and_bundles_allocate_nothing_in_proportion() {
    for claimed in CLAIMS {
        // An envelope whose ratchet message, and then whose ciphertext, claims `claimed` bytes.
        let ciphertext = claim(4, claimed, &[0xaa; 20]);
        let shapes = [claim(1, claimed, &[0x0a; 20]), claim(1, ciphertext.len() as u64, &ciphertext)];
        for body in shapes {
            let bytes = [&[1u8][..], &body].concat();
            let (result, largest, total) = measure(|| Envelope::from_bytes(&bytes));
            assert!(result.is_err(), "claimed {claimed}");
            assert!(largest <= BOUND && total <= 4 * BOUND, "claimed {claimed}: {largest} / {total}");
        }
        // A bundle whose post-quantum prekey claims `claimed` bytes.
        let bytes = [&[1u8][..], &claim(7, claimed, &[0x55; 20])].concat();
        let (result, largest, total) = measure(|| PrekeyBundle::from_bytes(&bytes));
        assert_eq!(result.err(), Some(DecodeError::Malformed), "claimed {claimed}");
        assert!(largest <= BOUND && total <= 4 * BOUND, "claimed {claimed}: {largest} / {total}");
    }
}

#[test]
fn claimed_lengths_in_content_and_agreements_allocate_nothing_in_proportion() {
    for claimed in CLAIMS {
        // Content: a text claiming `claimed` bytes, padded to the smallest bucket.
        let mut padded = [&[CONTENT_VERSION][..], &claim(3, claimed, b"hello")].concat();
        padded.push(0x80);
        padded.resize(CONTENT_BUCKETS[0], 0);
        let (result, largest, total) = measure(|| Content::decode(&padded));
        assert!(result.is_err(), "claimed {claimed}");
        assert!(largest <= BOUND && total <= 4 * BOUND, "claimed {claimed}: {largest} / {total}");

        // An agreement whose first field claims `claimed` bytes.
        let bytes = [&[1u8][..], &claim(1, claimed, &[0x33; 20])].concat();
        let (result, largest, total) = measure(|| UnverifiedAgreement::from_bytes(&bytes));
        assert!(result.is_err(), "claimed {claimed}");
        assert!(largest <= BOUND && total <= 4 * BOUND, "claimed {claimed}: {largest} / {total}");
    }
}

/// The largest content bucket filled with the smallest repeated items a content can hold (empty
/// receipt ids): refused for their count, and the memory used stays within a small multiple of
/// the input, not of any count the input names.
#[test]
fn counts_in_content_are_bounded_by_the_input() {
    let bucket = *CONTENT_BUCKETS.last().unwrap();
    let mut receipt = Vec::new();
    while receipt.len() + 8 < bucket - 64 {
        receipt.extend(claim(1, 0, &[]));
    }
    let mut padded = [&[CONTENT_VERSION][..], &claim(10, receipt.len() as u64, &receipt)].concat();
    padded.push(0x80);
    padded.resize(bucket, 0);
    let (result, largest, total) = measure(|| Content::decode(&padded));
    assert!(result.is_err());
    assert!(largest <= 24 * bucket, "{largest}");
    assert!(total <= 64 * bucket, "{total}");
}

// ---------------------------------------------------------------------------------------------
// The ratchet at its limits, through the low-level layer.

const AD: &[u8] = b"attacks review";

/// Alice (initiator) and Bob (responder) over a shared secret, as after a handshake.
fn ratchets(seed: u8) -> (Ratchet, Ratchet) {
    let bob_private = [seed.wrapping_add(2); 32];
    let mut basepoint = [0u8; 32];
    basepoint[0] = 9;
    let bob_public = x25519(bob_private, basepoint).unwrap();
    let shared = [seed; 32];
    (Ratchet::init_alice(shared, bob_public, AD), Ratchet::init_bob(shared, bob_private, AD))
}

type Sent = (Header, Vec<u8>);

fn send(from: &mut Ratchet, rng: &mut rand_chacha::ChaCha20Rng, text: &[u8]) -> Sent {
    from.encrypt(rng, text).unwrap()
}

fn deliver(to: &mut Ratchet, (header, ciphertext): &Sent) -> Result<Vec<u8>, SessionError> {
    to.decrypt(header, ciphertext).map(|(plaintext, _)| plaintext.to_vec())
}

/// The receiver remembers exactly `MAX_PREVIOUS_RECEIVING_KEYS` earlier chains of the sender: a
/// replay from the oldest one it remembers is a duplicate; from one before it, the message is
/// not recognised and fails to decrypt. Neither changes the state.
#[test]
fn the_receiver_remembers_exactly_the_last_previous_chains() {
    let mut rng = seeded(61);
    let (mut alice, mut bob) = ratchets(61);
    deliver(&mut bob, &send(&mut alice, &mut rng, b"hello")).unwrap();
    // Bob answers MAX + 2 times, each on a new chain (Alice replies in between).
    let mut firsts = Vec::new();
    for round in 0..MAX_PREVIOUS_RECEIVING_KEYS + 2 {
        let from_bob = send(&mut bob, &mut rng, format!("bob {round}").as_bytes());
        deliver(&mut alice, &from_bob).unwrap();
        firsts.push(from_bob);
        deliver(&mut bob, &send(&mut alice, &mut rng, format!("alice {round}").as_bytes())).unwrap();
    }
    // Alice's current chain from Bob is the last one; the MAX before it are remembered.
    let before = alice.to_bytes();
    let current = firsts.len() - 1;
    for (i, sent) in firsts.iter().enumerate() {
        let err = deliver(&mut alice, sent).unwrap_err();
        if i + MAX_PREVIOUS_RECEIVING_KEYS >= current {
            assert_eq!(err, SessionError::Duplicate, "chain {i} is remembered");
        } else {
            assert_eq!(err, SessionError::Decrypt, "chain {i} is forgotten");
        }
        assert_eq!(alice.to_bytes(), before, "a refused replay changed the state");
    }
}

/// Byte offset of `previous_counter` in a serialized state without previous chains or skipped
/// keys: `previous_counter (4) ‖ previous count (1) ‖ skipped count (4)` end it.
fn with_previous_counter(state: &Ratchet, pn: u32) -> Ratchet {
    let mut bytes = state.to_bytes().to_vec();
    let at = bytes.len() - 9;
    assert_eq!(&bytes[at..], &[0u8; 9], "no previous chains or skipped keys");
    bytes[at..at + 4].copy_from_slice(&pn.to_be_bytes());
    Ratchet::from_bytes(&bytes).unwrap()
}

/// A first reply whose sender claims a previous chain of `MAX_SKIP` messages is accepted by an
/// initiator that has no receiving chain yet; one more is refused, and changes nothing.
#[test]
fn a_first_reply_may_claim_at_most_max_skip_previous_messages() {
    for (pn, accepted) in [(MAX_SKIP - 1, true), (MAX_SKIP, true), (MAX_SKIP + 1, false), (u32::MAX, false)] {
        let mut rng = seeded(62);
        let (mut alice, mut bob) = ratchets(62);
        deliver(&mut bob, &send(&mut alice, &mut rng, b"hello")).unwrap();
        let mut bob = with_previous_counter(&bob, pn);
        let reply = send(&mut bob, &mut rng, b"first reply");
        assert_eq!(reply.0.pn, pn);
        let before = alice.to_bytes();
        match deliver(&mut alice, &reply) {
            Ok(plaintext) => assert!(accepted && plaintext == b"first reply", "pn {pn}"),
            Err(err) => {
                assert!(!accepted, "pn {pn}: {err:?}");
                assert_eq!(err, SessionError::TooManySkipped, "pn {pn}");
                assert_eq!(alice.to_bytes(), before, "pn {pn}: a refused reply changed the state");
            }
        }
    }
}

/// A serialized state claiming more skipped keys or previous chains than the limits (or than the
/// input holds) is refused without allocating for the claim.
#[test]
fn a_ratchet_state_claiming_huge_counts_is_refused_without_allocating_for_them() {
    let mut rng = seeded(63);
    let (mut alice, mut bob) = ratchets(63);
    deliver(&mut bob, &send(&mut alice, &mut rng, b"hello")).unwrap();
    let bytes = bob.to_bytes().to_vec();
    let end = bytes.len();
    for skipped in [1u32, 2000, 2001, u32::MAX] {
        let mut forged = bytes.clone();
        forged[end - 4..].copy_from_slice(&skipped.to_be_bytes());
        let (result, largest, total) = measure(|| Ratchet::from_bytes(&forged).map(|_| ()));
        assert!(result.is_err(), "skipped {skipped}");
        assert!(largest <= BOUND && total <= 4 * BOUND, "skipped {skipped}: {largest} / {total}");
    }
    for previous in [1u8, 5, 6, u8::MAX] {
        let mut forged = bytes.clone();
        forged[end - 5] = previous;
        let (result, largest, total) = measure(|| Ratchet::from_bytes(&forged).map(|_| ()));
        assert!(result.is_err(), "previous {previous}");
        assert!(largest <= BOUND && total <= 4 * BOUND, "previous {previous}: {largest} / {total}");
    }
}

// ---------------------------------------------------------------------------------------------
// Through the endpoint, over store files that are closed and opened again.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};

use confidant::content::CategoryKind;
use confidant::expiry::{ExpiryStart, Lifespan};
use confidant::keys::IdentityKey;
use confidant::store::{
    MemoryStore, PeerId, PeerRecord, SqliteStore, Store, StoreError, StoreKeySource, StoredMessage,
    StoredSession,
};
use confidant::{
    AgreementTerms, AppointmentKind, Availability, Category, Draft, Endpoint, EndpointError, Error,
    ManualClock, Received, Role, Weekday, Window,
};
use confidant_support::pair::{pair_with, send_raw, Pair, HOUR, MONDAY_10AM_NY};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

type Device = Endpoint<SqliteStore, ManualClock>;

fn key() -> StoreKeySource {
    StoreKeySource::key([9; 32])
}

fn note(text: &str) -> Draft {
    Draft::new(Category::Administrative, text)
}

fn confirm(text: &str) -> Draft {
    Draft::new(Category::Appointment(AppointmentKind::Confirm), text)
}

/// Everything a receive could change about a conversation with `peer`.
type Snapshot = (Option<StoredSession>, Vec<StoredMessage>, Option<PeerRecord>, usize);

fn snapshot<S: Store>(endpoint: &Endpoint<S, ManualClock>, peer: &PeerId) -> Snapshot {
    let store = endpoint.store();
    (
        store.session(peer).unwrap(),
        store.messages(peer).unwrap(),
        store.peer(peer).unwrap(),
        store.one_time_prekey_count().unwrap(),
    )
}

/// Asserts that receiving `envelope` from `peer` fails with `expected` and changes nothing.
fn refused<S: Store>(endpoint: &Endpoint<S, ManualClock>, peer: &PeerId, envelope: &[u8], expected: &Error) {
    let before = snapshot(endpoint, peer);
    assert_eq!(&endpoint.receive(peer, envelope).unwrap_err(), expected);
    assert!(snapshot(endpoint, peer) == before, "a refused envelope changed the store");
}

fn text(incoming: &confidant::Incoming) -> String {
    match &incoming.received {
        Received::Message(message) => message.text.to_string(),
        other => panic!("expected a message, got {other:?}"),
    }
}

/// A clinician and a client, each over its own store file, with an agreement in force; either
/// can be quit and started again.
struct Conversation {
    _dir: tempfile::TempDir,
    paths: [PathBuf; 2],
    clinician: Option<Device>,
    client: Option<Device>,
    client_id: PeerId,
    clinician_id: PeerId,
    /// The clinician's first message (the agreement proposal), which carried the handshake.
    handshake: Vec<u8>,
}

impl Conversation {
    fn new(seed: u64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let paths = [dir.path().join("clinician.db"), dir.path().join("client.db")];
        let stores = paths.clone().map(|path| SqliteStore::create(path, &key()).unwrap());
        let [clinician_store, client_store] = stores;
        let mut pair = pair_with(seed, clinician_store, client_store, false);
        let terms = pair.terms(1);
        let handshake = pair.clinician.propose_agreement(&pair.client_id, terms).unwrap();
        let Received::AgreementProposed { id, .. } = pair.deliver_to_client(&handshake).received else {
            panic!("expected a proposal")
        };
        let acceptance = pair.client.accept_agreement(&pair.clinician_id, id).unwrap();
        pair.deliver_to_clinician(&acceptance);
        let Pair { clinician, client, client_id, clinician_id, .. } = pair;
        Self {
            _dir: dir,
            paths,
            clinician: Some(clinician),
            client: Some(client),
            client_id,
            clinician_id,
            handshake,
        }
    }

    fn clinician(&self) -> &Device {
        self.clinician.as_ref().unwrap()
    }

    fn client(&self) -> &Device {
        self.client.as_ref().unwrap()
    }

    /// Both apps quit and start again from their files.
    fn restart(&mut self) {
        self.client = None;
        self.restart_clinician();
        let store = SqliteStore::open(&self.paths[1], &key()).unwrap();
        let client = Endpoint::new(store, ManualClock::new(MONDAY_10AM_NY), Role::Client, "client-42");
        self.client = Some(client.unwrap());
    }

    /// The clinician's app quits and starts again from its file.
    fn restart_clinician(&mut self) {
        self.clinician = None;
        let store = SqliteStore::open(&self.paths[0], &key()).unwrap();
        let clinician = Endpoint::new(store, ManualClock::new(MONDAY_10AM_NY), Role::Clinician, "dr-lee");
        self.clinician = Some(clinician.unwrap());
    }

    fn sent_by_clinician(&self, text: &str) -> Vec<u8> {
        self.clinician().send(&self.client_id, note(text)).unwrap().envelope.unwrap()
    }

    fn sent_by_client(&self, text: &str) -> Vec<u8> {
        self.client().send(&self.clinician_id, confirm(text)).unwrap().envelope.unwrap()
    }

    fn to_client(&self, envelope: &[u8]) -> String {
        text(&self.client().receive(&self.clinician_id, envelope).unwrap())
    }

    fn to_clinician(&self, envelope: &[u8]) -> String {
        text(&self.clinician().receive(&self.client_id, envelope).unwrap())
    }

    /// A message each way, each delivered at once.
    fn talk(&self, round: &str) {
        assert_eq!(self.to_clinician(&self.sent_by_client(round)), round);
        assert_eq!(self.to_client(&self.sent_by_clinician(round)), round);
    }
}

#[test]
fn envelopes_delivered_before_a_restart_are_refused_after_it_on_both_devices() {
    let mut c = Conversation::new(71);
    let to_client = c.sent_by_clinician("Your appointment is on Thursday.");
    assert_eq!(c.to_client(&to_client), "Your appointment is on Thursday.");
    let to_clinician = c.sent_by_client("Thursday works.");
    assert_eq!(c.to_clinician(&to_clinician), "Thursday works.");
    c.restart();

    let duplicate = Error::Session(SessionError::Duplicate);
    refused(c.client(), &c.clinician_id, &to_client, &duplicate);
    refused(c.clinician(), &c.client_id, &to_clinician, &duplicate);
    // The first message, which carried the handshake: its prekeys are gone and its session knows it.
    refused(c.client(), &c.clinician_id, &c.handshake, &duplicate);
    c.talk("after the replays");
    c.restart();
    refused(c.client(), &c.clinician_id, &to_client, &duplicate);
    refused(c.clinician(), &c.client_id, &to_clinician, &duplicate);
    c.talk("after a second restart");
}

#[test]
fn a_message_from_an_older_chain_arrives_once_after_a_reload_on_both_devices() {
    let mut c = Conversation::new(72);
    // Each side sends twice on its current chain; the relay holds back the first of each.
    let late_to_client = c.sent_by_clinician("late to the client");
    let on_time_to_client = c.sent_by_clinician("on time to the client");
    let late_to_clinician = c.sent_by_client("late to the clinician");
    let on_time_to_clinician = c.sent_by_client("on time to the clinician");
    c.to_client(&on_time_to_client);
    c.to_clinician(&on_time_to_clinician);
    // Both sides move on to new chains, several times.
    for round in 0..3 {
        c.talk(&format!("round {round}"));
    }
    c.restart();

    assert_eq!(c.to_client(&late_to_client), "late to the client");
    assert_eq!(c.to_clinician(&late_to_clinician), "late to the clinician");
    c.restart();
    let duplicate = Error::Session(SessionError::Duplicate);
    for envelope in [&late_to_client, &on_time_to_client] {
        refused(c.client(), &c.clinician_id, envelope, &duplicate);
    }
    for envelope in [&late_to_clinician, &on_time_to_clinician] {
        refused(c.clinician(), &c.client_id, envelope, &duplicate);
    }
    c.talk("after the late messages");
}

/// An endpoint over a memory store, with a deterministic generator.
fn device(seed: u64, role: Role, id: &str) -> Endpoint<MemoryStore, ManualClock> {
    let rng = ChaCha20Rng::seed_from_u64(seed);
    Endpoint::with_generator(rng, MemoryStore::new(), ManualClock::new(MONDAY_10AM_NY), role, id).unwrap()
}

/// Terms between `clinician` and `client`, as the pair fixture writes them.
fn terms(clinician: IdentityKey, client: IdentityKey) -> AgreementTerms {
    let windows = Weekday::ALL[..5].iter().map(|&day| Window::new(day, (9, 0), (17, 0))).collect();
    let availability = Availability::new("America/New_York", windows).unwrap();
    let mut terms = AgreementTerms::new(
        1,
        clinician,
        client,
        availability,
        "Within a day.".into(),
        vec!["Call 988".into()],
    );
    terms.client_may_send.push(CategoryKind::CheckIn);
    terms.lifespans.insert(CategoryKind::CheckIn, Lifespan::new(24 * HOUR, ExpiryStart::FromRead).unwrap());
    terms
}

/// A first message from a device that claims to be `peer` with another identity key: the
/// handshake of `impostor` (a session started from `bundle`), carrying any bytes.
fn impostor_handshake<S: Store>(
    impostor: &Endpoint<S, ManualClock>,
    victim: &PeerId,
    bundle: &[u8],
) -> Vec<u8> {
    impostor.start_session(victim, bundle).unwrap();
    send_raw(impostor, victim, &mut ChaCha20Rng::seed_from_u64(5), &[0x80; 256])
}

#[test]
fn a_bundle_or_handshake_with_another_identity_than_the_known_peer_is_refused_on_both_devices() {
    let c = Conversation::new(73);
    let changed = Error::Store(StoreError::IdentityChanged);

    // A bundle under the client's name, with another identity key, given to the clinician; and one
    // under the clinician's name given to the client.
    let fake_client = device(1, Role::Client, "client-42");
    let fake_clinician = device(2, Role::Clinician, "dr-lee");
    for (victim, peer, bundle) in [
        (c.clinician(), &c.client_id, fake_client.prekey_bundle().unwrap()),
        (c.client(), &c.clinician_id, fake_clinician.prekey_bundle().unwrap()),
    ] {
        let before = snapshot(victim, peer);
        assert_eq!(victim.start_session(peer, &bundle).unwrap_err(), changed);
        assert!(snapshot(victim, peer) == before, "a refused bundle changed the store");
    }

    // A handshake under the client's name, made from a fresh bundle of the clinician's, and one
    // under the clinician's name made from a fresh bundle of the client's: refused, and the
    // prekeys they name are kept for the real peer.
    let to_clinician =
        impostor_handshake(&fake_client, &c.clinician_id, &c.clinician().prekey_bundle().unwrap());
    let to_client = impostor_handshake(&fake_clinician, &c.client_id, &c.client().prekey_bundle().unwrap());
    refused(c.clinician(), &c.client_id, &to_clinician, &changed);
    refused(c.client(), &c.clinician_id, &to_client, &changed);
    c.talk("the real peers go on");
}

/// Removes fields 5 and 6 (the one-time prekey) from a bundle, as an initiator may: the prekey
/// signatures do not cover them.
fn without_one_time_prekey(bundle: &[u8]) -> Vec<u8> {
    without_fields(bundle, &[5, 6])
}

/// `bundle` without its top-level protobuf fields numbered in `fields`.
fn without_fields(bundle: &[u8], fields: &[u64]) -> Vec<u8> {
    let read_varint = |bytes: &[u8], at: &mut usize| {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = bytes[*at];
            *at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                break;
            }
        }
        value
    };
    let mut out = vec![bundle[0]];
    let mut at = 1;
    while at < bundle.len() {
        let start = at;
        let tag = read_varint(bundle, &mut at);
        match tag & 7 {
            0 => {
                read_varint(bundle, &mut at);
            }
            2 => at += read_varint(bundle, &mut at) as usize,
            other => panic!("wire type {other} in a bundle"),
        }
        if !fields.contains(&(tag >> 3)) {
            out.extend_from_slice(&bundle[start..at]);
        }
    }
    out
}

/// Two initiators (different peers to the client) race with handshakes from the same bundle:
/// one wins, the other is refused with a typed error, on every run, also when the second
/// initiator leaves out the one-time prekey. A bundle is single use.
#[test]
fn two_initiators_racing_for_one_bundle_start_one_session() {
    for run in 0..12u64 {
        for strip in [false, true] {
            // The operating system's generator: an injected one is shared behind a lock, which
            // would run the two receives one after the other.
            let client = Endpoint::new(
                MemoryStore::new(),
                ManualClock::new(MONDAY_10AM_NY),
                Role::Client,
                "client-42",
            );
            let client = Arc::new(client.unwrap());
            let client_id = PeerId::new("client-42").unwrap();
            let bundle = client.prekey_bundle().unwrap();
            let lee = device(200 + run, Role::Clinician, "dr-lee");
            let mallory = device(300 + run, Role::Clinician, "dr-mallory");
            let mut firsts = Vec::new();
            for (initiator, bundle) in [
                (&lee, bundle.clone()),
                (&mallory, if strip { without_one_time_prekey(&bundle) } else { bundle.clone() }),
            ] {
                initiator.start_session(&client_id, &bundle).unwrap();
                let terms = terms(initiator.identity_key(), client.identity_key());
                firsts.push(initiator.propose_agreement(&client_id, terms).unwrap());
            }
            let barrier = Arc::new(Barrier::new(2));
            let threads: Vec<_> = ["dr-lee", "dr-mallory"]
                .into_iter()
                .zip(firsts)
                .map(|(from, first)| {
                    let (client, barrier) = (Arc::clone(&client), Arc::clone(&barrier));
                    std::thread::spawn(move || {
                        let from = PeerId::new(from).unwrap();
                        barrier.wait();
                        client.receive(&from, &first).map(|incoming| incoming.received)
                    })
                })
                .collect();
            let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
            let won: Vec<_> = results.iter().filter(|r| r.is_ok()).collect();
            assert_eq!(won.len(), 1, "run {run}, strip {strip}: {results:?}");
            assert!(matches!(won[0], Ok(Received::AgreementProposed { .. })));
            let lost = results.iter().find_map(|r| r.as_ref().err()).unwrap();
            assert!(
                matches!(
                    lost,
                    Error::Endpoint(EndpointError::UnknownPrekey) | Error::Store(StoreError::UnknownPrekey)
                ),
                "run {run}, strip {strip}: {lost:?}"
            );
            let sessions = ["dr-lee", "dr-mallory"]
                .iter()
                .filter(|p| client.store().session(&PeerId::new(**p).unwrap()).unwrap().is_some())
                .count();
            assert_eq!(sessions, 1, "run {run}, strip {strip}");
        }
    }
}

/// A bundle used once is gone after a restart too: a second initiator's handshake from it (with
/// or without the one-time prekey) is refused and changes nothing.
#[test]
fn a_prekey_used_before_a_restart_is_refused_after_it() {
    let mut c = Conversation::new(74);
    let bundle = c.client().prekey_bundle().unwrap();
    let jones = device(4, Role::Clinician, "dr-jones");
    jones.start_session(&c.client_id, &bundle).unwrap();
    let proposal =
        jones.propose_agreement(&c.client_id, terms(jones.identity_key(), c.client().identity_key()));
    let jones_id = PeerId::new("dr-jones").unwrap();
    assert!(matches!(
        c.client().receive(&jones_id, &proposal.unwrap()).unwrap().received,
        Received::AgreementProposed { .. }
    ));
    c.restart();
    let mallory_id = PeerId::new("dr-mallory").unwrap();
    for (seed, bundle) in [(5, bundle.clone()), (6, without_one_time_prekey(&bundle))] {
        let mallory = device(seed, Role::Clinician, "dr-mallory");
        mallory.start_session(&c.client_id, &bundle).unwrap();
        let first = mallory
            .propose_agreement(&c.client_id, terms(mallory.identity_key(), c.client().identity_key()))
            .unwrap();
        refused(c.client(), &mallory_id, &first, &Error::Endpoint(EndpointError::UnknownPrekey));
        assert!(c.client().store().session(&mallory_id).unwrap().is_none());
    }
    c.talk("the first session goes on");
}

/// `bytes` followed by an unknown length-delimited field (which decoders skip) that brings it to
/// exactly `len` bytes.
fn padded_to(bytes: &[u8], len: usize) -> Vec<u8> {
    for field_len in (0..len).rev() {
        let field = claim(15, field_len as u64, &vec![0; field_len]);
        if bytes.len() + field.len() == len {
            return [bytes, &field].concat();
        }
    }
    panic!("no padding reaches {len}")
}

/// The size limits hold at their boundaries: an envelope or bundle of exactly the limit decodes,
/// one byte more is `TooLarge`.
#[test]
fn size_limits_of_envelopes_and_bundles_hold_at_their_boundaries() {
    use confidant::consts::{MAX_BUNDLE_LEN, MAX_ENVELOPE_LEN};
    let c = Conversation::new(75);
    let envelope = c.sent_by_clinician("at the limit");
    let expected = Envelope::from_bytes(&envelope).unwrap();
    assert_eq!(Envelope::from_bytes(&padded_to(&envelope, MAX_ENVELOPE_LEN)).unwrap(), expected);
    let over = padded_to(&envelope, MAX_ENVELOPE_LEN + 1);
    assert_eq!(Envelope::from_bytes(&over).unwrap_err(), DecodeError::TooLarge);
    // The receiving device refuses it, and it changes nothing.
    refused(c.client(), &c.clinician_id, &over, &Error::Decode(DecodeError::TooLarge));
    assert_eq!(c.to_client(&padded_to(&envelope, MAX_ENVELOPE_LEN)), "at the limit");

    let bundle = c.client().prekey_bundle().unwrap();
    let expected = PrekeyBundle::from_bytes(&bundle).unwrap().to_bytes();
    let at_limit = PrekeyBundle::from_bytes(&padded_to(&bundle, MAX_BUNDLE_LEN)).unwrap();
    assert_eq!(at_limit.to_bytes(), expected);
    let over = padded_to(&bundle, MAX_BUNDLE_LEN + 1);
    assert_eq!(PrekeyBundle::from_bytes(&over).unwrap_err(), DecodeError::TooLarge);
}

/// The `(key, value)` rows of `table` in the file at `path`.
fn rows(path: &Path, table: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn.prepare(&format!("SELECT key, value FROM {table} ORDER BY key")).unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
}

/// Writes `value` as the value of the row `key` of `table`, as someone with the file could.
fn put_value(path: &Path, table: &str, key: &[u8], value: &[u8]) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let changed =
        conn.execute(&format!("UPDATE {table} SET value = ?2 WHERE key = ?1"), (key, value)).unwrap();
    assert_eq!(changed, 1);
}

/// The key of the one row of `table` that `after` has and `before` has not.
fn new_row(before: &[(Vec<u8>, Vec<u8>)], after: &[(Vec<u8>, Vec<u8>)]) -> (Vec<u8>, Vec<u8>) {
    let mut new = after.iter().filter(|row| before.iter().all(|old| old.0 != row.0)).cloned();
    let row = new.next().unwrap();
    assert!(new.next().is_none());
    row
}

/// Sealed values moved by someone with write access to the clinician's file, between rows of a
/// table, between peers and between tables: each is refused with `StoreError::Corrupt` naming
/// the table whose row was read, no operation panics, and the other conversations go on.
#[test]
fn sealed_values_moved_between_rows_tables_and_peers_are_refused() {
    let mut c = Conversation::new(76);
    c.talk("one");
    c.talk("two");
    let path = c.paths[0].clone();
    let corrupt = |table| Error::Store(StoreError::Corrupt { table });

    // A second client, with a session and a peer record in the clinician's store; and two
    // bundles of the clinician's, unused.
    let sessions_before = rows(&path, "sessions");
    let peers_before = rows(&path, "peers");
    let other = device(7, Role::Client, "client-43");
    let other_id = PeerId::new("client-43").unwrap();
    c.clinician().start_session(&other_id, &other.prekey_bundle().unwrap()).unwrap();
    let prekeys_before = rows(&path, "one_time_prekeys");
    let first_bundle = c.clinician().prekey_bundle().unwrap();
    let prekeys_between = rows(&path, "one_time_prekeys");
    c.clinician().prekey_bundle().unwrap();
    c.clinician = None;
    let sessions = rows(&path, "sessions");
    let (other_session_key, other_session) = new_row(&sessions_before, &sessions);
    let (own_session_key, own_session) = sessions_before[0].clone();
    let peers = rows(&path, "peers");
    let (other_peer_key, _) = new_row(&peers_before, &peers);
    let (own_peer_key, own_peer) = peers_before[0].clone();
    let (first_prekey_key, first_prekey) = new_row(&prekeys_before, &prekeys_between);
    let (second_prekey_key, _) = new_row(&prekeys_between, &rows(&path, "one_time_prekeys"));
    let messages = rows(&path, "messages");
    assert!(messages.len() >= 4);
    // Each case starts from these files (both: the client's state must match the clinician's).
    c.client = None;
    let pristine = c.paths.clone().map(|file| std::fs::read(file).unwrap());
    let restore = |c: &mut Conversation| {
        c.clinician = None;
        c.client = None;
        for (file, bytes) in c.paths.iter().zip(&pristine) {
            std::fs::write(file, bytes).unwrap();
        }
        c.restart();
    };

    // Between peers: client-42's session in client-43's row. Sending to client-43 fails and
    // writes nothing; client-42's conversation goes on.
    put_value(&path, "sessions", &other_session_key, &own_session);
    c.restart();
    let draft = note("to the other client");
    assert_eq!(c.clinician().send(&other_id, draft).unwrap_err(), corrupt("sessions"));
    c.talk("the other conversation goes on");
    assert!(rows(&path, "sessions")
        .iter()
        .any(|row| row == &(other_session_key.clone(), own_session.clone())));
    restore(&mut c);

    // Between peers, the other way: client-43's session in client-42's row.
    put_value(&path, "sessions", &own_session_key, &other_session);
    c.restart_clinician();
    let before = rows(&path, "sessions");
    assert_eq!(c.clinician().send(&c.client_id, note("refused")).unwrap_err(), corrupt("sessions"));
    let envelope = c.sent_by_client("refused as well");
    refused_with(c.clinician(), &c.client_id, &envelope, &corrupt("sessions"));
    assert_eq!(rows(&path, "sessions"), before, "a refused operation wrote a session");
    restore(&mut c);

    // Between tables: client-42's peer record as its session, and its session as its peer
    // record (the same row key in each table would not even match: lookup keys differ per table).
    put_value(&path, "sessions", &own_session_key, &own_peer);
    c.restart_clinician();
    assert_eq!(c.clinician().send(&c.client_id, note("refused")).unwrap_err(), corrupt("sessions"));
    restore(&mut c);
    put_value(&path, "peers", &own_peer_key, &own_session);
    c.restart_clinician();
    assert_eq!(c.clinician().store().peer(&c.client_id).unwrap_err(), StoreError::Corrupt { table: "peers" });
    assert_eq!(c.clinician().safety_number(&c.client_id).unwrap_err(), corrupt("peers"));
    assert!(c.clinician().store().peer(&other_id).unwrap().is_some(), "the other peer reads");
    restore(&mut c);
    put_value(&path, "peers", &other_peer_key, &own_peer);
    c.restart_clinician();
    assert_eq!(c.clinician().store().peer(&other_id).unwrap_err(), StoreError::Corrupt { table: "peers" });
    restore(&mut c);

    // Between rows: one message's value in another message's row (same peer, same columns but
    // the key), read alone and in the conversation.
    put_value(&path, "messages", &messages[0].0, &messages[1].1);
    c.restart_clinician();
    let corrupt_messages = StoreError::Corrupt { table: "messages" };
    assert_eq!(c.clinician().store().messages(&c.client_id).unwrap_err(), corrupt_messages);
    c.talk("new messages still arrive");
    restore(&mut c);

    // Between rows: the first bundle's one-time prekey replaced by the second's. A handshake
    // from the first bundle fails with a typed error and consumes nothing.
    let second_prekey =
        rows(&path, "one_time_prekeys").into_iter().find(|r| r.0 == second_prekey_key).unwrap().1;
    put_value(&path, "one_time_prekeys", &first_prekey_key, &second_prekey);
    c.restart_clinician();
    let stranger = device(8, Role::Client, "client-44");
    let stranger_id = PeerId::new("client-44").unwrap();
    let handshake = impostor_handshake(&stranger, &c.clinician_id, &first_bundle);
    refused(c.clinician(), &stranger_id, &handshake, &corrupt("one_time_prekeys"));
    assert_ne!(first_prekey, second_prekey);
}

/// As [`refused`], for a store whose snapshot itself cannot be read: only the error is checked
/// here; the caller compares the rows of the file.
fn refused_with<S: Store>(
    endpoint: &Endpoint<S, ManualClock>,
    peer: &PeerId,
    envelope: &[u8],
    expected: &Error,
) {
    assert_eq!(&endpoint.receive(peer, envelope).unwrap_err(), expected);
}

/// `Session::has_received` answers for each side: the endpoint relies on it to decide whether a
/// new session may replace the one that sends (PROTOCOL.md, section 12).
#[test]
fn has_received_is_true_only_after_a_message_from_the_peer() {
    let (mut alice, mut bob, mut rng) = confidant_support::device::established(77);
    assert!(!alice.has_received(), "the initiator has sent only");
    assert!(bob.has_received(), "the responder decrypted the first message");
    let reply = bob.encrypt(&mut rng, b"reply").unwrap();
    assert!(!alice.has_received(), "sending nothing back changes nothing");
    alice.decrypt(&reply).unwrap();
    assert!(alice.has_received());
}

/// A bundle without a one-time prekey decodes and starts a session; one that carries a one-time
/// key without its id (or an id without its key) is refused, on the device that reads it.
#[test]
fn a_one_time_prekey_is_in_a_bundle_whole_or_not_at_all() {
    let client = device(9, Role::Client, "client-42");
    let clinician = device(10, Role::Clinician, "dr-lee");
    let client_id = PeerId::new("client-42").unwrap();
    let bundle = client.prekey_bundle().unwrap();
    assert_eq!(PrekeyBundle::from_bytes(&bundle).unwrap().to_bytes(), bundle);
    let stripped = without_one_time_prekey(&bundle);
    assert!(stripped.len() < bundle.len());
    assert_eq!(PrekeyBundle::from_bytes(&stripped).unwrap().to_bytes(), stripped);
    for half in [without_fields(&bundle, &[5]), without_fields(&bundle, &[6])] {
        let err = PrekeyBundle::from_bytes(&half).unwrap_err();
        assert!(matches!(err, DecodeError::InvalidField(_)), "{err:?}");
        assert_eq!(clinician.start_session(&client_id, &half).unwrap_err(), Error::Decode(err));
        assert!(clinician.store().session(&client_id).unwrap().is_none());
    }
    clinician.start_session(&client_id, &without_one_time_prekey(&bundle)).unwrap();
}

/// A ratchet message envelope with `ciphertext`, encoded by hand as a modified sender would.
fn ratchet_envelope(ciphertext: &[u8]) -> Vec<u8> {
    let message = [claim(1, 32, &[9; 32]), claim(4, ciphertext.len() as u64, ciphertext)].concat();
    [&[1u8][..], &claim(1, message.len() as u64, &message)].concat()
}

/// The ciphertext of a ratchet message is at least a tag and at most the largest plaintext and
/// a tag: both ends decode (and encode back to the same bytes), one byte beyond either is
/// refused as an invalid field.
#[test]
fn ciphertext_lengths_hold_at_their_boundaries() {
    use confidant::consts::MAX_PLAINTEXT_LEN;
    for (len, valid) in
        [(15, false), (16, true), (MAX_PLAINTEXT_LEN + 16, true), (MAX_PLAINTEXT_LEN + 17, false)]
    {
        let bytes = ratchet_envelope(&vec![0x42; len]);
        match Envelope::from_bytes(&bytes) {
            Ok(envelope) => {
                assert!(valid, "length {len} accepted");
                assert_eq!(envelope.ratchet_message().ciphertext().len(), len);
                assert_eq!(envelope.to_bytes(), bytes);
            }
            Err(err) => {
                assert!(!valid, "length {len} refused: {err:?}");
                assert_eq!(err, DecodeError::InvalidField("ciphertext"), "length {len}");
            }
        }
    }
}
