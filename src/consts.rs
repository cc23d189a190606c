//! Every limit and label of the protocol, in one place.
//!
//! PROTOCOL.md restates each of these; a second implementation must use the same values.

/// Name of the protocol profile these constants define.
pub const PROFILE: &str = "confidant-v1";

/// HKDF `info` of the root-key KDF (`KDF_RK`).
pub const KDF_RK_INFO: &[u8] = b"confidant-v1 root";
/// HKDF `info` that expands a message key into a ChaCha20-Poly1305 key and nonce.
pub const MESSAGE_KEY_INFO: &[u8] = b"confidant-v1 message";
/// HKDF `info` of the classical X3DH handshake.
pub const X3DH_INFO: &[u8] = b"confidant-v1 x3dh";
/// HKDF `info` of the PQXDH handshake.
pub const PQXDH_INFO: &[u8] = b"confidant-v1 pqxdh";

/// The post-quantum KEM of the PQXDH handshake (FIPS 203, final).
pub const PQ_KEM: &str = "ML-KEM-768";

/// Most message keys one chain may skip in a single step (Double Ratchet `MAX_SKIP`).
///
/// A message may skip exactly this many keys; one more is rejected.
pub const MAX_SKIP: u32 = 1000;
/// Most skipped message keys a session keeps in total; the oldest are evicted first.
pub const MAX_STORED_SKIPPED_KEYS: usize = 2000;
/// Most earlier receiving ratchet keys a session remembers, to recognise replays from old chains.
pub const MAX_PREVIOUS_RECEIVING_KEYS: usize = 5;

/// Largest plaintext a session encrypts or accepts, in bytes.
pub const MAX_PLAINTEXT_LEN: usize = 64 * 1024;
/// Largest encoded envelope accepted by the decoder, in bytes.
pub const MAX_ENVELOPE_LEN: usize = MAX_PLAINTEXT_LEN + 4096;
/// Largest encoded prekey bundle accepted by the decoder, in bytes.
pub const MAX_BUNDLE_LEN: usize = 4096;
/// Largest serialized session accepted by [`crate::Session::from_bytes`], in bytes.
pub const MAX_SESSION_LEN: usize = 512 * 1024;

/// Version byte that starts every envelope.
pub const WIRE_VERSION: u8 = 1;
/// Version byte that starts every serialized session.
pub const SESSION_FORMAT_VERSION: u8 = 1;
/// Version byte that starts every serialized prekey bundle.
pub const BUNDLE_VERSION: u8 = 1;

/// Iterations of SHA-512 in a safety-number fingerprint (as Signal's).
pub const FINGERPRINT_ITERATIONS: u32 = 5200;
/// Version of the safety-number construction, hashed into every fingerprint.
pub const FINGERPRINT_VERSION: u16 = 0;
