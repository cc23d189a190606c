//! The store's generation: one sealed number that increases in every transaction that writes
//! session state, which the rollback counter ([`super::RollbackCounter`]) follows from outside
//! the file (PROTOCOL.md, section 11, "Rollback").

use super::codec;
use super::ops::{self, Kv, Tables, LOCAL};
use super::types::Owner;
use super::StoreError;

/// The generation the store holds: 0 if it has no generation record (a new store of a schema
/// before 4, or one whose record was deleted).
pub(crate) fn stored(t: &mut dyn Tables) -> Result<u64, StoreError> {
    let table = Kv::Generation.table();
    let bytes = t.get(Kv::Generation, LOCAL)?;
    Ok(bytes.map(|v| codec::decode_generation(&v, table)).transpose()?.unwrap_or(0))
}

/// Writes `generation` as the store's generation.
pub(crate) fn set(t: &mut dyn Tables, generation: u64) -> Result<(), StoreError> {
    t.put(Kv::Generation, LOCAL, &codec::encode_generation(generation))?;
    t.wrote_generation(generation);
    Ok(())
}

/// Raises the generation by one, in a transaction that writes session state.
///
/// # Errors
/// [`StoreError::RolledBack`] if the stored generation is below the lowest one the store may
/// hold now ([`Tables::generation_floor`]): the file, or its generation record, was replaced by
/// an older copy while the store was open. Nothing is written.
pub(crate) fn advance(t: &mut dyn Tables) -> Result<(), StoreError> {
    let file = stored(t)?;
    let floor = t.generation_floor();
    if file < floor {
        return Err(StoreError::RolledBack { file, counter: floor });
    }
    let next = file.checked_add(1).ok_or(StoreError::Corrupt { table: Kv::Generation.table() })?;
    set(t, next)
}

/// Makes a rolled-back store usable again, in one write transaction: checks (or records) the
/// owner, deletes every session state and every prekey, and sets the generation above both the
/// stored one and the floor. Returns the new generation.
///
/// A generation record that does not open is replaced as well: recovery is for a file that
/// cannot be trusted to be current, and a damaged record is one more sign of it.
///
/// # Errors
/// [`StoreError::OwnerMismatch`] if the store belongs to another owner; a store error if the
/// file cannot be written. In every case nothing was changed.
pub(crate) fn recover(t: &mut dyn Tables, owner: &Owner) -> Result<u64, StoreError> {
    ops::record_owner(t, owner)?;
    for kv in [
        Kv::Session,
        Kv::SignedPrekey,
        Kv::OneTimePrekey,
        Kv::KemPrekey,
        Kv::PrekeySchedule,
        Kv::LastResortHandshake,
    ] {
        t.clear(kv)?;
    }
    let file = match stored(t) {
        Ok(file) => file,
        Err(StoreError::Corrupt { .. }) => 0,
        Err(e) => return Err(e),
    };
    let next = file
        .max(t.generation_floor())
        .checked_add(1)
        .ok_or(StoreError::Corrupt { table: Kv::Generation.table() })?;
    set(t, next)?;
    Ok(next)
}
