//! Sessions: the handshake and the Double Ratchet together, with the guarantees an app relies on.
//!
//! A [`Session`] is what an app uses directly when it brings its own storage and rules: it starts
//! from a peer's [`PrekeyBundle`], encrypts to and decrypts from [`Envelope`]s, serializes to a
//! session record, and reports every failure as a [`SessionError`].
//!
//! * A decryption that fails changes nothing: the ratchet computes on the side and commits only
//!   once the message has authenticated.
//! * A duplicate or replayed message is rejected with [`SessionError::Duplicate`].
//! * Out-of-order and lost messages work within [`crate::consts::MAX_SKIP`] per chain and
//!   [`crate::consts::MAX_STORED_SKIPPED_KEYS`] stored keys.
//! * The initiator sends [`PrekeyMessage`]s until it has decrypted a reply, so the responder can
//!   complete the handshake from whichever of them arrives first.

mod error;
mod record;

use rand_core::CryptoRng;
use zeroize::Zeroizing;

pub use error::SessionError;
// The layer under the session, as its callers meet it: the bundle a session starts from, the
// envelopes it encrypts to and decrypts from, and the errors of decoding and key agreement.
pub use crate::error::{DecodeError, HandshakeError};
pub use crate::handshake::PrekeyBundle;
pub use crate::ratchet::Header;
pub use crate::wire::{Envelope, PrekeyMessage, RatchetMessage};

use crate::handshake::{self, ResponderKeys};
use crate::keys::{
    DhPublicKey, IdentityKey, IdentityKeyPair, KemCiphertext, KemPrekey, OneTimePrekey, PrekeyId,
    SignedPrekey,
};
use crate::ratchet::RatchetState;

/// What every session call returns.
type Result<T, E = SessionError> = std::result::Result<T, E>;

/// The handshake values the initiator attaches to its messages until it receives a reply.
#[derive(Clone, Debug)]
struct PendingPrekey {
    signed_prekey_id: PrekeyId,
    one_time_prekey_id: Option<PrekeyId>,
    kem_prekey_id: PrekeyId,
    kem_ciphertext: KemCiphertext,
}

/// An end-to-end encrypted session with one peer device.
#[derive(Clone)]
pub struct Session {
    ratchet: RatchetState,
    local_identity: IdentityKey,
    remote_identity: IdentityKey,
    /// The initiator's ephemeral key `EK_A`: identifies the handshake on both sides.
    base_key: DhPublicKey,
    pending: Option<PendingPrekey>,
    /// Responder only: SHA-256 of the handshake fields of the prekey message that created the
    /// session. A later prekey message must carry exactly the same fields.
    handshake_digest: Option<[u8; 32]>,
}

impl Session {
    /// Starts a session with the owner of `bundle` (the initiator's side of PQXDH).
    ///
    /// Draws from `rng`, in order: the ephemeral key (32 bytes) and the ML-KEM message (32 bytes);
    /// the first ratchet key is drawn by the first [`Session::encrypt`].
    ///
    /// # Errors
    /// [`SessionError::Handshake`]: a prekey signature does not verify, the ML-KEM key is invalid,
    /// a key is of low order, or the bundle is the caller's own.
    pub fn initiate<R: CryptoRng + ?Sized>(
        rng: &mut R,
        identity: &IdentityKeyPair,
        bundle: &PrekeyBundle,
    ) -> Result<Self> {
        let initiated = handshake::initiate(rng, identity, bundle, true)?;
        let kem_ciphertext = initiated.kem_ciphertext.ok_or(HandshakeError::InvalidKemCiphertext)?;
        Ok(Self {
            ratchet: RatchetState::init_alice(
                &initiated.agreement.shared_secret,
                bundle.signed_prekey,
                &initiated.agreement.associated_data,
            ),
            local_identity: identity.public_key(),
            remote_identity: bundle.identity_key,
            base_key: initiated.base_key,
            pending: Some(PendingPrekey {
                signed_prekey_id: initiated.signed_prekey_id,
                one_time_prekey_id: initiated.one_time_prekey_id,
                kem_prekey_id: initiated.kem_prekey_id,
                kem_ciphertext,
            }),
            handshake_digest: None,
        })
    }

    /// Completes the handshake from a received [`PrekeyMessage`] (the responder's side) and
    /// decrypts the message it carries.
    ///
    /// The caller looks up the prekeys named by [`PrekeyMessage::signed_prekey_id`],
    /// [`PrekeyMessage::one_time_prekey_id`] and [`PrekeyMessage::kem_prekey_id`], and deletes the
    /// one-time prekey only after this call succeeded (the store does both in one transaction).
    ///
    /// # Errors
    /// [`SessionError::Handshake`] with [`HandshakeError::PrekeyMismatch`] if the keys are not the
    /// ones the message names, or with another [`HandshakeError`] if a stored signature does not
    /// verify or a key is of low order;
    /// [`SessionError::Decrypt`] if the message does not authenticate (for example, a modified
    /// ML-KEM ciphertext, which decapsulates to a different secret).
    pub fn respond(
        identity: &IdentityKeyPair,
        message: &PrekeyMessage,
        signed_prekey: &SignedPrekey,
        one_time_prekey: Option<&OneTimePrekey>,
        kem_prekey: &KemPrekey,
    ) -> Result<(Self, Zeroizing<Vec<u8>>)> {
        if signed_prekey.id() != message.signed_prekey_id
            || kem_prekey.id() != message.kem_prekey_id
            || one_time_prekey.map(OneTimePrekey::id) != message.one_time_prekey_id
        {
            return Err(HandshakeError::PrekeyMismatch.into());
        }
        let responded = handshake::respond(
            identity,
            &message.identity_key,
            &message.base_key,
            ResponderKeys {
                signed_prekey,
                one_time_prekey,
                kem: Some((kem_prekey, &message.kem_ciphertext)),
            },
        )?;
        let mut ratchet = RatchetState::init_bob(
            &responded.agreement.shared_secret,
            signed_prekey.key_pair().clone(),
            &responded.agreement.associated_data,
        );
        let decrypted = ratchet.decrypt(&message.message.header, &message.message.ciphertext)?;
        let session = Self {
            ratchet,
            local_identity: identity.public_key(),
            remote_identity: message.identity_key,
            base_key: message.base_key,
            pending: None,
            handshake_digest: Some(message.handshake_digest()),
        };
        Ok((session, decrypted.plaintext))
    }

    /// Encrypts `plaintext` into an envelope for the peer. Draws a new ratchet key from `rng`
    /// when a DH ratchet step is due.
    ///
    /// # Errors
    /// [`SessionError::PlaintextTooLarge`], [`SessionError::NotReady`] (a responder session
    /// cannot send before it received), or [`SessionError::CounterExhausted`]. The session is
    /// unchanged on error.
    pub fn encrypt<R: CryptoRng + ?Sized>(&mut self, rng: &mut R, plaintext: &[u8]) -> Result<Envelope> {
        let (header, ciphertext) = self.ratchet.encrypt(rng, plaintext)?;
        let message = RatchetMessage { header, ciphertext };
        Ok(match &self.pending {
            None => Envelope::Message(message),
            Some(p) => Envelope::Prekey(Box::new(PrekeyMessage {
                identity_key: self.local_identity,
                base_key: self.base_key,
                signed_prekey_id: p.signed_prekey_id,
                one_time_prekey_id: p.one_time_prekey_id,
                kem_prekey_id: p.kem_prekey_id,
                kem_ciphertext: p.kem_ciphertext.clone(),
                message,
            })),
        })
    }

    /// Decrypts an envelope from the peer.
    ///
    /// A [`PrekeyMessage`] is accepted by the responder when its handshake fields are exactly
    /// those of the message that created the session (the initiator keeps attaching the
    /// handshake until it receives a reply).
    ///
    /// # Errors
    /// [`SessionError::Decrypt`] (forged, tampered, or keyed differently),
    /// [`SessionError::Duplicate`], [`SessionError::TooManySkipped`],
    /// [`SessionError::LowOrderKey`], [`SessionError::NotReady`], or
    /// [`SessionError::ForeignHandshake`] for a prekey message of another handshake. The session
    /// is exactly as it was before the call on any error.
    pub fn decrypt(&mut self, envelope: &Envelope) -> Result<Zeroizing<Vec<u8>>> {
        let message = match envelope {
            Envelope::Message(m) => m,
            Envelope::Prekey(p) => {
                if self.handshake_digest != Some(p.handshake_digest()) {
                    return Err(SessionError::ForeignHandshake);
                }
                &p.message
            }
        };
        let decrypted = self.ratchet.decrypt(&message.header, &message.ciphertext)?;
        self.pending = None;
        Ok(decrypted.plaintext)
    }

    /// The local identity key.
    #[must_use]
    pub fn local_identity(&self) -> IdentityKey {
        self.local_identity
    }

    /// The peer's identity key.
    #[must_use]
    pub fn remote_identity(&self) -> IdentityKey {
        self.remote_identity
    }

    /// The initiator's ephemeral key, which identifies this session's handshake.
    #[must_use]
    pub fn base_key(&self) -> DhPublicKey {
        self.base_key
    }

    /// Whether this side has decrypted at least one message from the peer.
    #[must_use]
    pub fn has_received(&self) -> bool {
        self.ratchet.has_received()
    }

    /// Number of message keys kept for skipped messages.
    #[must_use]
    pub fn skipped_keys(&self) -> usize {
        self.ratchet.skipped_len()
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("local_identity", &self.local_identity)
            .field("remote_identity", &self.remote_identity)
            .field("base_key", &self.base_key)
            .field("awaiting_reply", &self.pending.is_some())
            .finish_non_exhaustive()
    }
}
