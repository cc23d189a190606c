//! A small fixed-layout binary codec for serialized state (big-endian integers, length-prefixed
//! byte strings). Used for session records, which hold secrets and therefore are written into
//! zeroizing buffers rather than through generated protobuf types.

use zeroize::Zeroizing;

use crate::error::DecodeError;

/// Appends fields to a zeroizing buffer.
pub(crate) struct Writer {
    out: Zeroizing<Vec<u8>>,
}

impl Writer {
    pub(crate) fn new(capacity: usize) -> Self {
        Self { out: Zeroizing::new(Vec::with_capacity(capacity)) }
    }

    pub(crate) fn u8(&mut self, value: u8) {
        self.out.push(value);
    }

    pub(crate) fn u32(&mut self, value: u32) {
        self.out.extend_from_slice(&value.to_be_bytes());
    }

    pub(crate) fn bytes(&mut self, value: &[u8]) {
        self.out.extend_from_slice(value);
    }

    /// A `u32` length, then the bytes.
    pub(crate) fn var_bytes(&mut self, value: &[u8]) {
        // Serialized values are bounded far below 4 GiB by the limits in `consts`.
        self.u32(u32::try_from(value.len()).unwrap_or(u32::MAX));
        self.bytes(value);
    }

    pub(crate) fn finish(self) -> Zeroizing<Vec<u8>> {
        self.out
    }
}

/// Reads fields in order; every failure is `DecodeError::InvalidField(what)`.
pub(crate) struct Reader<'a> {
    input: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(input: &'a [u8], what: &'static str) -> Self {
        Self { input, what }
    }

    fn error(&self) -> DecodeError {
        DecodeError::InvalidField(self.what)
    }

    pub(crate) fn take(&mut self, len: usize) -> Result<&'a [u8], DecodeError> {
        if self.input.len() < len {
            return Err(self.error());
        }
        let (head, tail) = self.input.split_at(len);
        self.input = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let slice = self.take(N)?;
        <[u8; N]>::try_from(slice).map_err(|_| self.error())
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array::<4>()?))
    }

    /// A `u32` length of at most `max`, then that many bytes.
    pub(crate) fn var_bytes(&mut self, max: usize) -> Result<&'a [u8], DecodeError> {
        let len = self.u32()? as usize;
        if len > max {
            return Err(self.error());
        }
        self.take(len)
    }

    /// Fails unless every byte was read.
    pub(crate) fn finish(self) -> Result<(), DecodeError> {
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
