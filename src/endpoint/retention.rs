//! Retention on the clinician's device: before a purge, a message whose lifespan ended is kept
//! as a sealed record copy if the agreement with its peer states a record retention, or if it
//! requires an export before purging and the message was not exported yet. The client's device
//! keeps no record copies: it purges on the lifespans alone.

use std::collections::BTreeSet;

use super::error::Result;
use super::Endpoint;
use crate::agreement::RecordTerms;
use crate::category::CategoryKind;
use crate::clock::{Clock, Timestamp};
use crate::content::MessageId;
use crate::role::Role;
use crate::store::{AuditEvent, ExportKind, PeerId, RecordCopy, Store, StoredMessage, WriteBatch};

impl<S: Store, C: Clock> Endpoint<S, C> {
    /// Saves a record copy of every message that expires by `now` and that the record terms of
    /// its conversation keep, in one batch, before the store purges.
    pub(super) fn keep_record_copies(&self, now: Timestamp) -> Result<()> {
        if self.role != Role::Clinician {
            return Ok(());
        }
        let mut batch = WriteBatch::new();
        let mut exported: Option<BTreeSet<MessageId>> = None;
        for record in self.store.peers()? {
            let peer = &record.peer;
            let Some(agreement) = self.agreement(peer)? else { continue };
            let terms = agreement.terms().records;
            if terms.retention_ms == 0 && !terms.export_required_before_purge {
                continue;
            }
            // A conversation purged as a whole after the end of its agreement is due at once.
            let ended_due = self.ended_purge_due(peer, now)?;
            for message in self.store.messages(peer)? {
                let due = ended_due || message.expires_at.is_some_and(|at| at <= now);
                if !due || !has_text(&message)? {
                    continue;
                }
                let was_exported = if terms.export_required_before_purge {
                    if exported.is_none() {
                        exported = Some(self.exported_for_record()?);
                    }
                    exported.as_ref().is_some_and(|ids| ids.contains(&message.id))
                } else {
                    true
                };
                let retain_until = if was_exported {
                    match retention_end(&message, &terms) {
                        Some(end) if end > now => Some(end),
                        _ => continue,
                    }
                } else {
                    None
                };
                batch.put_record_copy(RecordCopy { message, retain_until })?;
            }
        }
        if !batch.is_empty() {
            self.store.apply(batch)?;
        }
        Ok(())
    }

    /// The ids of every message exported for the clinical record, from the audit trail.
    fn exported_for_record(&self) -> Result<BTreeSet<MessageId>> {
        let mut ids = BTreeSet::new();
        for entry in self.store.audit_log()? {
            if let AuditEvent::Exported { kind: ExportKind::ClinicalRecord, messages, .. } = entry.event {
                ids.extend(messages);
            }
        }
        Ok(ids)
    }

    /// Adds to `batch` the release of the record copies among `ids` that waited for an export:
    /// each is kept to the end of its retention from now on (deleted by the next purge if that
    /// has passed).
    pub(super) fn release_exported_copies(
        &self,
        peer: &PeerId,
        ids: &[MessageId],
        batch: &mut WriteBatch,
    ) -> Result<()> {
        if self.role != Role::Clinician {
            return Ok(());
        }
        let terms = self.agreement(peer)?.map(|a| a.terms().records).unwrap_or_default();
        let now = self.clock.now();
        for copy in self.store.record_copies(peer)? {
            if copy.retain_until.is_none() && ids.contains(&copy.message.id) {
                let end = retention_end(&copy.message, &terms).map_or(now, |end| end.max(now));
                batch.put_record_copy(RecordCopy { retain_until: Some(end), ..copy })?;
            }
        }
        Ok(())
    }
}

/// When the retention of `message` ends: its time plus the retention, if there is one.
fn retention_end(message: &StoredMessage, terms: &RecordTerms) -> Option<Timestamp> {
    (terms.retention_ms > 0).then(|| Timestamp(message.at.0.saturating_add(terms.retention_ms)))
}

/// Whether the message is one a record keeps: not an agreement message or a receipt.
fn has_text(message: &StoredMessage) -> Result<bool> {
    let (content, _) = super::record::open(&message.body)?;
    let kind = content.category().kind();
    Ok(!matches!(kind, CategoryKind::Agreement | CategoryKind::Receipt | CategoryKind::Consultation)
        && !content.text().is_empty())
}
