//! The rollback counter: a number kept outside the store file, which the store raises after each
//! write of session state and compares with the file's own generation when it opens the file.
//!
//! A store file replaced by an older copy of itself holds older session states. A device that
//! goes on from them derives again the message keys it already used: the next message it sends
//! is sealed with the same ChaCha20-Poly1305 key and nonce as a message it sent before, and
//! messages it already received decrypt again. The file cannot tell that it is old, but a counter
//! kept elsewhere can: PROTOCOL.md, section 11, "Rollback", states the rule.

use std::panic::{RefUnwindSafe, UnwindSafe};

use thiserror::Error as ThisError;

/// Why a [`RollbackCounter`] could not be read or advanced. It carries no detail of the
/// platform's error, so that no error of the store holds more than the store knows.
#[derive(Debug, ThisError, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CounterError {
    /// The counter's storage cannot be used now (for example, the device is locked and the
    /// keychain item is not accessible until it is unlocked). Trying again later may work.
    #[error("the rollback counter is not available now")]
    Unavailable,
    /// The counter's storage failed, or holds a value that is not a counter.
    #[error("the rollback counter's storage failed")]
    Failed,
}

/// A monotonic counter kept outside the store file, which an application implements over
/// storage that rolling back the file does not roll back.
///
/// [`SqliteStore`](super::SqliteStore) keeps a *generation* in its file, raised in the same
/// transaction as every write of session state, and advances the counter to it once that
/// transaction has committed. When it opens the file, a counter ahead of the file's generation
/// means the file is older than a state it was seen in: the open is refused with
/// [`StoreError::RolledBack`](super::StoreError::RolledBack) and nothing is changed. Give the
/// counter in [`SqliteOptions::rollback_counter`](super::SqliteOptions::rollback_counter), or
/// to `Endpoint::open_with`.
///
/// # What an implementation must guarantee
///
/// * **Durable.** Once [`Self::advance`] returned `Ok`, the new value survives the process
///   being killed and the device losing power.
/// * **Only increases.** [`Self::advance`] never lowers the value: advancing to a value at or
///   below the stored one leaves it as it is. Several processes (an app and its notification
///   extension) may advance the same counter at once; the stored value must end up the highest
///   value any of them advanced to, so the read, the comparison and the write must be one atomic
///   step of the storage (or run under a lock all of them share).
/// * **Not in the file, nor in its backups.** It lives where whoever can replace the store file
///   with an older copy cannot put back an older counter: not in the store's file or directory,
///   and not in any backup or sync that holds the store file. On iOS, a keychain item that is
///   neither synced nor backed up (an accessibility ending in `ThisDeviceOnly`); on Android,
///   storage outside the app's backed-up files that the attacker in question cannot write.
///   Detection is exactly as strong as this storage: a counter that can be rolled back together
///   with the file detects nothing.
/// * **One counter per store file.** Two stores that share a counter refuse each other's
///   generations. A store created where a counter already has a value starts its generation at
///   that value, so a counter left over from a deleted store may be used again.
///
/// The value is a count of the store's session-writing transactions: it reveals how much the
/// device exchanged to whoever can read the counter's storage, and nothing else.
///
/// The store calls the counter while it holds its connection's lock, so an implementation must
/// not call back into the store. It is unwind safe (as a `Mutex` or an atomic is), so that a
/// store that holds it stays unwind safe for bindings that catch panics at their boundary.
///
/// ```
/// use std::sync::Mutex;
/// use confidant::store::{CounterError, RollbackCounter};
///
/// /// A stand-in for a keychain item: one `u64`, absent until first advanced.
/// struct KeychainCounter(Mutex<Option<u64>>);
///
/// impl RollbackCounter for KeychainCounter {
///     fn read(&self) -> Result<Option<u64>, CounterError> {
///         Ok(*self.0.lock().map_err(|_| CounterError::Failed)?)
///     }
///     fn advance(&self, to: u64) -> Result<(), CounterError> {
///         let mut value = self.0.lock().map_err(|_| CounterError::Failed)?;
///         // Never lower it; write it durably before returning `Ok`.
///         *value = Some(value.map_or(to, |stored| stored.max(to)));
///         Ok(())
///     }
/// }
/// ```
pub trait RollbackCounter: Send + Sync + RefUnwindSafe + UnwindSafe {
    /// The stored value, or `None` if the counter was never advanced.
    ///
    /// # Errors
    /// [`CounterError`] if the storage cannot be read; the store then refuses to open (it cannot
    /// tell whether the file was rolled back).
    fn read(&self) -> Result<Option<u64>, CounterError>;

    /// Raises the stored value to `to`, durably, unless it is already `to` or higher.
    ///
    /// # Errors
    /// [`CounterError`] if the storage cannot be written. The store's write that called it has
    /// committed all the same; the store tries again after its next write.
    fn advance(&self, to: u64) -> Result<(), CounterError>;
}

/// The counter of a store that has none: reads as never advanced, and advancing does nothing.
///
/// **With it, a rolled-back store file is not detected.** It is the default of
/// [`SqliteOptions`](super::SqliteOptions), and what `Endpoint::open` uses, for applications and
/// platforms that have no storage for a [`RollbackCounter`] beyond the reach of whoever could
/// replace the file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoRollbackCounter;

impl RollbackCounter for NoRollbackCounter {
    fn read(&self) -> Result<Option<u64>, CounterError> {
        Ok(None)
    }

    fn advance(&self, _to: u64) -> Result<(), CounterError> {
        Ok(())
    }
}
