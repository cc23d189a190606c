//! PQXDH key agreement (and its classical X3DH subset), profile confidant-v1.
//!
//! `DH1 = DH(IK_A, SPK_B)`, `DH2 = DH(EK_A, IK_B)`, `DH3 = DH(EK_A, SPK_B)`,
//! `DH4 = DH(EK_A, OPK_B)`; `SK = HKDF-SHA256(salt = 32×0x00, ikm = 32×0xFF ‖ DH1 ‖ DH2 ‖ DH3
//! [‖ DH4] [‖ SS], info, 32)` with `info = "confidant-v1 pqxdh"` (or `"confidant-v1 x3dh"`
//! without the KEM); `AD = IK_A ‖ IK_B` (raw Ed25519 public keys).

use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::PrekeyBundle;
use crate::consts::{PQXDH_INFO, X3DH_INFO};
use crate::error::HandshakeError;
use crate::keys::{
    DhKeyPair, DhPublicKey, IdentityKey, IdentityKeyPair, KemCiphertext, KemPrekey, KemSharedSecret,
    OneTimePrekey, PrekeyId, Secret32, SignedPrekey,
};
use crate::primitives::hkdf_sha256;

/// The result of a key agreement: `SK` and `AD`.
#[derive(Clone, Debug)]
pub(crate) struct KeyAgreement {
    pub(crate) shared_secret: Secret32,
    pub(crate) associated_data: [u8; 64],
}

/// What the initiator computed, and what it must send so the responder can do the same.
#[derive(Debug)]
pub(crate) struct Initiated {
    pub(crate) agreement: KeyAgreement,
    pub(crate) base_key: DhPublicKey,
    pub(crate) kem_ciphertext: Option<KemCiphertext>,
    pub(crate) signed_prekey_id: PrekeyId,
    pub(crate) one_time_prekey_id: Option<PrekeyId>,
    pub(crate) kem_prekey_id: PrekeyId,
}

/// The responder's view of the key agreement.
#[derive(Debug)]
pub(crate) struct Responded {
    pub(crate) agreement: KeyAgreement,
}

/// `DH1 ‖ DH2 ‖ DH3 [‖ DH4]`: the list of DH outputs is allocated for all four at once, because a
/// `Vec` that grew would free its first buffer, holding `DH1..DH3`, without zeroizing it.
const MAX_DHS: usize = 4;

fn derive(dhs: &[Secret32], kem: Option<&KemSharedSecret>, identities: [&IdentityKey; 2]) -> KeyAgreement {
    let mut ikm = Zeroizing::new(Vec::with_capacity(32 * 6));
    ikm.extend_from_slice(&[0xFF; 32]);
    for dh in dhs {
        ikm.extend_from_slice(dh.as_bytes());
    }
    let info = match kem {
        Some(ss) => {
            ikm.extend_from_slice(ss.0.as_bytes());
            PQXDH_INFO
        }
        None => X3DH_INFO,
    };
    let okm = hkdf_sha256::<32>(&[0u8; 32], &ikm, info);
    let mut associated_data = [0u8; 64];
    associated_data[..32].copy_from_slice(identities[0].as_bytes());
    associated_data[32..].copy_from_slice(identities[1].as_bytes());
    KeyAgreement { shared_secret: Secret32(*okm), associated_data }
}

/// The initiator's side. With `use_kem` false this is classical X3DH (kept for test vectors).
///
/// Randomness is drawn in this order: `EK_A` (32 bytes), then the ML-KEM message `m` (32 bytes).
/// Both signatures are checked before anything is drawn.
pub(crate) fn initiate<R: CryptoRng + ?Sized>(
    rng: &mut R,
    identity: &IdentityKeyPair,
    bundle: &PrekeyBundle,
    use_kem: bool,
) -> Result<Initiated, HandshakeError> {
    if use_kem {
        bundle.verify()?;
    } else if !bundle.identity_key.verify(bundle.signed_prekey.as_bytes(), &bundle.signed_prekey_signature) {
        return Err(HandshakeError::BadSignedPrekeySignature);
    }
    let own = identity.public_key();
    if own.ct_eq(&bundle.identity_key) {
        return Err(HandshakeError::SelfSession);
    }
    let ephemeral = DhKeyPair::generate(rng);
    let kem = if use_kem { Some(bundle.kem_prekey.encapsulate(rng)?) } else { None };
    let mut dhs = Vec::with_capacity(MAX_DHS);
    dhs.push(identity.dh_secret().agree(&bundle.signed_prekey)?);
    dhs.push(ephemeral.secret.agree(&bundle.identity_key.dh_public())?);
    dhs.push(ephemeral.secret.agree(&bundle.signed_prekey)?);
    if let Some((_, one_time)) = &bundle.one_time_prekey {
        dhs.push(ephemeral.secret.agree(one_time)?);
    }
    let agreement = derive(&dhs, kem.as_ref().map(|(_, ss)| ss), [&own, &bundle.identity_key]);
    Ok(Initiated {
        agreement,
        base_key: ephemeral.public_key(),
        kem_ciphertext: kem.map(|(ct, _)| ct),
        signed_prekey_id: bundle.signed_prekey_id,
        one_time_prekey_id: bundle.one_time_prekey.map(|(id, _)| id),
        kem_prekey_id: bundle.kem_prekey_id,
    })
}

/// The prekeys the responder uses, looked up by the ids in the initiator's message.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ResponderKeys<'a> {
    pub(crate) signed_prekey: &'a SignedPrekey,
    pub(crate) one_time_prekey: Option<&'a OneTimePrekey>,
    /// The post-quantum prekey and the ciphertext for it; `None` for classical X3DH.
    pub(crate) kem: Option<(&'a KemPrekey, &'a KemCiphertext)>,
}

/// The responder's side. Checks the stored signatures of its own prekeys first.
pub(crate) fn respond(
    identity: &IdentityKeyPair,
    initiator: &IdentityKey,
    base_key: &DhPublicKey,
    keys: ResponderKeys<'_>,
) -> Result<Responded, HandshakeError> {
    let own = identity.public_key();
    if own.ct_eq(initiator) {
        return Err(HandshakeError::SelfSession);
    }
    let spk = keys.signed_prekey;
    if !own.verify(spk.public_key().as_bytes(), &spk.signature()) {
        return Err(HandshakeError::BadSignedPrekeySignature);
    }
    if let Some((kem, _)) = keys.kem {
        if !own.verify(kem.encapsulation_key().as_bytes(), &kem.signature()) {
            return Err(HandshakeError::BadKemPrekeySignature);
        }
    }
    let mut dhs = Vec::with_capacity(MAX_DHS);
    dhs.push(spk.key_pair().secret.agree(&initiator.dh_public())?);
    dhs.push(identity.dh_secret().agree(base_key)?);
    dhs.push(spk.key_pair().secret.agree(base_key)?);
    if let Some(one_time) = keys.one_time_prekey {
        dhs.push(one_time.key_pair().secret.agree(base_key)?);
    }
    let kem_secret = match keys.kem {
        Some((kem, ciphertext)) => Some(kem.seed().decapsulate(ciphertext)?),
        None => None,
    };
    let agreement = derive(&dhs, kem_secret.as_ref(), [initiator, &own]);
    Ok(Responded { agreement })
}
