//! Why a device list or a link message was refused.

/// Why a device list, a link code or a link message was refused. Nothing was signed or changed.
///
/// Decoding errors are coarse on purpose: they say which rule failed, never which bytes.
#[derive(Debug, thiserror::Error, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeviceError {
    /// The bytes are longer than [`crate::consts::MAX_DEVICE_LIST_LEN`] (a list) or
    /// [`crate::consts::MAX_LINK_MESSAGE_LEN`] (a link request or response).
    #[error("device list or link message is larger than the limit")]
    TooLarge,
    /// The leading version byte names a format this library does not know.
    #[error("unsupported device format version {0}")]
    UnsupportedVersion(u8),
    /// The bytes are empty, not a well-formed protobuf message, or a field has the wrong length or
    /// is not a valid key.
    #[error("malformed device list or link message")]
    Malformed,
    /// The bytes decode, but are not the one canonical protobuf encoding of what they hold.
    #[error("device list or link message is not canonically encoded")]
    NonCanonical,
    /// The person key's signature does not verify over the list: it was altered, or another key
    /// signed it.
    #[error("device list signature does not verify")]
    BadSignature,
    /// The list belongs to another person than the one expected, or the key pair offered to sign
    /// it is not the list's person key.
    #[error("device list belongs to another person")]
    WrongPerson,
    /// The list would hold more than [`crate::consts::MAX_DEVICES`] devices.
    #[error("too many devices")]
    TooManyDevices,
    /// The list names the same device key twice, or a device to add is already in it.
    #[error("device is listed twice")]
    DuplicateDevice,
    /// The devices are not in ascending order of their key bytes.
    #[error("devices are not sorted by key")]
    Unsorted,
    /// The list does not hold the primary device (the person key), or holds no device at all.
    #[error("device list does not hold the primary device")]
    PrimaryMissing,
    /// The primary device (the person key) cannot be removed from its person's list.
    #[error("the primary device cannot be removed")]
    CannotRemovePrimary,
    /// A device name is longer than [`crate::consts::MAX_DEVICE_NAME_LEN`] bytes.
    #[error("device name is too long")]
    NameTooLong,
    /// A device name is empty or holds a control character.
    #[error("device name is empty or holds a control character")]
    InvalidName,
    /// The list's version cannot grow any more (it is `u64::MAX`), or a list has version 0.
    #[error("device list version out of range")]
    VersionOutOfRange,
    /// The device is not in the list: it cannot be removed, or a link response does not hold the
    /// device that asked to be linked.
    #[error("device is not in the list")]
    NotAMember,
    /// The link offer is older than [`crate::consts::LINK_OFFER_LIFETIME_MS`].
    #[error("link offer has expired")]
    LinkExpired,
    /// The link offer has already accepted a device; an offer links one device only.
    #[error("link offer has already been used")]
    LinkUsed,
    /// A link response was asked of an offer that has not accepted a request.
    #[error("link offer has not accepted a device")]
    LinkNotAccepted,
    /// The text is not a link code: wrong length, a character outside the alphabet, nonzero
    /// padding bits, or an unknown version.
    #[error("not a valid link code")]
    BadLinkCode,
    /// A link request or response does not prove knowledge of the link code (its MAC does not
    /// verify), or the new device's signature does not verify: it was altered, or made for
    /// another code.
    #[error("link message is not authentic")]
    BadLinkProof,
}
