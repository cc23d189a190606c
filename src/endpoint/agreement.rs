//! The agreement flow: the clinician proposes, the client accepts, both sign.

use rand_core::CryptoRng;

use super::error::Result;
use super::proposals::StoredProposal;
use super::{Endpoint, EndpointError};
use crate::agreement::{AgreementError, AgreementTerms, ProposedAgreement, Role, UnverifiedAgreement};
use crate::clock::Clock;
use crate::content::{Category, Content};
use crate::expiry::Lifespan;
use crate::store::{AuditEvent, Direction, MessageId, PeerId, Store, StoredAgreement, WriteBatch};

impl<S: Store, C: Clock> Endpoint<S, C> {
    /// Proposes `terms` to the client `peer` (clinician only): signs them and returns the
    /// envelope carrying the proposal. The agreement is in force once the client accepted it
    /// ([`super::Received::AgreementAccepted`]). A renegotiation needs a higher version than the
    /// agreement in force, and than every proposal sent before that has not expired: the new
    /// proposal supersedes them, and only it can be accepted from then on. A proposal can be
    /// withdrawn ([`Self::withdraw_proposal`]).
    ///
    /// # Errors
    /// [`EndpointError::WrongRole`] on a client's device; [`EndpointError::AgreementEnded`] after
    /// the agreement ended; [`crate::agreement::AgreementError`] if the terms
    /// are invalid, name other parties, or do not replace the current agreement
    /// ([`AgreementError::Stale`] also if the version is not greater than that of an earlier
    /// proposal that has not expired); [`EndpointError::NoSession`] without a session.
    pub fn propose_agreement(&self, peer: &PeerId, terms: AgreementTerms) -> Result<Vec<u8>> {
        self.with_peer(peer, |rng| self.propose_agreement_with(rng, peer, terms))
    }

    fn propose_agreement_with<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        peer: &PeerId,
        terms: AgreementTerms,
    ) -> Result<Vec<u8>> {
        if self.role != Role::Clinician {
            return Err(EndpointError::WrongRole.into());
        }
        if self.standing(peer)?.end.is_some() {
            return Err(EndpointError::AgreementEnded.into());
        }
        let current = self.agreement(peer)?;
        self.require_primary()?;
        let proposal = ProposedAgreement::propose(terms, &self.identity, current.as_ref())?;
        // A new proposal supersedes every earlier one, on both devices: its version must be
        // greater than theirs too.
        let parties = (proposal.terms().clinician, proposal.terms().client);
        if let Some(newest) = self.newest_proposal_version(peer, &parties)? {
            let offered = proposal.terms().version;
            if offered <= newest {
                return Err(AgreementError::Stale { current: newest, offered }.into());
            }
        }
        let agreement = Category::Agreement(Box::new(UnverifiedAgreement::from(&proposal)));
        let in_force = current.map_or(0, |a| a.version());
        self.send_agreement_content(rng, peer, agreement, in_force, WriteBatch::new())
    }

    /// Accepts the proposal that arrived in message `proposal` (client only): countersigns it,
    /// puts it in force, and returns the envelope that tells the clinician. Only the newest open
    /// proposal can be accepted: one that has not expired (agreement messages live
    /// [`crate::consts::DEFAULT_LIFESPAN_MS`] from sending), that the clinician has not withdrawn,
    /// and that no later proposal (one with a greater version) has superseded.
    ///
    /// # Errors
    /// [`EndpointError::WrongRole`] on a clinician's device; [`EndpointError::AgreementEnded`]
    /// after the agreement ended; [`EndpointError::NotAProposal`] if
    /// the message is not a proposal received from `peer` and stored;
    /// [`EndpointError::ProposalExpired`], [`EndpointError::ProposalWithdrawn`] or
    /// [`EndpointError::ProposalSuperseded`] if it is no longer open;
    /// [`crate::agreement::AgreementError`] if it does not verify or does not replace the
    /// agreement in force. On any error nothing changed.
    pub fn accept_agreement(&self, peer: &PeerId, proposal: MessageId) -> Result<Vec<u8>> {
        self.with_peer(peer, |rng| self.accept_agreement_with(rng, peer, proposal))
    }

    fn accept_agreement_with<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        peer: &PeerId,
        proposal: MessageId,
    ) -> Result<Vec<u8>> {
        if self.role != Role::Client {
            return Err(EndpointError::WrongRole.into());
        }
        if self.standing(peer)?.end.is_some() {
            return Err(EndpointError::AgreementEnded.into());
        }
        let message = self.store.message(&proposal)?.ok_or(EndpointError::NotAProposal)?;
        if &message.peer != peer || message.direction != Direction::Inbound {
            return Err(EndpointError::NotAProposal.into());
        }
        let proposal = StoredProposal::from_message(&message)?.ok_or(EndpointError::NotAProposal)?;
        let record = self.store.peer(peer)?.ok_or(EndpointError::NoSession)?;
        let (clinician, client) = self.parties(&record.identity);
        let received = self.proposals(peer, Direction::Inbound, &(clinician, client))?;
        if let Some(refusal) = received.refusal(&proposal, self.now()) {
            return Err(refusal.into());
        }
        let unverified = proposal.agreement;
        let current = self.agreement(peer)?;
        self.require_primary()?;
        let signed =
            unverified.verify_proposal(&clinician, &client)?.accept(&self.identity, current.as_ref())?;
        let mut batch = WriteBatch::new();
        batch.put_agreement(
            peer,
            StoredAgreement { version: signed.version(), bytes: signed.to_bytes().into() },
        )?;
        batch.audit(
            self.now(),
            AuditEvent::AgreementSigned { peer: peer.clone(), version: signed.version() },
        )?;
        let version_in_force = current.map_or(0, |a| a.version());
        let acceptance = Category::Agreement(Box::new(UnverifiedAgreement::from(&signed)));
        self.send_agreement_content(rng, peer, acceptance, version_in_force, batch)
    }

    /// Sends an agreement message of `category` (a proposal, an acceptance or a withdrawal), and
    /// saves, in the same transaction, the writes already in `batch`, a copy of the message and
    /// the session. Agreement messages carry no text and live [`Lifespan::DEFAULT`].
    pub(super) fn send_agreement_content<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        peer: &PeerId,
        category: Category,
        version_in_force: u32,
        batch: WriteBatch,
    ) -> Result<Vec<u8>> {
        let sessions = self.sessions(peer)?.ok_or(EndpointError::NoSession)?;
        let content = Content::new(
            MessageId::random(rng),
            category,
            String::new(),
            self.now(),
            Lifespan::DEFAULT,
            version_in_force,
        )?;
        self.send_sealed(rng, peer, sessions, &content, true, batch)
    }
}
