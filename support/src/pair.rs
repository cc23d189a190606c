//! Two endpoints, a clinician's and a client's, with an agreement in force.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use confidant::clock::Clock;
use confidant::content::CategoryKind;
use confidant::expiry::{ExpiryStart, Lifespan};
use confidant::session::Session;
use confidant::store::{MemoryStore, PeerId, Store, WriteBatch};
use confidant::{
    AgreementTerms, Availability, Endpoint, ManualClock, Received, Role, Timestamp, Weekday, Window,
};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// Monday 2 March 2026, 10:00 in New York (15:00 UTC): within office hours.
pub const MONDAY_10AM_NY: Timestamp = Timestamp(1_772_463_600_000);
/// The same Monday, 18:30 in New York: outside office hours.
pub const MONDAY_6_30PM_NY: Timestamp = Timestamp(1_772_494_200_000);
pub const MINUTE: u64 = 60 * 1000;
pub const HOUR: u64 = 60 * MINUTE;

pub struct Pair<A: Store, B: Store = A> {
    pub rng: ChaCha20Rng,
    pub clinician: Endpoint<A, ManualClock>,
    pub client: Endpoint<B, ManualClock>,
    /// How the clinician's device knows the client, and the other way round.
    pub client_id: PeerId,
    pub clinician_id: PeerId,
}

impl<A: Store, B: Store> Pair<A, B> {
    pub fn set_time(&self, at: Timestamp) {
        self.clinician.clock().set(at);
        self.client.clock().set(at);
    }

    pub fn advance(&self, millis: u64) {
        self.clinician.clock().advance_millis(millis);
        self.client.clock().advance_millis(millis);
    }

    /// Delivers an envelope from the client to the clinician.
    pub fn deliver_to_clinician(&mut self, envelope: &[u8]) -> confidant::Incoming {
        self.clinician.receive(&self.client_id, envelope).unwrap()
    }

    /// Delivers an envelope from the clinician to the client.
    pub fn deliver_to_client(&mut self, envelope: &[u8]) -> confidant::Incoming {
        self.client.receive(&self.clinician_id, envelope).unwrap()
    }

    /// Office hours Monday to Friday 9:00-17:00 New York time; check-ins allowed for the client
    /// and living one day from reading; appointment confirmations living two hours from sending.
    pub fn terms(&self, version: u32) -> AgreementTerms {
        let windows = Weekday::ALL[..5].iter().map(|&day| Window::new(day, (9, 0), (17, 0))).collect();
        let availability = Availability::new("America/New_York", windows).unwrap();
        let mut terms = AgreementTerms::new(
            version,
            self.clinician.identity_key(),
            self.client.identity_key(),
            availability,
            "I reply within one business day.".into(),
            vec!["Call or text 988 (Suicide & Crisis Lifeline)".into()],
        );
        terms.client_may_send.push(CategoryKind::CheckIn);
        terms
            .lifespans
            .insert(CategoryKind::CheckIn, Lifespan::new(24 * HOUR, ExpiryStart::FromRead).unwrap());
        terms.lifespans.insert(
            CategoryKind::AppointmentConfirm,
            Lifespan::new(2 * HOUR, ExpiryStart::FromSend).unwrap(),
        );
        terms
    }

    /// The clinician proposes `terms`, the client accepts, the clinician learns of it.
    pub fn agree(&mut self, terms: AgreementTerms) {
        let proposal = self.clinician.propose_agreement(&self.client_id, terms).unwrap();
        let Received::AgreementProposed { id, .. } = self.deliver_to_client(&proposal).received else {
            panic!("expected a proposal")
        };
        let acceptance = self.client.accept_agreement(&self.clinician_id, id).unwrap();
        assert!(matches!(
            self.deliver_to_clinician(&acceptance).received,
            Received::AgreementAccepted { .. }
        ));
    }
}

/// A clinician and a client over the given stores. The clinician starts the session from the
/// client's published bundle; with `agree`, the default agreement is proposed and accepted (its
/// proposal is the session's first message). Time: Monday 10:00 New York.
pub fn pair_with<A: Store, B: Store>(
    seed: u64,
    clinician_store: A,
    client_store: B,
    agree: bool,
) -> Pair<A, B> {
    let rng = ChaCha20Rng::seed_from_u64(seed);
    let clinician = Endpoint::with_generator(
        ChaCha20Rng::seed_from_u64(seed ^ 0xc1),
        clinician_store,
        ManualClock::new(MONDAY_10AM_NY),
        Role::Clinician,
        "dr-lee",
    )
    .unwrap();
    let client = Endpoint::with_generator(
        ChaCha20Rng::seed_from_u64(seed ^ 0xc2),
        client_store,
        ManualClock::new(MONDAY_10AM_NY),
        Role::Client,
        "client-42",
    )
    .unwrap();
    let client_id = PeerId::new("client-42").unwrap();
    let clinician_id = PeerId::new("dr-lee").unwrap();
    let bundle = client.prekey_bundle().unwrap();
    clinician.start_session(&client_id, &bundle).unwrap();
    let mut pair = Pair { rng, clinician, client, client_id, clinician_id };
    if agree {
        let terms = pair.terms(1);
        pair.agree(terms);
    }
    pair
}

pub fn pair(seed: u64) -> Pair<MemoryStore> {
    pair_with(seed, MemoryStore::new(), MemoryStore::new(), true)
}

/// A clinician and a client with the default agreement in force, both drawing from the operating
/// system's generator as an app's endpoints do. (An injected generator is one lock for the whole
/// endpoint, which would hide any race between operations.) The pair's `rng` is for the test's
/// own use.
pub fn system_pair() -> Pair<MemoryStore> {
    let clock = || ManualClock::new(MONDAY_10AM_NY);
    let clinician = Endpoint::new(MemoryStore::new(), clock(), Role::Clinician, "dr-lee").unwrap();
    let client = Endpoint::new(MemoryStore::new(), clock(), Role::Client, "client-42").unwrap();
    let client_id = PeerId::new("client-42").unwrap();
    let clinician_id = PeerId::new("dr-lee").unwrap();
    clinician.start_session(&client_id, &client.prekey_bundle().unwrap()).unwrap();
    let mut pair = Pair { rng: ChaCha20Rng::seed_from_u64(7), clinician, client, client_id, clinician_id };
    let terms = pair.terms(1);
    pair.agree(terms);
    pair
}

/// Encrypts `padded` content on `from`'s real (current, single) session with `peer` and saves the
/// session, as a modified app could: none of the endpoint's checks run, and the message is
/// authentic. Returns the envelope.
pub fn send_raw<S: Store, C: Clock>(
    from: &Endpoint<S, C>,
    peer: &PeerId,
    rng: &mut ChaCha20Rng,
    padded: &[u8],
) -> Vec<u8> {
    let stored = from.store().session(peer).unwrap().unwrap();
    let mut session = Session::from_bytes(&stored.state).unwrap();
    let envelope = session.encrypt(rng, padded).unwrap().to_bytes();
    let mut batch = WriteBatch::new();
    batch.put_session(peer, Some(stored.version), &session.to_bytes()).unwrap();
    from.store().apply(batch).unwrap();
    envelope
}
