//! Low-level entry points for the test-vector tool, the fuzz targets and the benchmarks, behind
//! the `low-level` feature, which no app should enable.
//!
//! Not part of the stable API: these run the same code the sessions and the store use, with the
//! keys and randomness supplied by the caller, so that vectors can be generated and verified byte
//! for byte and sealed records can be forged and fuzzed. Apps use [`crate::endpoint::Endpoint`] (or
//! [`crate::session::Session`]).

use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::codec::{Reader, Writer};
use crate::error::{DecodeError, HandshakeError};
use crate::handshake::{self, PrekeyBundle, ResponderKeys};
use crate::keys::{
    DhKeyPair, DhPublicKey, IdentityKey, IdentityKeyPair, KemCiphertext, KemEncapsulationKey, KemPrekey,
    KemSeed, OneTimePrekey, Secret32, SignedPrekey,
};
use crate::ratchet::RatchetState;
use crate::session::SessionError;
use crate::store::{RecordKeys, StoreError, StoreKey};

pub use crate::ratchet::Header;

/// A message as [`Ratchet::encrypt_traced`] produced it. `Debug` leaves out the message key.
pub struct TracedMessage {
    /// The header.
    pub header: Header,
    /// The ChaCha20-Poly1305 output, tag included.
    pub ciphertext: Vec<u8>,
    /// The message key `mk` from `KDF_CK`.
    pub message_key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for TracedMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracedMessage")
            .field("header", &self.header)
            .field("ciphertext_len", &self.ciphertext.len())
            .finish_non_exhaustive()
    }
}

/// One party's Double Ratchet state, without the session's handshake bookkeeping.
#[derive(Clone, Debug)]
pub struct Ratchet(RatchetState);

impl Ratchet {
    /// `RatchetInitAlice(SK, bob_ratchet_public)` with session associated data `ad`.
    #[must_use]
    pub fn init_alice(shared_secret: [u8; 32], bob_ratchet: [u8; 32], ad: &[u8]) -> Self {
        Self(RatchetState::init_alice(&Secret32(shared_secret), DhPublicKey(bob_ratchet), ad))
    }

    /// `RatchetInitBob(SK, bob_ratchet_key_pair)` with session associated data `ad`.
    #[must_use]
    pub fn init_bob(shared_secret: [u8; 32], bob_ratchet_private: [u8; 32], ad: &[u8]) -> Self {
        Self(RatchetState::init_bob(
            &Secret32(shared_secret),
            DhKeyPair::from_private_bytes(bob_ratchet_private),
            ad,
        ))
    }

    /// `RatchetEncrypt`; a new ratchet key, when due, is 32 bytes from `rng`.
    ///
    /// # Errors
    /// As [`crate::session::Session::encrypt`].
    pub fn encrypt<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        plaintext: &[u8],
    ) -> Result<(Header, Vec<u8>), SessionError> {
        self.0.encrypt(rng, plaintext).map_err(SessionError::from)
    }

    /// [`Self::encrypt`], also returning the message key `mk` that encrypted the message, so
    /// that vectors can record it.
    ///
    /// # Errors
    /// As [`crate::session::Session::encrypt`].
    pub fn encrypt_traced<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        plaintext: &[u8],
    ) -> Result<TracedMessage, SessionError> {
        let (header, ciphertext, key) = self.0.encrypt_traced(rng, plaintext)?;
        Ok(TracedMessage { header, ciphertext, message_key: Zeroizing::new(*key.as_bytes()) })
    }

    /// `RatchetDecrypt`: the plaintext, and whether a DH ratchet step happened.
    ///
    /// # Errors
    /// As [`crate::session::Session::decrypt`]; the state is unchanged on error.
    pub fn decrypt(
        &mut self,
        header: &Header,
        ciphertext: &[u8],
    ) -> Result<(Zeroizing<Vec<u8>>, bool), SessionError> {
        self.0.decrypt(header, ciphertext).map(|d| (d.plaintext, d.dh_ratchet)).map_err(SessionError::from)
    }

    /// The serialized state (as inside a session record), in a buffer of exactly its length.
    #[must_use]
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        Writer::encode(|w| self.0.write(w))
    }

    /// Restores [`Self::to_bytes`].
    ///
    /// # Errors
    /// [`DecodeError`] if the bytes are not a ratchet state.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, "ratchet state");
        let state = RatchetState::read(&mut r)?;
        r.finish()?;
        Ok(Self(state))
    }
}

/// `SK` and `AD` of a key agreement. `SK` is zeroized on drop and not printed by `Debug`.
#[derive(Clone)]
pub struct Agreement {
    /// `SK`.
    pub shared_secret: [u8; 32],
    /// `AD = IK_A ‖ IK_B`.
    pub associated_data: [u8; 64],
}

impl std::fmt::Debug for Agreement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agreement")
            .field("associated_data", &crate::codec::hex_prefix(&self.associated_data))
            .finish_non_exhaustive()
    }
}

impl Drop for Agreement {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.shared_secret);
    }
}

/// The initiator's result: the agreement, the KEM ciphertext (PQXDH only) and the ephemeral key.
#[derive(Debug)]
pub struct InitiatorResult {
    /// `SK` and `AD`.
    pub agreement: Agreement,
    /// `CT`, for PQXDH.
    pub kem_ciphertext: Option<Vec<u8>>,
    /// `EK_A` public.
    pub base_key: [u8; 32],
}

/// The initiator's side: PQXDH with `use_kem`, classical X3DH without. Draws `EK_A` then `m`.
///
/// # Errors
/// As [`crate::session::Session::initiate`].
pub fn initiate<R: CryptoRng + ?Sized>(
    rng: &mut R,
    identity: &IdentityKeyPair,
    bundle: &PrekeyBundle,
    use_kem: bool,
) -> Result<InitiatorResult, HandshakeError> {
    let initiated = handshake::initiate(rng, identity, bundle, use_kem)?;
    Ok(InitiatorResult {
        agreement: Agreement {
            shared_secret: *initiated.agreement.shared_secret.as_bytes(),
            associated_data: initiated.agreement.associated_data,
        },
        kem_ciphertext: initiated.kem_ciphertext.map(|ct| ct.as_bytes().to_vec()),
        base_key: initiated.base_key.to_bytes(),
    })
}

/// The responder's side: PQXDH when `kem` is given, classical X3DH without.
///
/// # Errors
/// As [`crate::session::Session::respond`].
pub fn respond(
    identity: &IdentityKeyPair,
    initiator: &IdentityKey,
    base_key: [u8; 32],
    signed_prekey: &SignedPrekey,
    one_time_prekey: Option<&OneTimePrekey>,
    kem: Option<(&KemPrekey, &[u8])>,
) -> Result<Agreement, HandshakeError> {
    let ciphertext = kem.map(|(_, ct)| KemCiphertext::from_slice(ct)).transpose()?;
    let kem = match (kem, &ciphertext) {
        (Some((prekey, _)), Some(ct)) => Some((prekey, ct)),
        _ => None,
    };
    let responded = handshake::respond(
        identity,
        initiator,
        &DhPublicKey(base_key),
        ResponderKeys { signed_prekey, one_time_prekey, kem },
    )?;
    Ok(Agreement {
        shared_secret: *responded.agreement.shared_secret.as_bytes(),
        associated_data: responded.agreement.associated_data,
    })
}

/// The X25519 form of an identity's private key, `clamp(SHA-512(seed)[0..32])`.
#[must_use]
pub fn identity_dh_private(identity: &IdentityKeyPair) -> Zeroizing<[u8; 32]> {
    Zeroizing::new(*identity.dh_secret().to_secret().as_bytes())
}

/// The X25519 form of an identity public key.
#[must_use]
pub fn identity_dh_public(identity: &IdentityKey) -> [u8; 32] {
    identity.dh_public().to_bytes()
}

/// `X25519(private, public)`; `None` for an all-zero output.
#[must_use]
pub fn x25519(private: [u8; 32], public: [u8; 32]) -> Option<[u8; 32]> {
    DhKeyPair::from_private_bytes(private).secret.agree(&DhPublicKey(public)).ok().map(|s| *s.as_bytes())
}

/// `(CT, SS) = ML-KEM-768.Encaps_internal(ek, m)`: what the initiator computes with randomness `m`.
///
/// # Errors
/// [`HandshakeError::InvalidKemKey`] if `ek` fails the FIPS 203 input check.
pub fn kem_encapsulate(
    encapsulation_key: &KemEncapsulationKey,
    m: [u8; 32],
) -> Result<(Vec<u8>, Zeroizing<[u8; 32]>), HandshakeError> {
    let (ciphertext, shared) = encapsulation_key.encapsulate_with(&Secret32(m))?;
    Ok((ciphertext.as_bytes().to_vec(), Zeroizing::new(*shared.0.as_bytes())))
}

/// `SS = ML-KEM-768.Decaps(dk, CT)` for the decapsulation key of the seed `d ‖ z`, with implicit
/// rejection: a wrong but well-formed `CT` gives `J(z ‖ CT)`.
///
/// # Errors
/// [`HandshakeError::InvalidKemCiphertext`] if `ciphertext` is not 1088 bytes long.
pub fn kem_decapsulate(seed: &[u8; 64], ciphertext: &[u8]) -> Result<Zeroizing<[u8; 32]>, HandshakeError> {
    let ciphertext = KemCiphertext::from_slice(ciphertext)?;
    let shared = KemSeed(*seed).decapsulate(&ciphertext)?;
    Ok(Zeroizing::new(*shared.0.as_bytes()))
}

/// The store's record sealing under a raw 32-byte store key: what `SqliteStore` does to every
/// value it writes. `table` and the clear columns `row` are bound into the AEAD's associated data.
pub struct RecordSealer(RecordKeys);

impl RecordSealer {
    /// The sealer of a store whose store key is `store_key`.
    #[must_use]
    pub fn new(store_key: [u8; 32]) -> Self {
        Self(RecordKeys::derive(&StoreKey(Secret32(store_key))))
    }

    /// Seals `plaintext` for the row of `table` whose clear columns are `row`.
    ///
    /// The nonce comes from `rng`, so that test vectors are reproducible; the store itself draws
    /// every nonce from the operating system.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] if the record is too large for the AEAD.
    pub fn seal<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        table: &'static str,
        row: &[&[u8]],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, StoreError> {
        self.0.seal_from(rng, table, row, plaintext)
    }

    /// Opens a record sealed for the row of `table` whose clear columns are `row`.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] naming `table` if it does not authenticate for this row.
    pub fn open(
        &self,
        table: &'static str,
        row: &[&[u8]],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        self.0.open(table, row, sealed)
    }
}

impl std::fmt::Debug for RecordSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordSealer").finish_non_exhaustive()
    }
}

/// `message` with its header replaced by `header` and the same ciphertext: a forgery, for fuzz
/// seeds and adversarial tests.
#[must_use]
pub fn with_header(message: &crate::wire::RatchetMessage, header: Header) -> crate::wire::RatchetMessage {
    crate::wire::RatchetMessage { header, ciphertext: message.ciphertext.clone() }
}

/// `message` with the one-time prekey it names replaced by `one_time_prekey`: a forgery, for fuzz
/// seeds and adversarial tests.
#[must_use]
pub fn with_one_time_prekey(
    message: &crate::wire::PrekeyMessage,
    one_time_prekey: Option<crate::keys::PrekeyId>,
) -> crate::wire::PrekeyMessage {
    crate::wire::PrekeyMessage { one_time_prekey_id: one_time_prekey, ..message.clone() }
}
