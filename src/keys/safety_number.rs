//! Safety numbers: a fingerprint of both identities for in-person verification, built as
//! Signal's (iterated SHA-512, 5200 rounds).
//!
//! For each party: `h₀ = u16be(version) ‖ identity key (32) ‖ stable id`, then 5200 times
//! `hᵢ₊₁ = SHA-512(hᵢ ‖ identity key)`. The party's 30 digits: the first 30 bytes of the
//! final hash in six 5-byte big-endian chunks, each `mod 100000`, zero-padded to 5 digits.
//! The 60-digit number puts the numerically smaller party's digits first, so both sides show the
//! same number. The scannable form is `version (1) ‖ the two 32-byte hash prefixes in byte order`.

use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;

use super::IdentityKey;
use crate::consts::{FINGERPRINT_ITERATIONS, FINGERPRINT_VERSION};

/// Length of [`SafetyNumber::scannable`].
pub const SCANNABLE_LEN: usize = 1 + 32 + 32;

/// The safety number of a pair of identities: identical on both devices.
#[derive(Clone, PartialEq, Eq)]
pub struct SafetyNumber {
    digits: String,
    scannable: [u8; SCANNABLE_LEN],
}

fn fingerprint(key: &IdentityKey, stable_id: &[u8]) -> [u8; 64] {
    let mut hash = Vec::with_capacity(2 + 32 + stable_id.len());
    hash.extend_from_slice(&FINGERPRINT_VERSION.to_be_bytes());
    hash.extend_from_slice(key.as_bytes());
    hash.extend_from_slice(stable_id);
    let mut digest = Sha512::new();
    digest.update(&hash);
    digest.update(key.as_bytes());
    let mut out: [u8; 64] = digest.finalize().into();
    for _ in 1..FINGERPRINT_ITERATIONS {
        let mut digest = Sha512::new();
        digest.update(out);
        digest.update(key.as_bytes());
        out = digest.finalize().into();
    }
    out
}

fn digits(hash: &[u8; 64]) -> String {
    hash[..30]
        .chunks_exact(5)
        .map(|chunk| {
            let value = chunk.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
            format!("{:05}", value % 100_000)
        })
        .collect()
}

impl SafetyNumber {
    /// The safety number of `local` and `remote`, each with the stable identifier the app knows
    /// the party by (for example an account id; may be empty).
    #[must_use]
    pub fn new(local: &IdentityKey, local_id: &[u8], remote: &IdentityKey, remote_id: &[u8]) -> Self {
        let local_hash = fingerprint(local, local_id);
        let remote_hash = fingerprint(remote, remote_id);
        let (local_digits, remote_digits) = (digits(&local_hash), digits(&remote_hash));
        let digits = if local_digits <= remote_digits {
            local_digits + &remote_digits
        } else {
            remote_digits + &local_digits
        };
        let (first, second) = if local_hash[..32] <= remote_hash[..32] {
            (&local_hash[..32], &remote_hash[..32])
        } else {
            (&remote_hash[..32], &local_hash[..32])
        };
        let mut scannable = [0u8; SCANNABLE_LEN];
        scannable[0] = u8::try_from(FINGERPRINT_VERSION).unwrap_or(u8::MAX);
        scannable[1..33].copy_from_slice(first);
        scannable[33..].copy_from_slice(second);
        Self { digits, scannable }
    }

    /// The 60 digits.
    #[must_use]
    pub fn digits(&self) -> &str {
        &self.digits
    }

    /// The 60 digits in twelve groups of five, for display.
    #[must_use]
    pub fn grouped(&self) -> String {
        let groups: Vec<&str> = (0..12).filter_map(|i| self.digits.get(i * 5..i * 5 + 5)).collect();
        groups.join(" ")
    }

    /// The compact form for a QR code.
    #[must_use]
    pub fn scannable(&self) -> &[u8; SCANNABLE_LEN] {
        &self.scannable
    }

    /// Whether `scanned` (read from the other device's QR code) is this safety number; constant
    /// time.
    #[must_use]
    pub fn matches_scanned(&self, scanned: &[u8]) -> bool {
        bool::from(self.scannable[..].ct_eq(scanned))
    }

    /// Whether `typed` (digits read aloud or typed, spaces ignored) is this safety number;
    /// constant time in the digits.
    #[must_use]
    pub fn matches_digits(&self, typed: &str) -> bool {
        let typed: Vec<u8> = typed.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        bool::from(self.digits.as_bytes().ct_eq(&typed))
    }
}

impl std::fmt::Debug for SafetyNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SafetyNumber").field(&self.grouped()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::IdentityKeyPair;

    fn key(seed: u8) -> IdentityKey {
        IdentityKeyPair::from_seed(&[seed; 32]).public_key()
    }

    #[test]
    fn same_on_both_sides_and_sixty_digits() {
        let (a, b) = (key(1), key(2));
        let from_a = SafetyNumber::new(&a, b"clinician", &b, b"client");
        let from_b = SafetyNumber::new(&b, b"client", &a, b"clinician");
        assert_eq!(from_a, from_b);
        assert_eq!(from_a.digits().len(), 60);
        assert!(from_a.digits().bytes().all(|d| d.is_ascii_digit()));
        assert!(from_a.matches_scanned(from_b.scannable()));
        assert!(from_a.matches_digits(&from_b.grouped()));
    }

    #[test]
    fn changes_with_either_key_or_id() {
        let base = SafetyNumber::new(&key(1), b"x", &key(2), b"y");
        assert_ne!(base, SafetyNumber::new(&key(3), b"x", &key(2), b"y"));
        assert_ne!(base, SafetyNumber::new(&key(1), b"x", &key(2), b"z"));
        let mut scanned = *base.scannable();
        scanned[40] ^= 1;
        assert!(!base.matches_scanned(&scanned));
        assert!(!base.matches_digits("123"));
    }

    #[test]
    fn digit_chunks_are_reduced_mod_100000() {
        let mut hash = [0u8; 64];
        hash[..5].copy_from_slice(&[0xff; 5]);
        // 0xffffffffff = 1099511627775; mod 100000 = 27775
        assert!(digits(&hash).starts_with("27775"));
    }
}
