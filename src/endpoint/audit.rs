//! The audit trail as the app sees it, and the events the endpoint records outside a batch.

use super::error::Result;
use super::Endpoint;
use crate::clock::Clock;
use crate::store::{AuditEntry, AuditEvent, Store, WriteBatch};

impl<S: Store, C: Clock> Endpoint<S, C> {
    /// The device's audit trail, oldest entry first: agreements signed, exports, consultations,
    /// identity changes and acceptances, purges (PROTOCOL.md, section 15). It names peers and
    /// message ids, never message text. Each call checks the whole hash chain.
    ///
    /// # Errors
    /// [`crate::store::StoreError::Corrupt`] naming `audit` if an entry was removed, reordered or altered (the
    /// store file was edited); another store error if it cannot be read.
    pub fn audit_log(&self) -> Result<Vec<AuditEntry>> {
        Ok(self.store.audit_log()?)
    }

    /// Appends `event` on its own, for an operation that wrote nothing else (or wrote through a
    /// store method that takes no batch).
    pub(super) fn record(&self, event: AuditEvent) -> Result<()> {
        let mut batch = WriteBatch::new();
        batch.audit(self.clock.now(), event)?;
        Ok(self.store.apply(batch)?)
    }
}
