//! Trust on first use, identity changes and verification: the rules both store implementations
//! follow.

use super::types::{PeerId, PeerRecord, Verification};
use super::StoreError;
use crate::clock::Timestamp;
use crate::keys::IdentityKey;

/// What to store when `peer` presents `identity` in a batch: a new record on first contact,
/// nothing if the key is the stored one, and [`StoreError::IdentityChanged`] otherwise.
pub(crate) fn admit(
    existing: Option<PeerRecord>,
    peer: &PeerId,
    identity: &IdentityKey,
) -> Result<Option<PeerRecord>, StoreError> {
    match existing {
        None => Ok(Some(PeerRecord {
            peer: peer.clone(),
            identity: *identity,
            verification: Verification::Unverified,
        })),
        Some(record) if record.identity.ct_eq(identity) => Ok(None),
        Some(_) => Err(StoreError::IdentityChanged),
    }
}

/// What to store when the user accepts `identity` for `peer`: the key, unverified, unless it is
/// already the stored key (whose verification then stands).
pub(crate) fn accept(
    existing: Option<PeerRecord>,
    peer: &PeerId,
    identity: &IdentityKey,
) -> Option<PeerRecord> {
    match existing {
        Some(record) if record.identity.ct_eq(identity) => None,
        _ => Some(PeerRecord {
            peer: peer.clone(),
            identity: *identity,
            verification: Verification::Unverified,
        }),
    }
}

/// The record after the user compared safety numbers for `identity` at `at`. The key must be the
/// stored one, so that a verification never attaches to a key the user did not see.
pub(crate) fn verify(
    existing: Option<PeerRecord>,
    identity: &IdentityKey,
    at: Timestamp,
) -> Result<PeerRecord, StoreError> {
    let mut record = existing.ok_or(StoreError::UnknownPeer)?;
    if !record.identity.ct_eq(identity) {
        return Err(StoreError::IdentityChanged);
    }
    record.verification = Verification::Verified { at };
    Ok(record)
}
