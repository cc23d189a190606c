//! Checks on the raw file before SQLite opens it, so that a file that is not a store, or one
//! that was truncated, is refused with a clear error and left untouched.

use std::io::Read;
use std::path::Path;

use crate::codec::Reader;
use crate::store::StoreError;

const HEADER_LEN: usize = 100;
/// The size of a write-ahead log's header; a log with frames is longer.
const WAL_HEADER_LEN: u64 = 32;
const MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Refuses a missing file, a file that is not SQLite, and a SQLite file shorter than the size
/// its header records (SQLite file format, section 1.3: page size at offset 16, change counter at
/// 24, size in pages at 28, "version-valid-for" at 92).
///
/// The size is checked only when no write-ahead log with frames lies beside the file: a process
/// killed while a checkpoint was copying pages from the log into the file can leave the file
/// shorter than its (already copied) header says, and SQLite completes the copy from the log when
/// it opens the file. Such a file is not truncated; one whose missing pages are in no log is
/// reported by SQLite as damaged (`FileCorrupt`) once it reads them.
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
    if size_is_valid && len < pages * page_size && !log_has_frames(path) {
        return Err(StoreError::Truncated);
    }
    Ok(())
}

/// Whether the write-ahead log beside `path` holds frames: it is longer than its 32-byte header.
fn log_has_frames(path: &Path) -> bool {
    let mut log = path.as_os_str().to_owned();
    log.push("-wal");
    std::fs::metadata(Path::new(&log)).is_ok_and(|meta| meta.len() > WAL_HEADER_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A SQLite header for a file of `pages` pages of 4096 bytes.
    fn header(pages: u32) -> Vec<u8> {
        let mut h = vec![0u8; HEADER_LEN];
        h[..16].copy_from_slice(MAGIC);
        h[16..18].copy_from_slice(&4096u16.to_be_bytes());
        h[24..28].copy_from_slice(&7u32.to_be_bytes());
        h[28..32].copy_from_slice(&pages.to_be_bytes());
        h[92..96].copy_from_slice(&7u32.to_be_bytes());
        h
    }

    #[test]
    fn a_short_file_is_truncated_unless_a_log_holds_frames() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let mut file = header(3);
        file.resize(2 * 4096, 0);
        std::fs::write(&path, &file).unwrap();
        assert_eq!(check(&path), Err(StoreError::Truncated));
        let log = dir.path().join("store.db-wal");
        std::fs::write(&log, [0u8; 32]).unwrap();
        assert_eq!(check(&path), Err(StoreError::Truncated), "a log with a header only holds no frames");
        std::fs::write(&log, vec![0u8; 32 + 24 + 4096]).unwrap();
        assert_eq!(check(&path), Ok(()), "the log can complete the file");
        file.resize(3 * 4096, 0);
        std::fs::write(&path, &file).unwrap();
        std::fs::remove_file(&log).unwrap();
        assert_eq!(check(&path), Ok(()));
    }
}
