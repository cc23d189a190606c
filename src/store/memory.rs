//! A store that keeps everything in memory, for tests and for sessions that must leave nothing
//! on disk. It follows exactly the rules of [`super::SqliteStore`] (the same conformance suite
//! runs against both); nothing is encrypted, and everything is zeroized when dropped.
//!
//! It keeps a generation as [`super::SqliteStore`] does, but takes no
//! [`RollbackCounter`](super::RollbackCounter): nothing can put back an older copy of a store
//! that lives only in the process's memory.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use zeroize::Zeroizing;

use super::batch::WriteBatch;
use super::ops::{self, impl_store, Backend, Kv, Tables, Versioned};
use super::types::{
    MessageId, PageEntry, PeerId, PeerRecord, SessionVersion, StoredAgreement, StoredMessage,
};
use super::StoreError;
use crate::clock::Timestamp;

#[derive(Clone, Default)]
struct Tablesets {
    kv: BTreeMap<(Kv, Vec<u8>), Row>,
    /// The audit trail's chain key: drawn from the operating system when first needed.
    audit_key: Option<crate::keys::Secret32>,
    messages: BTreeMap<MessageId, StoredMessage>,
    record_copies: BTreeMap<MessageId, super::RecordCopy>,
    /// Key-value writes so far: the version of the next row written.
    writes: u64,
}

/// A key-value row: its value, and the write that stored it.
#[derive(Clone)]
struct Row {
    value: Zeroizing<Vec<u8>>,
    written: u64,
}

impl Row {
    fn version(&self) -> SessionVersion {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.written.to_be_bytes());
        SessionVersion::from_bytes(bytes)
    }
}

/// An in-memory [`super::Store`].
///
/// It cannot be rolled back by copying a file, so it has no
/// [`RollbackCounter`](super::RollbackCounter) and never reports
/// [`StoreError::RolledBack`].
///
/// A write works on a copy of the contents and replaces them only if every write of it
/// succeeded, so its cost grows with the size of the store: it is meant for small stores.
pub struct MemoryStore {
    inner: Mutex<Tablesets>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        let mut tables = Tablesets::default();
        // The head of an empty audit trail, as a new SQLite store has one.
        let _ = super::audit::init(&mut tables);
        Self { inner: Mutex::new(tables) }
    }
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Tablesets> {
        // Writes replace the contents only after they succeed, so a poisoned lock holds a
        // consistent state.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

impl Backend for MemoryStore {
    fn read<T>(&self, f: impl FnOnce(&mut dyn Tables) -> Result<T, StoreError>) -> Result<T, StoreError> {
        f(&mut *self.lock())
    }

    fn write<T>(&self, f: impl FnOnce(&mut dyn Tables) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let mut guard = self.lock();
        let mut copy = guard.clone();
        let out = f(&mut copy)?;
        *guard = copy;
        Ok(out)
    }
}

impl_store!(MemoryStore);

impl Tables for Tablesets {
    fn get(&mut self, kv: Kv, id: &[u8]) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        Ok(self.kv.get(&(kv, id.to_vec())).map(|row| row.value.clone()))
    }

    fn get_versioned(&mut self, kv: Kv, id: &[u8]) -> Result<Option<Versioned>, StoreError> {
        Ok(self.kv.get(&(kv, id.to_vec())).map(|row| (row.value.clone(), row.version())))
    }

    fn version(&mut self, kv: Kv, id: &[u8]) -> Result<Option<SessionVersion>, StoreError> {
        Ok(self.kv.get(&(kv, id.to_vec())).map(Row::version))
    }

    fn put(&mut self, kv: Kv, id: &[u8], value: &[u8]) -> Result<(), StoreError> {
        // A committed write is never undone, so no two committed writes share a count (a failed
        // batch drops its copy, count included, and nobody saw its versions).
        self.writes = self.writes.wrapping_add(1);
        let row = Row { value: Zeroizing::new(value.to_vec()), written: self.writes };
        self.kv.insert((kv, id.to_vec()), row);
        Ok(())
    }

    fn delete(&mut self, kv: Kv, id: &[u8]) -> Result<bool, StoreError> {
        Ok(self.kv.remove(&(kv, id.to_vec())).is_some())
    }

    fn count(&mut self, kv: Kv) -> Result<usize, StoreError> {
        Ok(self.kv.keys().filter(|(k, _)| *k == kv).count())
    }

    fn clear(&mut self, kv: Kv) -> Result<usize, StoreError> {
        let before = self.kv.len();
        self.kv.retain(|(k, _), _| *k != kv);
        Ok(before - self.kv.len())
    }

    fn all(&mut self, kv: Kv) -> Result<Vec<Zeroizing<Vec<u8>>>, StoreError> {
        Ok(self.kv.iter().filter(|((k, _), _)| *k == kv).map(|(_, row)| row.value.clone()).collect())
    }

    fn message(&mut self, id: &MessageId) -> Result<Option<StoredMessage>, StoreError> {
        Ok(self.messages.get(id).cloned())
    }

    fn insert_message(&mut self, message: &StoredMessage) -> Result<(), StoreError> {
        if self.messages.contains_key(&message.id) {
            return Err(StoreError::MessageExists);
        }
        self.put_message(message)
    }

    fn put_message(&mut self, message: &StoredMessage) -> Result<(), StoreError> {
        self.messages.insert(message.id, message.clone());
        Ok(())
    }

    fn delete_message(&mut self, id: &MessageId) -> Result<bool, StoreError> {
        Ok(self.messages.remove(id).is_some())
    }

    fn messages(&mut self, peer: &PeerId) -> Result<Vec<StoredMessage>, StoreError> {
        Ok(self.messages.values().filter(|m| &m.peer == peer).cloned().collect())
    }

    fn put_record_copy(&mut self, copy: &super::RecordCopy) -> Result<(), StoreError> {
        self.record_copies.insert(copy.message.id, copy.clone());
        Ok(())
    }

    fn record_copies(&mut self, peer: &PeerId) -> Result<Vec<super::RecordCopy>, StoreError> {
        Ok(self.record_copies.values().filter(|c| &c.message.peer == peer).cloned().collect())
    }

    fn purge_record_copies(&mut self, now: Timestamp) -> Result<usize, StoreError> {
        let before = self.record_copies.len();
        self.record_copies.retain(|_, c| c.retain_until.is_none_or(|at| at > now));
        Ok(before - self.record_copies.len())
    }

    fn audit_key(&mut self) -> Result<crate::keys::Secret32, StoreError> {
        if self.audit_key.is_none() {
            let mut key = crate::keys::Secret32([0; 32]);
            super::random::fill(&mut key.0)?;
            self.audit_key = Some(key);
        }
        self.audit_key.clone().ok_or(StoreError::Random)
    }

    fn messages_page(
        &mut self,
        peer: &PeerId,
        before: Option<Timestamp>,
        limit: usize,
    ) -> Result<Vec<(Option<Timestamp>, PageEntry)>, StoreError> {
        let mut older: Vec<&StoredMessage> = self
            .messages
            .values()
            .filter(|m| &m.peer == peer && before.is_none_or(|before| m.at < before))
            .collect();
        older.sort_by_key(|m| std::cmp::Reverse((m.at, m.id)));
        let oldest = older.get(limit.saturating_sub(1)).or(older.last()).map(|m| m.at);
        Ok(older
            .into_iter()
            .filter(|m| oldest.is_some_and(|oldest| m.at >= oldest))
            .map(|m| (Some(m.at), PageEntry::Message(m.clone())))
            .collect())
    }

    fn purge(&mut self, now: Timestamp) -> Result<usize, StoreError> {
        let before = self.messages.len();
        self.messages.retain(|_, m| m.expires_at.is_none_or(|at| at > now));
        Ok(before - self.messages.len())
    }
}
