//! The communication agreement between a clinician and a client.
//!
//! The agreement records what the two agreed before texting: which categories each side may
//! send, when the clinician is available and how soon they reply, which crisis resources the
//! client is shown, how long messages live, and how long messages may be. The clinician proposes
//! terms and signs them ([`ProposedAgreement::propose`]); the client verifies that signature and
//! countersigns ([`ProposedAgreement::accept`]), giving the [`SignedAgreement`] in force. Neither
//! can change it alone: a renegotiation is a new version, greater than the one it replaces, that
//! both sign again.

mod canonical;
mod closures;
mod colleague;
mod notice;
mod plan;
mod records;
mod schedule;
mod signed;
mod standing;
mod terms;

pub use crate::role::Role;
pub use closures::{Closure, LocalDate};
pub use colleague::{ColleagueTerms, SignedColleagueTerms, COLLEAGUE_TERMS_LABEL};
pub use notice::{Notice, SignedNotice};
pub use plan::{PlanMessage, SignedPlan, SupportPlan};
pub use records::{Consultation, RecordTerms, MAX_RECORD_RETENTION_MS};
pub use schedule::{Availability, Weekday, Window, MINUTES_PER_DAY};
pub use signed::{ProposedAgreement, SignedAgreement, UnverifiedAgreement};
pub use standing::{Ended, PlanEnded, Standing};
pub use terms::{AfterEnd, AgreementTerms, CrisisSupport, TermTexts};

/// Why an agreement was refused. Nothing was signed or changed.
#[derive(Debug, thiserror::Error, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AgreementError {
    /// The bytes are longer than [`crate::consts::MAX_AGREEMENT_LEN`].
    #[error("agreement is larger than the limit")]
    TooLarge,
    /// The leading version byte names a format this library does not know.
    #[error("unsupported agreement format version {0}")]
    UnsupportedVersion(u8),
    /// The bytes are empty or not a well-formed agreement message.
    #[error("malformed agreement")]
    Malformed,
    /// The bytes decode, but are not the one canonical encoding of what they hold.
    #[error("agreement is not canonically encoded")]
    NonCanonical,
    /// A term breaks a rule; the field is named.
    #[error("invalid agreement term: {0}")]
    InvalidTerms(&'static str),
    /// The clinician and the client are the same identity.
    #[error("clinician and client are the same identity")]
    SameIdentity,
    /// The clinician has not signed the terms.
    #[error("agreement is unsigned")]
    Unsigned,
    /// The client has not countersigned, where a full agreement is required.
    #[error("agreement is signed by the clinician only")]
    HalfSigned,
    /// A proposal was expected, but the client's countersignature is already present.
    #[error("agreement is already countersigned")]
    AlreadyCountersigned,
    /// The signature of this party does not verify over the terms: they were altered, or someone
    /// else signed.
    #[error("{0:?} signature does not verify")]
    BadSignature(Role),
    /// The terms name another identity for this party than the one expected, or the key signing
    /// for this party is not the one the terms name.
    #[error("{0:?} identity is not the expected one")]
    WrongSigner(Role),
    /// A renegotiated agreement names other parties than the agreement it would replace.
    #[error("renegotiated agreement names other parties")]
    PartiesChanged,
    /// A support plan or notice is not for the agreement in force (another version, other
    /// parties), or a plan's number is not greater than that of a plan already held.
    #[error("support plan or notice does not fit the agreement in force")]
    NotForThisAgreement,
    /// The version is not greater than that of the agreement in force (or, for a new proposal
    /// from an endpoint, than that of an earlier proposal that has not expired).
    #[error("agreement version {offered} is not newer than version {current}")]
    Stale {
        /// Version of the agreement in force (or of the earlier proposal).
        current: u32,
        /// Version of the refused agreement.
        offered: u32,
    },
}

#[cfg(test)]
mod tests;
