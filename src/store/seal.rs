//! Sealed records and lookup keys.
//!
//! Every value is sealed with XChaCha20-Poly1305 under a key derived from the store key:
//! `version (1) ‖ nonce (24) ‖ ciphertext ‖ tag (16)`. The associated data binds the table and
//! the row's clear columns (its lookup key and any other column a file holder can see), so a
//! value moved to another row or table, or a clear column changed, fails to open.
//!
//! Lookup keys are keyed hashes, `HMAC-SHA256(lookup key, len(table) ‖ table ‖ id)`, so no
//! indexed column holds an identity, and the same peer hashes differently in each table.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::XChaCha20Poly1305;
use zeroize::Zeroizing;

use super::consts::{AUDIT_KEY_INFO, LOOKUP_KEY_INFO, RECORD_AAD_LABEL, RECORD_VERSION, SEAL_KEY_INFO};
use super::keys::StoreKey;
use super::random;
use super::StoreError;
use crate::keys::Secret32;
use crate::primitives::{hkdf_sha256, hmac_sha256};

const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
/// Bytes a sealed record adds to its plaintext.
pub(crate) const SEAL_OVERHEAD: usize = 1 + NONCE_LEN + TAG_LEN;

/// The keys derived from the store key. Zeroized on drop.
pub(crate) struct RecordKeys {
    seal: Secret32,
    lookup: Secret32,
    audit: Secret32,
}

impl RecordKeys {
    /// `HKDF-SHA256(salt = none, ikm = store key, info = label)` for each subkey.
    pub(crate) fn derive(store_key: &StoreKey) -> Self {
        let seal = Secret32(*hkdf_sha256::<32>(&[], store_key.0.as_bytes(), SEAL_KEY_INFO));
        let lookup = Secret32(*hkdf_sha256::<32>(&[], store_key.0.as_bytes(), LOOKUP_KEY_INFO));
        let audit = Secret32(*hkdf_sha256::<32>(&[], store_key.0.as_bytes(), AUDIT_KEY_INFO));
        Self { seal, lookup, audit }
    }

    /// The audit trail's chain key.
    pub(crate) fn audit(&self) -> Secret32 {
        Secret32(*self.audit.as_bytes())
    }

    /// The lookup key of `id` in `table`.
    pub(crate) fn lookup(&self, table: &str, id: &[u8]) -> [u8; 32] {
        let table_len = [u8::try_from(table.len()).unwrap_or(u8::MAX)];
        hmac_sha256(self.lookup.as_bytes(), &[&table_len, table.as_bytes(), id]).0
    }

    /// Seals `plaintext` for the row of `table` whose clear columns are `row`, under a nonce
    /// drawn from the operating system's generator.
    ///
    /// # Errors
    /// [`StoreError::Random`] if the operating system delivers no random bytes;
    /// [`StoreError::InvalidInput`] if the record is too large for the AEAD.
    pub(crate) fn seal(
        &self,
        table: &'static str,
        row: &[&[u8]],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, StoreError> {
        let mut nonce = [0u8; NONCE_LEN];
        random::fill(&mut nonce)?;
        self.seal_with_nonce(&nonce, table, row, plaintext)
    }

    /// [`Self::seal`] with a nonce from `rng` (the low-level layer's deterministic vectors).
    ///
    /// # Errors
    /// [`StoreError::Random`] if `rng` fails; [`StoreError::InvalidInput`] if the record is too
    /// large for the AEAD.
    #[cfg(any(test, feature = "low-level"))]
    pub(crate) fn seal_from<R: rand_core::TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        table: &'static str,
        row: &[&[u8]],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, StoreError> {
        let mut nonce = [0u8; NONCE_LEN];
        random::fill_from(rng, &mut nonce)?;
        self.seal_with_nonce(&nonce, table, row, plaintext)
    }

    fn seal_with_nonce(
        &self,
        nonce: &[u8; NONCE_LEN],
        table: &'static str,
        row: &[&[u8]],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, StoreError> {
        let cipher = XChaCha20Poly1305::new(self.seal.as_bytes().into());
        let aad = record_aad(table, row);
        let sealed = cipher
            .encrypt(nonce.into(), Payload { msg: plaintext, aad: &aad })
            .map_err(|_| StoreError::InvalidInput("record too large"))?;
        let mut out = Vec::with_capacity(SEAL_OVERHEAD + plaintext.len());
        out.push(RECORD_VERSION);
        out.extend_from_slice(nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens a sealed record of `table`; [`StoreError::Corrupt`] naming the table if it does not
    /// authenticate for this row.
    pub(crate) fn open(
        &self,
        table: &'static str,
        row: &[&[u8]],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        let corrupt = StoreError::Corrupt { table };
        if sealed.len() < SEAL_OVERHEAD || sealed.first() != Some(&RECORD_VERSION) {
            return Err(corrupt);
        }
        let Some((nonce, body)) = sealed[1..].split_first_chunk::<NONCE_LEN>() else {
            return Err(corrupt);
        };
        let cipher = XChaCha20Poly1305::new(self.seal.as_bytes().into());
        let aad = record_aad(table, row);
        cipher
            .decrypt(nonce.into(), Payload { msg: body, aad: &aad })
            .map(Zeroizing::new)
            .map_err(|_| corrupt)
    }
}

/// `label ‖ version ‖ len(table) (u8) ‖ table ‖ for each clear column: len (u32 BE) ‖ bytes`.
fn record_aad(table: &str, row: &[&[u8]]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(64 + row.iter().map(|c| c.len() + 4).sum::<usize>());
    aad.extend_from_slice(RECORD_AAD_LABEL);
    aad.push(RECORD_VERSION);
    aad.push(u8::try_from(table.len()).unwrap_or(u8::MAX));
    aad.extend_from_slice(table.as_bytes());
    for column in row {
        aad.extend_from_slice(&u32::try_from(column.len()).unwrap_or(u32::MAX).to_be_bytes());
        aad.extend_from_slice(column);
    }
    aad
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::random::tests::Failing;
    use rand::SeedableRng;

    fn keys() -> RecordKeys {
        RecordKeys::derive(&StoreKey(Secret32([5; 32])))
    }

    #[test]
    fn seals_and_opens_only_in_its_own_row_and_table() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let k = keys();
        let sealed = k.seal_from(&mut rng, "sessions", &[b"row-a"], b"state").unwrap();
        assert_eq!(sealed.len(), SEAL_OVERHEAD + 5);
        assert_eq!(k.open("sessions", &[b"row-a"], &sealed).unwrap().as_slice(), b"state");
        let moved = StoreError::Corrupt { table: "sessions" };
        assert_eq!(k.open("sessions", &[b"row-b"], &sealed).err(), Some(moved.clone()));
        assert_eq!(k.open("peers", &[b"row-a"], &sealed).err(), Some(StoreError::Corrupt { table: "peers" }));
        assert_eq!(k.open("sessions", &[b"row-a"], &sealed[..sealed.len() - 1]).err(), Some(moved.clone()));
        assert_eq!(k.open("sessions", &[b"row-a"], &[]).err(), Some(moved.clone()));
        let mut flipped = sealed.clone();
        flipped[30] ^= 1;
        assert_eq!(k.open("sessions", &[b"row-a"], &flipped).err(), Some(moved));
        // Column boundaries are part of the associated data.
        let split = k.seal("t", &[b"ab", b"c"], b"x").unwrap();
        assert!(k.open("t", &[b"a", b"bc"], &split).is_err());
    }

    #[test]
    fn every_seal_draws_a_new_nonce_and_a_failing_generator_is_a_typed_error() {
        let k = keys();
        let (a, b) = (k.seal("t", &[b"r"], b"x").unwrap(), k.seal("t", &[b"r"], b"x").unwrap());
        assert_ne!(a[1..1 + NONCE_LEN], b[1..1 + NONCE_LEN]);
        assert_eq!(k.seal_from(&mut Failing, "t", &[b"r"], b"x"), Err(StoreError::Random));
    }

    #[test]
    fn lookup_keys_differ_per_table_and_key() {
        let k = keys();
        assert_eq!(k.lookup("peers", b"alice"), k.lookup("peers", b"alice"));
        assert_ne!(k.lookup("peers", b"alice"), k.lookup("sessions", b"alice"));
        assert_ne!(k.lookup("peers", b"alice"), k.lookup("peers", b"bob"));
        let other = RecordKeys::derive(&StoreKey(Secret32([6; 32])));
        assert_ne!(k.lookup("peers", b"alice"), other.lookup("peers", b"alice"));
    }

    #[test]
    fn an_empty_value_opens_and_a_record_of_another_version_does_not() {
        let keys = keys();
        let empty = keys.seal("t", &[b"row"], b"").unwrap();
        assert_eq!(empty.len(), SEAL_OVERHEAD);
        assert_eq!(&keys.open("t", &[b"row"], &empty).unwrap()[..], b"");
        let mut other = keys.seal("t", &[b"row"], b"value").unwrap();
        other[0] ^= 0x80;
        assert_eq!(keys.open("t", &[b"row"], &other).unwrap_err(), StoreError::Corrupt { table: "t" });
    }
}
