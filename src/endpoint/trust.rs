//! A peer's new identity: refused until the user accepts it, then trusted with a fresh start.

use super::error::Result;
use super::Endpoint;
use crate::clock::Clock;
use crate::keys::{IdentityKey, SafetyNumber};
use crate::store::{AuditEvent, PeerId, Store, StoreError, WriteBatch};

impl<S: Store, C: Clock> Endpoint<S, C> {
    /// Trusts `identity` as `peer`'s identity key from now on, after the user agreed to a change,
    /// and returns the safety number with the new key, to show and compare again. Until then a
    /// handshake or bundle with another identity than the stored one is refused with
    /// [`StoreError::IdentityChanged`], and the endpoint goes on talking only with the stored
    /// key (a refused handshake is never a reason to stop: anyone holding a published bundle can
    /// make one under any peer id). Show [`Self::safety_number_with`] for the offered key before
    /// asking the user.
    ///
    /// Under `peer`'s lock, in one transaction: the new key replaces the old one, unverified (the
    /// old verification is gone; compare safety numbers again, [`Self::verify_peer`]); the
    /// agreement in force is retired, since it names the old key and would never verify again;
    /// the sessions with the old key are deleted, so nothing more is sent to or accepted from it;
    /// the acceptance is then added to the audit trail. Messages with `peer` then wait for a new
    /// session (from a bundle of the new key, or its handshake) and a new agreement, proposed by
    /// the clinician and accepted by the client with the new key, as the first one was;
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
    pub fn accept_new_identity(&self, peer: &PeerId, identity: &IdentityKey) -> Result<SafetyNumber> {
        self.peers.with(peer, || {
            let record = self.store.peer(peer)?.ok_or(StoreError::UnknownPeer)?;
            let number = self.safety_number_with(peer, identity);
            if record.identity.ct_eq(identity) {
                return Ok(number);
            }
            let mut batch = WriteBatch::new();
            batch.accept_identity(peer, identity).delete_session(peer);
            self.store.apply(batch)?;
            self.record(AuditEvent::IdentityAccepted { peer: peer.clone() })?;
            Ok(number)
        })
    }

    /// The safety number `peer` would have with `identity`: for a changed key, the number to show
    /// the user before [`Self::accept_new_identity`] (it is what [`Self::safety_number`] gives
    /// after the change).
    #[must_use]
    pub fn safety_number_with(&self, peer: &PeerId, identity: &IdentityKey) -> SafetyNumber {
        SafetyNumber::new(&self.person_key(), self.local_id.as_bytes(), identity, peer.as_str().as_bytes())
    }
}
