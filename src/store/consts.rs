//! Every label, version and limit of the at-rest format, in one place.
//!
//! PROTOCOL.md, section 11, restates each of these; a second implementation must use the same values.

/// Version of the at-rest format: key wrapping, sealed records and lookup keys.
///
/// It is bound into the associated data of the wrapped store key.
pub const STORE_FORMAT_VERSION: u32 = 1;

/// Highest schema version (numbered migration) this code knows.
pub const SCHEMA_VERSION: u32 = 3;

/// Version byte that starts every sealed record.
pub const RECORD_VERSION: u8 = 1;

/// Text in the header row that marks a SQLite file as a confidant store.
pub const STORE_MAGIC: &str = "confidant store";

/// HKDF-SHA256 `info` that derives the record-sealing key from the store key.
pub const SEAL_KEY_INFO: &[u8] = b"confidant-v1 store seal";
/// HKDF-SHA256 `info` that derives the lookup-key (HMAC) key from the store key.
pub const LOOKUP_KEY_INFO: &[u8] = b"confidant-v1 store lookup";
/// First bytes of the associated data of a sealed record.
pub const RECORD_AAD_LABEL: &[u8] = b"confidant-v1 store record";
/// First bytes of the associated data of the wrapped store key.
pub const WRAP_AAD_LABEL: &[u8] = b"confidant-v1 store key wrap";

/// Length of the random Argon2id salt.
pub const KDF_SALT_LEN: usize = 16;
/// Default Argon2id memory, in KiB: 64 MiB, RFC 9106 section 4, second recommended option.
pub const DEFAULT_KDF_MEMORY_KIB: u32 = 64 * 1024;
/// Default Argon2id passes: 3, RFC 9106 section 4, second recommended option.
pub const DEFAULT_KDF_ITERATIONS: u32 = 3;
/// Default Argon2id lanes: 4, RFC 9106 section 4, second recommended option.
pub const DEFAULT_KDF_PARALLELISM: u32 = 4;
/// Most Argon2id memory a store file may ask for, in KiB (2 GiB, RFC 9106's first option).
///
/// A file that asks for more is refused before any memory is allocated.
pub const MAX_KDF_MEMORY_KIB: u32 = 2 * 1024 * 1024;
/// Most Argon2id passes a store file may ask for.
pub const MAX_KDF_ITERATIONS: u32 = 64;
/// Most Argon2id lanes a store file may ask for.
pub const MAX_KDF_PARALLELISM: u32 = 64;

/// Longest peer identifier, in bytes.
pub const MAX_PEER_ID_LEN: usize = 256;
/// Largest serialized session state the store accepts, in bytes.
pub const MAX_SESSION_LEN: usize = crate::consts::MAX_SESSION_LEN;
/// Largest message body the store accepts, in bytes.
pub const MAX_BODY_LEN: usize = crate::consts::MAX_ENVELOPE_LEN;
/// Largest serialized agreement the store accepts, in bytes.
pub const MAX_AGREEMENT_LEN: usize = 256 * 1024;
/// Largest passphrase, in bytes.
pub const MAX_PASSPHRASE_LEN: usize = 4096;
/// Sealed message plaintexts are padded with zeros to a multiple of this many bytes, so that a
/// file holder sees body sizes only to this granularity.
pub const MESSAGE_PADDING: usize = 64;
