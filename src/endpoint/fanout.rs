//! Messages to and from several devices (PROTOCOL.md, section 16.6): what a device sends to a
//! peer also goes to the peer's linked devices and, as a sync copy, to this person's other
//! devices; what arrives from a linked device is received as from its person.

use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::devices::Route;
use super::error::Result;
use super::receive::Source;
use super::{Endpoint, EndpointError, Incoming, Loaded, MessageMarks, Received};
use crate::agreement::{SignedAgreement, Standing};
use crate::clock::Clock;
use crate::codec::Reader;
use crate::content::Content;
use crate::error::DecodeError;
use crate::keys::IdentityKey;
use crate::store::{Direction, PeerId, Store, StoredAgreement, StoredMessage, WriteBatch};
use crate::wire::Envelope;

/// First byte of a sync copy's plaintext.
const SYNC_COPY: u8 = 0xD5;
/// First byte of an agreement copy's plaintext.
const AGREEMENT_COPY: u8 = 0xD6;

/// An envelope for one device: a linked device of a peer, or another device of this person.
#[derive(Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The person it goes to: the peer, or this device's own local id for a sync copy.
    pub to: PeerId,
    /// The device it goes to.
    pub device: IdentityKey,
    /// The envelope bytes, for the transport to hand to that device, which passes them to
    /// [`Endpoint::receive_from`] with the sender's person id and this device's identity key.
    pub envelope: Vec<u8>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("device", &self.device)
            .field("envelope_len", &self.envelope.len())
            .finish_non_exhaustive()
    }
}

impl<S: Store, C: Clock> Endpoint<S, C> {
    /// Takes the envelopes waiting for the other devices of peers and of this person: every
    /// operation that sends to a peer (a message, an agreement or plan message, a receipt, a
    /// notice) returns the envelope for the peer's primary device and leaves one here for each
    /// other device of the peer that has a session, and a sync copy for each other device of
    /// this person that has one. Their session states were saved with the message; hand them to
    /// the transport after each call. The outbox lives in memory: like a returned envelope, one
    /// not taken before the app stops is lost (the device's history shows the gap).
    #[must_use]
    pub fn take_outbox(&self) -> Vec<Delivery> {
        std::mem::take(&mut *self.outbox.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// Encrypts `content` for the linked devices of `peer` and, as a sync copy, for this
    /// person's other devices, adds their session states to `batch`, saves the batch, and then
    /// puts the envelopes in the outbox. A device without a session is skipped.
    pub(super) fn fan_out<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        peer: &PeerId,
        content: &Content,
        mut batch: WriteBatch,
    ) -> Result<()> {
        let peer_devices = self.linked_devices(peer)?;
        let own_devices = !self.linked_devices(&self.own_id)?.is_empty();
        if peer_devices.is_empty() && !own_devices {
            // One device each side: the send path as it was, with no second encoding.
            self.store.apply(batch)?;
            return Ok(());
        }
        let body = content.encode_padded();
        let mut deliveries = Vec::new();
        for (device, id) in peer_devices {
            if let Some(envelope) = self.seal_for(rng, &id, &body, &mut batch)? {
                deliveries.push(Delivery { to: peer.clone(), device, envelope });
            }
        }
        if !own_devices {
            self.store.apply(batch)?;
        } else {
            // The sessions with this person's devices are shared by every conversation: their
            // lock is held, after the peer's, until they are saved, and the list is read again
            // under it.
            self.peers.with(&self.own_id, || {
                let copy = sync_copy(peer, &body)?;
                for (device, id) in self.linked_devices(&self.own_id)? {
                    if let Some(envelope) = self.seal_for(rng, &id, &copy, &mut batch)? {
                        deliveries.push(Delivery { to: self.own_id.clone(), device, envelope });
                    }
                }
                self.store.apply(batch)?;
                Ok::<_, super::Error>(())
            })?;
        }
        self.outbox.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend(deliveries);
        Ok(())
    }

    /// Encrypts `plaintext` on the current session kept under `id`, if any, and adds the new
    /// session state to `batch`.
    fn seal_for<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        id: &PeerId,
        plaintext: &[u8],
        batch: &mut WriteBatch,
    ) -> Result<Option<Vec<u8>>> {
        let Some(Loaded { mut sessions, version }) = self.sessions(id)? else { return Ok(None) };
        let envelope = sessions.current_mut().encrypt(rng, plaintext)?.to_bytes();
        batch.put_session(id, Some(version), &sessions.to_bytes())?;
        Ok(Some(envelope))
    }

    /// Receives one envelope from `device` of the person `from`: from the peer's primary device
    /// exactly as [`Self::receive`]; from a linked device of the peer (named in the peer's
    /// device list, [`Self::update_devices`]) the same way, with the device's own sessions and
    /// sequence numbers; from another device of this person (`from` is this device's local id),
    /// a sync copy of a message that device sent, stored as sent in its conversation and
    /// reported as [`Received::Synced`].
    ///
    /// # Errors
    /// [`EndpointError::UnknownDevice`] if `device` is not in the person's device list as stored
    /// here (fetch the newer list first), or a handshake comes with another key than `device`;
    /// otherwise as [`Self::receive`]. On any error the sessions and the store are exactly as
    /// they were.
    pub fn receive_from(&self, from: &PeerId, device: &IdentityKey, envelope: &[u8]) -> Result<Incoming> {
        if *from == self.own_id {
            return self.peers.with(&self.own_id, || self.receive_sync(device, envelope));
        }
        // The route is read under the peer's lock, so a list update cannot come in between.
        self.with_peer(from, |rng| {
            let source = self.source(from, device)?;
            self.receive_with(rng, from, source, envelope)
        })
    }

    /// On the primary device: sends `device`, another device of this person with a session,
    /// a copy of every agreement in force here, with the peer's identity key and where the
    /// agreement stands (plans, the end, the counts for the caps), so that a newly linked device
    /// enforces them from its first message instead of waiting for the next agreement. One
    /// envelope per conversation goes to the outbox ([`Self::take_outbox`]); returns how many.
    ///
    /// # Errors
    /// [`EndpointError::NotPrimary`] on a linked device; [`EndpointError::UnknownDevice`] if
    /// `device` is not another device of this person; [`EndpointError::NoSession`] without a
    /// session with it; a store error. Nothing is saved or sent on error.
    pub fn sync_agreements(&self, device: &IdentityKey) -> Result<usize> {
        self.require_primary()?;
        let mut copies = Vec::new();
        for record in self.store.peers()? {
            let peer = &record.peer;
            if super::devices::is_device_session_id(peer) || *peer == self.own_id {
                continue;
            }
            let Some(stored) = self.store.agreement(peer)? else { continue };
            let standing = self.store.standing(peer)?.unwrap_or_default();
            copies.push(agreement_copy(peer, &record.identity, &stored.bytes, &standing)?);
        }
        self.peers.with(&self.own_id, || {
            let Route::Linked(id) = self.route(&self.own_id, device)? else {
                return Err(EndpointError::UnknownDevice.into());
            };
            self.generator.run(|rng| {
                let mut batch = WriteBatch::new();
                let Some(Loaded { mut sessions, version }) = self.sessions(&id)? else {
                    return Err(EndpointError::NoSession.into());
                };
                let mut deliveries = Vec::with_capacity(copies.len());
                for copy in &copies {
                    let envelope = sessions.current_mut().encrypt(rng, copy)?.to_bytes();
                    deliveries.push(Delivery { to: self.own_id.clone(), device: *device, envelope });
                }
                batch.put_session(&id, Some(version), &sessions.to_bytes())?;
                self.store.apply(batch)?;
                let count = deliveries.len();
                self.outbox.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend(deliveries);
                Ok(count)
            })
        })
    }

    /// [`Self::receive_batch`] for envelopes from `device` of the peer `from` (its primary or a
    /// linked device, as [`Self::receive_from`] routes them), saved in one transaction.
    ///
    /// # Errors
    /// [`EndpointError::UnknownDevice`] as for [`Self::receive_from`] (then nothing was
    /// received); otherwise as [`Self::receive_batch`]. A sync copy from this person's own
    /// devices goes through [`Self::receive_from`] one by one.
    pub fn receive_batch_from<B: AsRef<[u8]>>(
        &self,
        from: &PeerId,
        device: &IdentityKey,
        envelopes: &[B],
    ) -> Result<Vec<Result<Incoming>>> {
        self.with_peer(from, |rng| {
            let source = self.source(from, device)?;
            self.receive_batch_with(rng, from, source, envelopes)
        })
    }

    /// Where the sessions with `device` of the peer `from` are, and who it is.
    fn source(&self, from: &PeerId, device: &IdentityKey) -> Result<Source> {
        Ok(match self.route(from, device)? {
            Route::Primary => Source::primary(from),
            Route::Linked(id) => {
                let person = self.store.peer(from)?.ok_or(EndpointError::UnknownDevice)?.identity;
                Source::linked(id, *device, person)
            }
        })
    }

    /// A sync copy from another device of this person.
    fn receive_sync(&self, device: &IdentityKey, bytes: &[u8]) -> Result<Incoming> {
        let Route::Linked(id) = self.route(&self.own_id, device)? else {
            return Err(EndpointError::UnknownDevice.into());
        };
        let envelope = Envelope::from_bytes(bytes)?;
        if let Envelope::Prekey(first) = &envelope {
            if !first.identity_key().ct_eq(device) {
                return Err(EndpointError::UnknownDevice.into());
            }
        }
        let loaded = self.sessions(&id)?;
        let version = loaded.as_ref().map(|loaded| loaded.version);
        let mut pending = super::pending::Pending::default();
        let mut batch = WriteBatch::new();
        let existing = loaded.map(|loaded| loaded.sessions);
        let (sessions, plaintext) = self.decrypt_from(&id, existing, &mut pending, &envelope, &mut batch)?;
        if plaintext.first() == Some(&AGREEMENT_COPY) {
            let received = self.receive_agreement_copy(&plaintext, &mut batch)?;
            batch.put_session(&id, version, &sessions.to_bytes())?;
            self.store.apply(batch)?;
            return Ok(Incoming { received, replies: Vec::new(), preview: None });
        }
        let (peer, body) = open_sync_copy(&plaintext)?;
        let content = Content::decode(body)?;
        // The sending device's copy lives as long as the message, counted from sending.
        let expires_at = content.lifespan().expires_at_sender(content.sent_at());
        batch.put_message(StoredMessage {
            id: content.id(),
            peer: peer.clone(),
            direction: Direction::Outbound,
            at: content.sent_at(),
            expires_at: Some(expires_at),
            read_at: None,
            // Marked with its arrival, which tells it from the messages this device sent: a
            // repair's resend queue leaves it to the device that sent it.
            body: super::record::with_marks(
                Zeroizing::new(body.to_vec()),
                &MessageMarks { received_at: Some(self.now()), ..MessageMarks::default() },
            ),
        })?;
        batch.put_session(&id, version, &sessions.to_bytes())?;
        self.store.apply(batch)?;
        Ok(Incoming {
            received: Received::Synced { peer, id: content.id() },
            replies: Vec::new(),
            preview: None,
        })
    }
}

impl<S: Store, C: Clock> Endpoint<S, C> {
    /// An agreement copy from the primary: checks it under the person keys and saves it, unless
    /// an agreement of the same or a greater version is already in force here.
    fn receive_agreement_copy(&self, plaintext: &[u8], batch: &mut WriteBatch) -> Result<Received> {
        let copy = open_agreement_copy(plaintext)?;
        if super::devices::is_device_session_id(&copy.peer) || copy.peer == self.own_id {
            return Err(DecodeError::InvalidField(AGREEMENT_WHAT).into());
        }
        if let Some(record) = self.store.peer(&copy.peer)? {
            if !record.identity.ct_eq(&copy.identity) {
                return Err(crate::store::StoreError::IdentityChanged.into());
            }
        }
        let (clinician, client) = self.parties(&copy.identity);
        let agreement = SignedAgreement::from_bytes(copy.agreement, &clinician, &client)?;
        let standing = Standing::from_bytes(copy.standing)?;
        let version = agreement.version();
        if self.store.agreement(&copy.peer)?.is_some_and(|stored| stored.version >= version) {
            return Ok(Received::AgreementSynced { peer: copy.peer, version });
        }
        batch.put_peer_identity(&copy.peer, &copy.identity);
        batch.put_agreement(&copy.peer, StoredAgreement { version, bytes: agreement.to_bytes().into() })?;
        Self::put_standing(&copy.peer, &standing, batch);
        Ok(Received::AgreementSynced { peer: copy.peer, version })
    }
}

const AGREEMENT_WHAT: &str = "agreement copy";

/// An agreement copy, as read.
struct AgreementCopy<'a> {
    peer: PeerId,
    identity: IdentityKey,
    agreement: &'a [u8],
    standing: &'a [u8],
}

/// The plaintext of an agreement copy: `0xD6 ‖ u16be length ‖ peer id (UTF-8) ‖ the peer's
/// identity key (32) ‖ u32be length ‖ the signed agreement's bytes ‖ u32be length ‖ the stored
/// standing (protobuf, possibly empty)`.
fn agreement_copy(
    peer: &PeerId,
    identity: &IdentityKey,
    agreement: &[u8],
    standing: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    let id = peer.as_str().as_bytes();
    let too_long = || crate::store::StoreError::InvalidInput("agreement copy");
    let id_len = u16::try_from(id.len()).map_err(|_| too_long())?;
    let agreement_len = u32::try_from(agreement.len()).map_err(|_| too_long())?;
    let standing_len = u32::try_from(standing.len()).map_err(|_| too_long())?;
    let mut out =
        Zeroizing::new(Vec::with_capacity(3 + id.len() + 32 + 8 + agreement.len() + standing.len()));
    out.push(AGREEMENT_COPY);
    out.extend_from_slice(&id_len.to_be_bytes());
    out.extend_from_slice(id);
    out.extend_from_slice(identity.as_bytes());
    out.extend_from_slice(&agreement_len.to_be_bytes());
    out.extend_from_slice(agreement);
    out.extend_from_slice(&standing_len.to_be_bytes());
    out.extend_from_slice(standing);
    Ok(out)
}

fn open_agreement_copy(plaintext: &[u8]) -> Result<AgreementCopy<'_>> {
    let mut reader = Reader::new(plaintext, AGREEMENT_WHAT);
    if reader.u8()? != AGREEMENT_COPY {
        return Err(DecodeError::InvalidField(AGREEMENT_WHAT).into());
    }
    let len = usize::from(reader.u16()?);
    let id = std::str::from_utf8(reader.take(len)?).map_err(|_| DecodeError::InvalidField(AGREEMENT_WHAT))?;
    let peer = PeerId::new(id).map_err(|_| DecodeError::InvalidField(AGREEMENT_WHAT))?;
    let identity = IdentityKey::from_bytes(&reader.array::<32>()?)?;
    let len = usize::try_from(reader.u32()?).map_err(|_| DecodeError::InvalidField(AGREEMENT_WHAT))?;
    let agreement = reader.take(len)?;
    let len = usize::try_from(reader.u32()?).map_err(|_| DecodeError::InvalidField(AGREEMENT_WHAT))?;
    let standing = reader.take(len)?;
    reader.finish()?;
    Ok(AgreementCopy { peer, identity, agreement, standing })
}

/// The plaintext of a sync copy: `0xD5 ‖ u16be length ‖ peer id (UTF-8) ‖ the message's padded
/// content`.
fn sync_copy(peer: &PeerId, body: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let id = peer.as_str().as_bytes();
    let len = u16::try_from(id.len()).map_err(|_| crate::store::StoreError::InvalidInput("peer id"))?;
    let mut out = Zeroizing::new(Vec::with_capacity(3 + id.len() + body.len()));
    out.push(SYNC_COPY);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(id);
    out.extend_from_slice(body);
    Ok(out)
}

/// The conversation and the content of a sync copy.
fn open_sync_copy(plaintext: &[u8]) -> Result<(PeerId, &[u8])> {
    const WHAT: &str = "sync copy";
    let mut reader = Reader::new(plaintext, WHAT);
    if reader.u8()? != SYNC_COPY {
        return Err(DecodeError::InvalidField(WHAT).into());
    }
    let len = usize::from(reader.u16()?);
    let id = reader.take(len)?;
    let id = std::str::from_utf8(id).map_err(|_| DecodeError::InvalidField(WHAT))?;
    let peer = PeerId::new(id).map_err(|_| DecodeError::InvalidField(WHAT))?;
    Ok((peer, reader.rest()))
}
