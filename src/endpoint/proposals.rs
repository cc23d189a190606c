//! Which agreement proposals may still be accepted.
//!
//! Both devices keep the proposals as messages: the clinician's device its copies of what it
//! sent, the client's device what it received, each with the withdrawals that went the same way.
//! On each device, a proposal to the current two parties is *open* while
//!
//! * its message is stored and has not expired,
//! * no withdrawal names it, and
//! * no other proposal that has not expired has a greater version (the newest proposal
//!   supersedes the older ones, for good: withdrawing it does not bring them back).
//!
//! The client's device accepts only an open proposal; the clinician's device puts an acceptance
//! in force only if it countersigns a proposal that is open there, so that a modified client app
//! cannot accept what the clinician's device no longer offers. A new proposal needs a version
//! greater than every proposal sent before it that has not expired, so that it supersedes them on
//! both devices.

use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::error::Result;
use super::pending::Pending;
use super::{Endpoint, EndpointError, Received};
use crate::agreement::{Role, SignedAgreement, UnverifiedAgreement};
use crate::clock::{Clock, Timestamp};
use crate::content::{Category, Content};
use crate::expiry::{Arrival, Lifespan};
use crate::keys::IdentityKey;
use crate::store::{Direction, MessageId, PeerId, Store, StoredMessage, WriteBatch};

/// An agreement proposal this device holds, sent or received.
pub(super) struct StoredProposal {
    /// The message that carries it.
    pub(super) id: MessageId,
    /// When its message expires.
    pub(super) expires_at: Option<Timestamp>,
    /// The proposal, as it was verified when it was sent or received.
    pub(super) agreement: UnverifiedAgreement,
}

impl StoredProposal {
    /// The proposal `message` carries, if it carries one.
    pub(super) fn from_message(message: &StoredMessage) -> Result<Option<Self>> {
        let content = super::record::open(&message.body)?.0;
        let Category::Agreement(agreement) = content.category() else { return Ok(None) };
        if agreement.is_countersigned() {
            return Ok(None);
        }
        Ok(Some(Self {
            id: message.id,
            expires_at: message.expires_at,
            agreement: UnverifiedAgreement::clone(agreement),
        }))
    }

    /// Whether it has expired at `now`: expired means gone, whether or not it was purged yet.
    pub(super) fn is_expired(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    fn version(&self) -> u32 {
        self.agreement.terms().version
    }
}

/// The proposals to the current parties that went one way, and the withdrawals that went the
/// same way, as one device holds them.
pub(super) struct Proposals {
    proposals: Vec<StoredProposal>,
    withdrawn: Vec<MessageId>,
}

impl Proposals {
    /// Why `proposal` cannot be accepted at `now`, if it cannot (see the module docs).
    pub(super) fn refusal(&self, proposal: &StoredProposal, now: Timestamp) -> Option<EndpointError> {
        if proposal.is_expired(now) {
            return Some(EndpointError::ProposalExpired);
        }
        if self.withdrawn.contains(&proposal.id) {
            return Some(EndpointError::ProposalWithdrawn);
        }
        if self.newest_version(now).is_some_and(|newest| newest > proposal.version()) {
            return Some(EndpointError::ProposalSuperseded);
        }
        None
    }

    /// The greatest version of a proposal that has not expired at `now`, withdrawn or not.
    fn newest_version(&self, now: Timestamp) -> Option<u32> {
        self.proposals.iter().filter(|p| !p.is_expired(now)).map(StoredProposal::version).max()
    }
}

impl<S: Store, C: Clock> Endpoint<S, C> {
    /// The proposals to `parties` (clinician, client) exchanged with `peer` that went
    /// `direction`, and the withdrawals that went the same way.
    pub(super) fn proposals(
        &self,
        peer: &PeerId,
        direction: Direction,
        parties: &(IdentityKey, IdentityKey),
    ) -> Result<Proposals> {
        let mut found = Proposals { proposals: Vec::new(), withdrawn: Vec::new() };
        for message in self.store.messages(peer)? {
            if message.direction != direction {
                continue;
            }
            if let Category::Withdrawal(proposal) = super::record::open(&message.body)?.0.category() {
                found.withdrawn.push(*proposal);
            } else if let Some(proposal) = StoredProposal::from_message(&message)? {
                let terms = proposal.agreement.terms();
                if terms.clinician == parties.0 && terms.client == parties.1 {
                    found.proposals.push(proposal);
                }
            }
        }
        Ok(found)
    }

    /// On the clinician's device: the version a new proposal to `peer` must exceed, besides that
    /// of the agreement in force: the newest proposal sent that has not expired.
    pub(super) fn newest_proposal_version(
        &self,
        peer: &PeerId,
        parties: &(IdentityKey, IdentityKey),
    ) -> Result<Option<u32>> {
        let now = self.now();
        Ok(self.proposals(peer, Direction::Outbound, parties)?.newest_version(now))
    }

    /// On the clinician's device: checks that `signed`, which the client countersigned, is a
    /// proposal this device sent to `peer` that is still open at `now`.
    pub(super) fn check_accepted_proposal(
        &self,
        peer: &PeerId,
        signed: &SignedAgreement,
        now: Timestamp,
    ) -> Result<()> {
        let parties = (signed.terms().clinician, signed.terms().client);
        let sent = self.proposals(peer, Direction::Outbound, &parties)?;
        let mut refusal = EndpointError::UnexpectedAgreement;
        for proposal in sent.proposals.iter().filter(|p| p.agreement.terms() == signed.terms()) {
            match sent.refusal(proposal, now) {
                None => return Ok(()),
                Some(reason) => refusal = reason,
            }
        }
        // Not proposed from this device (or so long ago that its copy is gone), or not open.
        Err(refusal.into())
    }

    /// Withdraws the newest open proposal to the client `peer` (clinician only), and returns the
    /// envelope that tells the client's device. Once the withdrawal arrives, the client can no
    /// longer accept the proposal, and the clinician's device does not put an acceptance of it in
    /// force, even one sent before the withdrawal arrived. The proposals it superseded stay
    /// superseded: after a withdrawal no proposal is open until the clinician proposes again,
    /// with a version greater than the withdrawn one.
    ///
    /// # Errors
    /// [`EndpointError::WrongRole`] on a client's device; [`EndpointError::NoOpenProposal`] if no
    /// proposal to `peer` is open (none was sent, or it was accepted, withdrawn or has expired);
    /// [`EndpointError::NoSession`] without a session; a store error. Nothing is sent or saved
    /// on error.
    pub fn withdraw_proposal(&self, peer: &PeerId) -> Result<Vec<u8>> {
        self.generator.run(|rng| self.withdraw_proposal_with(rng, peer))
    }

    fn withdraw_proposal_with<R: CryptoRng + ?Sized>(&self, rng: &mut R, peer: &PeerId) -> Result<Vec<u8>> {
        if self.role != Role::Clinician {
            return Err(EndpointError::WrongRole.into());
        }
        let record = self.store.peer(peer)?.ok_or(EndpointError::NoSession)?;
        let parties = self.parties(&record.identity);
        let in_force = self.agreement(peer)?.map_or(0, |a| a.version());
        let now = self.now();
        let sent = self.proposals(peer, Direction::Outbound, &parties)?;
        let open = sent
            .proposals
            .iter()
            .rev()
            .find(|p| p.version() > in_force && sent.refusal(p, now).is_none())
            .ok_or(EndpointError::NoOpenProposal)?;
        self.send_agreement_content(rng, peer, Category::Withdrawal(open.id), in_force, WriteBatch::new())
    }

    /// On the client's device: the clinician withdrew the proposal in message `proposal`. The
    /// withdrawal is stored (it is what makes the proposal withdrawn), unless it expired on the
    /// way. A withdrawal that names a stored message other than a proposal from `peer` is refused;
    /// one that names no stored message is kept, as its proposal may still arrive or may have
    /// expired.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn receive_withdrawal(
        &self,
        peer: &PeerId,
        pending: &mut Pending,
        content: &Content,
        proposal: MessageId,
        plaintext: Zeroizing<Vec<u8>>,
        now: Timestamp,
        batch: &mut WriteBatch,
    ) -> Result<Received> {
        if self.role != Role::Client {
            return Err(EndpointError::UnexpectedAgreement.into());
        }
        if let Some(message) = self.store.message(&proposal)? {
            let from_peer = &message.peer == peer && message.direction == Direction::Inbound;
            if !from_peer || StoredProposal::from_message(&message)?.is_none() {
                return Err(EndpointError::NotAProposal.into());
            }
        }
        if let Arrival::Expired =
            self.keep_inbound(peer, pending, content, Lifespan::DEFAULT, plaintext, now, batch)?
        {
            return Ok(Received::Expired { id: content.id() });
        }
        Ok(Received::ProposalWithdrawn { id: content.id(), proposal })
    }
}
