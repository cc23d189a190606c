//! Support plans and the end of the agreement, on each device (PROTOCOL.md 10.5).
//!
//! Each device keeps where the agreement stands ([`Standing`]) in the store's `boundaries` table:
//! the plans both parties signed, plans ended early, the end of the agreement, and the client
//! messages counted against the caps. A plan lapses at its end on both devices with no message,
//! because whether it runs is a function of the device's own clock; a new agreement version ends
//! every plan of the old one, because plans are bound to their version.

use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::error::Result;
use super::pending::Pending;
use super::{Endpoint, EndpointError, Received};
use crate::agreement::{
    AfterEnd, AgreementError, CrisisSupport, Ended, Notice, PlanEnded, PlanMessage, Role, SignedAgreement,
    SignedNotice, SignedPlan, Standing, SupportPlan,
};
use crate::category::CategoryKind;
use crate::clock::{Clock, Timestamp};
use crate::content::{Category, Content, MessageId};
use crate::expiry::{Arrival, Lifespan};
use crate::store::{AuditEvent, Direction, PeerId, Store, StoreError, WriteBatch};

/// A support plan as the clinician asks for it; the endpoint fills in the agreement version, the
/// plan's number and the parties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRequest {
    /// When the plan starts.
    pub start: Timestamp,
    /// When it lapses (at most [`crate::consts::MAX_PLAN_MS`] after `start`).
    pub end: Timestamp,
    /// The expected response time during the plan.
    pub response_time: String,
    /// What the clinician may send during it (e.g. coping guidance, check-ins).
    pub clinician_may_send: Vec<CategoryKind>,
    /// What the client may send during it (e.g. crisis, check-ins).
    pub client_may_send: Vec<CategoryKind>,
    /// The colleague consulted, or empty.
    pub colleague_consulted: String,
}

/// Where the agreement with a peer stands ([`Endpoint::agreement_status`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AgreementStatus {
    /// No agreement is in force yet.
    NoAgreement,
    /// The agreement is in force.
    InForce {
        /// Its version.
        version: u32,
        /// The support plan running now, if any.
        plan: Option<Box<SupportPlan>>,
        /// What will happen to the conversation once the agreement ends.
        after_end: AfterEnd,
    },
    /// A party ended the agreement: nothing but end notices is sent or accepted.
    Ended {
        /// Who ended it.
        by: Role,
        /// When this device sent or received the end notice.
        at: Timestamp,
        /// What happens to the stored conversation.
        after_end: AfterEnd,
        /// When [`Endpoint::purge_expired`] deletes the whole conversation, if the terms set a
        /// retention period; otherwise each message lives until it expires.
        purge_at: Option<Timestamp>,
    },
}

impl<S: Store, C: Clock> Endpoint<S, C> {
    /// Where the agreement with `peer` stands on this device.
    pub(super) fn standing(&self, peer: &PeerId) -> Result<Standing> {
        match self.store.standing(peer)? {
            None => Ok(Standing::default()),
            Some(bytes) => {
                Ok(Standing::from_bytes(&bytes).map_err(|_| StoreError::Corrupt { table: "boundaries" })?)
            }
        }
    }

    /// Adds the write of `standing` to `batch`.
    pub(super) fn put_standing(peer: &PeerId, standing: &Standing, batch: &mut WriteBatch) {
        batch.put_standing(peer, Zeroizing::new(standing.to_bytes()));
    }

    /// Where the agreement with `peer` stands: none, in force (with the plan running now), or
    /// ended (with what happens to the stored conversation).
    ///
    /// # Errors
    /// A store error, or an agreement error if the stored agreement does not verify.
    pub fn agreement_status(&self, peer: &PeerId) -> Result<AgreementStatus> {
        let Some(agreement) = self.agreement(peer)? else { return Ok(AgreementStatus::NoAgreement) };
        let standing = self.standing(peer)?;
        let after_end = agreement.terms().after_end;
        Ok(match &standing.end {
            Some(ended) => AgreementStatus::Ended {
                by: ended.notice.notice().ended_by,
                at: ended.at,
                after_end,
                purge_at: purge_at(after_end, ended.at),
            },
            None => AgreementStatus::InForce {
                version: agreement.version(),
                plan: standing.active_plan(agreement.version(), self.now()).cloned().map(Box::new),
                after_end,
            },
        })
    }

    /// Proposes a support plan to the client `peer` (clinician only), signed, bound to the
    /// agreement in force, and returns the envelope. The client accepts it with
    /// [`Self::accept_support_plan`]; it runs from then, between its start and end.
    ///
    /// # Errors
    /// [`EndpointError::WrongRole`] on a client's device; [`EndpointError::NoAgreement`];
    /// [`EndpointError::AgreementEnded`]; [`AgreementError::InvalidTerms`] if the plan breaks a
    /// rule (among them: crisis listed while the agreement offers no crisis support); a store or
    /// session error. Nothing is sent or saved on error.
    pub fn propose_support_plan(&self, peer: &PeerId, request: PlanRequest) -> Result<Vec<u8>> {
        self.with_peer(peer, |rng| {
            if self.role != Role::Clinician {
                return Err(EndpointError::WrongRole.into());
            }
            let (agreement, standing) = self.in_force(peer)?;
            let terms = agreement.terms();
            let plan = SupportPlan {
                agreement_version: agreement.version(),
                number: standing.last_plan_number(agreement.version()).saturating_add(1),
                clinician: terms.clinician,
                client: terms.client,
                start: request.start,
                end: request.end,
                response_time: request.response_time,
                clinician_may_send: request.clinician_may_send,
                client_may_send: request.client_may_send,
                colleague_consulted: request.colleague_consulted,
            };
            check_plan_fits(&agreement, &plan)?;
            self.require_primary()?;
            let signed = SignedPlan::propose(plan, &self.identity)?;
            let category = Category::SupportPlan(Box::new(PlanMessage::Plan(signed)));
            self.send_boundary_content(rng, peer, category, agreement.version(), WriteBatch::new())
        })
    }

    /// Accepts the support plan proposed in message `proposal` (client only): countersigns it,
    /// records it, and returns the envelope that tells the clinician.
    ///
    /// # Errors
    /// [`EndpointError::WrongRole`]; [`EndpointError::NotAProposal`] if the message is not a plan
    /// proposal received from `peer`; [`EndpointError::ProposalExpired`] if the plan has already
    /// ended; [`AgreementError::NotForThisAgreement`] if it belongs to another agreement version
    /// or a plan with its number or a greater one is held; [`EndpointError::AgreementEnded`].
    pub fn accept_support_plan(&self, peer: &PeerId, proposal: MessageId) -> Result<Vec<u8>> {
        self.with_peer(peer, |rng| {
            if self.role != Role::Client {
                return Err(EndpointError::WrongRole.into());
            }
            let message = self.store.message(&proposal)?.ok_or(EndpointError::NotAProposal)?;
            if &message.peer != peer || message.direction != Direction::Inbound {
                return Err(EndpointError::NotAProposal.into());
            }
            let content = super::record::open(&message.body)?.0;
            let Category::SupportPlan(body) = content.category() else {
                return Err(EndpointError::NotAProposal.into());
            };
            let PlanMessage::Plan(signed) = body.as_ref() else {
                return Err(EndpointError::NotAProposal.into());
            };
            let (agreement, mut standing) = self.in_force(peer)?;
            let terms = agreement.terms();
            signed.verify(&terms.clinician, &terms.client, false)?;
            check_new_plan(&agreement, &standing, signed.plan())?;
            if signed.plan().end <= self.now() {
                return Err(EndpointError::ProposalExpired.into());
            }
            self.require_primary()?;
            let accepted = signed.clone().accept(&self.identity)?;
            standing.add_plan(accepted.clone());
            let mut batch = WriteBatch::new();
            Self::put_standing(peer, &standing, &mut batch);
            batch.audit(self.now(), AuditEvent::PlanStarted { peer: peer.clone() })?;
            let category = Category::SupportPlan(Box::new(PlanMessage::Plan(accepted)));
            self.send_boundary_content(rng, peer, category, agreement.version(), batch)
        })
    }

    /// Ends the support plan running now with `peer`, before its end (either party), and returns
    /// the envelope of the signed notice. Both devices fall back to the base terms.
    ///
    /// # Errors
    /// [`EndpointError::NoActivePlan`] if no plan runs now; [`EndpointError::NoAgreement`];
    /// [`EndpointError::AgreementEnded`]; a store or session error.
    pub fn end_support_plan(&self, peer: &PeerId) -> Result<Vec<u8>> {
        self.with_peer(peer, |rng| {
            let (agreement, mut standing) = self.in_force(peer)?;
            let now = self.now();
            let number = standing
                .active_plan(agreement.version(), now)
                .map(|p| p.number)
                .ok_or(EndpointError::NoActivePlan)?;
            let notice = self.end_notice(&agreement, number, now)?;
            standing.ended_plans.push(PlanEnded { agreement_version: agreement.version(), number, at: now });
            let mut batch = WriteBatch::new();
            Self::put_standing(peer, &standing, &mut batch);
            batch.audit(now, AuditEvent::PlanEnded { peer: peer.clone() })?;
            let category = Category::SupportPlan(Box::new(PlanMessage::End(notice)));
            self.send_boundary_content(rng, peer, category, agreement.version(), batch)
        })
    }

    /// Ends the agreement with `peer` (either party) and returns the envelope of the signed end
    /// notice. From then on this device sends and accepts nothing else with `peer` but end
    /// notices; what happens to the stored conversation is the agreement's `after_end` term
    /// ([`Self::agreement_status`], [`Self::purge_expired`]).
    ///
    /// # Errors
    /// [`EndpointError::NoAgreement`]; [`EndpointError::AgreementEnded`] if it has already
    /// ended; a store or session error. Nothing is sent or saved on error.
    pub fn end_agreement(&self, peer: &PeerId) -> Result<Vec<u8>> {
        self.with_peer(peer, |rng| {
            let (agreement, mut standing) = self.in_force(peer)?;
            let now = self.now();
            let notice = self.end_notice(&agreement, 0, now)?;
            standing.end = Some(Ended { notice: notice.clone(), at: now });
            let mut batch = WriteBatch::new();
            Self::put_standing(peer, &standing, &mut batch);
            self.send_boundary_content(
                rng,
                peer,
                Category::EndNotice(Box::new(notice)),
                agreement.version(),
                batch,
            )
        })
    }

    /// The agreement in force with `peer` and where it stands, unless it has ended.
    fn in_force(&self, peer: &PeerId) -> Result<(SignedAgreement, Standing)> {
        let agreement = self.agreement(peer)?.ok_or(EndpointError::NoAgreement)?;
        let standing = self.standing(peer)?;
        if standing.end.is_some() {
            return Err(EndpointError::AgreementEnded.into());
        }
        Ok((agreement, standing))
    }

    /// This device's signed notice ending plan `plan_number` (0: the agreement).
    fn end_notice(
        &self,
        agreement: &SignedAgreement,
        plan_number: u32,
        now: Timestamp,
    ) -> Result<SignedNotice> {
        let terms = agreement.terms();
        let notice = Notice {
            agreement_version: agreement.version(),
            plan_number,
            clinician: terms.clinician,
            client: terms.client,
            ended_by: self.role,
            ended_at: now,
        };
        self.require_primary()?;
        Ok(SignedNotice::sign(notice, &self.identity)?)
    }

    /// Sends a plan or end-notice message (no text, [`Lifespan::DEFAULT`]) with the writes in
    /// `batch`, a copy of the message and the session, in one transaction.
    fn send_boundary_content<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        peer: &PeerId,
        category: Category,
        version: u32,
        batch: WriteBatch,
    ) -> Result<Vec<u8>> {
        // Plans and notices travel as agreement messages do: no text, the default lifespan.
        self.send_agreement_content(rng, peer, category, version, batch)
    }

    /// Receives a support-plan message or an end notice from `peer`: verifies it against the
    /// agreement in force and records it in `standing`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn receive_boundary(
        &self,
        peer: &PeerId,
        agreement: Option<&SignedAgreement>,
        standing: &mut Standing,
        pending: &mut Pending,
        content: &Content,
        plaintext: Zeroizing<Vec<u8>>,
        now: Timestamp,
        batch: &mut WriteBatch,
    ) -> Result<Received> {
        let id = content.id();
        let Some(agreement) = agreement else {
            return Ok(Received::Refused { id, reason: crate::policy::OutOfScopeReason::NoAgreement });
        };
        let terms = agreement.terms();
        let peer_role = self.peer_role();
        if standing.end.is_some() && content.category().kind() != CategoryKind::EndNotice {
            return Ok(Received::Refused { id, reason: crate::policy::OutOfScopeReason::AgreementEnded });
        }
        let for_this =
            |notice: &Notice| notice.agreement_version == agreement.version() && notice.ended_by == peer_role;
        let received = match content.category() {
            Category::EndNotice(notice) => {
                notice.verify(&terms.clinician, &terms.client)?;
                if !for_this(notice.notice()) || notice.notice().plan_number != 0 {
                    return Err(AgreementError::NotForThisAgreement.into());
                }
                if standing.end.is_none() {
                    standing.end = Some(Ended { notice: SignedNotice::clone(notice), at: now });
                }
                Received::AgreementEnded { id, by: peer_role }
            }
            Category::SupportPlan(body) => match body.as_ref() {
                PlanMessage::Plan(signed) => match (self.role, signed.is_countersigned()) {
                    (Role::Client, false) => {
                        signed.verify(&terms.clinician, &terms.client, false)?;
                        check_new_plan(agreement, standing, signed.plan())?;
                        Received::SupportPlanProposed { id, plan: Box::new(signed.plan().clone()) }
                    }
                    (Role::Clinician, true) => {
                        signed.verify(&terms.clinician, &terms.client, true)?;
                        check_new_plan(agreement, standing, signed.plan())?;
                        standing.add_plan(signed.clone());
                        batch.audit(now, AuditEvent::PlanStarted { peer: peer.clone() })?;
                        Received::SupportPlanAccepted { id, plan: Box::new(signed.plan().clone()) }
                    }
                    _ => return Err(EndpointError::UnexpectedAgreement.into()),
                },
                PlanMessage::End(notice) => {
                    notice.verify(&terms.clinician, &terms.client)?;
                    let number = notice.notice().plan_number;
                    let known = standing.plans.iter().any(|p| {
                        p.plan().agreement_version == agreement.version() && p.plan().number == number
                    });
                    if !for_this(notice.notice()) || number == 0 || !known {
                        return Err(AgreementError::NotForThisAgreement.into());
                    }
                    let version = agreement.version();
                    if !standing
                        .ended_plans
                        .iter()
                        .any(|e| e.agreement_version == version && e.number == number)
                    {
                        standing.ended_plans.push(PlanEnded { agreement_version: version, number, at: now });
                        batch.audit(now, AuditEvent::PlanEnded { peer: peer.clone() })?;
                    }
                    Received::SupportPlanEnded { id, number, by: peer_role }
                }
            },
            _ => return Err(EndpointError::UnexpectedAgreement.into()),
        };
        // Kept in the history like agreement messages; the record in `standing` does not depend
        // on it, as it may expire first.
        if let Arrival::Expired =
            self.keep_inbound(peer, pending, content, Lifespan::DEFAULT, plaintext, now, batch)?
        {
            return Ok(Received::Expired { id });
        }
        Self::put_standing(peer, standing, batch);
        Ok(received)
    }

    /// After an ended agreement's retention period, deletes every message of its conversation.
    /// Returns how many were deleted.
    pub(super) fn purge_ended(&self, now: Timestamp) -> Result<usize> {
        let mut batch = WriteBatch::new();
        let mut count = 0usize;
        for record in self.store.peers()? {
            let peer = &record.peer;
            if self.ended_purge_due(peer, now)? {
                for message in self.store.messages(peer)? {
                    batch.delete_message(message.id);
                    count = count.saturating_add(1);
                }
            }
        }
        if count > 0 {
            batch.audit(now, AuditEvent::Purged { messages: u64::try_from(count).unwrap_or(u64::MAX) })?;
            self.store.apply(batch)?;
        }
        Ok(count)
    }

    /// Whether the agreement with `peer` has ended and its agreed retention after the end has
    /// run out by `now`, so that its whole conversation is to be purged.
    pub(super) fn ended_purge_due(&self, peer: &PeerId, now: Timestamp) -> Result<bool> {
        let Some(ended) = self.standing(peer)?.end else { return Ok(false) };
        let Some(agreement) = self.agreement(peer)? else { return Ok(false) };
        Ok(purge_at(agreement.terms().after_end, ended.at).is_some_and(|at| at <= now))
    }
}

/// When the conversation of an agreement ended at `ended_at` is purged as a whole, if ever.
fn purge_at(after_end: AfterEnd, ended_at: Timestamp) -> Option<Timestamp> {
    match after_end {
        AfterEnd::KeepUntilExpiry => None,
        AfterEnd::RetainFor { ms } => Some(ended_at.plus_millis(ms)),
    }
}

/// A plan may list crisis only if the agreement offers crisis support in some form.
fn check_plan_fits(agreement: &SignedAgreement, plan: &SupportPlan) -> Result<()> {
    let lists_crisis = plan.clinician_may_send.contains(&CategoryKind::Crisis)
        || plan.client_may_send.contains(&CategoryKind::Crisis);
    if lists_crisis && agreement.terms().crisis_support == CrisisSupport::None {
        return Err(AgreementError::InvalidTerms("plan crisis").into());
    }
    Ok(())
}

/// A plan received or accepted must fit the agreement in force and be newer than those held.
fn check_new_plan(agreement: &SignedAgreement, standing: &Standing, plan: &SupportPlan) -> Result<()> {
    if plan.agreement_version != agreement.version()
        || plan.number <= standing.last_plan_number(plan.agreement_version)
    {
        return Err(AgreementError::NotForThisAgreement.into());
    }
    check_plan_fits(agreement, plan)
}
