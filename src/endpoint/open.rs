//! Opening an endpoint over a store file, and recovering one that was rolled back.

use std::path::Path;

use super::error::Result;
use super::generator::Generator;
use super::Endpoint;
use crate::agreement::Role;
use crate::clock::SystemClock;
use crate::store::{Owner, SqliteOptions, SqliteStore, StoreKeySource};

impl Endpoint<SqliteStore, SystemClock> {
    /// Opens the store file at `path` with `key`, creating it (with a new identity) if it does
    /// not exist. `local_id` is how the peers know this device's user (an account id); it enters
    /// the safety numbers.
    ///
    /// The store remembers who it belongs to: a new store records `role` and `local_id` as its
    /// owner, and an existing one opens only with the role and local id (compared byte for byte)
    /// it records, as in [`Self::new`].
    ///
    /// The store gets no rollback counter ([`crate::store::NoRollbackCounter`]): a store file
    /// replaced by an older copy of itself is **not detected**, and sending from it would use
    /// again message keys already used. Where the platform has storage beyond the reach of whoever
    /// could replace the file (a keychain item), use [`Self::open_with`] with a
    /// [`crate::store::RollbackCounter`].
    ///
    /// # Errors
    /// [`crate::store::StoreError`] if the file cannot be opened or created (for example
    /// [`crate::store::StoreError::WrongKey`]);
    /// [`crate::store::StoreError::OwnerMismatch`] if the store belongs to another role or local
    /// id, in which case nothing was written to it; [`crate::store::StoreError::InvalidInput`] if
    /// `local_id` is empty or too long (see [`Owner::new`]), in which case no file was opened or
    /// created.
    pub fn open(
        path: impl AsRef<Path>,
        key: &StoreKeySource,
        role: Role,
        local_id: impl Into<String>,
    ) -> Result<Self> {
        Self::open_with(path, key, role, local_id, SqliteOptions::default())
    }

    /// [`Self::open`] with the store's `options`: its wipe policy and its rollback counter
    /// ([`SqliteOptions::rollback_counter`]). With a counter, a store file that was replaced by an
    /// older copy of itself is refused when it is opened, so that nothing is sent from it
    /// ([`crate::store::StoreError::RolledBack`]); [`Self::recover_from_rollback`] makes it
    /// usable again.
    ///
    /// # Errors
    /// As [`Self::open`], and: [`crate::store::StoreError::RolledBack`] if the counter is ahead of
    /// the file (the file was not modified); [`crate::store::StoreError::RollbackCounter`] if the
    /// counter cannot be read (no file was opened or created).
    pub fn open_with(
        path: impl AsRef<Path>,
        key: &StoreKeySource,
        role: Role,
        local_id: impl Into<String>,
        options: SqliteOptions,
    ) -> Result<Self> {
        let owner = Owner::new(role, local_id)?;
        let path = path.as_ref();
        let store = if path.exists() {
            SqliteStore::open_with(path, key, options)?
        } else {
            SqliteStore::create_with(path, key, options)?
        };
        Self::with_owner(Generator::System, store, SystemClock, owner)
    }

    /// Opens the store file at `path` after [`Self::open_with`] reported
    /// [`crate::store::StoreError::RolledBack`], deletes every session state and every prekey
    /// from it, raises its generation above the counter, and returns the endpoint
    /// ([`SqliteStore::recover_from_rollback`]). Messages, agreements, peers and the identity are
    /// kept; the store must belong to `role` and `local_id`.
    ///
    /// Every conversation then needs a new session: for each peer ([`crate::store::Store::peers`]), fetch a
    /// fresh prekey bundle and call [`Self::start_session`]; publish new bundles
    /// ([`Self::prekey_bundle`]), as those handed out before are gone. PROTOCOL.md, section 11,
    /// "Rollback", explains why the sessions cannot be kept.
    ///
    /// # Errors
    /// [`crate::store::StoreError::NotFound`] if there is no file; as
    /// [`SqliteStore::recover_from_rollback`] otherwise; [`crate::store::StoreError::InvalidInput`]
    /// if `local_id` is empty or too long. In every case no session was deleted.
    pub fn recover_from_rollback(
        path: impl AsRef<Path>,
        key: &StoreKeySource,
        role: Role,
        local_id: impl Into<String>,
        options: SqliteOptions,
    ) -> Result<Self> {
        let owner = Owner::new(role, local_id)?;
        let store = SqliteStore::recover_from_rollback(path, key, &owner, options)?;
        Self::with_owner(Generator::System, store, SystemClock, owner)
    }
}
