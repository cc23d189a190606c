//! The crate-wide error: what [`super::Endpoint`] returns.
//!
//! [`Error`] groups the error of each layer below into a variant whose sub-enum says what went
//! wrong; `?` converts each of them. It is the only error that names the store and the endpoint,
//! so it lives here, at the top. No error carries plaintext or key bytes.

use thiserror::Error as ThisError;

use super::types::EndpointError;
use crate::agreement::AgreementError;
use crate::content::ContentError;
use crate::devices::DeviceError;
use crate::error::{DecodeError, HandshakeError};
use crate::expiry::ExpiryError;
use crate::records::fhir::ExportError;
use crate::session::SessionError;
use crate::store::StoreError;

/// Every failure of the library.
#[derive(Debug, ThisError, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Bytes from outside (an envelope, a bundle, a serialized session) could not be decoded.
    #[error("decode: {0}")]
    Decode(#[from] DecodeError),
    /// The key agreement could not be completed.
    #[error("handshake: {0}")]
    Handshake(#[from] HandshakeError),
    /// A message could not be encrypted or decrypted by a session. (A session's decode and
    /// handshake failures are [`Error::Decode`] and [`Error::Handshake`].)
    #[error("session: {0}")]
    Session(#[source] SessionError),
    /// A communication agreement was refused.
    #[error("agreement: {0}")]
    Agreement(#[from] AgreementError),
    /// Message content was refused.
    #[error("content: {0}")]
    Content(#[from] ContentError),
    /// A message lifespan was refused.
    #[error("expiry: {0}")]
    Expiry(#[from] ExpiryError),
    /// The high-level endpoint refused an operation.
    #[error("endpoint: {0}")]
    Endpoint(#[from] EndpointError),
    /// The encrypted on-device store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A device list or a link step was refused.
    #[error("devices: {0}")]
    Devices(#[from] DeviceError),
    /// An export could not be written.
    #[error("records: {0}")]
    Records(#[from] ExportError),
}

/// A session's decode and handshake failures become [`Error::Decode`] and [`Error::Handshake`],
/// as the same failures elsewhere do; every other session failure is [`Error::Session`].
impl From<SessionError> for Error {
    fn from(error: SessionError) -> Self {
        match error {
            SessionError::Decode(error) => Self::Decode(error),
            SessionError::Handshake(error) => Self::Handshake(error),
            error => Self::Session(error),
        }
    }
}

/// Shorthand for results of the endpoint, and of apps that use it.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_keeps_decode_and_handshake_failures_apart_from_authentication() {
        let decode = SessionError::Decode(DecodeError::Malformed);
        let handshake = SessionError::Handshake(HandshakeError::SelfSession);
        assert_eq!(Error::from(decode), Error::Decode(DecodeError::Malformed));
        assert_eq!(Error::from(handshake), Error::Handshake(HandshakeError::SelfSession));
        assert_eq!(Error::from(SessionError::Decrypt), Error::Session(SessionError::Decrypt));
    }
}
