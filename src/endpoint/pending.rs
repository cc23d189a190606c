//! What the envelopes of one receive already claimed, so that an envelope whose writes the store
//! would refuse fails on its own, before the commit.
//!
//! [`super::Endpoint::receive_batch`] saves the writes of many envelopes in one transaction, and
//! the store refuses the whole transaction if one write breaks its rules: a message id that is
//! taken ([`StoreError::MessageExists`]), an identity other than the one the store trusts for the
//! peer ([`StoreError::IdentityChanged`]), a prekey that is gone
//! ([`StoreError::UnknownPrekey`]). Checked only at the commit, one such envelope would fail every
//! other envelope of the batch after they were reported received, and again on every retry. So
//! the receive path checks each of these writes when it makes it, against the store and against
//! what the earlier envelopes of the batch claimed, and an envelope that fails a check fails with
//! the store's error, changing nothing; its claims are dropped with the rest of its writes.

use std::collections::HashSet;

use super::error::Result;
use super::EndpointError;
use crate::keys::{IdentityKey, PrekeyId};
use crate::store::{MessageId, PeerId, Store, StoreError};
use crate::wire::PrekeyMessage;

/// A prekey, by kind and id.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Prekey {
    Signed(PrekeyId),
    OneTime(PrekeyId),
    Kem(PrekeyId),
}

/// What the writes already made in a receive will take from the store when they commit.
#[derive(Clone, Default)]
pub(super) struct Pending {
    /// The identity these writes record for the peer, once one was admitted.
    identity: Option<IdentityKey>,
    /// The prekeys these writes remove.
    prekeys: HashSet<Prekey>,
    /// The ids of the messages these writes store.
    messages: HashSet<MessageId>,
}

impl Pending {
    /// [`EndpointError::UnknownPrekey`] if an earlier envelope already used one of the prekeys
    /// that `first` names (the store still holds them until the commit).
    pub(super) fn check_prekeys(&self, first: &PrekeyMessage) -> Result<()> {
        let used = Self::named(first).into_iter().flatten().any(|prekey| self.prekeys.contains(&prekey));
        if used {
            return Err(EndpointError::UnknownPrekey.into());
        }
        Ok(())
    }

    /// Records that the prekeys `first` names are removed.
    pub(super) fn take_prekeys(&mut self, first: &PrekeyMessage) {
        self.prekeys.extend(Self::named(first).into_iter().flatten());
    }

    fn named(first: &PrekeyMessage) -> [Option<Prekey>; 3] {
        [
            Some(Prekey::Signed(first.signed_prekey_id())),
            first.one_time_prekey_id().map(Prekey::OneTime),
            Some(Prekey::Kem(first.kem_prekey_id())),
        ]
    }

    /// Admits `identity` for `peer` as the store would: the first identity is trusted, the same
    /// one again changes nothing, another one is [`StoreError::IdentityChanged`].
    pub(super) fn admit_identity(
        &mut self,
        store: &impl Store,
        peer: &PeerId,
        identity: &IdentityKey,
    ) -> Result<()> {
        let trusted = match self.identity {
            Some(admitted) => Some(admitted),
            None => store.peer(peer)?.map(|record| record.identity),
        };
        if trusted.is_some_and(|trusted| !trusted.ct_eq(identity)) {
            return Err(StoreError::IdentityChanged.into());
        }
        self.identity = Some(*identity);
        Ok(())
    }

    /// Claims message id `id` for a message to store: [`StoreError::MessageExists`] if the store
    /// or an earlier envelope has it.
    pub(super) fn claim_message(&mut self, store: &impl Store, id: MessageId) -> Result<()> {
        if self.messages.contains(&id) || store.message(&id)?.is_some() {
            return Err(StoreError::MessageExists.into());
        }
        self.messages.insert(id);
        Ok(())
    }
}
