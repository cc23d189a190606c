//! ML-KEM-768 (FIPS 203) keys for the post-quantum part of the handshake.

use ml_kem::{Decapsulate, DecapsulationKey, EncapsulationKey, KeyExport, KeyInit, MlKem768};
use rand_core::CryptoRng;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::Secret32;
use crate::error::{DecodeError, HandshakeError};

/// Length of an ML-KEM-768 encapsulation key.
pub(crate) const KEM_PUBLIC_KEY_LEN: usize = 1184;
/// Length of an ML-KEM-768 ciphertext.
pub(crate) const KEM_CIPHERTEXT_LEN: usize = 1088;
/// ML-KEM's modulus q.
const KEM_Q: u16 = 3329;

/// An ML-KEM-768 encapsulation key (FIPS 203 encoding, 1184 bytes), checked on construction.
#[derive(Clone, PartialEq, Eq)]
pub struct KemEncapsulationKey(Box<[u8; KEM_PUBLIC_KEY_LEN]>);

impl KemEncapsulationKey {
    /// Reads an encapsulation key and applies the FIPS 203 section 7.2 input check: every
    /// 12-bit coefficient of `t̂` must be below q = 3329.
    ///
    /// # Errors
    /// [`DecodeError::InvalidField`] if `bytes` is not 1184 bytes long or fails the check.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, DecodeError> {
        let array = <[u8; KEM_PUBLIC_KEY_LEN]>::try_from(bytes)
            .map_err(|_| DecodeError::InvalidField("ml-kem encapsulation key"))?;
        if !modulus_check(&array) {
            return Err(DecodeError::InvalidField("ml-kem encapsulation key"));
        }
        Ok(Self(Box::new(array)))
    }

    /// The encoded 1184 bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0[..]
    }

    /// `(SS, CT) = ML-KEM.Encaps_internal(ek, m)` with `m` drawn as 32 bytes from `rng`.
    pub(crate) fn encapsulate<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
    ) -> Result<(KemCiphertext, KemSharedSecret), HandshakeError> {
        self.encapsulate_with(&Secret32::from_rng(rng))
    }

    /// `(SS, CT) = ML-KEM.Encaps_internal(ek, m)` with a given `m`.
    pub(crate) fn encapsulate_with(
        &self,
        m: &Secret32,
    ) -> Result<(KemCiphertext, KemSharedSecret), HandshakeError> {
        // `new` applies the FIPS 203 section 7.2 input check again (`from_slice` already did).
        let ek = EncapsulationKey::<MlKem768>::new((&*self.0).into())
            .map_err(|_| HandshakeError::InvalidKemKey)?;
        let (ct, mut ss) = ek.encapsulate_deterministic(m.as_bytes().into());
        let mut ct_bytes = [0u8; KEM_CIPHERTEXT_LEN];
        ct_bytes.copy_from_slice(ct.as_slice());
        let mut ss_bytes = [0u8; 32];
        ss_bytes.copy_from_slice(ss.as_slice());
        ss.as_mut_slice().zeroize();
        Ok((KemCiphertext(Box::new(ct_bytes)), KemSharedSecret(Secret32(ss_bytes))))
    }
}

impl std::fmt::Debug for KemEncapsulationKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KemEncapsulationKey({})", crate::codec::hex_prefix(&self.0[..]))
    }
}

/// FIPS 203 section 7.2: `ByteEncode12(ByteDecode12(t̂)) == t̂`, that is, every coefficient < q.
fn modulus_check(ek: &[u8; KEM_PUBLIC_KEY_LEN]) -> bool {
    // The first 3 * 384 bytes are t̂, two 12-bit coefficients per three bytes; then 32 bytes of ρ.
    ek[..KEM_PUBLIC_KEY_LEN - 32].chunks_exact(3).all(|c| {
        let a = u16::from(c[0]) | (u16::from(c[1] & 0x0f) << 8);
        let b = u16::from(c[1] >> 4) | (u16::from(c[2]) << 4);
        a < KEM_Q && b < KEM_Q
    })
}

/// An ML-KEM-768 ciphertext (1088 bytes).
#[derive(Clone, PartialEq, Eq)]
pub struct KemCiphertext(pub(crate) Box<[u8; KEM_CIPHERTEXT_LEN]>);

impl KemCiphertext {
    /// Reads a ciphertext.
    ///
    /// # Errors
    /// [`HandshakeError::InvalidKemCiphertext`] if `bytes` is not 1088 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, HandshakeError> {
        <[u8; KEM_CIPHERTEXT_LEN]>::try_from(bytes)
            .map(|a| Self(Box::new(a)))
            .map_err(|_| HandshakeError::InvalidKemCiphertext)
    }

    /// The 1088 bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0[..]
    }
}

impl std::fmt::Debug for KemCiphertext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KemCiphertext({})", crate::codec::hex_prefix(&self.0[..]))
    }
}

/// The 32-byte ML-KEM shared secret. Zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct KemSharedSecret(pub(crate) Secret32);

impl std::fmt::Debug for KemSharedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KemSharedSecret(..)")
    }
}

/// The 64-byte seed `d ‖ z` of an ML-KEM-768 decapsulation key (FIPS 203 section 7.1).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct KemSeed(pub(crate) [u8; 64]);

impl KemSeed {
    pub(crate) fn from_rng<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut seed = Self([0u8; 64]);
        rng.fill_bytes(&mut seed.0);
        seed
    }

    /// `ML-KEM.KeyGen_internal(d, z)` with `d` the first 32 bytes of the seed and `z` the rest.
    /// The key zeroizes on drop.
    fn expand(&self) -> DecapsulationKey<MlKem768> {
        DecapsulationKey::<MlKem768>::new((&self.0).into())
    }

    /// `ML-KEM.KeyGen_internal(d, z)`: the encapsulation key of this seed.
    pub(crate) fn encapsulation_key(&self) -> KemEncapsulationKey {
        let dk = self.expand();
        let mut bytes = [0u8; KEM_PUBLIC_KEY_LEN];
        bytes.copy_from_slice(dk.encapsulation_key().to_bytes().as_slice());
        KemEncapsulationKey(Box::new(bytes))
    }

    /// `ML-KEM.Decaps(dk, ct)`, with implicit rejection.
    pub(crate) fn decapsulate(&self, ct: &KemCiphertext) -> Result<KemSharedSecret, HandshakeError> {
        let dk = self.expand();
        let mut ss = dk.decapsulate((&*ct.0).into());
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(ss.as_slice());
        ss.as_mut_slice().zeroize();
        Ok(KemSharedSecret(Secret32(bytes)))
    }
}

impl std::fmt::Debug for KemSeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KemSeed(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modulus_check_rejects_coefficient_at_q() {
        let mut rng = rand::rng();
        let ek = KemSeed::from_rng(&mut rng).encapsulation_key();
        assert!(KemEncapsulationKey::from_slice(ek.as_bytes()).is_ok());
        let mut bad = ek.as_bytes().to_vec();
        // First coefficient := 3329 (0xD01): low byte 0x01, high nibble 0xD.
        bad[0] = 0x01;
        bad[1] = (bad[1] & 0xf0) | 0x0d;
        assert!(KemEncapsulationKey::from_slice(&bad).is_err());
        // ml-kem's own check agrees.
        assert!(EncapsulationKey::<MlKem768>::new(bad.as_slice().try_into().unwrap()).is_err());
        bad[0] = 0x00; // 3328 (0xD00) is allowed
        assert!(KemEncapsulationKey::from_slice(&bad).is_ok());
        assert!(EncapsulationKey::<MlKem768>::new(bad.as_slice().try_into().unwrap()).is_ok());
    }

    #[test]
    fn implicit_rejection_gives_a_different_secret() {
        let mut rng = rand::rng();
        let seed = KemSeed::from_rng(&mut rng);
        let ek = seed.encapsulation_key();
        let (ct, ss) = ek.encapsulate(&mut rng).unwrap();
        assert_eq!(seed.decapsulate(&ct).unwrap().0, ss.0);
        let mut tampered = ct.clone();
        tampered.0[0] ^= 1;
        assert_ne!(seed.decapsulate(&tampered).unwrap().0, ss.0);
    }
}
