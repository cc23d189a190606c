//! Record copies: what the clinician's device keeps of a message beyond its lifespan, under the
//! retention its agreement states, apart from the live conversation (PROTOCOL.md, section 15).

use super::types::{check_timestamp, StoredMessage};
use super::StoreError;
use crate::clock::Timestamp;

/// Name of the record copies table.
pub(crate) const RECORD_COPIES: &str = "record_copies";

/// A sealed copy of a message kept for the record. It is never part of the live conversation
/// ([`super::Store::messages`]); it is deleted, leaving no copy in the file, by the first purge
/// at or after `retain_until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordCopy {
    /// The message as it was stored (its `expires_at` is the end of its live lifespan).
    pub message: StoredMessage,
    /// When the copy is to be deleted; `None`: not before it has been exported for the record.
    pub retain_until: Option<Timestamp>,
}

impl RecordCopy {
    pub(crate) fn check(&self) -> Result<(), StoreError> {
        self.message.check()?;
        self.retain_until.map_or(Ok(()), check_timestamp)
    }
}
