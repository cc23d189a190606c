//! Reading: the user opened a message.

use rand_core::CryptoRng;

use super::error::Result;
use super::{Endpoint, EndpointError};
use crate::clock::Clock;
use crate::content::{Category, Content, Receipt, ReceiptKind};
use crate::store::{Direction, MessageId, PeerId, Store, StoreError, WriteBatch};

impl<S: Store, C: Clock> Endpoint<S, C> {
    /// Records that the user read message `id` from `peer`. A message whose lifespan runs from
    /// first reading starts its countdown now (this device's clock). With receipts enabled,
    /// returns a read-receipt envelope to send to the peer. Reading a message again changes
    /// nothing and returns `None`.
    ///
    /// # Errors
    /// [`StoreError::UnknownMessage`] if `id` is not a stored message from `peer`;
    /// [`EndpointError::MessageExpired`] if it has expired (never read within
    /// [`crate::consts::MAX_UNREAD_MS`], or past its lifespan), even if not purged yet: nothing
    /// changes, and it stays expired; [`EndpointError::NoSession`] if a receipt is due but there
    /// is no session; a store error.
    pub fn mark_read(&self, peer: &PeerId, id: MessageId) -> Result<Option<Vec<u8>>> {
        self.with_peer(peer, |rng| self.mark_read_with(rng, peer, id))
    }

    fn mark_read_with<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        peer: &PeerId,
        id: MessageId,
    ) -> Result<Option<Vec<u8>>> {
        let message = self.store.message(&id)?.ok_or(StoreError::UnknownMessage)?;
        if &message.peer != peer || message.direction != Direction::Inbound {
            return Err(StoreError::UnknownMessage.into());
        }
        let now = self.now();
        // Expired means gone, purged or not: reading must not bring a message back to life.
        if message.expires_at.is_some_and(|at| at <= now) {
            return Err(EndpointError::MessageExpired.into());
        }
        if message.read_at.is_some() {
            return Ok(None);
        }
        let (content, _) = super::record::open(&message.body)?;
        let expires_at = content.lifespan().on_first_read(message.expires_at, now);
        let receipt = match self.agreement(peer)? {
            Some(agreement) if agreement.terms().receipts_enabled => {
                let receipt = Receipt { kind: ReceiptKind::Read, message_ids: vec![id] };
                Some(Content::compose(rng, &agreement, Category::Receipt(receipt), String::new(), now)?)
            }
            _ => None,
        };
        // Marking read comes first: if saving the receipt's session state failed, the message is
        // read and merely no receipt goes out.
        self.store.mark_read(&id, now, expires_at)?;
        let Some(receipt) = receipt else { return Ok(None) };
        let sessions = self.sessions(peer)?.ok_or(EndpointError::NoSession)?;
        Ok(Some(self.send_sealed(rng, peer, sessions, &receipt, false, WriteBatch::new())?))
    }
}
