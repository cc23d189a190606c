//! Where an agreement stands on one device: the support plans both signed, the plans ended
//! early, the end of the agreement, and the client messages counted against the caps.
//!
//! Kept by each device for itself (sealed in the store's `boundaries` table, PROTOCOL.md §11),
//! never sent. It is its own record, not derived from messages, because messages expire and are
//! purged sooner than what it remembers.

use prost::Message;

use super::canonical::proto;
use super::{AgreementError, SignedNotice, SignedPlan, SupportPlan};
use crate::clock::Timestamp;
use crate::consts::{CAP_WEEK_MS, MAX_COUNTED_MESSAGES, MAX_STORED_PLANS};

/// A plan ended early, as this device recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanEnded {
    /// The agreement version of the plan.
    pub agreement_version: u32,
    /// The plan's number.
    pub number: u32,
    /// When this device recorded the end (its own clock).
    pub at: Timestamp,
}

/// The end of the agreement, as this device recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    /// The signed end notice (sent or received).
    pub notice: SignedNotice,
    /// When this device sent or received it (its own clock).
    pub at: Timestamp,
}

/// Where the agreement with one peer stands on this device (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Standing {
    /// Support plans both parties signed, by ascending (agreement version, number); at most
    /// [`MAX_STORED_PLANS`].
    pub plans: Vec<SignedPlan>,
    /// Plans ended early.
    pub ended_plans: Vec<PlanEnded>,
    /// The end of the agreement, once a party ended it.
    pub end: Option<Ended>,
    /// When the client messages counted against the caps were sent (on the client's device) or
    /// accepted (on the clinician's), oldest first, within the last week.
    pub counted: Vec<Timestamp>,
}

impl Standing {
    /// The plan of agreement version `version` that runs at `now` and was not ended early; of
    /// several, the one with the greatest number.
    #[must_use]
    pub fn active_plan(&self, version: u32, now: Timestamp) -> Option<&SupportPlan> {
        self.plans
            .iter()
            .map(SignedPlan::plan)
            .filter(|p| p.agreement_version == version && p.runs_at(now))
            .filter(|p| !self.is_ended(p))
            .max_by_key(|p| p.number)
    }

    /// Whether `plan` was ended early.
    #[must_use]
    pub fn is_ended(&self, plan: &SupportPlan) -> bool {
        self.ended_plans
            .iter()
            .any(|e| e.agreement_version == plan.agreement_version && e.number == plan.number)
    }

    /// The greatest plan number held, for agreement version `version` (0 if none).
    #[must_use]
    pub fn last_plan_number(&self, version: u32) -> u32 {
        self.plans
            .iter()
            .map(SignedPlan::plan)
            .filter(|p| p.agreement_version == version)
            .map(|p| p.number)
            .max()
            .unwrap_or(0)
    }

    /// Adds a countersigned plan, dropping the oldest beyond [`MAX_STORED_PLANS`].
    pub fn add_plan(&mut self, plan: SignedPlan) {
        self.plans.push(plan);
        self.plans.sort_by_key(|p| (p.plan().agreement_version, p.plan().number));
        while self.plans.len() > MAX_STORED_PLANS {
            self.plans.remove(0);
        }
        let kept = &self.plans;
        self.ended_plans.retain(|e| {
            kept.iter()
                .any(|p| p.plan().agreement_version == e.agreement_version && p.plan().number == e.number)
        });
    }

    /// How many counted messages fall in the `window_ms` before `now` (a time after `now`, from
    /// a clock that was ahead, counts too).
    #[must_use]
    pub fn count_within(&self, window_ms: u64, now: Timestamp) -> usize {
        let since = now.as_millis().saturating_sub(window_ms);
        self.counted.iter().filter(|t| t.as_millis() > since).count()
    }

    /// When the count in the `window_ms` before the instant drops below `cap` again, given what
    /// is counted at `now`: the time the oldest message that must leave the window leaves it.
    #[must_use]
    pub fn opens_at(&self, cap: u32, window_ms: u64, now: Timestamp) -> Timestamp {
        let since = now.as_millis().saturating_sub(window_ms);
        let mut inside: Vec<Timestamp> =
            self.counted.iter().copied().filter(|t| t.as_millis() > since).collect();
        inside.sort();
        let cap = usize::try_from(cap).unwrap_or(usize::MAX);
        // To send one more, at most cap - 1 may remain inside: the (len - cap)-th oldest must leave.
        let leaving = inside.len().checked_sub(cap).and_then(|i| inside.get(i));
        leaving.map_or(now, |t| t.plus_millis(window_ms).max(now))
    }

    /// Counts a client message at `now`, forgetting those older than a week.
    pub fn count(&mut self, now: Timestamp) {
        let since = now.as_millis().saturating_sub(CAP_WEEK_MS);
        self.counted.retain(|t| t.as_millis() > since);
        self.counted.push(now);
        self.counted.sort();
        let excess = self.counted.len().saturating_sub(MAX_COUNTED_MESSAGES);
        self.counted.drain(..excess);
    }

    /// The stored form (protobuf `Standing`).
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        proto::Standing {
            plans: self.plans.iter().map(SignedPlan::to_bytes).collect(),
            ended_plans: self
                .ended_plans
                .iter()
                .map(|e| proto::PlanEnded {
                    agreement_version: e.agreement_version,
                    number: e.number,
                    at_ms: e.at.as_millis(),
                })
                .collect(),
            end_notice: self.end.as_ref().map(|e| e.notice.to_bytes()).unwrap_or_default(),
            ended_at_ms: self.end.as_ref().map_or(0, |e| e.at.as_millis()),
            counted_ms: self.counted.iter().map(|t| t.as_millis()).collect(),
        }
        .encode_to_vec()
    }

    /// Reads the stored form.
    ///
    /// # Errors
    /// [`AgreementError::Malformed`] or [`AgreementError::TooLarge`] if it does not decode or
    /// exceeds the bounds; the errors of [`SignedPlan::from_bytes`] and
    /// [`SignedNotice::from_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AgreementError> {
        let m = proto::Standing::decode(bytes).map_err(|_| AgreementError::Malformed)?;
        if m.plans.len() > MAX_STORED_PLANS
            || m.ended_plans.len() > MAX_STORED_PLANS
            || m.counted_ms.len() > MAX_COUNTED_MESSAGES
        {
            return Err(AgreementError::TooLarge);
        }
        let plans = m.plans.iter().map(|p| SignedPlan::from_bytes(p)).collect::<Result<Vec<_>, _>>()?;
        let end = match m.end_notice.as_slice() {
            [] => None,
            raw => Some(Ended { notice: SignedNotice::from_bytes(raw)?, at: Timestamp(m.ended_at_ms) }),
        };
        Ok(Self {
            plans,
            ended_plans: m
                .ended_plans
                .iter()
                .map(|e| PlanEnded {
                    agreement_version: e.agreement_version,
                    number: e.number,
                    at: Timestamp(e.at_ms),
                })
                .collect(),
            end,
            counted: m.counted_ms.into_iter().map(Timestamp).collect(),
        })
    }
}
