//! Where an endpoint draws its randomness.
//!
//! By default, the operating system's generator: each operation that needs randomness seeds a
//! fresh ChaCha generator (`StdRng`) with 32 bytes from the operating system and drops it when
//! the operation ends, so no generator state outlives an operation. Someone who reads the
//! device's memory once therefore learns nothing about the ratchet keys of later operations,
//! which is what recovery after compromise needs. An operating-system failure is a typed error
//! ([`EndpointError::Randomness`]), never a panic.
//!
//! With the `low-level` feature, tests and the vector tool can inject a seeded generator instead
//! ([`crate::Endpoint::with_generator`]), so that runs are reproducible.

use rand::rngs::{StdRng, SysRng};
use rand::SeedableRng;
use rand_core::CryptoRng;

use crate::endpoint::error::Result;
use crate::endpoint::types::EndpointError;

/// The source of an endpoint's randomness.
pub(super) enum Generator {
    /// The operating system's generator, asked afresh for every operation.
    System,
    /// A generator supplied at construction, used for every operation in turn.
    #[cfg(feature = "low-level")]
    Injected(std::sync::Mutex<Box<dyn CryptoRng + Send>>),
}

impl Generator {
    /// Runs `operation` with a generator.
    ///
    /// # Errors
    /// [`EndpointError::Randomness`] if the operating system's generator fails; otherwise what
    /// `operation` returns.
    pub(super) fn run<T>(&self, operation: impl FnOnce(&mut dyn CryptoRng) -> Result<T>) -> Result<T> {
        match self {
            Generator::System => {
                let mut rng = StdRng::try_from_rng(&mut SysRng).map_err(|_| EndpointError::Randomness)?;
                operation(&mut rng)
            }
            #[cfg(feature = "low-level")]
            Generator::Injected(rng) => {
                let mut rng = rng.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                operation(&mut **rng)
            }
        }
    }
}
