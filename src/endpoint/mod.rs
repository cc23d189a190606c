//! The high-level API for an app: one [`Endpoint`] per device, over an encrypted store.
//!
//! It ties the layers together in the order the data flows:
//!
//! * **send**: policy check → compose content (category, expiry) → session encrypt → envelope
//!   bytes → store (session + outbound message, one transaction) → the app's transport;
//! * **receive**: envelope bytes → decode → session decrypt (on a copy) → policy and expiry
//!   check → store (session + message, one transaction) → the app;
//! * **purge**: clock → the store deletes what expired, leaving nothing on disk.
//!
//! Transport stays the app's: the endpoint returns envelope bytes and takes them back; it never
//! opens a socket.

mod agreement;
mod audit;
mod boundaries;
mod consultation;
mod devices;
mod error;
mod export;
mod fanout;
mod generator;
mod history;
mod last_resort;
mod locks;
mod notices;
mod open;
mod pending;
mod prekeys;
mod proposals;
mod read;
mod receive;
mod record;
mod repair;
mod retention;
mod send;
mod sequence;
mod sessions;
mod trust;
mod types;

pub use boundaries::{AgreementStatus, PlanRequest};
pub use devices::{DeviceChange, LinkAccepted};
pub use error::{Error, Result};
pub use fanout::Delivery;
pub use last_resort::PrekeyRotation;
pub use types::{
    Draft, EndpointError, HistoryCursor, HistoryEntry, HistoryItem, HistoryPage, Incoming, MessageMarks,
    Outgoing, RecallState, Received, ReceivedMessage,
};

use std::sync::Mutex;

use rand_core::CryptoRng;

use crate::agreement::{Role, SignedAgreement};
use crate::clock::{Clock, SystemClock, Timestamp};
use crate::content::{Category, Content};
use crate::keys::{IdentityKey, IdentityKeyPair, SafetyNumber};
use crate::session::Session;
use crate::store::{Owner, PeerId, SessionVersion, SqliteStore, Store, StoredMessage, WriteBatch};
use generator::Generator;
use locks::PeerLocks;
use sessions::SessionSet;

/// One device's end of its conversations: its identity, its store, its clock and its role.
///
/// `S` is the store (usually [`SqliteStore`]) and `C` the clock (usually [`SystemClock`];
/// tests use [`crate::clock::ManualClock`]).
///
/// # Threads
///
/// An endpoint is `Sync`: share it (for example in an `Arc`) and call it from several threads.
/// Operations on the same peer run one after the other: each operation that loads the
/// conversation with a peer and saves it again ([`Self::send`], [`Self::receive`],
/// [`Self::receive_batch`], [`Self::mark_read`], [`Self::propose_agreement`],
/// [`Self::accept_agreement`], [`Self::propose_support_plan`], [`Self::accept_support_plan`],
/// [`Self::end_support_plan`], [`Self::end_agreement`], [`Self::start_session`],
/// [`Self::accept_new_identity`], [`Self::accept_repair_request`]) holds that peer's lock from the
/// load to
/// the save, so that two of them never seal with the same message key or save over each other's
/// state. Operations on different peers run side by side. The lock is held while the operation
/// calls the store and the clock, so a [`Store`] or [`Clock`] implementation must not call back
/// into the endpoint for the same peer. One endpoint per store: two endpoints (or processes) over
/// the same store do not share these locks.
pub struct Endpoint<S: Store = SqliteStore, C: Clock = SystemClock> {
    store: S,
    clock: C,
    /// Where every key, nonce and message id comes from: the operating system's generator.
    generator: Generator,
    identity: IdentityKeyPair,
    role: Role,
    local_id: String,
    /// The agreement verified last, so that the next message on the conversation does not
    /// verify the same signatures again.
    verified: Mutex<Option<VerifiedAgreement>>,
    /// One lock per peer, held by every operation from loading the conversation to saving it.
    peers: PeerLocks,
    /// Held while the last-resort prekey schedule is read and saved again.
    prekey_schedule_lock: Mutex<()>,
    /// The id of this device's own person (its local id), under whose lock the sessions with
    /// the person's other devices and the own device list change.
    own_id: PeerId,
    /// This person's signed device list as stored ([`devices`]), read when the endpoint opens
    /// and kept in step with every write of it.
    own_devices: Mutex<Option<crate::devices::SignedDeviceList>>,
    /// The link offer shown on this (primary) device, if any.
    link_offer: Mutex<Option<crate::devices::LinkOffer>>,
    /// The link code entered on this (new) device, until the link completes.
    link_code: Mutex<Option<crate::devices::LinkCode>>,
    /// Envelopes for the other devices of the peers and of this person ([`Self::take_outbox`]).
    outbox: Mutex<Vec<Delivery>>,
    /// The peer's device list verified last, with its stored bytes.
    peer_list_cache: Mutex<Option<PeerListCache>>,
}

/// A peer, its device list's stored bytes, and the list they verified to.
type PeerListCache = (PeerId, zeroize::Zeroizing<Vec<u8>>, crate::devices::SignedDeviceList);

/// The sessions with a peer as loaded, and their version in the store, which the write saving
/// their successor names.
struct Loaded {
    sessions: SessionSet,
    version: SessionVersion,
}

/// An agreement as stored, the identities it was verified against, and the result.
struct VerifiedAgreement {
    peer: PeerId,
    bytes: zeroize::Zeroizing<Vec<u8>>,
    parties: (IdentityKey, IdentityKey),
    agreement: SignedAgreement,
}

impl<S: Store, C: Clock> Endpoint<S, C> {
    /// An endpoint over `store`: checks who the store belongs to, then loads the device's
    /// identity, or draws and saves a new one.
    ///
    /// A store without an owner (a new one, or one created before stores recorded their owner)
    /// records `role` and `local_id` as its owner ([`Store::set_owner`]); a store with an owner
    /// is used only with that role and local id, compared byte for byte, so that it is never
    /// used as another role's or under another id, which would change the safety numbers.
    ///
    /// The endpoint draws its randomness from the operating system (see
    /// [`EndpointError::Randomness`]); an app never supplies a generator.
    ///
    /// # Errors
    /// [`crate::store::StoreError::OwnerMismatch`] if the store records another role or local
    /// id (nothing was written); [`crate::store::StoreError::InvalidInput`] if `local_id` is
    /// empty or too long (see [`Owner::new`]); another [`crate::store::StoreError`] if the store
    /// cannot be read or written; [`EndpointError::Randomness`] if the operating system's
    /// generator fails.
    pub fn new(store: S, clock: C, role: Role, local_id: impl Into<String>) -> Result<Self> {
        let owner = Owner::new(role, local_id)?;
        Self::with_owner(Generator::System, store, clock, owner)
    }

    /// [`Self::new`] with `generator` in place of the operating system's, for every key, nonce
    /// and message id the endpoint ever draws: for reproducible tests and test vectors only.
    /// Only with the `low-level` feature.
    ///
    /// # Errors
    /// As [`Self::new`].
    #[cfg(feature = "low-level")]
    pub fn with_generator(
        generator: impl CryptoRng + Send + 'static,
        store: S,
        clock: C,
        role: Role,
        local_id: impl Into<String>,
    ) -> Result<Self> {
        let owner = Owner::new(role, local_id)?;
        Self::with_owner(Generator::Injected(Mutex::new(Box::new(generator))), store, clock, owner)
    }

    /// [`Self::new`] for an owner already checked for well-formedness.
    fn with_owner(generator: Generator, store: S, clock: C, owner: Owner) -> Result<Self> {
        store.set_owner(&owner)?;
        let identity = match store.local_identity()? {
            Some(identity) => identity,
            None => {
                let identity = generator.run(|rng| Ok(IdentityKeyPair::generate(rng)))?;
                store.set_local_identity(&identity)?;
                identity
            }
        };
        let (role, local_id) = (owner.role(), owner.local_id().to_owned());
        let own_id = PeerId::new(local_id.clone())?;
        let own_devices = match store.own_devices()? {
            Some(bytes) => Some(
                crate::devices::SignedDeviceList::from_bytes(&bytes)
                    .map_err(|_| crate::store::StoreError::Corrupt { table: "own_devices" })?,
            ),
            None => None,
        };
        Ok(Self {
            store,
            clock,
            generator,
            identity,
            role,
            local_id,
            verified: Mutex::new(None),
            peers: PeerLocks::default(),
            prekey_schedule_lock: Mutex::new(()),
            own_id,
            own_devices: Mutex::new(own_devices),
            link_offer: Mutex::new(None),
            link_code: Mutex::new(None),
            outbox: Mutex::new(Vec::new()),
            peer_list_cache: Mutex::new(None),
        })
    }

    /// This device's identity key.
    #[must_use]
    pub fn identity_key(&self) -> IdentityKey {
        self.identity.public_key()
    }

    /// This device's role.
    #[must_use]
    pub fn role(&self) -> Role {
        self.role
    }

    /// The store underneath.
    #[must_use]
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The clock the endpoint reads.
    #[must_use]
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// The safety number to compare with `peer` in person (on screen or as a QR code).
    ///
    /// # Errors
    /// [`crate::store::StoreError::UnknownPeer`] if there is no session with `peer` yet.
    pub fn safety_number(&self, peer: &PeerId) -> Result<SafetyNumber> {
        let record = self.store.peer(peer)?.ok_or(crate::store::StoreError::UnknownPeer)?;
        Ok(self.safety_number_with(peer, &record.identity))
    }

    /// Compares `scanned` (the peer's QR code) with the safety number, and records the peer as
    /// verified if they match. Returns whether they matched.
    ///
    /// # Errors
    /// As [`Self::safety_number`], or a store error while recording.
    pub fn verify_peer(&self, peer: &PeerId, scanned: &[u8]) -> Result<bool> {
        let number = self.safety_number(peer)?;
        if !number.matches_scanned(scanned) {
            return Ok(false);
        }
        let record = self.store.peer(peer)?.ok_or(crate::store::StoreError::UnknownPeer)?;
        self.store.mark_verified(peer, &record.identity, self.clock.now())?;
        Ok(true)
    }

    /// The agreement in force with `peer`, if any.
    ///
    /// # Errors
    /// A store error, or [`crate::agreement::AgreementError`] if the stored agreement does not verify.
    pub fn agreement(&self, peer: &PeerId) -> Result<Option<SignedAgreement>> {
        let Some(stored) = self.store.agreement(peer)? else { return Ok(None) };
        let record = self.store.peer(peer)?.ok_or(crate::store::StoreError::UnknownPeer)?;
        let parties = self.parties(&record.identity);
        // The same bytes verified against the same identities give the same agreement: reuse it.
        let mut verified = self.verified.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(last) = verified.as_ref() {
            if &last.peer == peer && last.parties == parties && last.bytes[..] == stored.bytes[..] {
                return Ok(Some(last.agreement.clone()));
            }
        }
        let agreement = SignedAgreement::from_bytes(&stored.bytes, &parties.0, &parties.1)?;
        *verified = Some(VerifiedAgreement {
            peer: peer.clone(),
            bytes: stored.bytes,
            parties,
            agreement: agreement.clone(),
        });
        Ok(Some(agreement))
    }

    /// The messages of the conversation with `peer`, in the senders' order
    /// ([`Self::history_page`]), all pages. Messages past their expiry are left out even before
    /// [`Self::purge_expired`] deletes them, and so are stored records that cannot be read:
    /// [`Self::history_items`] reports those, and the gaps, in their place.
    ///
    /// # Errors
    /// A store error, or [`crate::session::DecodeError`] if the conversation's stored state does
    /// not decode.
    pub fn history(&self, peer: &PeerId) -> Result<Vec<HistoryEntry>> {
        Ok(self
            .history_items(peer)?
            .into_iter()
            .filter_map(|item| match item {
                HistoryItem::Message(entry) => Some(entry),
                _ => None,
            })
            .collect())
    }

    /// Deletes every message whose time has come, leaving no copy in the store file: each
    /// message past its expiry, and every message of a conversation whose agreement ended longer
    /// ago than its agreed retention period. Returns how many were deleted.
    ///
    /// # Errors
    /// A store error; then nothing was deleted.
    pub fn purge_expired(&self) -> Result<usize> {
        let now = self.clock.now();
        self.keep_record_copies(now)?;
        let after_end = self.purge_ended(now)?;
        Ok(self.store.purge_expired(now)?.saturating_add(after_end))
    }

    /// The clinician's and the client's identity keys, given the peer's.
    fn parties(&self, peer_identity: &IdentityKey) -> (IdentityKey, IdentityKey) {
        let me = self.person_key();
        match self.role {
            Role::Clinician => (me, *peer_identity),
            Role::Client => (*peer_identity, me),
        }
    }

    /// The peer's role.
    fn peer_role(&self) -> Role {
        match self.role {
            Role::Clinician => Role::Client,
            Role::Client => Role::Clinician,
        }
    }

    /// The sessions kept with `peer` ([`sessions`]), and their version in the store.
    fn sessions(&self, peer: &PeerId) -> Result<Option<Loaded>> {
        let Some(stored) = self.store.session(peer)? else { return Ok(None) };
        Ok(Some(Loaded { sessions: SessionSet::from_bytes(&stored.state)?, version: stored.version }))
    }

    /// Encrypts `content` on `session` and adds the session state and the outbound message to
    /// `batch`. Returns the envelope bytes.
    fn seal_outbound<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        peer: &PeerId,
        session: &mut Session,
        content: &Content,
        store_copy: bool,
        batch: &mut WriteBatch,
    ) -> Result<Vec<u8>> {
        let body = content.encode_padded();
        let envelope = session.encrypt(rng, &body)?.to_bytes();
        if store_copy {
            let now = self.clock.now();
            batch.put_message(StoredMessage {
                id: content.id(),
                peer: peer.clone(),
                direction: crate::store::Direction::Outbound,
                // Its place in the conversation: its time of sending, which never goes back.
                at: content.sent_at(),
                // The sender's copy lives as long as the message, counted from sending.
                expires_at: Some(content.lifespan().expires_at_sender(now)),
                read_at: None,
                body,
            })?;
        }
        Ok(envelope)
    }

    /// Runs `operation` on the conversation with `peer` with a generator, holding `peer`'s lock
    /// throughout, so that no other operation on that peer loads its state before this one saved
    /// its own (see [`locks`]). The peer's lock is always taken before the generator.
    fn with_peer<T>(
        &self,
        peer: &PeerId,
        operation: impl FnOnce(&mut dyn CryptoRng) -> Result<T>,
    ) -> Result<T> {
        if *peer == self.own_id || devices::is_device_session_id(peer) {
            return Err(crate::store::StoreError::InvalidInput("peer id").into());
        }
        self.peers.with(peer, || self.generator.run(operation))
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    fn is_system(category: &Category) -> bool {
        category.kind().is_system()
    }
}

impl<S: Store, C: Clock> std::fmt::Debug for Endpoint<S, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("identity", &self.identity.public_key())
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}
