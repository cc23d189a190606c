//! What confidant's tests, fuzz targets, benchmarks and test-vector tool share.
//!
//! Never a dependency of an app: it turns on confidant's `low-level` feature and holds
//! deterministic generators whose output is as predictable as their seed.
//!
//! * [`rng`]: deterministic generators;
//! * [`device`]: a device's identity and prekeys, and two established sessions;
//! * [`pair`]: a clinician's and a client's endpoints with an agreement in force;
//! * [`store`]: store fixtures (small KDF costs, messages, raw file reads);
//! * [`fuzzing`]: the properties behind the fuzz targets and their seed corpora;
//! * [`vectors`]: the confidant-v1 test-vector generator and verifier.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod device;
pub mod fuzzing;
pub mod pair;
pub mod rng;
pub mod store;
pub mod vectors;
