//! The one error every binding throws: [`ConfidantError`], a base class in each language whose
//! cases an app can match.
//!
//! Each case groups the library's errors ([`confidant::Error`] and the layer errors under it) by
//! what the app does about them. The `reason` strings are the library's own messages: they name a
//! field or a cause, never plaintext or key bytes. A message refused by the agreement is not an
//! error: [`crate::Endpoint::send`] returns it as a [`crate::Decision`].

use confidant::agreement::AgreementError;
use confidant::session::SessionError;
use confidant::store::StoreError;
use confidant::EndpointError;

/// Why a call failed. In Python, Kotlin and Swift, `ConfidantError` is the base class (or
/// protocol) of one exception per case below, for example `confidant.ConfidantError.WrongPassphrase`
/// in Python. After any error, the store and the sessions are exactly as they were before the
/// call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[non_exhaustive]
pub enum ConfidantError {
    /// The passphrase or key does not open this store file. Nothing was changed.
    #[error("wrong passphrase or key")]
    WrongPassphrase,
    /// The store file belongs to another role or local id than the ones given to open it.
    #[error("the store belongs to another role or local id")]
    OwnerMismatch,
    /// The store file cannot be used: it is not a confidant store, is damaged or truncated, was
    /// written by a newer version, is locked, or the file system failed. `reason` says which.
    #[error("store: {reason}")]
    Store {
        /// The library's description of the failure.
        reason: String,
    },
    /// An argument is out of range or malformed: an empty or too long peer id or local id, a
    /// message id that is not 16 bytes, a key that is not 32 bytes. `reason` names it.
    #[error("invalid input: {reason}")]
    InvalidInput {
        /// Which argument, and why.
        reason: String,
    },
    /// Bytes from outside (an envelope or a prekey bundle) do not decode: garbage, truncated,
    /// too large, or of an unknown version.
    #[error("malformed bytes: {reason}")]
    Malformed {
        /// The library's description of the failure.
        reason: String,
    },
    /// A key agreement could not be completed: a prekey bundle with a bad signature or key, or a
    /// first message naming other prekeys.
    #[error("handshake failed: {reason}")]
    HandshakeFailed {
        /// The library's description of the failure.
        reason: String,
    },
    /// An envelope did not authenticate: it was forged, tampered with, or not meant for this
    /// session. The session did not change.
    #[error("decryption failed")]
    DecryptionFailed,
    /// The envelope was already received (a replay), or its message id is already stored.
    #[error("duplicate or replayed message")]
    Duplicate,
    /// A session could not encrypt or decrypt for another reason (too many skipped messages, a
    /// counter exhausted, a message the session cannot receive yet). `reason` says which.
    #[error("session: {reason}")]
    Session {
        /// The library's description of the failure.
        reason: String,
    },
    /// There is no session with this peer: start one from the peer's prekey bundle.
    #[error("no session with this peer")]
    NoSession,
    /// The peer's first message names a prekey this device does not hold (already used, or never
    /// published).
    #[error("the message names an unknown prekey")]
    UnknownPrekey,
    /// The peer presented another identity key than the one trusted for it.
    #[error("the peer's identity key changed")]
    IdentityChanged,
    /// The store knows no such peer (for example, a safety number before any session).
    #[error("unknown peer")]
    UnknownPeer,
    /// The store holds no such message from this peer.
    #[error("unknown message")]
    UnknownMessage,
    /// The message has expired and cannot be marked as read.
    #[error("the message has expired")]
    MessageExpired,
    /// No agreement is in force with this peer, and the operation needs one.
    #[error("no agreement in force with this peer")]
    NoAgreement,
    /// The operation belongs to the other role (for example, a client proposing an agreement).
    #[error("this operation is for the other role")]
    WrongRole,
    /// The message named is not an open agreement proposal: not a proposal, expired, withdrawn,
    /// or superseded by a newer one. `reason` says which.
    #[error("not an open agreement proposal: {reason}")]
    ProposalNotOpen {
        /// The library's description of the failure.
        reason: String,
    },
    /// Agreement terms or an agreement message were refused: an invalid term (an unknown time
    /// zone, no crisis resource, a lifespan out of range, …), a signature that does not verify,
    /// or a version that does not replace the agreement in force. `reason` says which.
    #[error("agreement refused: {reason}")]
    AgreementRefused {
        /// The library's description of the failure.
        reason: String,
    },
    /// Message content was refused: a draft of a category only the library itself sends, a text
    /// too long, or authentic content that does not decode.
    #[error("content refused: {reason}")]
    InvalidContent {
        /// The library's description of the failure.
        reason: String,
    },
    /// A device list or a step of linking a device was refused: a list that does not verify, is
    /// signed by another person or is not newer than the stored one; a link code, request or
    /// answer that does not verify; an offer expired or used; no link in progress; a device that
    /// cannot be linked. `reason` says which. Nothing changed.
    #[error("device refused: {reason}")]
    DeviceRefused {
        /// The library's description of the failure.
        reason: String,
    },
    /// Only the person's primary device can do this (sign an agreement, a plan, a device list;
    /// link a device).
    #[error("only the primary device can do this")]
    NotPrimary,
    /// The envelope comes from a device the person's device list, as stored here, does not name:
    /// fetch the person's newer list first.
    #[error("unknown device")]
    UnknownDevice,
    /// A repair request that does not verify: a bad signature, a bundle that is not the
    /// requester's, a request meant for another device, or a time too far ahead. Nothing
    /// changed.
    #[error("invalid repair request")]
    InvalidRepairRequest,
    /// A repair request came too soon after the last repair with this peer, or is not newer than
    /// the last one accepted (a replay). Nothing changed; a later request can succeed.
    #[error("repair refused: too soon after the last one")]
    RepairTooSoon,
    /// The operating system's random generator failed; nothing was sent or saved, and the call
    /// can be tried again.
    #[error("the operating system's random generator failed")]
    Randomness,
    /// The library returned an error or a value these bindings do not know (a newer library
    /// under older bindings): a bug in the bindings, never caused by input.
    #[error("internal: {reason}")]
    Internal {
        /// What was not known.
        reason: String,
    },
}

#[uniffi::export]
impl ConfidantError {
    /// Whether this error, thrown by [`crate::Endpoint::receive`] (or an item of
    /// [`crate::Endpoint::receive_batch`]), means that this device has no session the message
    /// belongs to ([`Self::NoSession`], [`Self::UnknownPrekey`]) or the message does not decrypt
    /// on the sessions it has ([`Self::DecryptionFailed`], for example after the store was
    /// restored from an older copy): then send the peer a
    /// [`crate::Endpoint::repair_request`]. A forged envelope gives the same errors; the peer's
    /// rate limit on repairs bounds what a relay can cause this way. For errors of other calls
    /// the answer means nothing. (It is `confidant::Error::suggests_repair`, except that a prekey
    /// used up by another receive at the same moment, which the library reports as a store
    /// error, is [`Self::UnknownPrekey`] here too and suggests a repair as well.)
    ///
    /// In Python `error.suggests_repair()`, in Kotlin `error.suggestsRepair()`, in Swift
    /// `error.suggestsRepair()`.
    pub fn suggests_repair(&self) -> bool {
        matches!(self, Self::NoSession | Self::UnknownPrekey | Self::DecryptionFailed)
    }
}

impl ConfidantError {
    /// An [`ConfidantError::InvalidInput`] naming `reason`.
    pub(crate) fn invalid(reason: &str) -> Self {
        Self::InvalidInput { reason: reason.to_owned() }
    }
}

impl From<confidant::Error> for ConfidantError {
    fn from(error: confidant::Error) -> Self {
        use confidant::Error as E;
        match error {
            E::Decode(error) => Self::Malformed { reason: error.to_string() },
            E::Handshake(error) => Self::HandshakeFailed { reason: error.to_string() },
            E::Session(error) => error.into(),
            E::Agreement(error) => error.into(),
            E::Content(error) => Self::InvalidContent { reason: error.to_string() },
            E::Expiry(error) => Self::AgreementRefused { reason: error.to_string() },
            E::Endpoint(error) => error.into(),
            E::Store(error) => error.into(),
            E::Devices(error) => Self::DeviceRefused { reason: error.to_string() },
            error => Self::Internal { reason: error.to_string() },
        }
    }
}

impl From<SessionError> for ConfidantError {
    fn from(error: SessionError) -> Self {
        match error {
            SessionError::Decrypt => Self::DecryptionFailed,
            SessionError::Duplicate => Self::Duplicate,
            SessionError::Decode(error) => Self::Malformed { reason: error.to_string() },
            SessionError::Handshake(error) => Self::HandshakeFailed { reason: error.to_string() },
            error => Self::Session { reason: error.to_string() },
        }
    }
}

impl From<AgreementError> for ConfidantError {
    fn from(error: AgreementError) -> Self {
        Self::AgreementRefused { reason: error.to_string() }
    }
}

impl From<EndpointError> for ConfidantError {
    fn from(error: EndpointError) -> Self {
        use EndpointError as E;
        match error {
            E::NoSession => Self::NoSession,
            E::NoAgreement => Self::NoAgreement,
            E::WrongRole => Self::WrongRole,
            E::MessageExpired => Self::MessageExpired,
            E::UnknownPrekey => Self::UnknownPrekey,
            E::Randomness => Self::Randomness,
            E::NotAProposal
            | E::ProposalExpired
            | E::ProposalWithdrawn
            | E::ProposalSuperseded
            | E::NoOpenProposal => Self::ProposalNotOpen { reason: error.to_string() },
            E::UnexpectedAgreement => Self::AgreementRefused { reason: error.to_string() },
            E::InvalidReference => Self::InvalidInput { reason: error.to_string() },
            E::BadSequence => Self::Malformed { reason: error.to_string() },
            E::NotPrimary => Self::NotPrimary,
            E::UnknownDevice => Self::UnknownDevice,
            E::AlreadyLinked | E::NoLinkOffer | E::StaleDeviceList => {
                Self::DeviceRefused { reason: error.to_string() }
            }
            E::InvalidRepairRequest => Self::InvalidRepairRequest,
            E::RepairTooSoon => Self::RepairTooSoon,
            error => Self::Internal { reason: error.to_string() },
        }
    }
}

impl From<StoreError> for ConfidantError {
    fn from(error: StoreError) -> Self {
        use StoreError as E;
        match error {
            E::WrongKey => Self::WrongPassphrase,
            E::OwnerMismatch => Self::OwnerMismatch,
            E::IdentityChanged => Self::IdentityChanged,
            E::UnknownPeer => Self::UnknownPeer,
            E::UnknownMessage => Self::UnknownMessage,
            E::UnknownPrekey => Self::UnknownPrekey,
            E::MessageExists => Self::Duplicate,
            E::InvalidInput(what) => Self::invalid(what),
            E::Random => Self::Randomness,
            // Every other store error is about the file: missing, damaged, locked, too new, ….
            error => Self::Store { reason: error.to_string() },
        }
    }
}

#[cfg(test)]
mod tests {
    use confidant::session::DecodeError;

    use super::*;

    #[test]
    fn each_library_error_lands_on_the_case_an_app_matches() {
        let cases: [(confidant::Error, ConfidantError); 6] = [
            (StoreError::WrongKey.into(), ConfidantError::WrongPassphrase),
            (SessionError::Decrypt.into(), ConfidantError::DecryptionFailed),
            (SessionError::Duplicate.into(), ConfidantError::Duplicate),
            (EndpointError::NoSession.into(), ConfidantError::NoSession),
            (EndpointError::NoAgreement.into(), ConfidantError::NoAgreement),
            (DecodeError::Malformed.into(), ConfidantError::Malformed { reason: "malformed message".into() }),
        ];
        for (error, expected) in cases {
            assert_eq!(ConfidantError::from(error), expected);
        }
    }

    #[test]
    fn an_error_suggests_a_repair_when_the_library_s_does() {
        // (One case differs on purpose: the store's `UnknownPrekey`, a prekey used up by another
        // receive between the check and the commit, is `UnknownPrekey` here too, and suggests a
        // repair as the endpoint's does.)
        use confidant::session::HandshakeError;
        let errors: [confidant::Error; 12] = [
            EndpointError::NoSession.into(),
            EndpointError::UnknownPrekey.into(),
            SessionError::Decrypt.into(),
            SessionError::Duplicate.into(),
            SessionError::Decode(DecodeError::Malformed).into(),
            HandshakeError::SelfSession.into(),
            EndpointError::NoAgreement.into(),
            EndpointError::InvalidRepairRequest.into(),
            EndpointError::RepairTooSoon.into(),
            EndpointError::BadSequence.into(),
            StoreError::IdentityChanged.into(),
            StoreError::MessageExists.into(),
        ];
        for error in errors {
            let expected = error.suggests_repair();
            assert_eq!(ConfidantError::from(error.clone()).suggests_repair(), expected, "{error:?}");
        }
        assert_eq!(
            ConfidantError::from(confidant::Error::from(EndpointError::InvalidRepairRequest)),
            ConfidantError::InvalidRepairRequest
        );
        assert_eq!(
            ConfidantError::from(confidant::Error::from(EndpointError::RepairTooSoon)),
            ConfidantError::RepairTooSoon
        );
    }
}
