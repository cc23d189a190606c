//! The key agreement: PQXDH (Signal's PQXDH specification) with ML-KEM-768, and its classical
//! X3DH subset.

mod bundle;
mod pqxdh;
mod repair;

pub use bundle::PrekeyBundle;
pub(crate) use pqxdh::{initiate, respond, ResponderKeys};
pub(crate) use repair::RepairRequest;
