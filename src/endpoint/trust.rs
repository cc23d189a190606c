//! A peer's new identity: refused until the user accepts it, then trusted with a fresh start.

use super::error::Result;
use super::Endpoint;
use crate::clock::Clock;
use crate::keys::IdentityKey;
use crate::store::{PeerId, Store, StoreError};

impl<S: Store, C: Clock> Endpoint<S, C> {
    /// Trusts `identity` as `peer`'s identity key from now on, after the user agreed to a change:
    /// a handshake or bundle with another identity than the stored one is refused with
    /// [`StoreError::IdentityChanged`] until then.
    ///
    /// In one transaction, the new key replaces the old one, unverified (compare safety numbers
    /// again, [`Self::verify_peer`]), and the agreement in force is retired: it names the old key
    /// and would never verify again. Messages with `peer` then wait for a new agreement, proposed
    /// by the clinician and accepted by the client with the new key, as the first one was;
    /// proposals to the old key can no longer be accepted. The messages already stored stay.
    ///
    /// The new key is the one the refused bundle or handshake presented:
    /// [`crate::session::PrekeyBundle::identity_key`] for a bundle given to
    /// [`Self::start_session`], or [`crate::session::PrekeyMessage::identity_key`] for an
    /// envelope given to [`Self::receive`] ([`crate::session::Envelope::Prekey`]). Accepting the
    /// key already stored changes nothing.
    ///
    /// # Errors
    /// [`StoreError::UnknownPeer`] if the store knows no identity for `peer` yet (the first one is
    /// trusted when it is first seen); another [`StoreError`] if the store cannot be read or
    /// written. Nothing changed on error.
    pub fn accept_new_identity(&self, peer: &PeerId, identity: &IdentityKey) -> Result<()> {
        let record = self.store.peer(peer)?.ok_or(StoreError::UnknownPeer)?;
        if record.identity.ct_eq(identity) {
            return Ok(());
        }
        self.store.accept_identity(peer, identity)?;
        self.record(crate::store::AuditEvent::IdentityAccepted { peer: peer.clone() })
    }
}
