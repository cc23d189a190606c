//! Turning a passphrase into a key-encryption key with Argon2id (RFC 9106), and the encoding of
//! the KDF choice that the store file keeps beside the wrapped key.

use argon2::{Algorithm, Argon2, Params, Version};
use zeroize::Zeroizing;

use super::consts::{
    DEFAULT_KDF_ITERATIONS, DEFAULT_KDF_MEMORY_KIB, DEFAULT_KDF_PARALLELISM, KDF_SALT_LEN,
    MAX_KDF_ITERATIONS, MAX_KDF_MEMORY_KIB, MAX_KDF_PARALLELISM, MIN_KDF_ITERATIONS, MIN_KDF_MEMORY_KIB,
    MIN_KDF_PARALLELISM,
};
use super::StoreError;
use crate::codec::Reader;
use crate::keys::Secret32;

/// Argon2id cost parameters for a passphrase-protected store.
///
/// The defaults are RFC 9106's second recommended option for memory-constrained devices:
/// 64 MiB of memory, 3 passes, 4 lanes (Argon2 version 0x13, 16-byte salt, 32-byte output).
/// They are stored in the file, so a store keeps opening after the defaults change.
///
/// Parameters for a new wrap are made with [`Self::new`], which holds them between a floor
/// (OWASP's minimum for Argon2id: 19 MiB, 2 passes, 1 lane) and a ceiling (1 GiB, 10 passes,
/// 8 lanes); PROTOCOL.md, section 11, "Argon2id parameters", gives the reasons for both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
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
    /// Parameters for a new wrap: `memory_kib` KiB of memory, `iterations` passes over it,
    /// `parallelism` lanes.
    ///
    /// # Errors
    /// [`StoreError::KdfAboveCeiling`] if a parameter is above
    /// [`MAX_KDF_MEMORY_KIB`](super::consts::MAX_KDF_MEMORY_KIB),
    /// [`MAX_KDF_ITERATIONS`](super::consts::MAX_KDF_ITERATIONS) or
    /// [`MAX_KDF_PARALLELISM`](super::consts::MAX_KDF_PARALLELISM);
    /// [`StoreError::KdfBelowFloor`] if one is below
    /// [`MIN_KDF_MEMORY_KIB`](super::consts::MIN_KDF_MEMORY_KIB),
    /// [`MIN_KDF_ITERATIONS`](super::consts::MIN_KDF_ITERATIONS) or
    /// [`MIN_KDF_PARALLELISM`](super::consts::MIN_KDF_PARALLELISM).
    pub fn new(memory_kib: u32, iterations: u32, parallelism: u32) -> Result<Self, StoreError> {
        let params = Self { memory_kib, iterations, parallelism };
        if params.above_ceiling() {
            return Err(StoreError::KdfAboveCeiling);
        }
        let below_floor = memory_kib < MIN_KDF_MEMORY_KIB
            || iterations < MIN_KDF_ITERATIONS
            || parallelism < MIN_KDF_PARALLELISM;
        if below_floor {
            return Err(StoreError::KdfBelowFloor);
        }
        Ok(params)
    }

    /// Parameters below the floor, for tests that create many stores and must not spend
    /// Argon2id's real cost on each. Only with the `low-level` feature, which no app enables;
    /// a store wrapped with them falls to a brute-force search of its passphrase.
    ///
    /// The ceiling and Argon2's own rules (at least one pass, one lane, 8 KiB per lane) still
    /// apply when a store is created with them.
    #[cfg(any(test, feature = "low-level"))]
    #[must_use]
    pub const fn without_floor(memory_kib: u32, iterations: u32, parallelism: u32) -> Self {
        Self { memory_kib, iterations, parallelism }
    }

    /// Memory, in KiB.
    #[must_use]
    pub fn memory_kib(&self) -> u32 {
        self.memory_kib
    }

    /// Passes over the memory.
    #[must_use]
    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    /// Lanes.
    #[must_use]
    pub fn parallelism(&self) -> u32 {
        self.parallelism
    }
}

impl KdfParams {
    /// Whether any parameter is above the store's ceiling.
    fn above_ceiling(&self) -> bool {
        self.memory_kib > MAX_KDF_MEMORY_KIB
            || self.iterations > MAX_KDF_ITERATIONS
            || self.parallelism > MAX_KDF_PARALLELISM
    }

    /// The Argon2 parameters, if these are at most the store's ceiling and valid for Argon2.
    ///
    /// # Errors
    /// [`StoreError::KdfAboveCeiling`] if a parameter is above the ceiling (checked first, on the
    /// numbers alone); [`StoreError::InvalidInput`] if Argon2 refuses them (no lane, no pass, or
    /// less than 8 KiB of memory per lane).
    fn argon2_params(&self) -> Result<Params, StoreError> {
        if self.above_ceiling() {
            return Err(StoreError::KdfAboveCeiling);
        }
        let invalid = StoreError::InvalidInput("kdf parameters");
        if self.parallelism == 0 || self.iterations == 0 || self.memory_kib < 8 * self.parallelism {
            return Err(invalid);
        }
        Params::new(self.memory_kib, self.iterations, self.parallelism, Some(32)).map_err(|_| invalid)
    }

    /// Checks the parameters against the store's ceiling and Argon2's own rules.
    ///
    /// # Errors
    /// As [`Self::argon2_params`].
    pub(crate) fn check(&self) -> Result<(), StoreError> {
        self.argon2_params().map(drop)
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

    /// Decodes [`Self::encode`], refusing parameters above the store's ceiling before anything
    /// runs Argon2id with them, so that a tampered file cannot make opening allocate or compute
    /// without limit. The salt is exactly [`KDF_SALT_LEN`] bytes; anything after it is refused.
    ///
    /// # Errors
    /// [`StoreError::KdfAboveCeiling`] for parameters above the ceiling;
    /// [`StoreError::Corrupt`] naming `store_header` for anything else that does not decode
    /// (an unknown tag or Argon2 version, parameters Argon2 refuses, a short or long salt).
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
                params.check().map_err(|e| match e {
                    StoreError::KdfAboveCeiling => e,
                    _ => BAD,
                })?;
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
    let argon_params = params.argon2_params()?;
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

        let corrupt = Err(StoreError::Corrupt { table: "store_header" });
        let encoded = |memory_kib, iterations, parallelism| {
            let params = KdfParams { memory_kib, iterations, parallelism };
            KdfHeader::Argon2id { params, salt: [0; KDF_SALT_LEN] }.encode()
        };
        // Above the ceiling, whatever else is wrong: refused as such.
        for (m, t, p) in [
            (u32::MAX, 1, 1),
            (MAX_KDF_MEMORY_KIB + 1, 1, 1),
            (8, MAX_KDF_ITERATIONS + 1, 1),
            (8 * 9, 1, MAX_KDF_PARALLELISM + 1),
            (u32::MAX, 0, 0),
        ] {
            assert_eq!(KdfHeader::decode(&encoded(m, t, p)), Err(StoreError::KdfAboveCeiling), "{m} {t} {p}");
        }
        // At the ceiling: accepted.
        let max = encoded(MAX_KDF_MEMORY_KIB, MAX_KDF_ITERATIONS, MAX_KDF_PARALLELISM);
        assert!(KdfHeader::decode(&max).is_ok());
        // Parameters Argon2 refuses: corrupt.
        for (m, t, p) in [(8, 0, 1), (8, 1, 0), (15, 1, 2), (0, 1, 1)] {
            assert_eq!(KdfHeader::decode(&encoded(m, t, p)), corrupt, "{m} {t} {p}");
        }
        // The salt is exactly 16 bytes.
        let mut long_salt = header.encode();
        long_salt.push(0);
        assert_eq!(KdfHeader::decode(&long_salt), corrupt);
        let short_salt = &header.encode()[..header.encode().len() - 1];
        assert_eq!(KdfHeader::decode(short_salt), corrupt);
        assert!(KdfHeader::decode(&[]).is_err());
        assert!(KdfHeader::decode(&header.encode()[..20]).is_err());
    }

    #[test]
    fn defaults_are_rfc_9106_second_option() {
        let d = KdfParams::default();
        assert_eq!((d.memory_kib(), d.iterations(), d.parallelism()), (65536, 3, 4));
        assert!(d.check().is_ok());
        assert_eq!(KdfParams::new(65536, 3, 4), Ok(d));
    }

    #[test]
    fn new_parameters_lie_between_the_floor_and_the_ceiling() {
        let floor = KdfParams::new(19 * 1024, 2, 1).unwrap();
        assert!(floor.check().is_ok());
        let ceiling = KdfParams::new(1024 * 1024, 10, 8).unwrap();
        assert!(ceiling.check().is_ok());
        for (m, t, p) in [(8, 1, 1), (19 * 1024 - 1, 2, 1), (19 * 1024, 1, 1), (19 * 1024, 2, 0), (0, 0, 0)] {
            assert_eq!(KdfParams::new(m, t, p), Err(StoreError::KdfBelowFloor), "{m} {t} {p}");
        }
        for (m, t, p) in [(1024 * 1024 + 1, 2, 1), (19 * 1024, 11, 1), (19 * 1024, 2, 9), (8, 1, 9)] {
            assert_eq!(KdfParams::new(m, t, p), Err(StoreError::KdfAboveCeiling), "{m} {t} {p}");
        }
    }
}
