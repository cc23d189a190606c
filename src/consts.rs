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
/// Largest serialized session (a session record) accepted by the decoder, in bytes.
pub const MAX_SESSION_LEN: usize = 512 * 1024;

/// Version byte that starts every envelope.
pub const WIRE_VERSION: u8 = 1;
/// The highest version byte any format of this protocol may ever use (envelopes, bundles,
/// session records). A first byte above it, or 0, is not a version: the input is malformed.
pub const MAX_FORMAT_VERSION: u8 = 0x0f;
/// Version byte that starts every serialized session.
pub const SESSION_FORMAT_VERSION: u8 = 1;
/// Version byte that starts a stored session set: the current session with a peer and the
/// previous ones kept (PROTOCOL.md, section 12). A peer with a single session is stored as that
/// session's record ([`SESSION_FORMAT_VERSION`]).
pub const SESSION_SET_VERSION: u8 = 2;
/// Version byte of a stored session set whose current session came from a session repair and
/// stays current (PROTOCOL.md, section 12, rule 6); otherwise as [`SESSION_SET_VERSION`].
pub const SESSION_SET_PINNED_VERSION: u8 = 3;
/// Most previous sessions kept with one peer besides the current one, so that messages still in
/// flight on them decrypt. Fewer are kept if the record would exceed [`MAX_SESSION_LEN`].
pub const MAX_PREVIOUS_SESSIONS: usize = 4;
/// Version byte that starts every serialized prekey bundle.
pub const BUNDLE_VERSION: u8 = 1;

/// Iterations of SHA-512 in a safety-number fingerprint (as Signal's).
pub const FINGERPRINT_ITERATIONS: u32 = 5200;
/// Version of the safety-number construction, hashed into every fingerprint.
pub const FINGERPRINT_VERSION: u16 = 0;

// ---- Message content, communication agreement, boundaries and expiry ----

/// Version byte that starts every padded message content.
pub const CONTENT_VERSION: u8 = 1;
/// Version byte that starts every serialized communication agreement.
pub const AGREEMENT_FORMAT_VERSION: u8 = 1;

/// Room left below [`MAX_PLAINTEXT_LEN`] for what a session adds around padded content: the
/// envelope's version byte and protobuf framing, the ratchet header and AEAD tag, and the PQXDH
/// prekey fields (the 1088-byte ML-KEM-768 ciphertext among them).
pub const CONTENT_OVERHEAD_RESERVE: usize = 2048;
/// The lengths a padded content may have, ascending. A content is padded to the smallest bucket
/// that holds it, so its encrypted length reveals only which bucket it fell in.
pub const CONTENT_BUCKETS: [usize; 5] =
    [256, 1024, 4096, 16384, MAX_PLAINTEXT_LEN - CONTENT_OVERHEAD_RESERVE];
/// Longest message text, in UTF-8 bytes.
pub const MAX_TEXT_BYTES: usize = 32 * 1024;
/// Most message ids one receipt may acknowledge.
pub const MAX_RECEIPT_IDS: usize = 256;

/// Largest serialized agreement accepted, in bytes.
pub const MAX_AGREEMENT_LEN: usize = 16 * 1024;
/// Most availability windows in one agreement.
pub const MAX_WINDOWS: usize = 64;
/// Longest IANA time-zone name, in bytes.
pub const MAX_TIME_ZONE_NAME_LEN: usize = 64;
/// Longest expected-response-time text, in UTF-8 bytes.
pub const MAX_RESPONSE_TIME_LEN: usize = 512;
/// Most crisis-resource lines in one agreement.
pub const MAX_CRISIS_RESOURCES: usize = 8;
/// Longest crisis-resource line, in UTF-8 bytes.
pub const MAX_CRISIS_RESOURCE_LEN: usize = 256;
/// Largest `max_message_chars` an agreement may set (Unicode scalar values). A text this long in
/// characters may still be refused by [`MAX_TEXT_BYTES`] if it uses many multi-byte characters.
pub const MAX_MESSAGE_CHARS: u32 = 8 * 1024;
/// Longest crisis message text, in Unicode scalar values: a few paragraphs. A crisis message is
/// delivered whatever the agreed categories and hours, so its length is bounded by this fixed cap,
/// on the sender's check and on the receiver's, instead of by the agreement's
/// `max_message_chars`.
pub const MAX_CRISIS_CHARS: u32 = 2000;
/// Default auto-reply window: at most one auto-reply per conversation per 15 minutes.
pub const DEFAULT_AUTO_REPLY_WINDOW_MS: u64 = 15 * 60 * 1000;
/// Shortest auto-reply window an agreement may set (one minute).
pub const MIN_AUTO_REPLY_WINDOW_MS: u64 = 60 * 1000;
/// Longest auto-reply window an agreement may set (one week).
pub const MAX_AUTO_REPLY_WINDOW_MS: u64 = 7 * 24 * 60 * 60 * 1000;

/// Shortest lifespan a message may have (one minute).
pub const MIN_LIFESPAN_MS: u64 = 60 * 1000;
/// Longest lifespan a message may have (365 days).
pub const MAX_LIFESPAN_MS: u64 = 365 * 24 * 60 * 60 * 1000;
/// Lifespan of a category for which the agreement names none: 30 days from sending.
pub const DEFAULT_LIFESPAN_MS: u64 = 30 * 24 * 60 * 60 * 1000;
/// How long a message whose lifespan runs from reading is kept if it is never read: 30 days
/// after it arrived, so that no message stays on a device indefinitely.
pub const MAX_UNREAD_MS: u64 = 30 * 24 * 60 * 60 * 1000;

/// Domain-separation label the clinician's signature covers, followed by the canonical terms.
pub const AGREEMENT_CLINICIAN_LABEL: &[u8] = b"confidant-v1 agreement clinician";
/// Domain-separation label the client's countersignature covers, followed by the canonical terms.
pub const AGREEMENT_CLIENT_LABEL: &[u8] = b"confidant-v1 agreement client";

// ---- Boundaries v2: crisis support, support plans, caps, ending, texts ----

/// Longest text of the terms the library shows on its own (crisis statement, auto-reply text,
/// outside-hours notice, capped notice) and of the risk disclosure, in UTF-8 bytes.
pub const MAX_TERM_TEXT_LEN: usize = 1024;
/// Longest language tag of the terms' texts, in bytes.
pub const MAX_LANGUAGE_TAG_LEN: usize = 35;
/// Most dated closures in one agreement.
pub const MAX_CLOSURES: usize = 64;
/// Longest name of a covering colleague or service, and of the colleague a plan names, in bytes.
pub const MAX_CONTACT_LEN: usize = 256;
/// Largest cap on client messages per day or per week an agreement may set.
pub const MAX_MESSAGES_CAP: u32 = 500;
/// Longest retention of a conversation after the agreement ends (365 days).
pub const MAX_RETENTION_AFTER_END_MS: u64 = 365 * 24 * 60 * 60 * 1000;
/// Longest support plan, from its start to its end (90 days).
pub const MAX_PLAN_MS: u64 = 90 * 24 * 60 * 60 * 1000;
/// Most countersigned support plans a device keeps per conversation; the oldest go first.
pub const MAX_STORED_PLANS: usize = 16;
/// Largest encoded support plan, plan message or notice accepted, in bytes.
pub const MAX_PLAN_LEN: usize = 4096;
/// Longest auto-reply text, in Unicode scalar values: the agreed auto-reply text and the crisis
/// resources. An auto-reply is bounded by this, never by the agreement's `max_message_chars`.
pub const MAX_AUTO_REPLY_CHARS: u32 = 4096;
/// Rolling window of the daily cap on client messages.
pub const CAP_DAY_MS: u64 = 24 * 60 * 60 * 1000;
/// Rolling window of the weekly cap on client messages.
pub const CAP_WEEK_MS: u64 = 7 * CAP_DAY_MS;
/// Most send times a device keeps for the caps (the largest weekly count that matters).
pub const MAX_COUNTED_MESSAGES: usize = 7 * MAX_MESSAGES_CAP as usize;

/// The crisis statement when the terms give none.
pub const DEFAULT_CRISIS_STATEMENT: &str =
    "I don't monitor messages for emergencies. If you are in crisis, use the resources below now.";
/// The auto-reply text when the terms give none; the response time and the crisis resources
/// follow it, one per line.
pub const DEFAULT_AUTO_REPLY_TEXT: &str = "Automatic reply: your message arrived outside my working hours.";
/// The outside-hours notice when the terms give none.
pub const DEFAULT_OUTSIDE_HOURS_NOTICE: &str = "Your message will be read when the practice is open again.";
/// The notice for a capped draft when the terms give none.
pub const DEFAULT_CAPPED_NOTICE: &str = "You have reached the number of messages we agreed on for now.";

/// Domain-separation label of the clinician's signature over a support plan.
pub const PLAN_CLINICIAN_LABEL: &[u8] = b"confidant-v1 support plan clinician";
/// Domain-separation label of the client's countersignature over a support plan.
pub const PLAN_CLIENT_LABEL: &[u8] = b"confidant-v1 support plan client";
/// Domain-separation label of a signed notice (a plan ended early, or the agreement ended).
pub const NOTICE_LABEL: &[u8] = b"confidant-v1 notice";
/// How long a last-resort prekey pair (a signed X25519 prekey and a signed ML-KEM-768 prekey)
/// stays current: `Endpoint::rotate_prekeys` replaces it once it is this old (7 days).
pub const LAST_RESORT_PREKEY_LIFETIME_MS: u64 = 7 * 24 * 60 * 60 * 1000;
/// How long a replaced last-resort prekey pair is still accepted, for handshakes made from the
/// bundle before it was replaced; its private keys are deleted by the first rotation after that
/// (30 days after it was replaced).
pub const RETIRED_PREKEY_GRACE_MS: u64 = 30 * 24 * 60 * 60 * 1000;
/// Most replaced last-resort prekey pairs kept at once; beyond it the oldest are deleted even
/// inside their grace period.
pub const MAX_RETIRED_PREKEYS: usize = 8;
/// Version byte of the stored last-resort schedule.
pub const PREKEY_SCHEDULE_VERSION: u8 = 1;

/// Version byte in front of an encoded repair request.
pub const REPAIR_REQUEST_VERSION: u8 = 1;
/// Largest encoded repair request: a bundle and a few small fields.
pub const MAX_REPAIR_REQUEST_LEN: usize = MAX_BUNDLE_LEN + 256;
/// Domain-separation label a repair request's signature covers, followed by its fields.
pub const REPAIR_LABEL: &[u8] = b"confidant-v1 repair";
/// Shortest time between two repairs of the sessions with one peer (10 minutes): a repair
/// request that arrives sooner is refused, so a relay (or a peer) cannot force endless handshakes.
pub const MIN_REPAIR_INTERVAL_MS: u64 = 10 * 60 * 1000;
/// How far ahead of the receiving device's clock a repair request's time may be (one day).
pub const MAX_REPAIR_CLOCK_SKEW_MS: u64 = 24 * 60 * 60 * 1000;
/// The resend queue: outbound messages sent to a peer in the last 48 hours (and not expired) are
/// sent again on the new session after a repair.
pub const REPAIR_RESEND_WINDOW_MS: u64 = 48 * 60 * 60 * 1000;
/// Most messages sent again after one repair: the newest ones of the resend queue.
pub const MAX_RESEND_MESSAGES: usize = 100;

// ---- Devices: a person's signed device list, and linking a new device ----

/// Most devices one person's list may hold, the primary included.
pub const MAX_DEVICES: usize = 8;
/// Longest device name, in UTF-8 bytes.
pub const MAX_DEVICE_NAME_LEN: usize = 64;
/// Largest encoded signed device list accepted, in bytes (a full list of [`MAX_DEVICES`] devices
/// with names of [`MAX_DEVICE_NAME_LEN`] bytes takes about 1100).
pub const MAX_DEVICE_LIST_LEN: usize = 2048;
/// Version byte that starts every encoded signed device list.
pub const DEVICE_LIST_FORMAT_VERSION: u8 = 1;
/// Domain-separation label at the start of a device list's signed bytes.
pub const DEVICE_LIST_LABEL: &[u8] = b"confidant-v1 device list";
/// How long a link offer shown on the primary device accepts a request (10 minutes).
pub const LINK_OFFER_LIFETIME_MS: u64 = 10 * 60 * 1000;
/// Version byte that starts every link code, link request and link response.
pub const LINK_FORMAT_VERSION: u8 = 1;
/// Largest encoded link request or link response accepted, in bytes.
pub const MAX_LINK_MESSAGE_LEN: usize = MAX_DEVICE_LIST_LEN + 256;
/// Label hashed before the person key into the person fingerprint of a link code:
/// `SHA-256(LINK_CODE_LABEL ‖ person key)[0..16]`.
pub const LINK_CODE_LABEL: &[u8] = b"confidant-v1 link code";
/// Label at the start of a link request's transcript, which the new device signs and MACs.
pub const LINK_REQUEST_LABEL: &[u8] = b"confidant-v1 link request transcript";
/// Label at the start of a link response's transcript, which the primary device MACs.
pub const LINK_RESPONSE_LABEL: &[u8] = b"confidant-v1 link response transcript";
/// HKDF `info` of the link request's MAC key.
pub const LINK_REQUEST_INFO: &[u8] = b"confidant-v1 link request";
/// HKDF `info` of the link response's MAC key.
pub const LINK_RESPONSE_INFO: &[u8] = b"confidant-v1 link response";
