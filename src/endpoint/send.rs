//! Sending: policy check → compose content → session encrypt → envelope → store.

use rand_core::CryptoRng;

use super::error::Result;
use super::{Draft, Endpoint, EndpointError, Loaded, Outgoing};
use crate::clock::Clock;
use crate::content::{Content, ContentError};
use crate::policy::{classify_in, counts_against_caps};
use crate::store::{PeerId, Store, WriteBatch};

impl<S: Store, C: Clock> Endpoint<S, C> {
    /// Sends `draft` to `peer`, if the agreement allows it.
    ///
    /// The boundary decision comes first ([`crate::policy::classify_in`], with the support plan
    /// running and the counts for the caps): a message out of scope, a crisis draft the terms do
    /// not allow now ([`crate::policy::Decision::CrisisNotSent`]) and a client draft over a cap
    /// ([`crate::policy::Decision::Capped`]) are not sent ([`Outgoing::envelope`] is `None`, and
    /// the decision says why, with what to show); a client's message outside the clinician's
    /// hours is sent, and the decision carries when to expect a reply and the crisis resources to
    /// show at once. A client message sent is counted against the caps, and numbered in its
    /// conversation, in the same transaction. The session state and a copy of the message are
    /// saved in one transaction
    /// before the envelope is returned.
    ///
    /// # Errors
    /// [`EndpointError::NoSession`], [`EndpointError::NoAgreement`] (nothing but the agreement
    /// itself is sent before an agreement is in force), [`crate::content::ContentError`] for an invalid draft (for
    /// example, system categories are sent by the endpoint itself), or a store error (among
    /// them [`crate::store::StoreError::RolledBack`] if the store's generation record was put
    /// back under the running app, with a rollback counter). Nothing is saved or sent on error.
    pub fn send(&self, peer: &PeerId, draft: Draft) -> Result<Outgoing> {
        self.with_peer(peer, |rng| self.send_with(rng, peer, draft))
    }

    fn send_with<R: CryptoRng + ?Sized>(&self, rng: &mut R, peer: &PeerId, draft: Draft) -> Result<Outgoing> {
        if Self::is_system(&draft.category) {
            return Err(ContentError::InvalidField("category").into());
        }
        let sessions = self.sessions(peer)?.ok_or(EndpointError::NoSession)?;
        let now = self.now();
        let agreement = self.agreement(peer)?;
        let kind = draft.category.kind();
        let mut standing = self.standing(peer)?;
        let (decision, lifespan, version) = match &agreement {
            Some(agreement) => (
                classify_in(agreement, &standing, self.role, kind, draft.text.chars().count(), now),
                agreement.terms().lifespan_for(kind),
                agreement.version(),
            ),
            None => return Err(EndpointError::NoAgreement.into()),
        };
        if decision.refusal().is_some() {
            return Ok(Outgoing { decision, envelope: None, message_id: None });
        }
        let mut batch = WriteBatch::new();
        if counts_against_caps(self.role, kind) {
            standing.count(now);
            Self::put_standing(peer, &standing, &mut batch);
        }
        let content = self.numbered(rng, peer, draft, now, lifespan, version, &mut batch)?;
        let envelope = self.send_sealed(rng, peer, sessions, &content, true, batch)?;
        Ok(Outgoing { decision, envelope: Some(envelope), message_id: Some(content.id()) })
    }

    /// The tail every message this device sends on its own goes through (a message, an agreement
    /// proposal or acceptance, a read receipt): encrypts `content` on the current session of
    /// `sessions`, then saves in one transaction the writes already in `batch`, a copy of the
    /// message if `store_copy`, and the new session state. Returns the envelope bytes. Nothing is
    /// saved on error.
    ///
    /// (Auto-replies and delivery receipts go out while a message is received: they are sealed
    /// into the receive path's batch, which saves the session once for everything it holds.)
    pub(super) fn send_sealed<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        peer: &PeerId,
        Loaded { mut sessions, version }: Loaded,
        content: &Content,
        store_copy: bool,
        mut batch: WriteBatch,
    ) -> Result<Vec<u8>> {
        let envelope =
            self.seal_outbound(rng, peer, sessions.current_mut(), content, store_copy, &mut batch)?;
        batch.put_session(peer, Some(version), &sessions.to_bytes())?;
        // The same content to the peer's other devices and to this person's, in the same
        // transaction ([`Self::take_outbox`]).
        self.fan_out(rng, peer, content, batch)?;
        Ok(envelope)
    }
}
