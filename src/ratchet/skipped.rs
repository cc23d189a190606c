//! Message keys of skipped messages, kept so that late messages can still be decrypted.
//!
//! Bounded by [`MAX_STORED_SKIPPED_KEYS`]: when more are stored, the oldest are evicted first.
//!
//! Each key lives in its own heap allocation (a `Box`), which stays where it is until the key is
//! removed, evicted or dropped, and is zeroized then, before it is freed. The map and the order
//! index hold only what every message header shows in clear (the sender's ratchet key and the
//! message number), insertion numbers and pointers: when they grow and move to larger tables, or
//! leave a removed entry's bytes behind in a table, no key is among the bytes they free. Memory
//! grows with the number of keys stored, not with the bound.

use std::collections::{BTreeMap, HashMap};

use super::kdf::MessageKey;
use crate::consts::MAX_STORED_SKIPPED_KEYS;
use crate::keys::DhPublicKey;

/// Which message a skipped key belongs to: the sender's ratchet key and the message number.
pub(crate) type SkippedId = (DhPublicKey, u32);

/// The stored skipped message keys, in insertion order.
#[derive(Clone, Default)]
pub(crate) struct SkippedKeys {
    keys: HashMap<SkippedId, (u64, Box<MessageKey>)>,
    order: BTreeMap<u64, SkippedId>,
    next_seq: u64,
}

impl SkippedKeys {
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    pub(crate) fn get(&self, dh: &DhPublicKey, n: u32) -> Option<&MessageKey> {
        self.keys.get(&(*dh, n)).map(|(_, key)| &**key)
    }

    /// Forgets the key of one message.
    pub(crate) fn remove(&mut self, dh: &DhPublicKey, n: u32) {
        if let Some((seq, _)) = self.keys.remove(&(*dh, n)) {
            self.order.remove(&seq);
        }
    }

    /// Stores copies of keys, evicting the oldest ones beyond the bound.
    ///
    /// The keys are borrowed and copied, never moved out of the caller's buffer: moving them out
    /// would leave their bytes behind in it when it is freed, while dropping it as a whole
    /// zeroizes each key in place first.
    pub(crate) fn extend(&mut self, dh: DhPublicKey, keys: &[(u32, MessageKey)]) {
        // One allocation for a whole skipped run instead of repeated growth and rehashing.
        self.keys.reserve(keys.len());
        for (n, key) in keys {
            let id = (dh, *n);
            let seq = self.next_seq;
            self.next_seq += 1;
            if let Some((old_seq, _)) = self.keys.insert(id, (seq, Box::new(key.clone()))) {
                self.order.remove(&old_seq);
            }
            self.order.insert(seq, id);
        }
        while self.keys.len() > MAX_STORED_SKIPPED_KEYS {
            let Some((_, id)) = self.order.pop_first() else { break };
            self.keys.remove(&id);
        }
    }

    /// The stored keys, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&SkippedId, &MessageKey)> {
        self.order.values().filter_map(|id| self.keys.get(id).map(|(_, key)| (id, &**key)))
    }
}

impl std::fmt::Debug for SkippedKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SkippedKeys").field("len", &self.keys.len()).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Secret32;

    #[test]
    fn evicts_oldest_beyond_bound() {
        let mut skipped = SkippedKeys::default();
        let a = DhPublicKey([1; 32]);
        let b = DhPublicKey([2; 32]);
        let keys = |range: std::ops::Range<u32>| {
            range.map(|n| (n, MessageKey(Secret32([n as u8; 32])))).collect::<Vec<_>>()
        };
        skipped.extend(a, &keys(0..10));
        skipped.extend(b, &keys(0..MAX_STORED_SKIPPED_KEYS as u32));
        assert_eq!(skipped.len(), MAX_STORED_SKIPPED_KEYS);
        assert!(skipped.get(&a, 9).is_none());
        assert!(skipped.get(&b, 0).is_some());
        skipped.remove(&b, 0);
        assert!(skipped.get(&b, 0).is_none());
        assert_eq!(skipped.iter().count(), MAX_STORED_SKIPPED_KEYS - 1);
    }
}
