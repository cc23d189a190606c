//! The store key, the key-encryption key (KEK) that wraps it, and where the KEK comes from.
//!
//! A random 32-byte store key protects every record. It is kept in the file only wrapped
//! (ChaCha20-Poly1305) under a KEK, which is derived from a passphrase with Argon2id or supplied
//! by the application from a platform keystore. Changing the passphrase re-wraps the store key;
//! no record is re-encrypted.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::ChaCha20Poly1305;
use zeroize::Zeroizing;

use super::consts::{KDF_SALT_LEN, MAX_PASSPHRASE_LEN, STORE_FORMAT_VERSION, WRAP_AAD_LABEL};
use super::kdf::{argon2id, KdfHeader, KdfParams};
use super::random;
use super::StoreError;
use crate::keys::Secret32;

/// A passphrase. Zeroized on drop; `Debug` prints nothing of it.
///
/// Its UTF-8 bytes are used as given: normalize Unicode (for example to NFC) before, so that the
/// same passphrase typed on another keyboard opens the store.
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    /// Takes ownership of `passphrase`.
    #[must_use]
    pub fn new(passphrase: String) -> Self {
        Self(Zeroizing::new(passphrase))
    }

    fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(..)")
    }
}

/// A 32-byte key-encryption key held by the platform keystore. Zeroized on drop.
#[derive(Clone)]
pub struct KeyEncryptionKey(Secret32);

impl KeyEncryptionKey {
    /// A key from its 32 bytes.
    #[must_use]
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Secret32(bytes))
    }
}

impl std::fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyEncryptionKey(..)")
    }
}

/// Where the key-encryption key of a store comes from.
#[derive(Debug)]
pub enum StoreKeySource {
    /// A passphrase stretched with Argon2id. `params` apply when a new wrap is made (create,
    /// change of passphrase); opening uses the parameters recorded in the file.
    Passphrase {
        /// The passphrase.
        passphrase: Passphrase,
        /// Argon2id costs for a new wrap.
        params: KdfParams,
    },
    /// A key from the platform keystore, used directly as the key-encryption key.
    Key(KeyEncryptionKey),
}

impl StoreKeySource {
    /// A passphrase with the default Argon2id parameters.
    #[must_use]
    pub fn passphrase(passphrase: impl Into<String>) -> Self {
        Self::Passphrase { passphrase: Passphrase::new(passphrase.into()), params: KdfParams::default() }
    }

    /// A 32-byte key from the platform keystore.
    #[must_use]
    pub fn key(bytes: [u8; 32]) -> Self {
        Self::Key(KeyEncryptionKey::from_bytes(bytes))
    }

    /// The KEK for `header`, which must be of this source's kind.
    fn kek(&self, header: &KdfHeader) -> Result<Secret32, StoreError> {
        match (self, header) {
            (Self::Key(key), KdfHeader::AppKey) => Ok(key.0.clone()),
            (Self::Passphrase { passphrase, .. }, KdfHeader::Argon2id { params, salt }) => {
                if passphrase.as_bytes().len() > MAX_PASSPHRASE_LEN {
                    return Err(StoreError::WrongKey);
                }
                argon2id(passphrase.as_bytes(), params, salt)
            }
            _ => Err(StoreError::WrongKey),
        }
    }

    /// A fresh KDF header for a new wrap: a new salt, from the operating system, for a passphrase.
    fn new_header(&self) -> Result<KdfHeader, StoreError> {
        match self {
            Self::Key(_) => Ok(KdfHeader::AppKey),
            Self::Passphrase { passphrase, params } => {
                if passphrase.as_bytes().is_empty() || passphrase.as_bytes().len() > MAX_PASSPHRASE_LEN {
                    return Err(StoreError::InvalidInput("passphrase"));
                }
                params.check()?;
                let mut salt = [0u8; KDF_SALT_LEN];
                random::fill(&mut salt)?;
                Ok(KdfHeader::Argon2id { params: *params, salt })
            }
        }
    }
}

/// The random key that protects every record. Zeroized on drop.
pub(crate) struct StoreKey(pub(crate) Secret32);

impl StoreKey {
    /// A new store key from the operating system's generator.
    ///
    /// # Errors
    /// [`StoreError::Random`] if the operating system delivers no random bytes.
    pub(crate) fn generate() -> Result<Self, StoreError> {
        let mut key = Self(Secret32([0; 32]));
        random::fill(&mut key.0 .0)?;
        Ok(key)
    }
}

/// The two header fields that hold the wrapped store key.
pub(crate) struct Wrapped {
    /// [`KdfHeader::encode`].
    pub(crate) kdf: Vec<u8>,
    /// `nonce (12) ‖ ChaCha20-Poly1305(store key) (32 + 16)`.
    pub(crate) key: Vec<u8>,
}

const NONCE_LEN: usize = 12;
const WRAPPED_LEN: usize = NONCE_LEN + 32 + 16;

/// `label ‖ format version (u32 big-endian) ‖ encoded KDF header`.
fn wrap_aad(kdf: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(WRAP_AAD_LABEL.len() + 4 + kdf.len());
    aad.extend_from_slice(WRAP_AAD_LABEL);
    aad.extend_from_slice(&STORE_FORMAT_VERSION.to_be_bytes());
    aad.extend_from_slice(kdf);
    aad
}

/// Wraps `store_key` under the KEK from `source`, with a fresh salt and nonce from the operating
/// system.
pub(crate) fn wrap(source: &StoreKeySource, store_key: &StoreKey) -> Result<Wrapped, StoreError> {
    let header = source.new_header()?;
    let kdf = header.encode();
    let kek = source.kek(&header)?;
    let cipher = ChaCha20Poly1305::new(kek.as_bytes().into());
    let mut nonce = [0u8; NONCE_LEN];
    random::fill(&mut nonce)?;
    let aad = wrap_aad(&kdf);
    let sealed = cipher
        .encrypt((&nonce).into(), Payload { msg: store_key.0.as_bytes(), aad: &aad })
        .map_err(|_| StoreError::InvalidInput("store key"))?;
    let mut key = Vec::with_capacity(WRAPPED_LEN);
    key.extend_from_slice(&nonce);
    key.extend_from_slice(&sealed);
    Ok(Wrapped { kdf, key })
}

/// Unwraps the store key; [`StoreError::WrongKey`] if `source` does not open it.
pub(crate) fn unwrap(source: &StoreKeySource, wrapped: &Wrapped) -> Result<StoreKey, StoreError> {
    let header = KdfHeader::decode(&wrapped.kdf)?;
    let (nonce, sealed) = match wrapped.key.split_first_chunk::<NONCE_LEN>() {
        Some(parts) if wrapped.key.len() == WRAPPED_LEN => parts,
        _ => return Err(StoreError::Corrupt { table: "store_header" }),
    };
    let kek = source.kek(&header)?;
    let cipher = ChaCha20Poly1305::new(kek.as_bytes().into());
    let aad = wrap_aad(&wrapped.kdf);
    let plain = Zeroizing::new(
        cipher.decrypt(nonce.into(), Payload { msg: sealed, aad: &aad }).map_err(|_| StoreError::WrongKey)?,
    );
    let bytes = <[u8; 32]>::try_from(plain.as_slice()).map_err(|_| StoreError::WrongKey)?;
    Ok(StoreKey(Secret32(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny(pass: &str) -> StoreKeySource {
        StoreKeySource::Passphrase {
            passphrase: Passphrase::new(pass.into()),
            params: KdfParams::without_floor(8, 1, 1),
        }
    }

    #[test]
    fn wraps_and_unwraps_with_either_source() {
        let store_key = StoreKey::generate().unwrap();
        for source in [tiny("correct horse"), StoreKeySource::key([9; 32])] {
            let wrapped = wrap(&source, &store_key).unwrap();
            assert_eq!(unwrap(&source, &wrapped).unwrap().0, store_key.0);
        }
    }

    #[test]
    fn wrong_secret_or_tampered_params_is_wrong_key() {
        let store_key = StoreKey::generate().unwrap();
        let wrapped = wrap(&tiny("right"), &store_key).unwrap();
        assert_eq!(unwrap(&tiny("wrong"), &wrapped).err(), Some(StoreError::WrongKey));
        assert_eq!(unwrap(&StoreKeySource::key([0; 32]), &wrapped).err(), Some(StoreError::WrongKey));
        // Raising the iteration count in the file changes the KEK and the associated data.
        let mut kdf = wrapped.kdf.clone();
        kdf[12] ^= 2;
        let tampered = Wrapped { kdf, key: wrapped.key.clone() };
        assert_eq!(unwrap(&tiny("right"), &tampered).err(), Some(StoreError::WrongKey));
    }

    #[test]
    fn debug_prints_no_secret() {
        let shown = format!("{:?} {:?}", tiny("hunter2"), StoreKeySource::key([0xab; 32]));
        assert!(!shown.contains("hunter2") && !shown.contains("171"));
    }
}
