//! One lock per conversation, so that two operations on the same peer never interleave.
//!
//! Every endpoint operation that loads a peer's sessions or conversation and saves them again
//! (send, receive, a batch of receives, marking read, the agreement calls, starting a session)
//! runs with that peer's lock held from the load to the save. Without it, two threads sending to
//! one peer would both load the session at message key `n` and both seal with it: the same
//! ChaCha20-Poly1305 key and nonce for two plaintexts, whose XOR and Poly1305 key would leak; two
//! receives would each save a state that misses the other's update.
//!
//! Operations on different peers do not wait for each other: the map of locks is held only to
//! find or create a peer's lock, never while an operation runs. A peer's entry is removed when
//! its last user leaves, so the map holds only the peers in use. A lock poisoned by a panic in
//! another thread is taken anyway: it guards no data of its own (the state lives in the store,
//! which a failed operation left unchanged), so there is nothing to distrust.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::store::PeerId;

/// The per-peer locks of one endpoint.
#[derive(Default)]
pub(super) struct PeerLocks {
    locks: Mutex<HashMap<PeerId, Arc<Mutex<()>>>>,
}

impl PeerLocks {
    /// Runs `operation` with `peer`'s lock held, after every operation on `peer` that took the
    /// lock before it.
    pub(super) fn with<T>(&self, peer: &PeerId, operation: impl FnOnce() -> T) -> T {
        let lock = Arc::clone(self.map().entry(peer.clone()).or_default());
        let result = {
            let _held = lock.lock().unwrap_or_else(PoisonError::into_inner);
            operation()
        };
        let mut map = self.map();
        // Two owners left, the map and this call: nobody else holds or waits for the lock, and
        // nobody can start to while the map is locked.
        if Arc::strong_count(&lock) == 2 {
            map.remove(peer);
        }
        result
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<PeerId, Arc<Mutex<()>>>> {
        self.locks.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many peers have an entry (for tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.map().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Barrier;

    #[test]
    fn one_peer_is_serialised_and_others_are_not() {
        let locks = Arc::new(PeerLocks::default());
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let barrier = Arc::new(Barrier::new(4));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (locks, inside, most, barrier) =
                    (Arc::clone(&locks), Arc::clone(&inside), Arc::clone(&most), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    for _ in 0..200 {
                        locks.with(&PeerId::new("a").unwrap(), || {
                            let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            std::thread::yield_now();
                            inside.fetch_sub(1, Ordering::SeqCst);
                        });
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 1);
        assert_eq!(locks.len(), 0, "entries of peers no longer in use are removed");

        // Another peer's lock is free while one peer's is held.
        let a = PeerId::new("a").unwrap();
        let b = PeerId::new("b").unwrap();
        locks.with(&a, || locks.with(&b, || assert_eq!(locks.len(), 2)));
        assert_eq!(locks.len(), 0);
    }

    #[test]
    fn a_poisoned_lock_is_taken_anyway() {
        let locks = Arc::new(PeerLocks::default());
        let peer = PeerId::new("a").unwrap();
        let (held, release) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
        let thread = {
            let (locks, peer, held, release) =
                (Arc::clone(&locks), peer.clone(), Arc::clone(&held), Arc::clone(&release));
            std::thread::spawn(move || {
                locks.with(&peer, || {
                    held.wait();
                    release.wait();
                    panic!("an operation panicked with the lock held");
                })
            })
        };
        held.wait();
        // Keep the entry alive across the panic, so that the poisoned lock is the one reused.
        let waiting = {
            let (locks, peer) = (Arc::clone(&locks), peer.clone());
            std::thread::spawn(move || locks.with(&peer, || 42))
        };
        release.wait();
        assert!(thread.join().is_err());
        assert_eq!(waiting.join().unwrap(), 42);
        assert_eq!(locks.with(&peer, || 7), 7);
    }
}
