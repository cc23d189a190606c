//! A small fixed-layout binary codec for serialized state (big-endian integers, length-prefixed
//! byte strings). Used for session records, which hold secrets and therefore are written into
//! zeroizing buffers rather than through generated protobuf types; its [`Reader`] reads every
//! hand-written byte layout of the library.

use zeroize::Zeroizing;

use crate::error::DecodeError;

/// Writes fields into a zeroizing buffer that is allocated once, at exactly its final length.
///
/// A `Vec` that grows frees its old buffer without zeroizing it, leaving the bytes written so far
/// (a root key, chain keys) in freed memory. So [`Writer::encode`] runs the same writing code
/// twice: a first pass only measures, the second writes into a buffer of the measured length, and
/// the buffer never has to grow.
pub(crate) struct Writer {
    /// Bytes written so far.
    len: usize,
    /// `None` in the measuring pass; in the writing pass, a buffer of the measured capacity.
    out: Option<Zeroizing<Vec<u8>>>,
}

impl Writer {
    /// The bytes `write` writes, in a buffer whose capacity is exactly their length. `write` is
    /// called twice and must write the same bytes both times.
    pub(crate) fn encode(write: impl Fn(&mut Writer)) -> Zeroizing<Vec<u8>> {
        let mut measure = Self { len: 0, out: None };
        write(&mut measure);
        let mut fill = Self { len: 0, out: Some(Zeroizing::new(Vec::with_capacity(measure.len))) };
        write(&mut fill);
        debug_assert_eq!(fill.len, measure.len, "the writer wrote other than it measured");
        fill.out.unwrap_or_default()
    }

    pub(crate) fn u8(&mut self, value: u8) {
        self.bytes(&[value]);
    }

    pub(crate) fn u32(&mut self, value: u32) {
        self.bytes(&value.to_be_bytes());
    }

    pub(crate) fn bytes(&mut self, value: &[u8]) {
        self.len = self.len.saturating_add(value.len());
        if let Some(out) = &mut self.out {
            put(out, value);
        }
    }

    /// A `u32` length, then the bytes.
    pub(crate) fn var_bytes(&mut self, value: &[u8]) {
        // Serialized values are bounded far below 4 GiB by the limits in `consts`.
        self.u32(u32::try_from(value.len()).unwrap_or(u32::MAX));
        self.bytes(value);
    }
}

/// Appends `value` to `out` without ever letting the `Vec` reallocate by itself. Writing past the
/// capacity is a bug (a debug assertion); should it happen in a release build, the bytes move to
/// a larger buffer by hand and the old one is zeroized before it is freed.
fn put(out: &mut Zeroizing<Vec<u8>>, value: &[u8]) {
    let fits = out.capacity() - out.len() >= value.len();
    debug_assert!(fits, "the writer wrote more than it measured");
    if !fits {
        move_to_larger(out, value.len());
    }
    out.extend_from_slice(value);
}

/// Moves the contents of `out` to a new buffer with room for `additional` more bytes; the old
/// buffer is zeroized as it is dropped.
fn move_to_larger(out: &mut Zeroizing<Vec<u8>>, additional: usize) {
    let mut larger = Zeroizing::new(Vec::with_capacity(out.len().saturating_add(additional)));
    larger.extend_from_slice(out);
    *out = larger;
}

/// Reads the fields of a fixed byte layout in order, checking every bound: the one reader of the
/// library's hand-written layouts (session records, ratchet states, stored prekeys, the store's
/// records and file headers).
///
/// Every failure, a field running past the end or bytes left over, is the one error `E` the
/// caller chose, so that each layer reports its own: `DecodeError::InvalidField(what)` for
/// [`Reader::new`], a store error for the store's records.
pub(crate) struct Reader<'a, E = DecodeError> {
    input: &'a [u8],
    error: E,
}

impl<'a> Reader<'a> {
    /// A reader whose every failure is `DecodeError::InvalidField(what)`.
    pub(crate) fn new(input: &'a [u8], what: &'static str) -> Self {
        Self::with_error(input, DecodeError::InvalidField(what))
    }
}

impl<'a, E: Clone> Reader<'a, E> {
    /// A reader whose every failure is `error`.
    pub(crate) fn with_error(input: &'a [u8], error: E) -> Self {
        Self { input, error }
    }

    /// The error this reader reports, for checks the caller makes on the values it read.
    pub(crate) fn error(&self) -> E {
        self.error.clone()
    }

    pub(crate) fn take(&mut self, len: usize) -> Result<&'a [u8], E> {
        if self.input.len() < len {
            return Err(self.error());
        }
        let (head, tail) = self.input.split_at(len);
        self.input = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], E> {
        let slice = self.take(N)?;
        <[u8; N]>::try_from(slice).map_err(|_| self.error())
    }

    pub(crate) fn u8(&mut self) -> Result<u8, E> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, E> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, E> {
        Ok(u32::from_be_bytes(self.array::<4>()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, E> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// A `u32` length of at most `max`, then that many bytes.
    pub(crate) fn var_bytes(&mut self, max: usize) -> Result<&'a [u8], E> {
        let len = self.u32()? as usize;
        if len > max {
            return Err(self.error());
        }
        self.take(len)
    }

    /// Every byte not read yet; the reader is then at the end.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.input)
    }

    /// Fails unless every byte was read.
    pub(crate) fn finish(self) -> Result<(), E> {
        if self.input.is_empty() {
            Ok(())
        } else {
            Err(self.error())
        }
    }
}

/// The first bytes of a public value in hex, for `Debug` output of public keys.
pub(crate) fn hex_prefix(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(19);
    for b in bytes.iter().take(8) {
        let _ = write!(out, "{b:02x}");
    }
    if bytes.len() > 8 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(w: &mut Writer) {
        w.u8(1);
        w.u32(0x0203_0405);
        w.var_bytes(b"abc");
        w.bytes(&[6; 300]);
    }

    #[test]
    fn encode_allocates_exactly_the_written_length() {
        let out = Writer::encode(sample);
        assert_eq!(out.len(), 1 + 4 + 4 + 3 + 300);
        assert_eq!(out.capacity(), out.len());
        assert_eq!(&out[..12], &[1, 2, 3, 4, 5, 0, 0, 0, 3, b'a', b'b', b'c']);
        assert_eq!(Writer::encode(|_| {}).capacity(), 0);
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "the writer wrote more than it measured")]
    fn writing_more_than_measured_is_caught() {
        let second = std::cell::Cell::new(false);
        let _ = Writer::encode(|w| {
            w.bytes(&[1; 8]);
            if second.replace(true) {
                w.u8(2);
            }
        });
    }

    #[test]
    fn moving_to_a_larger_buffer_keeps_the_bytes() {
        let mut out = Zeroizing::new(Vec::with_capacity(2));
        out.extend_from_slice(&[1, 2]);
        move_to_larger(&mut out, 3);
        assert_eq!(&out[..], &[1, 2]);
        assert_eq!(out.capacity(), 5);
    }

    #[test]
    fn reads_in_order_and_refuses_shortfalls_and_leftovers() {
        let bytes = [1, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 2, 5, 6, 7];
        let mut r = Reader::new(&bytes, "test");
        assert_eq!(r.u8(), Ok(1));
        assert_eq!(r.u16(), Ok(2));
        assert_eq!(r.u32(), Ok(3));
        assert_eq!(r.u64(), Ok(4));
        assert_eq!(r.var_bytes(2), Ok(&[5, 6][..]));
        assert_eq!(Reader::new(&bytes, "test").take(23), Err(DecodeError::InvalidField("test")));
        assert_eq!(r.finish(), Err(DecodeError::InvalidField("test")));
        let mut r = Reader::with_error(&[0, 0, 0, 9, 1], "too long");
        assert_eq!(r.var_bytes(8), Err("too long"));
        let mut r = Reader::with_error(&[1, 2], ());
        assert_eq!(r.rest(), [1, 2]);
        assert_eq!(r.finish(), Ok(()));
    }
}
