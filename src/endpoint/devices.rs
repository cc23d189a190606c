//! Several devices per person (PROTOCOL.md, section 16): this person's signed device list and
//! the linking of a new device, the device lists of peers, and where the sessions with each
//! device are kept.
//!
//! A person's identity key is the identity key of their first device, the *primary*, which alone
//! holds its private key and signs the list of the person's devices. Every other device has its
//! own identity key and prekeys and is *linked*: the list names it. The sessions with a peer's
//! primary device are kept under the peer's id, exactly as before devices existed; the sessions
//! with any other device of a person under a device session id derived from the person's id and
//! the device's key ([`device_session_id`]).

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::error::Result;
use super::{Endpoint, EndpointError};
use crate::clock::Clock;
use crate::devices::{Device, DeviceError, DeviceList, LinkCode, LinkOffer, LinkResponse, SignedDeviceList};
use crate::keys::IdentityKey;
use crate::store::{PeerId, Store, StoreError, WriteBatch};

/// Label of the device session ids (PROTOCOL.md, section 16.5).
const DEVICE_SESSION_LABEL: &[u8] = b"confidant-v1 device session";

/// The first character of every device session id: no app-chosen id is expected to start with
/// it, and [`Endpoint::devices`] never shows one.
const DEVICE_SESSION_PREFIX: char = '\u{1f}';

/// The store id under which the sessions with `device` of the person `person` are kept:
/// `U+001F ‖ lowercase hex of the first 16 bytes of SHA-256(label ‖ u16be(len) ‖ person id ‖
/// device key)`.
pub(super) fn device_session_id(person: &PeerId, device: &IdentityKey) -> Result<PeerId> {
    let id = person.as_str().as_bytes();
    let len = u16::try_from(id.len()).map_err(|_| StoreError::InvalidInput("peer id"))?;
    let digest = Sha256::new()
        .chain_update(DEVICE_SESSION_LABEL)
        .chain_update(len.to_be_bytes())
        .chain_update(id)
        .chain_update(device.as_bytes())
        .finalize();
    let mut text = String::with_capacity(33);
    text.push(DEVICE_SESSION_PREFIX);
    for byte in digest.iter().take(16) {
        text.push_str(&format!("{byte:02x}"));
    }
    Ok(PeerId::new(text)?)
}

/// Whether `peer` is a device session id rather than a person's id.
pub(super) fn is_device_session_id(peer: &PeerId) -> bool {
    peer.as_str().starts_with(DEVICE_SESSION_PREFIX)
}

/// Where the sessions with one device of a person are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Route {
    /// The person's primary device: its sessions are under the person's own id.
    Primary,
    /// A linked device: its sessions are under this device session id.
    Linked(PeerId),
}

/// What a device list update changed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeviceChange {
    /// The list's version now stored.
    pub version: u64,
    /// Devices the list adds: start a session with each from its prekey bundle.
    pub added: Vec<IdentityKey>,
    /// Devices the list removes: their sessions were deleted, nothing more goes to them.
    pub removed: Vec<IdentityKey>,
}

/// What accepting a link request produced, on the primary device.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LinkAccepted {
    /// The new device's identity key.
    pub device: IdentityKey,
    /// The name the new device gave itself.
    pub name: String,
    /// The answer to hand to the new device (through any relay: it is authenticated).
    pub response: Vec<u8>,
    /// The person's new signed device list, to publish where peers fetch it.
    pub devices: Vec<u8>,
}

impl<S: Store, C: Clock> Endpoint<S, C> {
    /// This device's person identity key: the key that safety numbers and agreements name. On
    /// the primary device it is [`Self::identity_key`]; on a linked device, the primary's.
    #[must_use]
    pub fn person_key(&self) -> IdentityKey {
        match self.own_list() {
            Some(list) => list.list().person(),
            None => self.identity.public_key(),
        }
    }

    /// Whether this device is its person's primary device (it holds the person's identity key,
    /// which signs agreements, plans, notices and the device list). A device is primary until
    /// it completes a link ([`Self::complete_link`]).
    #[must_use]
    pub fn is_primary(&self) -> bool {
        self.person_key().ct_eq(&self.identity.public_key())
    }

    /// The signed list of this person's devices, to publish where peers fetch prekey bundles.
    /// On a primary device without a list yet, a first list naming this device alone is made and
    /// saved.
    ///
    /// # Errors
    /// A store error, or [`DeviceError`] if the stored list does not verify.
    pub fn own_devices(&self) -> Result<Vec<u8>> {
        self.peers.with(&self.own_id, || {
            if let Some(list) = self.own_list() {
                return Ok(list.to_bytes());
            }
            let list = DeviceList::first(self.identity.public_key(), "primary", self.now())?;
            let signed = list.sign(&self.identity)?;
            let bytes = signed.to_bytes();
            let mut batch = WriteBatch::new();
            batch.put_own_devices(&bytes);
            self.store.apply(batch)?;
            self.set_own_list(signed);
            Ok(bytes)
        })
    }

    /// Starts linking a new device of this person: returns the code to show (as a QR code, or as
    /// text to type) for the new device's [`Self::request_link`]. The offer lives in memory for
    /// [`crate::consts::LINK_OFFER_LIFETIME_MS`] and is used once; a new offer replaces it.
    ///
    /// # Errors
    /// [`EndpointError::NotPrimary`] on a linked device; a store error.
    pub fn offer_link(&self) -> Result<Zeroizing<String>> {
        self.require_primary()?;
        let offer =
            self.generator.run(|rng| Ok(LinkOffer::new(rng, self.identity.public_key(), self.now())))?;
        let code = offer.code();
        *self.link_offer.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(offer);
        Ok(code)
    }

    /// On the new device: answers the `code` shown by the primary with a link request, to hand to
    /// the primary device's [`Self::accept_link`]. `name` is how the device is listed (at most
    /// [`crate::consts::MAX_DEVICE_NAME_LEN`] bytes). The code is kept in memory for
    /// [`Self::complete_link`].
    ///
    /// Create the new device's endpoint with the primary's role and local id: the link binds
    /// the device to the person key, not to an id, and the person's devices address each other
    /// by that local id ([`Delivery::to`](super::Delivery::to)).
    ///
    /// # Errors
    /// [`DeviceError::BadLinkCode`] for a code that does not parse; [`EndpointError::AlreadyLinked`]
    /// if this device already belongs to a person with other devices or has conversations.
    pub fn request_link(&self, code: &str, name: &str) -> Result<Vec<u8>> {
        let has_devices = self.own_list().is_some_and(|list| list.list().devices().len() > 1);
        if !self.is_primary() || has_devices || self.has_conversations()? {
            return Err(EndpointError::AlreadyLinked.into());
        }
        let code = LinkCode::parse(code)?;
        let request = crate::devices::LinkRequest::new(&code, &self.identity, name, self.now())?;
        *self.link_code.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(code);
        Ok(request)
    }

    /// On the primary device: checks a link request made from the code of [`Self::offer_link`],
    /// adds the device to the person's list, signs and saves the new list, and returns the
    /// answer for the new device with the new list to publish.
    ///
    /// # Errors
    /// [`EndpointError::NotPrimary`] on a linked device; [`EndpointError::NoLinkOffer`] without an
    /// offer; [`DeviceError`] for a request that does not verify (a relay cannot make one: it
    /// needs the code's secret), an expired or used offer, or a full list; a store error. Nothing
    /// is saved on error; a request that verified has used the offer up even so (show a new
    /// code).
    pub fn accept_link(&self, request: &[u8]) -> Result<LinkAccepted> {
        self.require_primary()?;
        let own = self.own_devices()?;
        self.peers.with(&self.own_id, || {
            let mut guard = self.link_offer.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let offer = guard.as_mut().ok_or(EndpointError::NoLinkOffer)?;
            let now = self.now();
            let linked = offer.accept(request, now)?;
            // The list as it is now, under the lock (another call may have changed it since).
            let current = match self.own_list() {
                Some(list) => list,
                None => SignedDeviceList::from_bytes(&own)?,
            };
            let device = Device { key: linked.key, name: linked.name.clone(), added_at: now };
            let signed = current.list().with_device(device, now)?.sign(&self.identity)?;
            let response = offer.respond(&signed)?;
            let devices = signed.to_bytes();
            let mut batch = WriteBatch::new();
            batch.put_own_devices(&devices);
            self.store.apply(batch)?;
            self.set_own_list(signed);
            *guard = None;
            Ok(LinkAccepted { device: linked.key, name: linked.name, response, devices })
        })
    }

    /// On the new device: checks the primary's answer to [`Self::request_link`] (its MAC under
    /// the code's secret, the list's signature under the person key the code names, and that the
    /// list names this device) and saves the list. From now on this device is linked: its person
    /// key is the primary's, and signing agreements, plans and notices is left to the primary.
    ///
    /// # Errors
    /// [`EndpointError::NoLinkOffer`] if no link was requested; [`DeviceError`] if the answer does
    /// not verify; a store error. Nothing is saved on error.
    pub fn complete_link(&self, response: &[u8]) -> Result<()> {
        self.peers.with(&self.own_id, || {
            let mut guard = self.link_code.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let code = guard.as_ref().ok_or(EndpointError::NoLinkOffer)?;
            let signed = LinkResponse::open(code, &self.identity.public_key(), response)?;
            let mut batch = WriteBatch::new();
            batch.put_own_devices(&signed.to_bytes());
            self.store.apply(batch)?;
            self.set_own_list(signed);
            *guard = None;
            Ok(())
        })
    }

    /// On the primary device: removes `device` from the person's list, deletes the sessions with
    /// it, and returns the new signed list to publish. Nothing more is sent to it from the next
    /// message on.
    ///
    /// # Errors
    /// [`EndpointError::NotPrimary`] on a linked device; [`DeviceError::NotAMember`] for a device
    /// not in the list, [`DeviceError::CannotRemovePrimary`] for the primary itself; a store error.
    pub fn remove_device(&self, device: &IdentityKey) -> Result<Vec<u8>> {
        self.require_primary()?;
        let own = self.own_devices()?;
        self.peers.with(&self.own_id, || {
            // The list as it is now, under the lock (another call may have changed it since).
            let current = match self.own_list() {
                Some(list) => list,
                None => SignedDeviceList::from_bytes(&own)?,
            };
            let signed = current.list().without_device(device, self.now())?.sign(&self.identity)?;
            let bytes = signed.to_bytes();
            let mut batch = WriteBatch::new();
            batch.put_own_devices(&bytes).delete_session(&device_session_id(&self.own_id, device)?);
            self.store.apply(batch)?;
            self.set_own_list(signed);
            Ok(bytes)
        })
    }

    /// On a linked device: saves a newer list of this person's devices, signed by the person key
    /// (the primary added or removed a device). The sessions with removed devices are deleted.
    ///
    /// # Errors
    /// [`DeviceError`] for a list that does not verify under this person's key, or that no
    /// longer names this device; [`EndpointError::StaleDeviceList`] for a list whose version is
    /// not greater than the stored one's (a relay replaying an old list); a store error.
    pub fn update_own_devices(&self, list: &[u8]) -> Result<DeviceChange> {
        self.peers.with(&self.own_id, || {
            let signed = SignedDeviceList::verify_for(list, &self.person_key())?;
            if !signed.list().contains(&self.identity.public_key()) {
                return Err(DeviceError::NotAMember.into());
            }
            let stored = self.own_list();
            let mut batch = WriteBatch::new();
            let change = self.device_change(&self.own_id, stored.as_ref(), &signed, &mut batch)?;
            batch.put_own_devices(&signed.to_bytes());
            self.store.apply(batch)?;
            self.set_own_list(signed);
            Ok(change)
        })
    }

    /// Saves `peer`'s signed device list after checking it: signed by the identity key trusted
    /// for `peer` (the first list from a peer without one is trusted on first use, as a first
    /// bundle is), and newer than the stored one. The sessions with removed devices are deleted,
    /// so nothing more is sent to them; start a session with each added device from its bundle
    /// ([`Self::start_session`]).
    ///
    /// # Errors
    /// [`DeviceError::WrongPerson`] for a list signed by another key than `peer`'s, or another
    /// [`DeviceError`] for a list that does not verify; [`EndpointError::StaleDeviceList`] for a
    /// version not greater than the stored one; a store error. Nothing is saved on error.
    pub fn update_devices(&self, peer: &PeerId, list: &[u8]) -> Result<DeviceChange> {
        if *peer == self.own_id || is_device_session_id(peer) {
            return Err(StoreError::InvalidInput("peer id").into());
        }
        self.peers.with(peer, || {
            let signed = match self.store.peer(peer)? {
                Some(record) => SignedDeviceList::verify_for(list, &record.identity)?,
                None => SignedDeviceList::from_bytes(list)?,
            };
            let stored = self.peer_list(peer)?;
            let mut batch = WriteBatch::new();
            let change = self.device_change(peer, stored.as_ref(), &signed, &mut batch)?;
            if self.store.peer(peer)?.is_none() {
                batch.put_peer_identity(peer, &signed.list().person());
            }
            batch.put_device_list(peer, &signed.to_bytes());
            self.store.apply(batch)?;
            Ok(change)
        })
    }

    /// The devices of `peer` this device knows, the primary included (only the primary before
    /// any list arrived; nothing for a peer never met).
    ///
    /// # Errors
    /// A store error, or [`DeviceError`] if the stored list does not verify.
    pub fn devices(&self, peer: &PeerId) -> Result<Vec<IdentityKey>> {
        if *peer == self.own_id {
            return Ok(match self.own_list() {
                Some(list) => list.list().devices().iter().map(|d| d.key).collect(),
                None => vec![self.identity.public_key()],
            });
        }
        if let Some(list) = self.peer_list(peer)? {
            return Ok(list.list().devices().iter().map(|d| d.key).collect());
        }
        Ok(self.store.peer(peer)?.map(|record| record.identity).into_iter().collect())
    }

    /// Where the sessions with `device` of `person` are kept, if the device is `person`'s.
    pub(super) fn route(&self, person: &PeerId, device: &IdentityKey) -> Result<Route> {
        let (primary, list) = if *person == self.own_id {
            (self.person_key(), self.own_list())
        } else {
            // A person never met: the first handshake is trusted, as before devices existed.
            let Some(record) = self.store.peer(person)? else { return Ok(Route::Primary) };
            (record.identity, self.peer_list(person)?)
        };
        if device.ct_eq(&primary) && *person != self.own_id {
            return Ok(Route::Primary);
        }
        match list {
            Some(list) if list.list().contains(device) && !device.ct_eq(&self.identity.public_key()) => {
                Ok(Route::Linked(device_session_id(person, device)?))
            }
            _ => Err(EndpointError::UnknownDevice.into()),
        }
    }

    /// The devices of `person` other than its primary (and other than this device), with the
    /// id their sessions are kept under: the devices a message to `person` also goes to.
    pub(super) fn linked_devices(&self, person: &PeerId) -> Result<Vec<(IdentityKey, PeerId)>> {
        let (primary, list) = if *person == self.own_id {
            (None, self.own_list())
        } else {
            // Most peers have one device and no list: one read, and nothing more.
            let Some(list) = self.peer_list(person)? else { return Ok(Vec::new()) };
            (self.store.peer(person)?.map(|record| record.identity), Some(list))
        };
        let Some(list) = list else { return Ok(Vec::new()) };
        let me = self.identity.public_key();
        list.list()
            .devices()
            .iter()
            .filter(|device| !device.key.ct_eq(&me) && !primary.is_some_and(|p| device.key.ct_eq(&p)))
            .map(|device| Ok((device.key, device_session_id(person, &device.key)?)))
            .collect()
    }

    /// The sessions removed and added between `stored` and `signed`, with the deletes of the
    /// removed devices' sessions in `batch`.
    fn device_change(
        &self,
        person: &PeerId,
        stored: Option<&SignedDeviceList>,
        signed: &SignedDeviceList,
        batch: &mut WriteBatch,
    ) -> Result<DeviceChange> {
        let new = signed.list();
        let (old_version, old): (u64, Vec<IdentityKey>) = match stored {
            Some(stored) => {
                (stored.list().version(), stored.list().devices().iter().map(|d| d.key).collect())
            }
            // Before any list, the person's primary device alone was known.
            None => (0, vec![new.person()]),
        };
        if new.version() <= old_version {
            return Err(EndpointError::StaleDeviceList.into());
        }
        let removed: Vec<IdentityKey> = old.iter().filter(|key| !new.contains(key)).copied().collect();
        for key in &removed {
            batch.delete_session(&device_session_id(person, key)?);
        }
        let added = new
            .devices()
            .iter()
            .map(|device| device.key)
            .filter(|key| !old.iter().any(|old| old.ct_eq(key)))
            .collect();
        Ok(DeviceChange { version: new.version(), added, removed })
    }

    /// This person's stored device list.
    pub(super) fn own_list(&self) -> Option<SignedDeviceList> {
        self.own_devices.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Keeps the copy in memory in step with the list just saved.
    fn set_own_list(&self, list: SignedDeviceList) {
        *self.own_devices.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(list);
    }

    /// `peer`'s stored device list.
    ///
    /// The list verified last is kept with its bytes, so that every message to or from a
    /// person with several devices does not verify the same signature again.
    ///
    /// A list signed by another key than the identity trusted for `peer` now (the user accepted
    /// a new identity since, [`Self::accept_new_identity`]) names no device any more: the peer's
    /// new list must be fetched.
    fn peer_list(&self, peer: &PeerId) -> Result<Option<SignedDeviceList>> {
        let Some(bytes) = self.store.device_list(peer)? else { return Ok(None) };
        let Some(trusted) = self.store.peer(peer)? else { return Ok(None) };
        let list = self.verified_peer_list(peer, bytes)?;
        Ok(list.filter(|list| list.list().person().ct_eq(&trusted.identity)))
    }

    /// The stored list's bytes, verified (or as verified last time).
    fn verified_peer_list(
        &self,
        peer: &PeerId,
        bytes: Zeroizing<Vec<u8>>,
    ) -> Result<Option<SignedDeviceList>> {
        let mut last = self.peer_list_cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((cached_peer, cached_bytes, list)) = last.as_ref() {
            if cached_peer == peer && cached_bytes[..] == bytes[..] {
                return Ok(Some(list.clone()));
            }
        }
        let list = SignedDeviceList::from_bytes(&bytes)
            .map_err(|_| StoreError::Corrupt { table: "device_lists" })?;
        *last = Some((peer.clone(), bytes, list.clone()));
        Ok(Some(list))
    }

    /// [`EndpointError::NotPrimary`] unless this device holds the person's identity key.
    pub(super) fn require_primary(&self) -> Result<()> {
        if self.is_primary() {
            Ok(())
        } else {
            Err(EndpointError::NotPrimary.into())
        }
    }

    /// Whether this device has a session or a message with anyone.
    fn has_conversations(&self) -> Result<bool> {
        Ok(!self.store.peers()?.is_empty())
    }
}
