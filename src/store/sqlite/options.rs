//! Options of a [`super::SqliteStore`]: when superseded copies of replaced values are wiped, and
//! the rollback counter.

use std::sync::Arc;

use crate::store::rollback::{NoRollbackCounter, RollbackCounter};

/// When the store wipes the superseded copies that replacing a value leaves in the write-ahead
/// log and the database file.
///
/// Replacing a value (a session state after each message, a message marked as read, a peer's
/// verification state) writes the new value to the write-ahead log; the old one stays in earlier
/// log frames and in the database file until a checkpoint copies the new pages into the file and
/// the log is truncated. That checkpoint syncs the log and the database file: under
/// [`WipePolicy::EveryWrite`] a wiped write costs two `fsync`s where a raw SQLite commit costs
/// one (PROTOCOL.md, section 11, "Transactions and durability").
///
/// Whatever the policy, the store wipes **at once** (before the write returns) after every
/// transaction that deleted something (a deleted, purged or expired message, a consumed or
/// removed prekey, a deleted session), after every batch marked with
/// [`WriteBatch::wipe_superseded`](crate::store::WriteBatch::wipe_superseded), after a
/// passphrase change, and when a store is opened. Each of these wipes also every superseded copy
/// left by earlier replacements, so a deleted message is never recoverable through an older
/// session state that could derive its message key again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum WipePolicy {
    /// Wipe after every transaction that deleted or replaced a value: no superseded session
    /// state (no used chain key) outlives the write that superseded it. The strongest policy and
    /// the default; it costs a checkpoint per received or sent message.
    #[default]
    EveryWrite,
    /// Let the superseded copies of replaced values of at most `transactions` committed
    /// transactions wait for the next wipe; the transaction after them wipes. A deletion, a batch
    /// marked with [`WriteBatch::wipe_superseded`](crate::store::WriteBatch::wipe_superseded),
    /// [`SqliteStore::wipe`](super::SqliteStore::wipe), opening the store and dropping it wipe
    /// sooner. `transactions: 0` is [`WipePolicy::EveryWrite`].
    Bounded {
        /// How many transactions' superseded copies may be waiting when a write returns.
        transactions: u32,
    },
}

impl WipePolicy {
    /// How many replacing transactions may be left unwiped.
    pub(super) fn max_pending(self) -> u32 {
        match self {
            Self::EveryWrite => 0,
            Self::Bounded { transactions } => transactions,
        }
    }
}

/// Options of a [`super::SqliteStore`], chosen when it is created or opened (they are not stored
/// in the file): when superseded copies are wiped, and the counter that detects a rolled-back
/// file.
///
/// ```
/// use std::sync::Arc;
/// use confidant::store::{NoRollbackCounter, SqliteOptions, WipePolicy};
///
/// let options = SqliteOptions::with_wipe(WipePolicy::Bounded { transactions: 8 })
///     // An application passes its own counter (a keychain item); see `RollbackCounter`.
///     .rollback_counter(Arc::new(NoRollbackCounter));
/// assert_eq!(options.wipe, WipePolicy::Bounded { transactions: 8 });
/// ```
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct SqliteOptions {
    /// When superseded copies of replaced values are wiped; [`WipePolicy::EveryWrite`] by
    /// default.
    pub wipe: WipePolicy,
    /// The counter kept outside the file; [`NoRollbackCounter`] (no detection) by default.
    counter: Counter,
}

/// The rollback counter, shared with the application.
#[derive(Clone)]
pub(super) struct Counter(pub(super) Arc<dyn RollbackCounter>);

impl Default for Counter {
    fn default() -> Self {
        Self(Arc::new(NoRollbackCounter))
    }
}

impl SqliteOptions {
    /// The default options with `wipe` as the wipe policy.
    #[must_use]
    pub fn with_wipe(wipe: WipePolicy) -> Self {
        Self { wipe, counter: Counter::default() }
    }

    /// These options with `counter` as the store's [`RollbackCounter`]: the store advances it
    /// after every write of session state and refuses to open a file whose generation it is
    /// ahead of ([`StoreError::RolledBack`](crate::store::StoreError::RolledBack)). Without
    /// one ([`NoRollbackCounter`], the default) a rolled-back file is not detected.
    #[must_use]
    pub fn rollback_counter(mut self, counter: Arc<dyn RollbackCounter>) -> Self {
        self.counter = Counter(counter);
        self
    }

    /// The counter, as the store calls it.
    pub(super) fn counter(&self) -> &dyn RollbackCounter {
        &*self.counter.0
    }
}

impl std::fmt::Debug for SqliteOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteOptions").field("wipe", &self.wipe).finish_non_exhaustive()
    }
}
