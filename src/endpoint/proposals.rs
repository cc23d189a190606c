//! Which agreement proposals may still be accepted.
//!
//! Both devices keep the proposals as messages: the clinician's device its copies of what it
//! sent, the client's device what it received. A proposal is *open* while it is stored and has
//! not expired. The client's device accepts only an open proposal; the clinician's device puts an
//! acceptance in force only if it countersigns a proposal that is open there, so that a modified
//! client app cannot accept what the clinician's device no longer offers.

use super::error::Result;
use super::{Endpoint, EndpointError};
use crate::agreement::{SignedAgreement, UnverifiedAgreement};
use crate::clock::{Clock, Timestamp};
use crate::content::{Category, Content};
use crate::store::{Direction, PeerId, Store, StoredMessage};

/// An agreement proposal this device holds, sent or received.
pub(super) struct StoredProposal {
    /// When its message expires.
    pub(super) expires_at: Option<Timestamp>,
    /// The proposal, as it was verified when it was sent or received.
    pub(super) agreement: UnverifiedAgreement,
}

impl StoredProposal {
    /// The proposal `message` carries, if it carries one.
    pub(super) fn from_message(message: &StoredMessage) -> Result<Option<Self>> {
        let content = Content::decode(&message.body)?;
        let Category::Agreement(agreement) = content.category() else { return Ok(None) };
        if agreement.is_countersigned() {
            return Ok(None);
        }
        Ok(Some(Self { expires_at: message.expires_at, agreement: UnverifiedAgreement::clone(agreement) }))
    }

    /// Whether it has expired at `now`: expired means gone, whether or not it was purged yet.
    pub(super) fn is_expired(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

impl<S: Store, C: Clock> Endpoint<S, C> {
    /// The proposals exchanged with `peer` that went `direction`, oldest first.
    pub(super) fn stored_proposals(
        &self,
        peer: &PeerId,
        direction: Direction,
    ) -> Result<Vec<StoredProposal>> {
        let mut proposals = Vec::new();
        for message in self.store.messages(peer)? {
            if message.direction == direction {
                proposals.extend(StoredProposal::from_message(&message)?);
            }
        }
        Ok(proposals)
    }

    /// On the clinician's device: checks that `signed`, which the client countersigned, is a
    /// proposal this device sent to `peer` that is still open at `now`.
    pub(super) fn check_accepted_proposal(
        &self,
        peer: &PeerId,
        signed: &SignedAgreement,
        now: Timestamp,
    ) -> Result<()> {
        let sent = self.stored_proposals(peer, Direction::Outbound)?;
        let mut matching = sent.iter().filter(|p| p.agreement.terms() == signed.terms()).peekable();
        if matching.peek().is_none() {
            // Not proposed from this device, or so long ago that its copy is gone.
            return Err(EndpointError::UnexpectedAgreement.into());
        }
        if matching.all(|p| p.is_expired(now)) {
            return Err(EndpointError::ProposalExpired.into());
        }
        Ok(())
    }
}
