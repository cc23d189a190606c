//! Export of a conversation: for the clinical record (the clinician's device), as the client's
//! own copy, or as a plain transcript. Every export is recorded in the audit trail first.

use zeroize::Zeroizing;

use super::error::Result;
use super::Endpoint;
use crate::category::CategoryKind;
use crate::clock::Clock;
use crate::records::fhir;
use crate::records::transcript::{transcript, TranscriptFormat};
use crate::records::{Party, RecordMessage, Selection};
use crate::role::Role;
use crate::store::consts::MAX_AUDIT_MESSAGES;
use crate::store::{AuditEvent, Direction, ExportKind, PeerId, Store, StoreError, WriteBatch};

impl<S: Store, C: Clock> Endpoint<S, C> {
    /// The selected messages of the conversation with `peer` as a FHIR R4 `Bundle` (JSON) of
    /// `Communication` resources: for the clinical record on the clinician's device, the
    /// client's own copy on the client's (PROTOCOL.md, section 15). On the clinician's device the
    /// record copies of the conversation are exported with it, and exporting a copy that waited
    /// for its export lets it be purged at the end of its retention. The export is recorded in
    /// the audit trail (who, when, which message ids) before it is returned.
    ///
    /// # Errors
    /// [`StoreError::UnknownMessage`] if a selected message is not in the conversation, has
    /// expired (and has no record copy on the clinician's device), or is an agreement message or
    /// a receipt; [`StoreError::InvalidInput`] if more
    /// than [`MAX_AUDIT_MESSAGES`] messages are selected;
    /// [`crate::records::fhir::ExportError`] if a time cannot be written; a store or content
    /// error if the conversation cannot be read or the audit entry cannot be written. Then
    /// nothing was exported.
    pub fn export_record(&self, peer: &PeerId, selection: &Selection) -> Result<Zeroizing<String>> {
        let now = self.clock.now();
        let messages = self.record_messages(peer, selection)?;
        let bundle = fhir::bundle(&messages, now)?;
        let kind = match self.role {
            Role::Clinician => ExportKind::ClinicalRecord,
            Role::Client => ExportKind::ClientCopy,
        };
        self.record_export(peer, kind, &messages)?;
        Ok(bundle)
    }

    /// The selected messages of the conversation with `peer` as a plain transcript a person can
    /// open (text, or an HTML page with every text escaped), holding times, senders,
    /// recipients, categories and texts only. Recorded in the audit trail as
    /// [`ExportKind::Transcript`].
    ///
    /// # Errors
    /// As [`Self::export_record`].
    pub fn export_transcript(
        &self,
        peer: &PeerId,
        selection: &Selection,
        format: TranscriptFormat,
    ) -> Result<Zeroizing<String>> {
        let messages = self.record_messages(peer, selection)?;
        let text = transcript(&messages, format)?;
        self.record_export(peer, ExportKind::Transcript, &messages)?;
        Ok(text)
    }

    fn record_export(&self, peer: &PeerId, kind: ExportKind, messages: &[RecordMessage]) -> Result<()> {
        let mut batch = WriteBatch::new();
        let ids: Vec<_> = messages.iter().map(|m| m.id).collect();
        if kind == ExportKind::ClinicalRecord {
            self.release_exported_copies(peer, &ids, &mut batch)?;
        }
        batch.audit(self.clock.now(), AuditEvent::Exported { peer: peer.clone(), kind, messages: ids })?;
        Ok(self.store.apply(batch)?)
    }

    /// The selected messages, in conversation order, ready to format.
    pub(super) fn record_messages(&self, peer: &PeerId, selection: &Selection) -> Result<Vec<RecordMessage>> {
        if let Selection::Messages(ids) = selection {
            if ids.len() > MAX_AUDIT_MESSAGES {
                return Err(StoreError::InvalidInput("selection").into());
            }
        }
        let now = self.clock.now();
        let local = Party { id: self.local_id.clone(), role: self.role };
        let remote = Party { id: peer.as_str().to_owned(), role: self.peer_role() };
        let mut out = Vec::new();
        let mut stored: Vec<_> = self
            .store
            .messages(peer)?
            .into_iter()
            .filter(|m| m.expires_at.is_none_or(|at| at > now))
            .collect();
        // The clinician's record copies are part of the record, though not of the live conversation.
        for copy in self.store.record_copies(peer)? {
            if !stored.iter().any(|m| m.id == copy.message.id) {
                stored.push(copy.message);
            }
        }
        stored.sort_by_key(|m| (m.at, m.id));
        for message in stored {
            let wanted = match selection {
                Selection::All => true,
                Selection::Messages(ids) => ids.contains(&message.id),
            };
            if !wanted {
                continue;
            }
            let (content, marks) = super::record::open(&message.body)?;
            let kind = content.category().kind();
            // Agreement, plan and end-notice messages, receipts and excerpts carry no text of
            // the conversation.
            if matches!(kind, CategoryKind::Agreement | CategoryKind::Receipt | CategoryKind::Consultation)
                || content.text().is_empty()
            {
                continue;
            }
            let (sender, recipient, sent_at, received_at) = match message.direction {
                Direction::Inbound => {
                    let received = marks.received_at.unwrap_or(message.at);
                    (remote.clone(), local.clone(), content.sent_at(), Some(received))
                }
                Direction::Outbound => (local.clone(), remote.clone(), message.at, None),
            };
            out.push(RecordMessage {
                id: message.id,
                sender,
                recipient,
                sent_at,
                received_at,
                category: kind,
                text: Zeroizing::new(content.text().to_owned()),
                agreement_version: content.agreement_version(),
                reply_to: content.reply_to(),
                corrects: content.corrects(),
            });
        }
        if let Selection::Messages(ids) = selection {
            if ids.iter().any(|id| !out.iter().any(|m| &m.id == id)) {
                return Err(StoreError::UnknownMessage.into());
            }
        }
        Ok(out)
    }
}
