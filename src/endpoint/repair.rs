//! Session repair: a device that cannot decrypt a peer's messages because it lost or never had
//! the session asks the peer, in a request signed by its identity key, to start a new session
//! from the bundle the request carries; the peer does so and sends its resend queue again on it
//! (PROTOCOL.md, section 12.2).
//!
//! The resend queue of a peer is the sender's own copies of the messages it sent to that peer in
//! the last [`REPAIR_RESEND_WINDOW_MS`] that have not expired, oldest first, at most the newest
//! [`MAX_RESEND_MESSAGES`]: every message that may not have been delivered is in it as long as
//! the sender's copy is kept. Each goes out again with its own message id, so the receiver stores
//! it once ([`crate::store::StoreError::MessageExists`] for a copy it already has).
//!
//! The stored repair record of a peer: `u64be time of the last accepted request (the requester's
//! clock) ‖ u64be time of the last repair (this device's clock)`.

use rand_core::CryptoRng;

use super::devices::Route;
use super::error::{Error, Result};
use super::sessions::SessionSet;
use super::{Endpoint, EndpointError};
use crate::clock::{Clock, Timestamp};
use crate::consts::{
    MAX_REPAIR_CLOCK_SKEW_MS, MAX_RESEND_MESSAGES, MIN_REPAIR_INTERVAL_MS, REPAIR_RESEND_WINDOW_MS,
};
use crate::handshake::{PrekeyBundle, RepairRequest};
use crate::keys::IdentityKey;
use crate::session::{Session, SessionError};
use crate::store::{Direction, PeerId, Store, StoreError, StoredMessage, WriteBatch};

/// The last accepted repair request with a peer: its time on the requester's clock, and when
/// the repair happened on this device's clock.
struct RepairRecord {
    requested_at: u64,
    repaired_at: Timestamp,
}

impl RepairRecord {
    fn to_bytes(&self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&self.requested_at.to_be_bytes());
        out[8..].copy_from_slice(&self.repaired_at.as_millis().to_be_bytes());
        out
    }

    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let (requested, repaired) = bytes.split_first_chunk::<8>()?;
        let repaired: [u8; 8] = repaired.try_into().ok()?;
        Some(Self {
            requested_at: u64::from_be_bytes(*requested),
            repaired_at: Timestamp(u64::from_be_bytes(repaired)),
        })
    }
}

impl Error {
    /// Whether [`Endpoint::receive`] failed because this device has no session the message
    /// belongs to ([`EndpointError::NoSession`], [`EndpointError::UnknownPrekey`]) or the
    /// message does not decrypt on the sessions it has ([`SessionError::Decrypt`]: for example
    /// after the store was restored from an older copy): then send the peer a
    /// [`Endpoint::repair_request`]. A forged message gives the same errors, so the peer's rate
    /// limit ([`crate::consts::MIN_REPAIR_INTERVAL_MS`]) bounds what a relay can cause this way.
    #[must_use]
    pub fn suggests_repair(&self) -> bool {
        matches!(
            self,
            Self::Endpoint(EndpointError::NoSession | EndpointError::UnknownPrekey)
                | Self::Session(SessionError::Decrypt)
        )
    }
}

impl<S: Store, C: Clock> Endpoint<S, C> {
    /// A repair request to send to `peer` (as its own kind of transport message, for
    /// [`Self::accept_repair_request`] on the peer's device) after [`Self::receive`] failed with
    /// an error that [`Error::suggests_repair`]. It carries this device's last-resort bundle
    /// ([`Self::last_resort_bundle`]), the identity key it knows for `peer` if any, and the
    /// time, all signed by this device's identity key.
    ///
    /// The signature proves to the peer that the request was made by the holder of this
    /// device's identity key, for the peer's key if named, no earlier than the time it carries
    /// by the requester's clock. It does not prove that a session was really lost (a device can
    /// ask without reason, which only costs a handshake within the rate limit), nor which
    /// messages were lost, nor that the request is fresh beyond the peer's check that each
    /// accepted request is newer than the last; the relay may delay or drop it.
    ///
    /// # Errors
    /// A store error; [`EndpointError::Randomness`].
    pub fn repair_request(&self, peer: &PeerId) -> Result<Vec<u8>> {
        let recipient = self.store.peer(peer)?.map(|record| record.identity);
        self.repair_request_to(recipient)
    }

    /// [`Self::repair_request`] for the sessions with `device`, a linked device of `peer`
    /// (PROTOCOL.md, section 16.9): the request names that device, which alone accepts it
    /// ([`Self::accept_repair_request`] there repairs its sessions with this device).
    ///
    /// # Errors
    /// [`EndpointError::UnknownDevice`] if `device` is not in `peer`'s device list as stored
    /// here; otherwise as [`Self::repair_request`].
    pub fn repair_request_for_device(&self, peer: &PeerId, device: &IdentityKey) -> Result<Vec<u8>> {
        match self.route(peer, device)? {
            Route::Linked(_) => self.repair_request_to(Some(*device)),
            Route::Primary => self.repair_request(peer),
        }
    }

    fn repair_request_to(&self, recipient: Option<IdentityKey>) -> Result<Vec<u8>> {
        let bundle = PrekeyBundle::from_bytes(&self.last_resort_bundle()?)?;
        Ok(RepairRequest::sign(&self.identity, recipient, self.now().as_millis(), bundle).to_bytes())
    }

    /// Accepts `peer`'s repair request: checks it, starts a new session from the bundle it
    /// carries, which becomes the current session (the old ones are kept behind it, for the
    /// messages still in flight on them), and returns the resend queue (module documentation)
    /// encrypted on the new session, oldest first, to hand to the transport in that order. The
    /// new session and the repair record are saved in one transaction, under `peer`'s lock.
    ///
    /// The request must verify under the identity key trusted for `peer`, carry a bundle of
    /// that key, name this device's identity key if it names one, be no more than
    /// [`MAX_REPAIR_CLOCK_SKEW_MS`] ahead of this device's clock, be newer than the last request
    /// accepted from `peer`, and come at least [`MIN_REPAIR_INTERVAL_MS`] after the last repair.
    ///
    /// # Errors
    /// [`crate::session::DecodeError`] for bytes that do not decode;
    /// [`EndpointError::InvalidRepairRequest`]; [`EndpointError::RepairTooSoon`];
    /// [`StoreError::UnknownPeer`] if no identity is known for `peer`;
    /// [`StoreError::IdentityChanged`] if the request is signed by another key (a new identity
    /// goes through [`Self::accept_new_identity`] first); [`crate::session::HandshakeError`]
    /// for a bundle that cannot be used; a store error. Nothing changed on error.
    pub fn accept_repair_request(&self, peer: &PeerId, request: &[u8]) -> Result<Vec<Vec<u8>>> {
        self.with_peer(peer, |rng| self.accept_repair_with(rng, peer, request))
    }

    fn accept_repair_with<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        peer: &PeerId,
        bytes: &[u8],
    ) -> Result<Vec<Vec<u8>>> {
        let invalid = || Error::from(EndpointError::InvalidRepairRequest);
        let request = RepairRequest::from_bytes(bytes)?;
        if !request.verify() {
            return Err(invalid());
        }
        let trusted = self.store.peer(peer)?.ok_or(StoreError::UnknownPeer)?;
        // A request from a linked device of the peer repairs the sessions with that device
        // (PROTOCOL.md, section 16.9); any other key than the peer's devices' is refused.
        let id = match self.route(peer, &request.identity_key) {
            Ok(Route::Linked(id)) => id,
            _ if !trusted.identity.ct_eq(&request.identity_key) => {
                return Err(StoreError::IdentityChanged.into());
            }
            _ => peer.clone(),
        };
        let own = self.identity.public_key();
        let now = self.now();
        if request.recipient_key.is_some_and(|key| !key.ct_eq(&own))
            || request.at > now.plus_millis(MAX_REPAIR_CLOCK_SKEW_MS).as_millis()
        {
            return Err(invalid());
        }
        if let Some(last) = self.repair_record(&id)? {
            if request.at <= last.requested_at || now < last.repaired_at.plus_millis(MIN_REPAIR_INTERVAL_MS) {
                return Err(EndpointError::RepairTooSoon.into());
            }
        }
        let mut session = Session::initiate(rng, &self.identity, &request.bundle)?;
        let mut envelopes = Vec::new();
        for message in self.resend_queue(peer, now)? {
            // A stored copy may carry this device's marks (acknowledged, corrected, ...): the
            // peer gets the padded content alone, as it was first sent; a recalled message is
            // not sent again, and neither is the copy of a message another device of this person
            // sent (marked with its arrival here): it carries that device's sequence number.
            let (content, marks) = super::record::open(&message.body)?;
            if marks.recall.is_some() || marks.received_at.is_some() {
                continue;
            }
            envelopes.push(session.encrypt(rng, &content.encode_padded())?.to_bytes());
        }
        let stored = self.store.session(&id)?;
        let sessions = match &stored {
            Some(stored) => {
                let mut sessions = SessionSet::from_bytes(&stored.state)?;
                sessions.add_current(session);
                sessions
            }
            None => SessionSet::new(session),
        };
        let record = RepairRecord { requested_at: request.at, repaired_at: now };
        let mut batch = WriteBatch::new();
        batch.put_session(&id, stored.map(|stored| stored.version), &sessions.to_bytes())?;
        batch.put_repair_record(&id, &record.to_bytes());
        self.store.apply(batch)?;
        Ok(envelopes)
    }

    /// The resend queue of `peer` (module documentation).
    fn resend_queue(&self, peer: &PeerId, now: Timestamp) -> Result<Vec<StoredMessage>> {
        let since = Timestamp(now.as_millis().saturating_sub(REPAIR_RESEND_WINDOW_MS));
        let mut queue: Vec<StoredMessage> = self
            .store
            .messages(peer)?
            .into_iter()
            .filter(|m| m.direction == Direction::Outbound && m.at >= since)
            .filter(|m| m.expires_at.is_none_or(|at| at > now))
            .collect();
        queue.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.id.cmp(&b.id)));
        let skip = queue.len().saturating_sub(MAX_RESEND_MESSAGES);
        Ok(queue.split_off(skip))
    }

    fn repair_record(&self, peer: &PeerId) -> Result<Option<RepairRecord>> {
        match self.store.repair_record(peer)? {
            Some(bytes) => RepairRecord::from_bytes(&bytes)
                .map(Some)
                .ok_or(StoreError::Corrupt { table: "repairs" }.into()),
            None => Ok(None),
        }
    }
}
