//! Message keys of skipped messages, kept so that late messages can still be decrypted.
//!
//! Bounded by [`MAX_STORED_SKIPPED_KEYS`]: when more are stored, the oldest are evicted first.
//!
//! The keys live in one array of slots ([`KeySlots`]) that grows only by hand: a larger array is
//! allocated, the keys are copied into it, and every key of the old one is zeroized where it is
//! before the old array is freed. A removed or evicted key is zeroized in its slot, and the slot
//! is reused. The map and the order index hold only what every message header shows in clear
//! (the sender's ratchet key and the message number), insertion numbers and slot numbers: when
//! they grow and move to larger tables, or leave a removed entry's bytes behind, no key is among
//! the bytes they free. Memory grows with the number of keys stored, not with the bound, and a
//! run of skipped keys costs a few allocations, not one per key.

use std::collections::{HashMap, VecDeque};

use zeroize::Zeroize;

use super::kdf::MessageKey;
use crate::consts::MAX_STORED_SKIPPED_KEYS;
use crate::keys::DhPublicKey;

/// Which message a skipped key belongs to: the sender's ratchet key and the message number.
pub(crate) type SkippedId = (DhPublicKey, u32);

/// The stored skipped message keys, in insertion order.
#[derive(Clone, Default)]
pub(crate) struct SkippedKeys {
    /// For each stored key: its insertion number and its slot (both `u32`, which keeps the table
    /// small: insertion numbers are only compared for equality with the order entries, and a
    /// stale entry is dropped long before 2^32 more keys are stored).
    index: HashMap<SkippedId, (u32, u32)>,
    /// Insertion numbers (increasing) and ids, oldest first. An entry whose id no longer maps to
    /// its insertion number was removed or stored again later: it is skipped, and dropped when it
    /// reaches the front or when such entries outnumber the live ones.
    order: VecDeque<(u32, SkippedId)>,
    slots: KeySlots,
    next_seq: u32,
}

impl SkippedKeys {
    pub(crate) fn len(&self) -> usize {
        self.index.len()
    }

    pub(crate) fn get(&self, dh: &DhPublicKey, n: u32) -> Option<&MessageKey> {
        self.index.get(&(*dh, n)).and_then(|&(_, slot)| self.slots.get(slot as usize))
    }

    /// Forgets the key of one message.
    pub(crate) fn remove(&mut self, dh: &DhPublicKey, n: u32) {
        if let Some((_, slot)) = self.index.remove(&(*dh, n)) {
            self.slots.clear(slot as usize);
            self.compact();
        }
    }

    /// Whether the order entry `(seq, id)` is the live one of its id.
    fn is_live(&self, seq: u32, id: &SkippedId) -> bool {
        self.index.get(id).is_some_and(|&(live, _)| live == seq)
    }

    /// Drops stale order entries once they outnumber the live ones, so that the order index
    /// stays within twice the number of stored keys (plus a small constant).
    fn compact(&mut self) {
        if self.order.len() > 2 * self.index.len() + 64 {
            let index = &self.index;
            self.order.retain(|(seq, id)| index.get(id).is_some_and(|&(live, _)| live == *seq));
        }
    }

    /// Stores copies of keys, evicting the oldest ones beyond the bound.
    ///
    /// The keys are borrowed and copied, never moved out of the caller's buffer: moving them out
    /// would leave their bytes behind in it when it is freed, while dropping it as a whole
    /// zeroizes each key in place first.
    pub(crate) fn extend(&mut self, dh: DhPublicKey, keys: &[(u32, MessageKey)]) {
        // One allocation for a whole skipped run instead of repeated growth and rehashing.
        self.index.reserve(keys.len());
        self.slots.reserve(keys.len());
        for (n, key) in keys {
            let id = (dh, *n);
            let seq = self.next_seq;
            self.next_seq = self.next_seq.wrapping_add(1);
            let slot = self.slots.insert(key);
            if let Some((_, old_slot)) = self.index.insert(id, (seq, slot)) {
                self.slots.clear(old_slot as usize);
            }
            self.order.push_back((seq, id));
        }
        while self.index.len() > MAX_STORED_SKIPPED_KEYS {
            let Some((seq, id)) = self.order.pop_front() else { break };
            if self.is_live(seq, &id) {
                if let Some((_, slot)) = self.index.remove(&id) {
                    self.slots.clear(slot as usize);
                }
            }
        }
        self.compact();
    }

    /// The stored keys, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&SkippedId, &MessageKey)> {
        self.order.iter().filter_map(|(seq, id)| match self.index.get(id) {
            Some(&(live, slot)) if live == *seq => self.slots.get(slot as usize).map(|key| (id, key)),
            _ => None,
        })
    }
}

/// Message keys in slots of one array that never reallocates on its own (see the module docs).
#[derive(Clone, Default)]
struct KeySlots {
    keys: Vec<MessageKey>,
    /// Slots whose key was removed (and zeroized), to be reused first.
    free: Vec<u32>,
}

impl KeySlots {
    fn get(&self, slot: usize) -> Option<&MessageKey> {
        self.keys.get(slot)
    }

    /// Copies `key` into a free slot, or a new one; returns the slot. There are never more slots
    /// than keys stored at once (at most `MAX_STORED_SKIPPED_KEYS` plus one run), far below
    /// `u32::MAX`.
    fn insert(&mut self, key: &MessageKey) -> u32 {
        if let Some(slot) = self.free.pop() {
            if let Some(free) = self.keys.get_mut(slot as usize) {
                free.clone_from(key);
                return slot;
            }
        }
        self.reserve(1);
        self.keys.push(key.clone());
        u32::try_from(self.keys.len() - 1).unwrap_or(u32::MAX)
    }

    /// Zeroizes the key in `slot` and frees the slot for reuse.
    fn clear(&mut self, slot: usize) {
        if let Some(key) = self.keys.get_mut(slot) {
            key.zeroize();
            self.free.push(u32::try_from(slot).unwrap_or(u32::MAX));
        }
    }

    /// Makes room for `additional` more keys without the array reallocating by itself: if it is
    /// full, the keys move to a larger array and the old one is zeroized before it is freed.
    fn reserve(&mut self, additional: usize) {
        let needed = (self.keys.len() + additional).saturating_sub(self.free.len());
        if needed <= self.keys.capacity() {
            return;
        }
        let capacity = needed.max(self.keys.capacity().saturating_mul(2)).max(8);
        let mut larger = Vec::with_capacity(capacity);
        larger.extend(self.keys.iter().cloned());
        // Dropping each key zeroizes it in place, so the old array is all zeros when it is freed.
        self.keys.clear();
        self.keys = larger;
    }
}

impl std::fmt::Debug for SkippedKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SkippedKeys").field("len", &self.index.len()).finish_non_exhaustive()
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

    #[test]
    fn removed_slots_are_zeroized_and_reused() {
        let mut skipped = SkippedKeys::default();
        let a = DhPublicKey([1; 32]);
        let keys: Vec<_> = (0..20u32).map(|n| (n, MessageKey(Secret32([n as u8 + 1; 32])))).collect();
        skipped.extend(a, &keys);
        let capacity = skipped.slots.keys.capacity();
        skipped.remove(&a, 3);
        let slot = skipped.slots.free[0] as usize;
        assert_eq!(skipped.slots.keys[slot].0 .0, [0; 32], "a removed key is zeroized in its slot");
        skipped.extend(a, &[(30, MessageKey(Secret32([99; 32])))]);
        assert!(skipped.slots.free.is_empty(), "the free slot was reused");
        assert_eq!(skipped.slots.keys.capacity(), capacity, "no growth while a slot was free");
        assert_eq!(skipped.get(&a, 30).map(|k| k.0 .0), Some([99; 32]));
        assert_eq!(skipped.get(&a, 4).map(|k| k.0 .0), Some([5; 32]));
        assert_eq!(skipped.iter().count(), 20);
    }

    #[test]
    fn order_survives_removals_and_keys_stored_again() {
        let mut skipped = SkippedKeys::default();
        let a = DhPublicKey([1; 32]);
        let key = |b: u8| MessageKey(Secret32([b; 32]));
        skipped.extend(a, &[(0, key(1)), (1, key(2)), (2, key(3))]);
        skipped.remove(&a, 1);
        // Stored again: now the newest.
        skipped.extend(a, &[(0, key(4))]);
        let order: Vec<(u32, u8)> = skipped.iter().map(|((_, n), k)| (*n, k.0 .0[0])).collect();
        assert_eq!(order, [(2, 3), (0, 4)]);
        // Many removals leave the order index bounded by the keys stored.
        for round in 0..50u32 {
            let keys: Vec<_> = (100..120).map(|n| (n, key(round as u8))).collect();
            skipped.extend(a, &keys);
            for n in 100..120 {
                skipped.remove(&a, n);
            }
        }
        assert_eq!(skipped.len(), 2);
        assert!(skipped.order.len() <= 2 * skipped.len() + 64 + 20);
        // Eviction goes by insertion order, past stale entries.
        let b = DhPublicKey([2; 32]);
        let many: Vec<_> = (0..MAX_STORED_SKIPPED_KEYS as u32 - 1).map(|n| (n, key(7))).collect();
        skipped.extend(b, &many);
        assert!(skipped.get(&a, 2).is_none(), "the oldest is evicted first");
        assert!(skipped.get(&a, 0).is_some());
        assert_eq!(skipped.len(), MAX_STORED_SKIPPED_KEYS);
    }

    #[test]
    fn a_key_stored_again_is_not_evicted_by_its_stale_order_entry() {
        let mut skipped = SkippedKeys::default();
        let (a, b) = (DhPublicKey([1; 32]), DhPublicKey([2; 32]));
        let key = |byte: u8| MessageKey(Secret32([byte; 32]));
        let bound = MAX_STORED_SKIPPED_KEYS as u32;
        skipped.extend(a, &[(0, key(1))]);
        let others: Vec<_> = (1..bound).map(|n| (n, key(2))).collect();
        skipped.extend(b, &others);
        // Stored again: the newest now, its first order entry stale (and not compacted away).
        skipped.extend(a, &[(0, key(3))]);
        assert_eq!(skipped.len(), MAX_STORED_SKIPPED_KEYS);
        // One more: the oldest live key goes, not the key stored again.
        skipped.extend(b, &[(bound, key(4))]);
        assert_eq!(skipped.len(), MAX_STORED_SKIPPED_KEYS);
        assert_eq!(skipped.get(&a, 0).map(|k| k.0 .0[0]), Some(3));
        assert!(skipped.get(&b, 1).is_none());
        assert!(skipped.get(&b, 2).is_some());
    }

    #[test]
    fn stale_order_entries_are_dropped_exactly_when_they_pass_the_bound() {
        let mut skipped = SkippedKeys::default();
        let a = DhPublicKey([1; 32]);
        let key = || MessageKey(Secret32([9; 32]));
        let live: Vec<_> = (0..10).map(|n| (n, key())).collect();
        skipped.extend(a, &live);
        // Each round stores a key and removes it: one more stale order entry.
        let round = |skipped: &mut SkippedKeys, n: u32| {
            skipped.extend(a, &[(n, key())]);
            skipped.remove(&a, n);
        };
        for n in 100..174 {
            round(&mut skipped, n);
        }
        // 10 live and 74 stale entries: exactly 2 × 10 + 64, not yet more than the bound.
        assert_eq!(skipped.order.len(), 2 * 10 + 64);
        round(&mut skipped, 174);
        assert_eq!(skipped.order.len(), 10, "past the bound, only the live entries stay");
        assert_eq!(skipped.len(), 10);
    }
}
