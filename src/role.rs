//! Which side of the conversation a party is on.
//!
//! A module of its own, below every layer that needs it: the agreement says what each role may
//! send, and the store records the role of the device it belongs to.

/// Which side of the conversation a party is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Role {
    /// The therapist, counsellor or psychiatrist.
    Clinician,
    /// The person in their care.
    Client,
}
