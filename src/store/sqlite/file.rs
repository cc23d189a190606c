//! Checks on the raw file before SQLite opens it, so that a file that is not a store, or one
//! that was truncated, is refused with a clear error and left untouched.

use std::io::Read;
use std::path::Path;

use crate::store::StoreError;

const HEADER_LEN: usize = 100;
const MAGIC: &[u8; 16] = b"SQLite format 3\0";

fn be_u32(header: &[u8; HEADER_LEN], at: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&header[at..at + 4]);
    u32::from_be_bytes(word)
}

/// Refuses a missing file, a file that is not SQLite, and a SQLite file shorter than the size
/// its header records (SQLite file format, section 1.3: page size at offset 16, change counter at
/// 24, size in pages at 28, "version-valid-for" at 92).
pub(super) fn check(path: &Path) -> Result<(), StoreError> {
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(StoreError::NotFound),
        Err(e) => return Err(e.into()),
    };
    let len = file.metadata()?.len();
    let mut header = [0u8; HEADER_LEN];
    if file.read_exact(&mut header).is_err() || &header[..16] != MAGIC {
        return Err(StoreError::NotAStore);
    }
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65536,
        n if n >= 512 && n.is_power_of_two() => u64::from(n),
        _ => return Err(StoreError::NotAStore),
    };
    let pages = u64::from(be_u32(&header, 28));
    let size_is_valid = pages != 0 && be_u32(&header, 24) == be_u32(&header, 92);
    if size_is_valid && len < pages * page_size {
        return Err(StoreError::Truncated);
    }
    Ok(())
}
