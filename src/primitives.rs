//! The two key-derivation calls every layer uses, in one place: HKDF-SHA256 (RFC 5869) and
//! HMAC-SHA256 (RFC 2104) with a 32-byte key. Both are infallible for the sizes used here.

use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::keys::Secret32;

/// `HKDF-SHA256(salt, ikm, info)` expanded to `N` bytes. An empty `salt` is HKDF's default salt
/// (HashLen zero bytes), since HMAC zero-pads its key.
pub(crate) fn hkdf_sha256<const N: usize>(salt: &[u8], ikm: &[u8], info: &[u8]) -> Zeroizing<[u8; N]> {
    const { assert!(N <= 255 * 32, "HKDF-SHA256 output is at most 8160 bytes") };
    let mut out = Zeroizing::new([0u8; N]);
    // Infallible: the only error of `expand` is an output longer than 255 * 32 bytes, ruled out above.
    let _ = Hkdf::<Sha256>::new(Some(salt), ikm).expand(info, &mut out[..]);
    out
}

/// `HMAC-SHA256(key, part₀ ‖ part₁ ‖ …)` with a 32-byte key.
pub(crate) fn hmac_sha256(key: &[u8; 32], parts: &[&[u8]]) -> Secret32 {
    // HMAC zero-pads a key shorter than the 64-byte block (RFC 2104), so padding it here gives
    // the same MAC through the infallible fixed-size constructor.
    let mut block = Zeroizing::new([0u8; 64]);
    block[..32].copy_from_slice(key);
    let mut mac = <Hmac<Sha256> as hmac::digest::KeyInit>::new(&(*block).into());
    for part in parts {
        mac.update(part);
    }
    Secret32(mac.finalize().into_bytes().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_hmac_equals_hmac_of_the_short_key() {
        let key = [7u8; 32];
        let mut reference = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&key).unwrap();
        reference.update(b"ab");
        let expected: [u8; 32] = reference.finalize().into_bytes().into();
        assert_eq!(hmac_sha256(&key, &[b"a", b"b"]).0, expected);
    }

    #[test]
    fn empty_salt_is_the_default_salt() {
        let mut expected = [0u8; 32];
        Hkdf::<Sha256>::new(None, b"ikm").expand(b"info", &mut expected).unwrap();
        assert_eq!(*hkdf_sha256::<32>(&[], b"ikm", b"info"), expected);
    }
}
