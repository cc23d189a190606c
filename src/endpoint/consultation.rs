//! Consultation with a colleague: two clinicians sign simple colleague terms, and one shares an
//! excerpt of a client conversation with the other, identified or de-identified, only as the
//! client's signed record terms permit; the client is told if their terms say so
//! (PROTOCOL.md, section 15.5).

use zeroize::Zeroizing;

use super::error::Result;
use super::pending::Pending;
use super::types::{Received, ReceivedMessage};
use super::{Endpoint, EndpointError};
use crate::agreement::{ColleagueTerms, Consultation, SignedColleagueTerms, UnverifiedAgreement};
use crate::clock::{Clock, Timestamp};
use crate::content::{Category, ConsultationNotice, Content, Excerpt, ExcerptMessage, MessageId};
use crate::expiry::Arrival;
use crate::expiry::{ExpiryStart, Lifespan};
use crate::keys::{IdentityKey, Signature};
use crate::policy::Decision;
use crate::records::{ConsultationShare, Selection, NOTICE_TEXT};
use crate::role::Role;
use crate::store::{AuditEvent, PeerId, Store, StoreError, WriteBatch};

impl<S: Store, C: Clock> Endpoint<S, C> {
    /// Colleague terms between this clinician and `colleague` (whose identity is known from a
    /// session), for both to sign.
    ///
    /// # Errors
    /// [`EndpointError::WrongRole`] on a client's device; [`StoreError::UnknownPeer`] without a
    /// session with `colleague`; [`crate::agreement::AgreementError`] for invalid terms.
    pub fn colleague_terms(&self, colleague: &PeerId, excerpt_lifespan_ms: u64) -> Result<ColleagueTerms> {
        if self.role != Role::Clinician {
            return Err(EndpointError::WrongRole.into());
        }
        let record = self.store.peer(colleague)?.ok_or(StoreError::UnknownPeer)?;
        Ok(ColleagueTerms::new(1, self.identity.public_key(), record.identity, excerpt_lifespan_ms)?)
    }

    /// This clinician's signature over `terms`, to give to the colleague (in person, or over any
    /// channel: the signature holds nothing secret).
    ///
    /// # Errors
    /// [`EndpointError::WrongRole`] on a client's device; an agreement error if this device is
    /// not one of the two.
    pub fn sign_colleague_terms(&self, terms: &ColleagueTerms) -> Result<Vec<u8>> {
        if self.role != Role::Clinician {
            return Err(EndpointError::WrongRole.into());
        }
        self.require_primary()?;
        Ok(terms.sign(&self.identity)?.to_bytes().to_vec())
    }

    /// Puts the colleague relation with `colleague` in force: checks their signature over
    /// `terms` with their identity key (the one this device knows for them from a session, or,
    /// before any session, the one the terms name: compare the terms in person then), signs,
    /// and saves the terms with both signatures.
    ///
    /// # Errors
    /// [`EndpointError::WrongRole`] on a client's device; [`StoreError::UnknownPeer`] without a
    /// session; an agreement error if the terms do not name both, or the signature does not
    /// verify.
    pub fn accept_colleague(
        &self,
        colleague: &PeerId,
        terms: &ColleagueTerms,
        signature: &[u8],
    ) -> Result<()> {
        if self.role != Role::Clinician {
            return Err(EndpointError::WrongRole.into());
        }
        let me = self.identity.public_key();
        let theirs = if terms.first.ct_eq(&me) { terms.second } else { terms.first };
        let known = self.store.peer(colleague)?.map(|record| record.identity);
        if !terms.names(&me) || known.is_some_and(|key| !key.ct_eq(&theirs)) {
            return Err(crate::agreement::AgreementError::WrongSigner(Role::Clinician).into());
        }
        let theirs =
            Signature::from_slice(signature).map_err(|_| crate::agreement::AgreementError::Malformed)?;
        self.require_primary()?;
        let signed = SignedColleagueTerms::new(*terms, &me, terms.sign(&self.identity)?, theirs)?;
        let mut batch = WriteBatch::new();
        batch.put_colleague(colleague, &signed.to_bytes())?;
        Ok(self.store.apply(batch)?)
    }

    /// The colleague terms in force with `colleague`, verified, and the colleague's identity
    /// key as they name it.
    fn colleague(&self, colleague: &PeerId) -> Result<(SignedColleagueTerms, IdentityKey)> {
        let bytes = self.store.colleague(colleague)?.ok_or(EndpointError::NoColleague)?;
        let me = self.identity.public_key();
        let signed =
            SignedColleagueTerms::from_bytes(&bytes, &me, &me).map_err(|_| EndpointError::NoColleague)?;
        let terms = signed.terms();
        let theirs = if terms.first.ct_eq(&me) { terms.second } else { terms.first };
        Ok((signed, theirs))
    }

    /// Shares the messages `ids` of the conversation with `client` with `colleague`, identified
    /// or not, if the client's signed record terms permit that kind of consultation, and records
    /// the share in the audit trail. The excerpt lives on the colleague's device for the
    /// colleague terms' excerpt lifespan. A de-identified excerpt holds no peer id, name or
    /// identity key of the client: only the messages' texts, categories, times and ids, and who
    /// of the two sent each. If the terms ask for it, a notice for the client is returned too.
    ///
    /// # Errors
    /// [`EndpointError::WrongRole`] on a client's device; [`EndpointError::NoColleague`] without
    /// signed colleague terms; [`EndpointError::NoAgreement`] without an agreement with
    /// `client`; [`EndpointError::ConsultationNotPermitted`] if the client's terms do not permit
    /// it; [`StoreError::UnknownMessage`] for a message that is not in the conversation or has
    /// expired; a session or store error. Then nothing was shared or recorded.
    pub fn share_excerpt(
        &self,
        colleague: &PeerId,
        client: &PeerId,
        ids: &[MessageId],
        identified: bool,
    ) -> Result<ConsultationShare> {
        if self.role != Role::Clinician {
            return Err(EndpointError::WrongRole.into());
        }
        let (colleague_terms, theirs) = self.colleague(colleague)?;
        let known = self.store.peer(colleague)?.ok_or(EndpointError::NoSession)?;
        if !known.identity.ct_eq(&theirs) {
            return Err(EndpointError::NoColleague.into());
        }
        let agreement = self.agreement(client)?.ok_or(EndpointError::NoAgreement)?;
        let records = agreement.terms().records;
        if !records.consultation.permits(identified) {
            return Err(EndpointError::ConsultationNotPermitted.into());
        }
        let now = self.clock.now();
        let messages = self
            .record_messages(client, &Selection::Messages(ids.to_vec()))?
            .into_iter()
            .map(|m| ExcerptMessage {
                id: m.id,
                from_client: m.sender.role == Role::Client,
                sent_at: m.sent_at,
                category: m.category,
                text: m.text,
            })
            .collect();
        let excerpt = Excerpt {
            identified,
            client: identified.then(|| client.as_str().to_owned()),
            agreement: identified.then(|| agreement.to_bytes()),
            permitted: records.consultation,
            shared_at: now,
            messages,
        };
        let lifespan = Lifespan::new(colleague_terms.terms().excerpt_lifespan_ms, ExpiryStart::FromSend)?;
        let version = colleague_terms.terms().version;
        let (envelope, id) = self.with_peer(colleague, |rng| {
            let sessions = self.sessions(colleague)?.ok_or(EndpointError::NoSession)?;
            let id = MessageId::random(rng);
            let content = Content::new(
                id,
                Category::Consultation(Box::new(excerpt)),
                String::new(),
                now,
                lifespan,
                version,
            )?;
            let mut batch = WriteBatch::new();
            let event = AuditEvent::ConsultationShared {
                colleague: colleague.clone(),
                client: client.clone(),
                identified,
                messages: ids.to_vec(),
            };
            batch.audit(now, event)?;
            Ok((self.send_sealed(rng, colleague, sessions, &content, true, batch)?, id))
        })?;
        let notice = if records.notify_client_of_consultation {
            Some(self.send_notice(client, ids, identified, agreement.version(), now)?)
        } else {
            None
        };
        Ok(ConsultationShare { envelope, notice, id })
    }

    fn send_notice(
        &self,
        client: &PeerId,
        ids: &[MessageId],
        identified: bool,
        version: u32,
        now: Timestamp,
    ) -> Result<Vec<u8>> {
        self.with_peer(client, |rng| {
            let sessions = self.sessions(client)?.ok_or(EndpointError::NoSession)?;
            let notice = ConsultationNotice { identified, messages: ids.to_vec() };
            let content = Content::new(
                MessageId::random(rng),
                Category::ConsultationNotice(notice),
                NOTICE_TEXT.to_owned(),
                now,
                Lifespan::DEFAULT,
                version,
            )?;
            self.send_sealed(rng, client, sessions, &content, true, WriteBatch::new())
        })
    }

    /// Checks a received excerpt: this device is a clinician with signed colleague terms with
    /// the sender, and the excerpt proves the client's consent for its kind (an identified one
    /// carries the agreement the sender signed with the client, which must permit it).
    pub(super) fn check_excerpt(
        &self,
        peer: &PeerId,
        sender: &IdentityKey,
        excerpt: &Excerpt,
    ) -> Result<Lifespan> {
        if self.role != Role::Clinician {
            return Err(EndpointError::ConsultationNotPermitted.into());
        }
        let (terms, theirs) = self.colleague(peer)?;
        if !theirs.ct_eq(sender) {
            return Err(EndpointError::NoColleague.into());
        }
        if !excerpt.permitted.permits(excerpt.identified) {
            return Err(EndpointError::ConsultationNotPermitted.into());
        }
        if excerpt.identified {
            let bytes = excerpt.agreement.as_deref().ok_or(EndpointError::ConsultationNotPermitted)?;
            let unverified = UnverifiedAgreement::from_bytes(bytes)?;
            let client = unverified.terms().client;
            let signed = unverified.verify_signed(sender, &client)?;
            let consent = signed.terms().records.consultation;
            if consent != Consultation::Identified || consent != excerpt.permitted {
                return Err(EndpointError::ConsultationNotPermitted.into());
            }
        }
        Ok(Lifespan::new(terms.terms().excerpt_lifespan_ms, ExpiryStart::FromSend)?)
    }

    /// Receives an excerpt from colleague `peer` that [`Self::check_excerpt`] admitted: kept for
    /// the colleague terms' lifespan at most, as any message.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn receive_excerpt(
        &self,
        peer: &PeerId,
        pending: &mut Pending,
        content: &Content,
        agreed: Lifespan,
        plaintext: Zeroizing<Vec<u8>>,
        now: Timestamp,
        batch: &mut WriteBatch,
    ) -> Result<Received> {
        let id = content.id();
        let Arrival::Keep { expires_at } =
            self.keep_inbound(peer, pending, content, agreed, plaintext, now, batch)?
        else {
            return Ok(Received::Expired { id });
        };
        Ok(Received::Message(ReceivedMessage {
            id,
            category: content.category().clone(),
            text: Zeroizing::new(String::new()),
            sent_at: content.sent_at(),
            received_at: now,
            expires_at,
            reply_to: content.reply_to(),
            decision: Decision::Allowed,
        }))
    }
}
