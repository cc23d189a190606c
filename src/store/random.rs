//! Where the store's random bytes come from: the operating system's generator, on every draw.
//!
//! The store key, the Argon2id salts, the key-wrapping nonces and every record nonce are drawn
//! from the operating system (`getrandom`) at the moment they are needed. Nothing is seeded once
//! and kept, so a caller's generator (seeded, cloned, or restored with a snapshot) can never make
//! the store repeat an XChaCha20-Poly1305 nonce, within one open or across opens.

use rand::rngs::SysRng;
use rand_core::TryCryptoRng;

use super::StoreError;

/// Fills `dest` from the operating system's generator.
///
/// # Errors
/// [`StoreError::Random`] if the operating system does not deliver random bytes.
pub(crate) fn fill(dest: &mut [u8]) -> Result<(), StoreError> {
    fill_from(&mut SysRng, dest)
}

/// Fills `dest` from `rng`, mapping its failure to [`StoreError::Random`].
pub(crate) fn fill_from<R: TryCryptoRng + ?Sized>(rng: &mut R, dest: &mut [u8]) -> Result<(), StoreError> {
    rng.try_fill_bytes(dest).map_err(|_| StoreError::Random)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A generator that always fails, as an operating system without entropy would.
    pub(crate) struct Failing;

    #[derive(Debug)]
    pub(crate) struct NoEntropy;

    impl std::fmt::Display for NoEntropy {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("no entropy")
        }
    }

    impl std::error::Error for NoEntropy {}

    impl rand_core::TryRng for Failing {
        type Error = NoEntropy;
        fn try_next_u32(&mut self) -> Result<u32, NoEntropy> {
            Err(NoEntropy)
        }
        fn try_next_u64(&mut self) -> Result<u64, NoEntropy> {
            Err(NoEntropy)
        }
        fn try_fill_bytes(&mut self, _: &mut [u8]) -> Result<(), NoEntropy> {
            Err(NoEntropy)
        }
    }

    impl TryCryptoRng for Failing {}

    #[test]
    fn a_failing_generator_is_a_typed_error() {
        let mut buf = [0u8; 24];
        assert_eq!(fill_from(&mut Failing, &mut buf), Err(StoreError::Random));
        fill(&mut buf).unwrap();
        let mut other = [0u8; 24];
        fill(&mut other).unwrap();
        assert_ne!(buf, other);
    }
}
