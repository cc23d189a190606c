//! Every label, version and limit of the at-rest format, in one place.
//!
//! PROTOCOL.md, section 11, restates each of these; a second implementation must use the same values.

/// Version of the at-rest format: key wrapping, sealed records and lookup keys.
///
/// It is bound into the associated data of the wrapped store key.
pub const STORE_FORMAT_VERSION: u32 = 1;

/// Highest schema version (numbered migration) this code knows.
pub const SCHEMA_VERSION: u32 = 9;

/// Version byte that starts every sealed record.
pub const RECORD_VERSION: u8 = 1;

/// Text in the header row that marks a SQLite file as a confidant store.
pub const STORE_MAGIC: &str = "confidant store";

/// HKDF-SHA256 `info` that derives the record-sealing key from the store key.
pub const SEAL_KEY_INFO: &[u8] = b"confidant-v1 store seal";
/// HKDF-SHA256 `info` that derives the lookup-key (HMAC) key from the store key.
pub const LOOKUP_KEY_INFO: &[u8] = b"confidant-v1 store lookup";
/// HKDF-SHA256 `info` that derives the audit trail's chain key (HMAC) from the store key.
pub const AUDIT_KEY_INFO: &[u8] = b"confidant-v1 store audit";
/// First bytes of every audit chain MAC's input (PROTOCOL.md, section 15).
pub const AUDIT_CHAIN_LABEL: &[u8] = b"confidant-v1 audit chain";
/// Most message ids one audit entry lists (an export or a consultation of more is refused).
pub const MAX_AUDIT_MESSAGES: usize = 10_000;
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
/// Least Argon2id memory for a new wrap, in KiB: 19 MiB, OWASP's minimum for Argon2id (with
/// [`MIN_KDF_ITERATIONS`] passes and [`MIN_KDF_PARALLELISM`] lane).
///
/// [`KdfParams::new`](super::KdfParams::new) refuses less with
/// [`StoreError::KdfBelowFloor`](super::StoreError::KdfBelowFloor). Opening a file does not
/// apply the floor: its parameters are bound into the wrapped key's associated data, so lowering
/// them in the file only makes the unwrap fail.
pub const MIN_KDF_MEMORY_KIB: u32 = 19 * 1024;
/// Fewest Argon2id passes for a new wrap: 2, OWASP's minimum at 19 MiB.
pub const MIN_KDF_ITERATIONS: u32 = 2;
/// Fewest Argon2id lanes for a new wrap: 1.
pub const MIN_KDF_PARALLELISM: u32 = 1;
/// Most Argon2id memory a store may use, in KiB: 1 GiB, 16 times the default.
///
/// The ceiling applies to new wraps and to the parameters read from a file's header, which are
/// checked before Argon2id runs: the header is authenticated only by the unwrap that Argon2id's
/// output enables, so without a ceiling whoever can write the file could make every open
/// allocate and compute without limit. A file over any ceiling is refused with
/// [`StoreError::KdfAboveCeiling`](super::StoreError::KdfAboveCeiling) and left untouched.
pub const MAX_KDF_MEMORY_KIB: u32 = 1024 * 1024;
/// Most Argon2id passes a store may use: 10 (the default is 3). With the memory ceiling, at
/// most 10 GiB of memory passes: a few seconds on a desktop, tens of seconds on a phone.
pub const MAX_KDF_ITERATIONS: u32 = 10;
/// Most Argon2id lanes a store may use: 8 (the default is 4).
pub const MAX_KDF_PARALLELISM: u32 = 8;

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

/// Most rows one page of a conversation asks for ([`super::Store::messages_page`]).
pub const MAX_PAGE_LEN: usize = 1000;

/// Longest conversation state record ([`super::WriteBatch::put_conversation`]), in bytes.
pub const MAX_CONVERSATION_LEN: usize = 64 * 1024;
