//! Deterministic generators for tests, fixtures, fuzz targets and the test vectors.
//!
//! Their output is as predictable as their seed: they exist so that runs are reproducible, and
//! they live here, in a crate that is never published, so that no app can reach them.

use std::convert::Infallible;

use rand_core::{TryCryptoRng, TryRng};
use sha2::{Digest, Sha256};

/// A deterministic generator for fixtures and seeds: SHA-256 in counter mode over a label.
///
/// Reproducible on every platform and independent of other crates' algorithm choices, so that
/// the committed seed corpora keep matching the fixtures. For harnesses and tests only: its
/// output is as predictable as its label.
#[derive(Clone)]
pub struct DeterministicRng {
    seed: [u8; 32],
    counter: u64,
    block: [u8; 32],
    used: usize,
}

impl DeterministicRng {
    /// A generator whose whole output is determined by `label`.
    #[must_use]
    pub fn new(label: &[u8]) -> Self {
        Self { seed: Sha256::digest(label).into(), counter: 0, block: [0; 32], used: 32 }
    }
}

impl TryRng for DeterministicRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        rand_core::utils::next_word_via_fill(self)
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        rand_core::utils::next_word_via_fill(self)
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), Infallible> {
        for byte in dest {
            if self.used == self.block.len() {
                let mut h = Sha256::new();
                h.update(self.seed);
                h.update(self.counter.to_be_bytes());
                self.block = h.finalize().into();
                self.counter = self.counter.wrapping_add(1);
                self.used = 0;
            }
            *byte = self.block[self.used];
            self.used += 1;
        }
        Ok(())
    }
}

impl TryCryptoRng for DeterministicRng {}

/// A seeded ChaCha20 generator, as the integration tests use.
#[must_use]
pub fn seeded(seed: u64) -> rand_chacha::ChaCha20Rng {
    <rand_chacha::ChaCha20Rng as rand_chacha::rand_core::SeedableRng>::seed_from_u64(seed)
}
