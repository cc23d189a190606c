//! X3DH and PQXDH cases (VECTORS.md sections 4 and 5): the parties' material, one run of each
//! side through `confidant::low_level::{initiate, respond}`, and the verifier.
//!
//! The generator (`handshake_gen.rs`) builds [`Material`] and writes what [`run_alice`] and
//! [`run_bob`] give; the verifier reads [`Material`] from the file and compares.

use confidant::keys::{
    DhKeyPair, DhPublicKey, IdentityKey, IdentityKeyPair, KemEncapsulationKey, KemPrekey, OneTimePrekey,
    PrekeyId, Signature, SignedPrekey,
};
use confidant::low_level::{self, Agreement, InitiatorResult, Ratchet, TracedMessage};
use confidant::session::{HandshakeError, PrekeyBundle};
use serde_json::Value;

use super::json::{same, Fields};
use super::{KeyStream, Link, Verdict};

/// The two handshakes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    X3dh,
    Pqxdh,
}

impl Kind {
    pub(crate) fn section(self) -> &'static str {
        match self {
            Kind::X3dh => "x3dh",
            Kind::Pqxdh => "pqxdh",
        }
    }

    fn kem(self) -> bool {
        self == Kind::Pqxdh
    }
}

/// Bob's post-quantum prekey as the case gives it.
#[derive(Clone)]
pub(crate) struct PqMaterial {
    pub(crate) seed: [u8; 64],
    pub(crate) public: Vec<u8>,
    pub(crate) signature: [u8; 64],
}

/// Everything a handshake case gives the two parties.
#[derive(Clone)]
pub(crate) struct Material {
    pub(crate) alice_seed: [u8; 32],
    pub(crate) alice_public: [u8; 32],
    pub(crate) bob_seed: [u8; 32],
    pub(crate) bob_public: [u8; 32],
    pub(crate) spk_private: [u8; 32],
    pub(crate) spk_public: [u8; 32],
    pub(crate) spk_signature: [u8; 64],
    /// `(private, public)` of the one-time prekey.
    pub(crate) opk: Option<([u8; 32], [u8; 32])>,
    pub(crate) pq: Option<PqMaterial>,
    pub(crate) ephemeral_private: [u8; 32],
    pub(crate) ephemeral_public: [u8; 32],
    pub(crate) kem_randomness: Option<[u8; 32]>,
}

/// What Alice did: her result, and how many bytes of randomness she drew.
pub(crate) struct AliceRun {
    pub(crate) result: Result<InitiatorResult, HandshakeError>,
    pub(crate) drawn: usize,
}

/// A placeholder post-quantum prekey for the classical handshake's bundle (never used by it).
fn unused_kem_key() -> KemEncapsulationKey {
    KemPrekey::from_seed(PrekeyId(3), &[0; 64], Signature::from([0; 64])).encapsulation_key().clone()
}

/// Alice's side: she builds Bob's bundle from its public fields and runs `initiate` with
/// `EK_A ‖ m` as her randomness.
pub(crate) fn run_alice(kind: Kind, m: &Material) -> Result<AliceRun, String> {
    let bob = IdentityKey::from_slice(&m.bob_public).map_err(|e| format!("bob_identity_public: {e}"))?;
    let (kem_key, kem_signature) = match (&m.pq, kind) {
        (Some(pq), Kind::Pqxdh) => match KemEncapsulationKey::from_slice(&pq.public) {
            Ok(key) => (key, Signature::from(pq.signature)),
            // The FIPS 203 input check fails: Alice aborts before drawing anything.
            Err(_) => return Ok(AliceRun { result: Err(HandshakeError::InvalidKemKey), drawn: 0 }),
        },
        _ => (unused_kem_key(), Signature::from([0; 64])),
    };
    let bundle = PrekeyBundle::from_parts(
        bob,
        (PrekeyId(1), DhPublicKey::from(m.spk_public), Signature::from(m.spk_signature)),
        m.opk.map(|(_, public)| (PrekeyId(2), DhPublicKey::from(public))),
        (PrekeyId(3), kem_key, kem_signature),
    );
    let alice = IdentityKeyPair::from_seed(&m.alice_seed);
    let randomness: Vec<&[u8]> = match (kind, &m.kem_randomness) {
        (Kind::Pqxdh, Some(r)) => vec![&m.ephemeral_private, r],
        _ => vec![&m.ephemeral_private],
    };
    let mut rng = KeyStream::new(&randomness);
    let result = low_level::initiate(&mut rng, &alice, &bundle, kind.kem());
    if rng.overrun() {
        return Err("initiate drew more randomness than EK_A and m".into());
    }
    Ok(AliceRun { result, drawn: rng.drawn() })
}

/// Bob's side: his secrets and stored signatures, and what Alice sends (`ciphertext` for PQXDH).
pub(crate) fn run_bob(
    kind: Kind,
    m: &Material,
    ciphertext: &[u8],
) -> Result<Result<Agreement, HandshakeError>, String> {
    let bob = IdentityKeyPair::from_seed(&m.bob_seed);
    let alice =
        IdentityKey::from_bytes(&m.alice_public).map_err(|e| format!("alice_identity_public: {e}"))?;
    let spk = SignedPrekey::from_parts(
        PrekeyId(1),
        DhKeyPair::from_private_bytes(m.spk_private),
        Signature::from(m.spk_signature),
    );
    let opk = m
        .opk
        .map(|(private, _)| OneTimePrekey::from_parts(PrekeyId(2), DhKeyPair::from_private_bytes(private)));
    let kem = match (&m.pq, kind) {
        (Some(pq), Kind::Pqxdh) => {
            Some(KemPrekey::from_seed(PrekeyId(3), &pq.seed, Signature::from(pq.signature)))
        }
        _ => None,
    };
    Ok(low_level::respond(
        &bob,
        &alice,
        m.ephemeral_public,
        &spk,
        opk.as_ref(),
        kem.as_ref().map(|k| (k, ciphertext)),
    ))
}

/// `DH1..DH4` from the parties' secrets, with the library's X25519.
pub(crate) fn dhs(m: &Material) -> Result<[Option<[u8; 32]>; 4], String> {
    let alice_dh = low_level::identity_dh_private(&IdentityKeyPair::from_seed(&m.alice_seed));
    let bob_dh_public = low_level::identity_dh_public(&IdentityKeyPair::from_seed(&m.bob_seed).public_key());
    let dh =
        |private: [u8; 32], public: [u8; 32]| low_level::x25519(private, public).ok_or("all-zero DH output");
    Ok([
        Some(dh(*alice_dh, m.spk_public)?),
        Some(dh(m.ephemeral_private, bob_dh_public)?),
        Some(dh(m.ephemeral_private, m.spk_public)?),
        m.opk.map(|(_, public)| dh(m.ephemeral_private, public)).transpose()?,
    ])
}

/// Reads the material of a case, checking every public value against its secret.
fn material(kind: Kind, f: Fields<'_>) -> Result<Material, String> {
    let identity = |who: &str| -> Result<([u8; 32], [u8; 32]), String> {
        let seed = f.array::<32>(&format!("{who}_identity_seed"))?;
        let pair = IdentityKeyPair::from_seed(&seed);
        let public = f.array::<32>(&format!("{who}_identity_public"))?;
        same(&format!("{who}_identity_public"), &public, &pair.public_key().to_bytes())?;
        if let Some(Some(dh)) = f.informative::<32>(&format!("{who}_identity_dh_private"))? {
            same(&format!("{who}_identity_dh_private"), &dh, &low_level::identity_dh_private(&pair)[..])?;
        }
        if let Some(Some(dh)) = f.informative::<32>(&format!("{who}_identity_dh_public"))? {
            same(
                &format!("{who}_identity_dh_public"),
                &dh,
                &low_level::identity_dh_public(&pair.public_key()),
            )?;
        }
        Ok((seed, public))
    };
    let public_of = |private: [u8; 32]| DhKeyPair::from_private_bytes(private).public_key().to_bytes();
    let pair = |what: &str| -> Result<([u8; 32], [u8; 32]), String> {
        let private = f.array::<32>(&format!("{what}_private"))?;
        let public = f.array::<32>(&format!("{what}_public"))?;
        same(&format!("{what}_public"), &public, &public_of(private))?;
        Ok((private, public))
    };
    let (alice_seed, alice_public) = identity("alice")?;
    let (bob_seed, bob_public) = identity("bob")?;
    let (spk_private, spk_public) = pair("bob_signed_prekey")?;
    let opk = match (
        f.nullable::<32>("bob_one_time_prekey_private")?,
        f.nullable::<32>("bob_one_time_prekey_public")?,
    ) {
        (None, None) => None,
        (Some(_), Some(_)) => Some(pair("bob_one_time_prekey")?),
        _ => return Err("one-time prekey private and public must both be null or both be set".into()),
    };
    let (ephemeral_private, ephemeral_public) = pair("alice_ephemeral")?;
    let (pq, kem_randomness) = if kind.kem() {
        let seed = f.array::<64>("bob_pq_prekey_seed")?;
        let public = f.bytes("bob_pq_prekey_public")?;
        let derived = KemPrekey::from_seed(PrekeyId(3), &seed, Signature::from([0; 64]));
        same("bob_pq_prekey_public", &public, derived.encapsulation_key().as_bytes())?;
        let pq = PqMaterial { seed, public, signature: f.array::<64>("bob_pq_prekey_signature")? };
        (Some(pq), Some(f.array::<32>("alice_kem_randomness")?))
    } else {
        (None, None)
    };
    Ok(Material {
        alice_seed,
        alice_public,
        bob_seed,
        bob_public,
        spk_private,
        spk_public,
        spk_signature: f.array::<64>("bob_signed_prekey_signature")?,
        opk,
        pq,
        ephemeral_private,
        ephemeral_public,
        kem_randomness,
    })
}

fn is_signature_error(e: &HandshakeError) -> bool {
    matches!(e, HandshakeError::BadSignedPrekeySignature | HandshakeError::BadKemPrekeySignature)
}

/// The informative `dh1`..`dh4`, when present.
fn check_dhs(f: Fields<'_>, m: &Material) -> Result<(), String> {
    for (i, value) in dhs(m)?.iter().enumerate() {
        let key = format!("dh{}", i + 1);
        if let Some(expected) = f.informative::<32>(&key)? {
            match (expected, value) {
                (Some(a), Some(b)) => same(&key, &a, b)?,
                (None, None) => {}
                _ => return Err(format!("{key}: null where the other is set")),
            }
        }
    }
    Ok(())
}

/// Alice's half of an accept or mismatch case: she must produce `kem_ciphertext`, SK and AD.
fn check_alice(kind: Kind, f: Fields<'_>, m: &Material) -> Result<Vec<u8>, String> {
    let bob = IdentityKeyPair::from_seed(&m.bob_seed);
    same("bob_signed_prekey_signature (RFC 8032)", &m.spk_signature, &bob.sign(&m.spk_public).to_bytes())?;
    let run = run_alice(kind, m)?;
    let alice = run.result.map_err(|e| format!("Alice aborts: {e}"))?;
    same("alice_ephemeral_public (EK_A sent)", &m.ephemeral_public, &alice.base_key)?;
    let expected_draw = if kind.kem() { 64 } else { 32 };
    if run.drawn != expected_draw {
        return Err(format!("Alice drew {} bytes of randomness, not {expected_draw}", run.drawn));
    }
    let ciphertext = match (kind, &m.pq) {
        (Kind::Pqxdh, Some(pq)) => {
            same("bob_pq_prekey_signature (RFC 8032)", &pq.signature, &bob.sign(&pq.public).to_bytes())?;
            let ct = alice.kem_ciphertext.clone().ok_or("no KEM ciphertext")?;
            same("kem_ciphertext", &f.bytes("kem_ciphertext")?, &ct)?;
            if let Some(Some(ss)) = f.informative::<32>("kem_shared_secret")? {
                let key = KemEncapsulationKey::from_slice(&pq.public).map_err(|e| e.to_string())?;
                let m_bytes = m.kem_randomness.ok_or("no alice_kem_randomness")?;
                let (ct2, ss2) = low_level::kem_encapsulate(&key, m_bytes).map_err(|e| e.to_string())?;
                same("kem_ciphertext (Encaps_internal)", &ct, &ct2)?;
                same("kem_shared_secret", &ss, &ss2[..])?;
            }
            ct
        }
        _ => Vec::new(),
    };
    check_dhs(f, m)?;
    same("shared_secret (Alice)", &f.array::<32>("shared_secret")?, &alice.agreement.shared_secret)?;
    same("associated_data (Alice)", &f.bytes("associated_data")?, &alice.agreement.associated_data)?;
    Ok(ciphertext)
}

fn check_accept(kind: Kind, f: Fields<'_>, m: &Material) -> Result<(), String> {
    let ciphertext = check_alice(kind, f, m)?;
    let bob = run_bob(kind, m, &ciphertext)?.map_err(|e| format!("Bob aborts: {e}"))?;
    same("shared_secret (Bob)", &f.array::<32>("shared_secret")?, &bob.shared_secret)?;
    same("associated_data (Bob)", &f.bytes("associated_data")?, &bob.associated_data)
}

fn check_reject(kind: Kind, f: Fields<'_>, m: &Material) -> Result<(), String> {
    check_dhs(f, m)?;
    let run = run_alice(kind, m)?;
    match run.result {
        Ok(_) => return Err("Alice completes the handshake".into()),
        Err(e) if !is_signature_error(&e) => {
            return Err(format!("Alice aborts, but not on a signature: {e}"))
        }
        Err(_) if run.drawn != 0 => return Err(format!("Alice drew {} bytes before aborting", run.drawn)),
        Err(_) => {}
    }
    // What Alice would have sent: a well-formed ciphertext for Bob's own key.
    let ciphertext = match &m.pq {
        Some(pq) if kind.kem() => {
            let key = KemPrekey::from_seed(PrekeyId(3), &pq.seed, Signature::from(pq.signature));
            let r = m.kem_randomness.ok_or("no alice_kem_randomness")?;
            low_level::kem_encapsulate(key.encapsulation_key(), r).map_err(|e| e.to_string())?.0
        }
        _ => Vec::new(),
    };
    match run_bob(kind, m, &ciphertext)? {
        Ok(_) => Err("Bob uses a prekey whose stored signature does not verify".into()),
        Err(e) if !is_signature_error(&e) => Err(format!("Bob aborts, but not on a signature: {e}")),
        Err(_) => Ok(()),
    }
}

fn check_mismatch(f: Fields<'_>, m: &Material) -> Result<(), String> {
    let ciphertext = check_alice(Kind::Pqxdh, f, m)?;
    let bob_ct = f.bytes("bob_kem_ciphertext")?;
    if bob_ct == ciphertext || bob_ct.len() != ciphertext.len() {
        return Err("bob_kem_ciphertext is not a modified, well-formed kem_ciphertext".into());
    }
    let pq = m.pq.as_ref().ok_or("no PQ prekey")?;
    if let Some(Some(ss)) = f.informative::<32>("bob_kem_shared_secret")? {
        let got = low_level::kem_decapsulate(&pq.seed, &bob_ct).map_err(|e| e.to_string())?;
        same("bob_kem_shared_secret", &ss, &got[..])?;
    }
    let bob = run_bob(Kind::Pqxdh, m, &bob_ct)?.map_err(|e| format!("Bob aborts: {e}"))?;
    let (sk, bob_sk) = (f.array::<32>("shared_secret")?, f.array::<32>("bob_shared_secret")?);
    same("bob_shared_secret", &bob_sk, &bob.shared_secret)?;
    same("associated_data (Bob)", &f.bytes("associated_data")?, &bob.associated_data)?;
    if sk == bob_sk {
        return Err("bob_shared_secret equals shared_secret".into());
    }
    let fm = f.obj("first_message")?;
    let h = fm.obj("header")?;
    let (ratchet_private, ad) = (fm.array::<32>("ratchet_private")?, f.bytes("associated_data")?);
    let mut alice = Ratchet::init_alice(sk, m.spk_public, &ad);
    let mut rng = KeyStream::new(&[&ratchet_private]);
    let TracedMessage { header, ciphertext: ct, message_key: mk } =
        alice.encrypt_traced(&mut rng, &fm.bytes("plaintext")?).map_err(|e| format!("Alice encrypt: {e}"))?;
    if rng.overrun() || rng.drawn() != 32 {
        return Err("Alice's first send must draw exactly her ratchet key".into());
    }
    same("first_message.header.dh", &h.array::<32>("dh")?, header.dh.as_bytes())?;
    same("first_message.header.pn", &h.u32("pn")?.to_be_bytes(), &header.pn.to_be_bytes())?;
    same("first_message.header.n", &h.u32("n")?.to_be_bytes(), &header.n.to_be_bytes())?;
    same("first_message.ciphertext", &fm.bytes("ciphertext")?, &ct)?;
    if let Some(Some(expected)) = fm.informative::<32>("message_key")? {
        same("first_message.message_key", &expected, &mk[..])?;
    }
    let mut bob = Ratchet::init_bob(bob_sk, m.spk_private, &ad);
    let before = bob.to_bytes();
    match bob.decrypt(&header, &fm.bytes("ciphertext")?) {
        Ok(_) => Err("Bob accepts first_message".into()),
        Err(_) if bob.to_bytes() != before => Err("Bob rejects first_message, but his state changed".into()),
        Err(_) => Ok(()),
    }
}

/// Verifies one case; for an accept case, also returns what a ratchet case keyed by it must use.
pub(crate) fn verify_case(kind: Kind, case: &Value) -> (Verdict, Option<Link>) {
    let f = match Fields::of(case, "case") {
        Ok(f) => f,
        Err(e) => return (Verdict::Fail(e), None),
    };
    let expect = match f.str("expect") {
        Ok(expect) => expect,
        Err(e) => return (Verdict::Fail(e), None),
    };
    let link = (expect == "accept")
        .then(|| -> Result<Link, String> {
            Ok(Link {
                passed: false,
                shared_secret: f.array::<32>("shared_secret")?,
                associated_data: f.bytes("associated_data")?,
                signed_prekey_private: f.array::<32>("bob_signed_prekey_private")?,
            })
        })
        .and_then(Result::ok);
    let result = material(kind, f).and_then(|m| match (expect, kind) {
        ("accept", _) => check_accept(kind, f, &m),
        ("reject", _) => check_reject(kind, f, &m),
        ("mismatch", Kind::Pqxdh) => check_mismatch(f, &m),
        (other, _) => Err(format!("unknown expect {other:?}")),
    });
    (result.into(), link)
}
