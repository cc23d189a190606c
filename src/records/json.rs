//! JSON into a zeroizing buffer allocated once at its final length, so that no partial copy of
//! the text is left in freed memory by a growing buffer.

use zeroize::Zeroizing;

/// Counts the bytes written to it.
struct Counter(usize);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 = self.0.saturating_add(buf.len());
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `value` as pretty-printed JSON, written twice: once to measure, once into a buffer of that
/// capacity.
pub(super) fn to_json<T: serde::Serialize>(value: &T) -> Result<Zeroizing<String>, serde_json::Error> {
    let mut counter = Counter(0);
    serde_json::to_writer_pretty(&mut counter, value)?;
    let mut out = Zeroizing::new(Vec::with_capacity(counter.0));
    serde_json::to_writer_pretty(&mut *out, value)?;
    // serde_json writes UTF-8 only; the other branch zeroizes the bytes all the same.
    match String::from_utf8(std::mem::take(&mut *out)) {
        Ok(text) => Ok(Zeroizing::new(text)),
        Err(e) => {
            drop(Zeroizing::new(e.into_bytes()));
            Ok(Zeroizing::new(String::new()))
        }
    }
}
