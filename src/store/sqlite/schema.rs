//! Numbered migrations. Each runs in one transaction together with the bump of
//! `PRAGMA user_version`, so a file is always at exactly one schema version.

use rusqlite::{Connection, Transaction};

use crate::store::consts::SCHEMA_VERSION;
use crate::store::StoreError;

/// `(version, SQL)`: running the SQL of version `n` on a file at version `n - 1` brings it to `n`.
const MIGRATIONS: &[(u32, &str)] = &[
    (1, include_str!("../migrations/0001_initial.sql")),
    (2, include_str!("../migrations/0002_owner.sql")),
    (3, include_str!("../migrations/0003_auto_replies.sql")),
    (4, include_str!("../migrations/0004_generation.sql")),
    (5, include_str!("../migrations/0005_audit.sql")),
    (6, include_str!("../migrations/0006_boundaries.sql")),
    (7, include_str!("../migrations/0007_message_order.sql")),
    (8, include_str!("../migrations/0008_prekey_lifecycle.sql")),
    (9, include_str!("../migrations/0009_devices.sql")),
];

/// The first schema version with the `audit` and `audit_head` tables.
pub(super) const AUDIT_SCHEMA: u32 = 5;

/// The first schema version with a `generation` table.
pub(super) const GENERATION_SCHEMA: u32 = 4;

/// The file's schema version.
pub(super) fn version(conn: &Connection) -> Result<u32, StoreError> {
    let v: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    u32::try_from(v).map_err(|_| StoreError::NotAStore)
}

/// Runs migration `version` inside `tx` and records it.
fn run(tx: &Transaction<'_>, version: u32, sql: &str) -> Result<(), StoreError> {
    tx.execute_batch(sql)?;
    tx.pragma_update(None, "user_version", version)?;
    Ok(())
}

/// Brings a new, empty file to the current version inside `tx` (the caller adds the header row
/// to the same transaction, so a file is never half created).
pub(super) fn create(tx: &Transaction<'_>) -> Result<(), StoreError> {
    MIGRATIONS.iter().try_for_each(|(version, sql)| run(tx, *version, sql))
}

/// Refuses a file written by a newer schema.
pub(super) fn check_version(found: u32) -> Result<(), StoreError> {
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema { found, supported: SCHEMA_VERSION });
    }
    Ok(())
}

/// Brings a file from version `from` to the current version, one transaction per migration.
pub(super) fn upgrade(conn: &mut Connection, from: u32) -> Result<(), StoreError> {
    check_version(from)?;
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > from) {
        let tx = conn.transaction()?;
        run(&tx, *version, sql)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_from_one_without_gaps() {
        for (i, (version, _)) in MIGRATIONS.iter().enumerate() {
            assert_eq!(*version as usize, i + 1);
        }
        assert_eq!(MIGRATIONS.last().map(|m| m.0), Some(SCHEMA_VERSION));
    }
}
