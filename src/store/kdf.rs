//! Turning a passphrase into a key-encryption key with Argon2id (RFC 9106), and the encoding of
//! the KDF choice that the store file keeps beside the wrapped key.

use argon2::{Algorithm, Argon2, Params, Version};
use zeroize::Zeroizing;

use super::consts::{
    DEFAULT_KDF_ITERATIONS, DEFAULT_KDF_MEMORY_KIB, DEFAULT_KDF_PARALLELISM, KDF_SALT_LEN,
    MAX_KDF_ITERATIONS, MAX_KDF_MEMORY_KIB, MAX_KDF_PARALLELISM,
};
use super::StoreError;
use crate::codec::Reader;
use crate::keys::Secret32;

/// Argon2id cost parameters for a passphrase-protected store.
///
/// The defaults are RFC 9106's second recommended option for memory-constrained devices:
/// 64 MiB of memory, 3 passes, 4 lanes (Argon2 version 0x13, 16-byte salt, 32-byte output).
/// They are stored in the file, so a store keeps opening after the defaults change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory, in KiB. At least 8 × `parallelism`, at most
    /// [`MAX_KDF_MEMORY_KIB`](super::consts::MAX_KDF_MEMORY_KIB).
    pub memory_kib: u32,
    /// Passes over the memory. At least 1, at most
    /// [`MAX_KDF_ITERATIONS`](super::consts::MAX_KDF_ITERATIONS).
    pub iterations: u32,
    /// Lanes. At least 1, at most [`MAX_KDF_PARALLELISM`](super::consts::MAX_KDF_PARALLELISM).
    pub parallelism: u32,
}

impl Default for KdfParams {
    fn default() -> Self {
        Self {
            memory_kib: DEFAULT_KDF_MEMORY_KIB,
            iterations: DEFAULT_KDF_ITERATIONS,
            parallelism: DEFAULT_KDF_PARALLELISM,
        }
    }
}

impl KdfParams {
    /// The Argon2 parameters, if these are within the store's bounds.
    fn argon2_params(&self) -> Option<Params> {
        let in_bounds = (1..=MAX_KDF_PARALLELISM).contains(&self.parallelism)
            && (1..=MAX_KDF_ITERATIONS).contains(&self.iterations)
            && self.memory_kib <= MAX_KDF_MEMORY_KIB
            && self.memory_kib >= 8 * self.parallelism;
        if !in_bounds {
            return None;
        }
        Params::new(self.memory_kib, self.iterations, self.parallelism, Some(32)).ok()
    }

    /// Checks the parameters against the store's bounds.
    pub(crate) fn check(&self) -> Result<(), StoreError> {
        self.argon2_params().map(|_| ()).ok_or(StoreError::InvalidInput("kdf parameters"))
    }
}

/// How the key-encryption key of a store file is obtained, as recorded in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KdfHeader {
    /// The application supplies the key-encryption key directly.
    AppKey,
    /// Argon2id over a passphrase.
    Argon2id { params: KdfParams, salt: [u8; KDF_SALT_LEN] },
}

const TAG_APP_KEY: u8 = 0;
const TAG_ARGON2ID: u8 = 1;
const ARGON2_VERSION: u32 = 0x13;
const ARGON2ID_LEN: usize = 1 + 4 * 4 + KDF_SALT_LEN;

impl KdfHeader {
    /// `0x00` for an application key; `0x01 ‖ version ‖ memory_kib ‖ iterations ‖ parallelism ‖
    /// salt` (each number u32 big-endian) for Argon2id.
    pub(crate) fn encode(&self) -> Vec<u8> {
        match self {
            Self::AppKey => vec![TAG_APP_KEY],
            Self::Argon2id { params, salt } => {
                let mut out = Vec::with_capacity(ARGON2ID_LEN);
                out.push(TAG_ARGON2ID);
                for n in [ARGON2_VERSION, params.memory_kib, params.iterations, params.parallelism] {
                    out.extend_from_slice(&n.to_be_bytes());
                }
                out.extend_from_slice(salt);
                out
            }
        }
    }

    /// Decodes [`Self::encode`], refusing parameters outside the store's bounds, so that a
    /// tampered file cannot make opening allocate without limit.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        const BAD: StoreError = StoreError::Corrupt { table: "store_header" };
        let mut r = Reader::with_error(bytes, BAD);
        let header = match r.u8()? {
            TAG_APP_KEY => Self::AppKey,
            TAG_ARGON2ID => {
                if r.u32()? != ARGON2_VERSION {
                    return Err(BAD);
                }
                let params = KdfParams { memory_kib: r.u32()?, iterations: r.u32()?, parallelism: r.u32()? };
                params.check().map_err(|_| BAD)?;
                Self::Argon2id { params, salt: r.array()? }
            }
            _ => return Err(BAD),
        };
        r.finish()?;
        Ok(header)
    }
}

/// Argon2id(passphrase, salt) with `params`, 32 bytes of output.
pub(crate) fn argon2id(passphrase: &[u8], params: &KdfParams, salt: &[u8]) -> Result<Secret32, StoreError> {
    let argon_params = params.argon2_params().ok_or(StoreError::InvalidInput("kdf parameters"))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, argon_params);
    let mut out = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(passphrase, salt, &mut out[..])
        .map_err(|_| StoreError::InvalidInput("passphrase"))?;
    Ok(Secret32(*out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_refuses_bad_params() {
        let params = KdfParams { memory_kib: 8, iterations: 1, parallelism: 1 };
        let header = KdfHeader::Argon2id { params, salt: [7; KDF_SALT_LEN] };
        assert_eq!(KdfHeader::decode(&header.encode()).unwrap(), header);
        assert_eq!(KdfHeader::decode(&KdfHeader::AppKey.encode()).unwrap(), KdfHeader::AppKey);

        let huge = KdfParams { memory_kib: u32::MAX, iterations: 1, parallelism: 1 };
        let bad = KdfHeader::Argon2id { params: huge, salt: [0; KDF_SALT_LEN] }.encode();
        assert_eq!(KdfHeader::decode(&bad), Err(StoreError::Corrupt { table: "store_header" }));
        assert!(KdfHeader::decode(&[]).is_err());
        assert!(KdfHeader::decode(&header.encode()[..20]).is_err());
    }

    #[test]
    fn defaults_are_rfc_9106_second_option() {
        let d = KdfParams::default();
        assert_eq!((d.memory_kib, d.iterations, d.parallelism), (65536, 3, 4));
        assert!(d.check().is_ok());
    }
}
