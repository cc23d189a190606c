//! Size buckets: padded content is `body || 0x80 || 0x00*`, exactly as long as a bucket.
//!
//! This is the ISO/IEC 7816-4 padding: a single `0x80` byte ends the body, and zero bytes fill
//! the rest of the bucket. The body never ends in the padding, so it is removed without ambiguity.

use super::ContentError;
use crate::consts::CONTENT_BUCKETS;

/// The byte that ends the body.
const PADDING_MARKER: u8 = 0x80;

/// The length a body of `body_len` bytes is padded to: the smallest bucket that holds the body
/// and the marker. `None` if no bucket does.
pub(super) fn padded_len(body_len: usize) -> Option<usize> {
    CONTENT_BUCKETS.into_iter().find(|&bucket| bucket > body_len)
}

/// Appends the marker and zero bytes up to `bucket`. `buf` must be shorter than `bucket`.
pub(super) fn pad(buf: &mut Vec<u8>, bucket: usize) {
    buf.push(PADDING_MARKER);
    buf.resize(bucket.max(buf.len()), 0);
}

/// The body of padded content.
///
/// # Errors
/// [`ContentError::BadLength`] if the length is not a bucket; [`ContentError::BadPadding`] if the
/// bytes after the body are not a marker followed by zeros.
pub(super) fn unpad(padded: &[u8]) -> Result<&[u8], ContentError> {
    if !CONTENT_BUCKETS.contains(&padded.len()) {
        return Err(ContentError::BadLength);
    }
    let end = padded.iter().rposition(|&b| b != 0).ok_or(ContentError::BadPadding)?;
    match padded.get(end) {
        Some(&PADDING_MARKER) => Ok(padded.get(..end).unwrap_or_default()),
        _ => Err(ContentError::BadPadding),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_to_the_smallest_bucket_that_fits() {
        assert_eq!(padded_len(0), Some(256));
        assert_eq!(padded_len(255), Some(256));
        assert_eq!(padded_len(256), Some(1024));
        assert_eq!(padded_len(CONTENT_BUCKETS[4] - 1), Some(CONTENT_BUCKETS[4]));
        assert_eq!(padded_len(CONTENT_BUCKETS[4]), None);
    }

    #[test]
    fn round_trips_bodies_ending_in_zero_or_marker() {
        for body in [vec![], vec![0u8; 10], vec![0x80; 3], vec![1, 2, 0x80, 0], vec![7u8; 255]] {
            let mut buf = body.clone();
            let bucket = padded_len(body.len()).unwrap();
            pad(&mut buf, bucket);
            assert_eq!(buf.len(), bucket);
            assert_eq!(unpad(&buf).unwrap(), &body[..]);
        }
    }

    #[test]
    fn refuses_bad_padding_and_lengths() {
        assert_eq!(unpad(&[0u8; 256]), Err(ContentError::BadPadding));
        let mut no_marker = vec![5u8; 10];
        no_marker.resize(256, 0);
        assert_eq!(unpad(&no_marker), Err(ContentError::BadPadding));
        assert_eq!(unpad(&[0x80; 255]), Err(ContentError::BadLength));
        assert_eq!(unpad(&[]), Err(ContentError::BadLength));
    }
}
