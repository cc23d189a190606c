//! Support plans: time-boxed extra support between sessions, agreed case by case.
//!
//! The clinician proposes a [`SupportPlan`] and signs `PLAN_CLINICIAN_LABEL || canonical plan`;
//! the client countersigns `PLAN_CLIENT_LABEL || canonical plan`. A plan is bound to one agreement
//! version and lapses at its end by itself (a pure function of the clock); either party may end it
//! sooner with a [`SignedNotice`]. Renewing is a new plan with a greater number.

use prost::Message;

use super::canonical::{decode_canonical, proto};
use super::notice::{signed_message, SignedNotice};
use super::{AgreementError, Role};
use crate::category::CategoryKind;
use crate::clock::Timestamp;
use crate::consts::{
    MAX_CONTACT_LEN, MAX_PLAN_LEN, MAX_PLAN_MS, MAX_RESPONSE_TIME_LEN, PLAN_CLIENT_LABEL,
    PLAN_CLINICIAN_LABEL,
};
use crate::keys::{IdentityKey, IdentityKeyPair, Signature};

/// The terms of one support plan.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SupportPlan {
    /// The version of the agreement the plan belongs to; a new agreement version ends it.
    pub agreement_version: u32,
    /// The plan's number: at least 1, greater than that of every plan before it.
    pub number: u32,
    /// The clinician's identity key.
    pub clinician: IdentityKey,
    /// The client's identity key.
    pub client: IdentityKey,
    /// When the plan starts.
    pub start: Timestamp,
    /// When it lapses: after `start`, at most [`MAX_PLAN_MS`] later.
    pub end: Timestamp,
    /// The expected response time during the plan, e.g. "within 4 hours, 8:00 to 22:00".
    pub response_time: String,
    /// What the clinician may send during the plan besides the base terms (kinds of
    /// [`CategoryKind::PLAN`]).
    pub clinician_may_send: Vec<CategoryKind>,
    /// What the client may send during the plan besides the base terms (kinds of
    /// [`CategoryKind::PLAN`] except coping guidance).
    pub client_may_send: Vec<CategoryKind>,
    /// The colleague the clinician consulted, or empty; at most [`MAX_CONTACT_LEN`] bytes.
    pub colleague_consulted: String,
}

impl SupportPlan {
    /// Checks every rule and puts the category lists in ascending order.
    ///
    /// # Errors
    /// [`AgreementError::InvalidTerms`] naming the first field that breaks a rule.
    pub fn validate(&mut self) -> Result<(), AgreementError> {
        if self.agreement_version == 0 || self.number == 0 {
            return Err(AgreementError::InvalidTerms("plan number"));
        }
        if self.clinician.ct_eq(&self.client) {
            return Err(AgreementError::SameIdentity);
        }
        let length = self.end.as_millis().checked_sub(self.start.as_millis());
        if !length.is_some_and(|ms| ms > 0 && ms <= MAX_PLAN_MS) {
            return Err(AgreementError::InvalidTerms("plan period"));
        }
        if self.response_time.is_empty() || self.response_time.len() > MAX_RESPONSE_TIME_LEN {
            return Err(AgreementError::InvalidTerms("plan response time"));
        }
        if self.colleague_consulted.len() > MAX_CONTACT_LEN {
            return Err(AgreementError::InvalidTerms("colleague consulted"));
        }
        normalize(&mut self.clinician_may_send, "plan clinician categories")?;
        normalize(&mut self.client_may_send, "plan client categories")?;
        if self.client_may_send.contains(&CategoryKind::CopingGuidance) {
            return Err(AgreementError::InvalidTerms("plan client categories"));
        }
        Ok(())
    }

    /// Whether the plan runs at `now`: `start <= now < end` (ending early is recorded apart).
    #[must_use]
    pub fn runs_at(&self, now: Timestamp) -> bool {
        self.start <= now && now < self.end
    }

    /// The kinds `role` may send during the plan.
    #[must_use]
    pub fn may_send(&self, role: Role) -> &[CategoryKind] {
        match role {
            Role::Clinician => &self.clinician_may_send,
            Role::Client => &self.client_may_send,
        }
    }

    fn encode(&self) -> Vec<u8> {
        let kinds = |list: &[CategoryKind]| list.iter().map(|kind| kind.to_wire()).collect();
        proto::SupportPlan {
            agreement_version: self.agreement_version,
            number: self.number,
            clinician_identity: self.clinician.to_bytes().to_vec(),
            client_identity: self.client.to_bytes().to_vec(),
            start_ms: self.start.as_millis(),
            end_ms: self.end.as_millis(),
            response_time: self.response_time.clone(),
            clinician_may_send: kinds(&self.clinician_may_send),
            client_may_send: kinds(&self.client_may_send),
            colleague_consulted: self.colleague_consulted.clone(),
        }
        .encode_to_vec()
    }

    fn decode(bytes: &[u8]) -> Result<Self, AgreementError> {
        let m = proto::SupportPlan::decode(bytes).map_err(|_| AgreementError::Malformed)?;
        let identity =
            |raw: &[u8], field| IdentityKey::from_slice(raw).map_err(|_| AgreementError::InvalidTerms(field));
        let kinds = |raw: &[i32]| {
            raw.iter()
                .map(|&n| CategoryKind::from_wire(n).ok_or(AgreementError::InvalidTerms("plan categories")))
                .collect::<Result<Vec<_>, _>>()
        };
        let mut plan = Self {
            agreement_version: m.agreement_version,
            number: m.number,
            clinician: identity(&m.clinician_identity, "clinician identity")?,
            client: identity(&m.client_identity, "client identity")?,
            start: Timestamp(m.start_ms),
            end: Timestamp(m.end_ms),
            response_time: m.response_time,
            clinician_may_send: kinds(&m.clinician_may_send)?,
            client_may_send: kinds(&m.client_may_send)?,
            colleague_consulted: m.colleague_consulted,
        };
        plan.validate()?;
        if plan.encode() != bytes {
            return Err(AgreementError::NonCanonical);
        }
        Ok(plan)
    }
}

fn normalize(kinds: &mut Vec<CategoryKind>, field: &'static str) -> Result<(), AgreementError> {
    if kinds.iter().any(|kind| !CategoryKind::PLAN.contains(kind)) {
        return Err(AgreementError::InvalidTerms(field));
    }
    kinds.sort();
    let before = kinds.len();
    kinds.dedup();
    if kinds.len() != before {
        return Err(AgreementError::InvalidTerms(field));
    }
    Ok(())
}

/// A support plan with the clinician's signature and, once accepted, the client's. Read from
/// bytes, its signatures are unchecked until [`SignedPlan::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedPlan {
    plan: SupportPlan,
    canonical: Vec<u8>,
    clinician_signature: Signature,
    client_signature: Option<Signature>,
}

impl SignedPlan {
    /// The clinician proposes `plan`, signing it.
    ///
    /// # Errors
    /// [`AgreementError::InvalidTerms`] if the plan breaks a rule;
    /// [`AgreementError::WrongSigner`] if `clinician` is not the clinician it names.
    pub fn propose(mut plan: SupportPlan, clinician: &IdentityKeyPair) -> Result<Self, AgreementError> {
        plan.validate()?;
        if !clinician.public_key().ct_eq(&plan.clinician) {
            return Err(AgreementError::WrongSigner(Role::Clinician));
        }
        let canonical = plan.encode();
        let clinician_signature = clinician.sign(&signed_message(PLAN_CLINICIAN_LABEL, &canonical));
        Ok(Self { plan, canonical, clinician_signature, client_signature: None })
    }

    /// The client countersigns the plan (after [`SignedPlan::verify`]).
    ///
    /// # Errors
    /// [`AgreementError::WrongSigner`] if `client` is not the client the plan names;
    /// [`AgreementError::AlreadyCountersigned`].
    pub fn accept(mut self, client: &IdentityKeyPair) -> Result<Self, AgreementError> {
        if !client.public_key().ct_eq(&self.plan.client) {
            return Err(AgreementError::WrongSigner(Role::Client));
        }
        if self.client_signature.is_some() {
            return Err(AgreementError::AlreadyCountersigned);
        }
        self.client_signature = Some(client.sign(&signed_message(PLAN_CLIENT_LABEL, &self.canonical)));
        Ok(self)
    }

    /// Checks the parties and the signatures: the clinician's always, the client's if
    /// `countersigned` is required.
    ///
    /// # Errors
    /// [`AgreementError::WrongSigner`], [`AgreementError::BadSignature`] or
    /// [`AgreementError::HalfSigned`].
    pub fn verify(
        &self,
        clinician: &IdentityKey,
        client: &IdentityKey,
        countersigned: bool,
    ) -> Result<(), AgreementError> {
        if !self.plan.clinician.ct_eq(clinician) {
            return Err(AgreementError::WrongSigner(Role::Clinician));
        }
        if !self.plan.client.ct_eq(client) {
            return Err(AgreementError::WrongSigner(Role::Client));
        }
        if !clinician
            .verify(&signed_message(PLAN_CLINICIAN_LABEL, &self.canonical), &self.clinician_signature)
        {
            return Err(AgreementError::BadSignature(Role::Clinician));
        }
        match (&self.client_signature, countersigned) {
            (None, true) => Err(AgreementError::HalfSigned),
            (Some(_), false) => Err(AgreementError::AlreadyCountersigned),
            (Some(signature), true)
                if !client.verify(&signed_message(PLAN_CLIENT_LABEL, &self.canonical), signature) =>
            {
                Err(AgreementError::BadSignature(Role::Client))
            }
            _ => Ok(()),
        }
    }

    /// The plan.
    #[must_use]
    pub fn plan(&self) -> &SupportPlan {
        &self.plan
    }

    /// Whether the client's signature is present (not whether it is valid).
    #[must_use]
    pub fn is_countersigned(&self) -> bool {
        self.client_signature.is_some()
    }

    pub(super) fn to_proto(&self) -> proto::SignedSupportPlan {
        proto::SignedSupportPlan {
            plan: self.canonical.clone(),
            clinician_signature: self.clinician_signature.to_bytes().to_vec(),
            client_signature: self.client_signature.map(|s| s.to_bytes().to_vec()).unwrap_or_default(),
        }
    }

    pub(super) fn from_proto(m: &proto::SignedSupportPlan) -> Result<Self, AgreementError> {
        let plan = SupportPlan::decode(&m.plan)?;
        let clinician_signature =
            Signature::from_slice(&m.clinician_signature).map_err(|_| AgreementError::Unsigned)?;
        let client_signature = match m.client_signature.as_slice() {
            [] => None,
            raw => Some(Signature::from_slice(raw).map_err(|_| AgreementError::Malformed)?),
        };
        Ok(Self { plan, canonical: m.plan.clone(), clinician_signature, client_signature })
    }

    /// The bytes to store (protobuf `SignedSupportPlan`).
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_proto().encode_to_vec()
    }

    /// Reads stored bytes: length, protobuf, canonical plan. Signatures are not checked.
    ///
    /// # Errors
    /// [`AgreementError::TooLarge`], [`AgreementError::Malformed`],
    /// [`AgreementError::NonCanonical`] or [`AgreementError::InvalidTerms`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AgreementError> {
        Self::from_proto(&decode_canonical::<proto::SignedSupportPlan>(bytes, MAX_PLAN_LEN)?)
    }
}

/// The body of a support-plan message: a plan (proposed or accepted), or a plan ended early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanMessage {
    /// A plan the clinician proposes (half signed) or the client accepts (countersigned).
    Plan(SignedPlan),
    /// A notice ending a plan early.
    End(SignedNotice),
}

impl PlanMessage {
    /// The bytes carried in message content (protobuf `PlanMessage`).
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let body = match self {
            Self::Plan(plan) => proto::plan_message::Body::Plan(plan.to_proto()),
            Self::End(notice) => proto::plan_message::Body::End(notice.to_proto()),
        };
        proto::PlanMessage { body: Some(body) }.encode_to_vec()
    }

    /// Reads a plan message; signatures are not checked.
    ///
    /// # Errors
    /// As [`SignedPlan::from_bytes`] and [`SignedNotice::from_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AgreementError> {
        let m = decode_canonical::<proto::PlanMessage>(bytes, MAX_PLAN_LEN)?;
        match &m.body {
            Some(proto::plan_message::Body::Plan(plan)) => SignedPlan::from_proto(plan).map(Self::Plan),
            Some(proto::plan_message::Body::End(notice)) => SignedNotice::from_proto(notice).map(Self::End),
            None => Err(AgreementError::Malformed),
        }
    }
}

impl serde::Serialize for PlanMessage {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.to_bytes())
    }
}

impl<'de> serde::Deserialize<'de> for PlanMessage {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let bytes: Vec<u8> = serde::Deserialize::deserialize(deserializer)?;
        Self::from_bytes(&bytes).map_err(serde::de::Error::custom)
    }
}
