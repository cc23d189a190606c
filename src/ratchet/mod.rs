//! The Double Ratchet (Signal specification, sections 3 and 5.2), profile confidant-v1.
//!
//! Decryption computes every change on the side and commits it only once the message has
//! authenticated, so a rejected message leaves the state exactly as it was. The sending chain is
//! created lazily: a received ratchet key makes the next *send* draw a new ratchet key pair, which
//! gives the same messages as the specification's eager step and keeps decryption free of
//! randomness.

mod error;
mod kdf;
mod serialize;
mod skipped;

use std::collections::VecDeque;

use rand_core::CryptoRng;
use zeroize::Zeroizing;

pub(crate) use error::RatchetError;
use kdf::{ChainKey, MessageKey, RootKey};
use skipped::SkippedKeys;

use crate::consts::{MAX_PLAINTEXT_LEN, MAX_PREVIOUS_RECEIVING_KEYS, MAX_SKIP};
use crate::keys::{DhKeyPair, DhPublicKey, Secret32};

/// A Double Ratchet message header: the sender's ratchet key, the length of its previous sending
/// chain, and the message's number in the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The sender's current ratchet public key (`dh`).
    pub dh: DhPublicKey,
    /// Number of messages in the sender's previous sending chain (`pn`).
    pub pn: u32,
    /// Number of this message in the current sending chain (`n`).
    pub n: u32,
}

impl Header {
    /// The associated data of the AEAD: `AD ‖ dh ‖ u32be(pn) ‖ u32be(n)`.
    fn aad(&self, associated_data: &[u8]) -> Vec<u8> {
        let mut aad = Vec::with_capacity(associated_data.len() + 40);
        aad.extend_from_slice(associated_data);
        aad.extend_from_slice(self.dh.as_bytes());
        aad.extend_from_slice(&self.pn.to_be_bytes());
        aad.extend_from_slice(&self.n.to_be_bytes());
        aad
    }
}

/// A chain and the number of the next message in it.
#[derive(Clone, Debug)]
struct Chain {
    key: ChainKey,
    n: u32,
}

/// What a successful decryption did besides yielding the plaintext. (No `Debug`: it holds the
/// plaintext.)
pub(crate) struct Decrypted {
    pub(crate) plaintext: Zeroizing<Vec<u8>>,
    /// The message started a new receiving chain (a DH ratchet step); the vector tool checks it.
    #[cfg_attr(not(feature = "low-level"), allow(dead_code))]
    pub(crate) dh_ratchet: bool,
}

/// The state of one party of a Double Ratchet session.
#[derive(Clone, Debug)]
pub(crate) struct RatchetState {
    associated_data: Vec<u8>,
    root_key: RootKey,
    /// `DHs`: absent for the initiator until its first send.
    local_ratchet: Option<DhKeyPair>,
    /// `DHr`: absent for the responder until its first receive.
    remote_ratchet: Option<DhPublicKey>,
    /// `CKs, Ns`: absent when the next send must start a new chain.
    sending: Option<Chain>,
    /// `CKr, Nr` of the chain of `remote_ratchet`.
    receiving: Option<Chain>,
    /// `PN`.
    previous_counter: u32,
    skipped: SkippedKeys,
    /// Ratchet keys of earlier receiving chains, newest last, to recognise replays.
    previous_remote: VecDeque<DhPublicKey>,
}

impl RatchetState {
    /// `RatchetInitAlice`: the initiator knows `SK` and the responder's ratchet public key.
    /// The initiator's own ratchet key pair is drawn at its first send.
    pub(crate) fn init_alice(
        shared_secret: &Secret32,
        bob_ratchet: DhPublicKey,
        associated_data: &[u8],
    ) -> Self {
        Self::new(shared_secret, None, Some(bob_ratchet), associated_data)
    }

    /// `RatchetInitBob`: the responder starts with `RK = SK` and its ratchet key pair (its signed
    /// prekey), and has no chains until it first receives.
    pub(crate) fn init_bob(shared_secret: &Secret32, bob_ratchet: DhKeyPair, associated_data: &[u8]) -> Self {
        Self::new(shared_secret, Some(bob_ratchet), None, associated_data)
    }

    fn new(
        shared_secret: &Secret32,
        local_ratchet: Option<DhKeyPair>,
        remote_ratchet: Option<DhPublicKey>,
        associated_data: &[u8],
    ) -> Self {
        Self {
            associated_data: associated_data.to_vec(),
            root_key: RootKey(shared_secret.clone()),
            local_ratchet,
            remote_ratchet,
            sending: None,
            receiving: None,
            previous_counter: 0,
            skipped: SkippedKeys::default(),
            previous_remote: VecDeque::new(),
        }
    }

    /// Whether a message has been received from the peer.
    pub(crate) fn has_received(&self) -> bool {
        self.receiving.is_some()
    }

    /// Number of stored skipped message keys.
    pub(crate) fn skipped_len(&self) -> usize {
        self.skipped.len()
    }

    /// `RatchetEncrypt`. Draws a new ratchet key pair from `rng` when a new sending chain is due.
    /// On error the state is unchanged.
    pub(crate) fn encrypt<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        plaintext: &[u8],
    ) -> Result<(Header, Vec<u8>), RatchetError> {
        self.encrypt_traced(rng, plaintext).map(|(header, ciphertext, _)| (header, ciphertext))
    }

    /// [`Self::encrypt`], also returning the message key `mk` it used (for test vectors).
    pub(crate) fn encrypt_traced<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        plaintext: &[u8],
    ) -> Result<(Header, Vec<u8>, Secret32), RatchetError> {
        if plaintext.len() > MAX_PLAINTEXT_LEN {
            return Err(RatchetError::PlaintextTooLarge);
        }
        let (new_chain, chain, dh) = match (&self.local_ratchet, &self.sending) {
            (Some(local), Some(chain)) => (None, chain.clone(), local.public_key()),
            (_, None) => {
                let (local, root_key, chain) = self.derive_sending_chain(rng)?;
                let dh = local.public_key();
                (Some((local, root_key)), chain.clone(), dh)
            }
            (None, Some(_)) => return Err(RatchetError::NotReady),
        };
        let header = Header { dh, pn: self.previous_counter, n: chain.n };
        let (next, message_key) = next_message_key(chain)?;
        let traced = message_key.0.clone();
        let ciphertext = message_key.encrypt(plaintext, &header.aad(&self.associated_data))?;
        if let Some((local, root_key)) = new_chain {
            self.local_ratchet = Some(local);
            self.root_key = root_key;
        }
        self.sending = Some(next);
        Ok((header, ciphertext, traced))
    }

    /// The sending half of the specification's `DHRatchet`: `DHs = GENERATE_DH()`,
    /// `RK, CKs = KDF_RK(RK, DH(DHs, DHr))`. Returns the new values without installing them.
    fn derive_sending_chain<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
    ) -> Result<(DhKeyPair, RootKey, Chain), RatchetError> {
        let remote = self.remote_ratchet.ok_or(RatchetError::NotReady)?;
        let local = DhKeyPair::generate(rng);
        let dh_out = local.secret.agree(&remote).map_err(|_| RatchetError::LowOrderKey)?;
        let (root_key, chain_key) = self.root_key.step(&dh_out);
        Ok((local, root_key, Chain { key: chain_key, n: 0 }))
    }

    /// `RatchetDecrypt`. On any error the state is unchanged.
    pub(crate) fn decrypt(&mut self, header: &Header, ciphertext: &[u8]) -> Result<Decrypted, RatchetError> {
        let aad = header.aad(&self.associated_data);
        if let Some(key) = self.skipped.get(&header.dh, header.n) {
            let plaintext = key.decrypt(ciphertext, &aad)?;
            self.skipped.remove(&header.dh, header.n);
            return Ok(Decrypted { plaintext, dh_ratchet: false });
        }
        if self.remote_ratchet == Some(header.dh) {
            if let Some(chain) = &self.receiving {
                return self.decrypt_current_chain(chain.clone(), header, ciphertext, &aad);
            }
        }
        if self.previous_remote.contains(&header.dh) {
            return Err(RatchetError::Duplicate);
        }
        self.decrypt_new_chain(header, ciphertext, &aad)
    }

    fn decrypt_current_chain(
        &mut self,
        chain: Chain,
        header: &Header,
        ciphertext: &[u8],
        aad: &[u8],
    ) -> Result<Decrypted, RatchetError> {
        if header.n < chain.n {
            return Err(RatchetError::Duplicate);
        }
        let (skipped, chain) = skip_keys(chain, header.n)?;
        let (next, message_key) = next_message_key(chain)?;
        let plaintext = message_key.decrypt(ciphertext, aad)?;
        self.skipped.extend(header.dh, &skipped);
        self.receiving = Some(next);
        Ok(Decrypted { plaintext, dh_ratchet: false })
    }

    fn decrypt_new_chain(
        &mut self,
        header: &Header,
        ciphertext: &[u8],
        aad: &[u8],
    ) -> Result<Decrypted, RatchetError> {
        let local = self.local_ratchet.as_ref().ok_or(RatchetError::NotReady)?;
        // SkipMessageKeys(state, header.pn) on the current receiving chain (Nr = 0 without one).
        let old = match (&self.receiving, self.remote_ratchet) {
            (Some(chain), Some(remote)) => Some((remote, skip_keys(chain.clone(), header.pn)?.0)),
            _ if u64::from(MAX_SKIP) < u64::from(header.pn) => return Err(RatchetError::TooManySkipped),
            _ => None,
        };
        // DHRatchet, receiving half; then SkipMessageKeys(state, header.n) on the new chain.
        let dh_out = local.secret.agree(&header.dh).map_err(|_| RatchetError::LowOrderKey)?;
        let (root_key, chain_key) = self.root_key.step(&dh_out);
        let (skipped, chain) = skip_keys(Chain { key: chain_key, n: 0 }, header.n)?;
        let (next, message_key) = next_message_key(chain)?;
        let plaintext = message_key.decrypt(ciphertext, aad)?;

        if let Some((old_remote, old_skipped)) = old {
            self.skipped.extend(old_remote, &old_skipped);
            self.previous_remote.push_back(old_remote);
            while self.previous_remote.len() > MAX_PREVIOUS_RECEIVING_KEYS {
                self.previous_remote.pop_front();
            }
        }
        self.skipped.extend(header.dh, &skipped);
        self.root_key = root_key;
        self.remote_ratchet = Some(header.dh);
        self.receiving = Some(next);
        if let Some(sending) = self.sending.take() {
            self.previous_counter = sending.n;
        }
        Ok(Decrypted { plaintext, dh_ratchet: true })
    }
}

/// `SkipMessageKeys`: the keys of messages `chain.n .. until` and the chain positioned at `until`.
/// Refuses to skip more than [`MAX_SKIP`] keys (`Nr + MAX_SKIP < until`).
///
/// The `Vec` is allocated at its final length and its keys are only ever copied out of it
/// ([`SkippedKeys::extend`]), so that dropping it zeroizes every key in place.
fn skip_keys(chain: Chain, until: u32) -> Result<(Vec<(u32, MessageKey)>, Chain), RatchetError> {
    if u64::from(chain.n) + u64::from(MAX_SKIP) < u64::from(until) {
        return Err(RatchetError::TooManySkipped);
    }
    let mut skipped = Vec::with_capacity(until.saturating_sub(chain.n) as usize);
    let Chain { mut key, n: start } = chain;
    for n in start..until {
        let (next, message_key) = key.step();
        skipped.push((n, message_key));
        key = next;
    }
    Ok((skipped, Chain { key, n: start.max(until) }))
}

/// `KDF_CK` once: the key of message `chain.n` and the chain after it.
fn next_message_key(chain: Chain) -> Result<(Chain, MessageKey), RatchetError> {
    let n = chain.n.checked_add(1).ok_or(RatchetError::CounterExhausted)?;
    let (key, message_key) = chain.key.step();
    Ok((Chain { key, n }, message_key))
}
