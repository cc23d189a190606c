//! Checks on the raw file before SQLite opens it, so that a file that is not a store, or one
//! that was truncated, is refused with a clear error and left untouched.

use std::io::Read;
use std::path::Path;

use crate::codec::Reader;
use crate::store::StoreError;

const HEADER_LEN: usize = 100;
const MAGIC: &[u8; 16] = b"SQLite format 3\0";

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
    if file.read_exact(&mut header).is_err() {
        return Err(StoreError::NotAStore);
    }
    let mut r = Reader::with_error(&header[..], StoreError::NotAStore);
    if r.take(MAGIC.len())? != MAGIC {
        return Err(StoreError::NotAStore);
    }
    let page_size = match r.u16()? {
        1 => 65536,
        n if n >= 512 && n.is_power_of_two() => u64::from(n),
        _ => return Err(StoreError::NotAStore),
    };
    r.take(6)?; // offsets 18..24
    let change_counter = r.u32()?; // 24..28
    let pages = u64::from(r.u32()?); // 28..32
    r.take(60)?; // 32..92
    let version_valid_for = r.u32()?; // 92..96
    let size_is_valid = pages != 0 && change_counter == version_valid_for;
    if size_is_valid && len < pages * page_size {
        return Err(StoreError::Truncated);
    }
    Ok(())
}
