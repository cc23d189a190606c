//! The link code: what the primary device shows (as text or a QR code) and the new device reads.
//!
//! `LINK_FORMAT_VERSION (1) ‖ person fingerprint (16) ‖ secret (16)`, 33 bytes, written in
//! Crockford's base32 (53 characters, the last one carrying one bit and four zero bits) and
//! grouped by four with hyphens for reading. The fingerprint is
//! `SHA-256(LINK_CODE_LABEL ‖ person key)[0..16]`; the secret is 16 random bytes.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::DeviceError;
use crate::consts::{LINK_CODE_LABEL, LINK_FORMAT_VERSION};
use crate::keys::IdentityKey;

/// Crockford's base32 alphabet: digits and capital letters without I, L, O and U.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Bytes of a link code: version, fingerprint, secret.
const CODE_BYTES: usize = 1 + 16 + 16;
/// Characters of a link code without its hyphens: `ceil(33 * 8 / 5)`.
const CODE_CHARS: usize = (CODE_BYTES * 8).div_ceil(5);
/// Characters per group of the written code.
const GROUP: usize = 4;

/// The 16-byte person fingerprint a link code carries: `SHA-256(LINK_CODE_LABEL ‖ person)[0..16]`.
pub(super) fn person_fingerprint(person: &IdentityKey) -> [u8; 16] {
    let digest = Sha256::new().chain_update(LINK_CODE_LABEL).chain_update(person.as_bytes()).finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

/// A link code read on the new device: the person's fingerprint and the offer's secret.
///
/// Holds a secret: zeroized on drop, and `Debug` prints neither field.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct LinkCode {
    fingerprint: [u8; 16],
    secret: [u8; 16],
}

impl LinkCode {
    pub(super) fn new(fingerprint: [u8; 16], secret: [u8; 16]) -> Self {
        Self { fingerprint, secret }
    }

    pub(super) fn fingerprint(&self) -> &[u8; 16] {
        &self.fingerprint
    }

    pub(super) fn secret(&self) -> &[u8; 16] {
        &self.secret
    }

    /// Whether this code was made for `person`'s offers (constant time).
    #[must_use]
    pub fn is_for(&self, person: &IdentityKey) -> bool {
        bool::from(self.fingerprint.ct_eq(&person_fingerprint(person)))
    }

    /// The code as text, in groups of four characters joined by hyphens
    /// (`XXXX-XXXX-…-X`, 53 characters and 13 hyphens).
    #[must_use]
    pub fn text(&self) -> Zeroizing<String> {
        let mut bytes = Zeroizing::new([0u8; CODE_BYTES]);
        bytes[0] = LINK_FORMAT_VERSION;
        bytes[1..17].copy_from_slice(&self.fingerprint);
        bytes[17..].copy_from_slice(&self.secret);
        let mut out = Zeroizing::new(String::with_capacity(CODE_CHARS + CODE_CHARS / GROUP));
        for (i, symbol) in symbols(&bytes[..]).enumerate() {
            if i > 0 && i % GROUP == 0 {
                out.push('-');
            }
            out.push(char::from(symbol));
        }
        out
    }

    /// Reads a link code typed or scanned on the new device. Letters may be in either case,
    /// spaces and hyphens anywhere are ignored, and `I`/`L` read as `1`, `O` as `0`.
    ///
    /// # Errors
    /// [`DeviceError::BadLinkCode`] if the text is not 53 symbols of the alphabet, its padding
    /// bits are not zero, or its version is not [`LINK_FORMAT_VERSION`].
    pub fn parse(text: &str) -> Result<Self, DeviceError> {
        let mut bytes = Zeroizing::new([0u8; CODE_BYTES]);
        let mut symbols = 0usize;
        let mut acc: u16 = 0;
        let mut bits = 0u32;
        let mut filled = 0usize;
        for c in text.chars() {
            if c == '-' || c == ' ' {
                continue;
            }
            let value = decode_symbol(c).ok_or(DeviceError::BadLinkCode)?;
            symbols += 1;
            if symbols > CODE_CHARS {
                return Err(DeviceError::BadLinkCode);
            }
            acc = (acc << 5) | u16::from(value);
            bits += 5;
            if bits >= 8 {
                bits -= 8;
                let byte = bytes.get_mut(filled).ok_or(DeviceError::BadLinkCode)?;
                *byte = (acc >> bits) as u8;
                filled += 1;
                acc &= (1 << bits) - 1;
            }
        }
        // 53 symbols are 265 bits: 33 bytes and one padding bit, which must be zero.
        if symbols != CODE_CHARS || filled != CODE_BYTES || acc != 0 {
            return Err(DeviceError::BadLinkCode);
        }
        if bytes[0] != LINK_FORMAT_VERSION {
            return Err(DeviceError::BadLinkCode);
        }
        let mut code = Self { fingerprint: [0; 16], secret: [0; 16] };
        code.fingerprint.copy_from_slice(&bytes[1..17]);
        code.secret.copy_from_slice(&bytes[17..]);
        Ok(code)
    }
}

impl PartialEq for LinkCode {
    fn eq(&self, other: &Self) -> bool {
        bool::from(self.fingerprint.ct_eq(&other.fingerprint) & self.secret.ct_eq(&other.secret))
    }
}

impl Eq for LinkCode {}

impl std::fmt::Debug for LinkCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkCode(..)")
    }
}

/// The base32 symbols of `bytes`, five bits each from the most significant, the last one padded
/// with zero bits.
fn symbols(bytes: &[u8]) -> impl Iterator<Item = u8> + '_ {
    let total = (bytes.len() * 8).div_ceil(5);
    (0..total).map(move |i| {
        let bit = i * 5;
        let hi = u16::from(bytes.get(bit / 8).copied().unwrap_or(0));
        let lo = u16::from(bytes.get(bit / 8 + 1).copied().unwrap_or(0));
        let window = (hi << 8) | lo;
        let index = (window >> (11 - bit % 8)) & 0x1f;
        ALPHABET.get(usize::from(index)).copied().unwrap_or(b'0')
    })
}

/// The value of one symbol, reading lowercase as uppercase and `I`, `L`, `O` as `1`, `1`, `0`.
fn decode_symbol(c: char) -> Option<u8> {
    let c = match c.to_ascii_uppercase() {
        'I' | 'L' => '1',
        'O' => '0',
        c => c,
    };
    let byte = u8::try_from(c).ok()?;
    ALPHABET.iter().position(|&a| a == byte).and_then(|i| u8::try_from(i).ok())
}
