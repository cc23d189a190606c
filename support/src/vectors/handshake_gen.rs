//! Generates the X3DH and PQXDH cases (VECTORS.md sections 4 and 5) from the library's runs.

use confidant::keys::{DhKeyPair, IdentityKeyPair, KemPrekey, PrekeyId, Signature};
use confidant::low_level::{self, Ratchet, TracedMessage};
use rand::{Rng, RngExt};
use rand_chacha::ChaCha20Rng;

use super::handshake::{dhs, run_alice, run_bob, Kind, Material, PqMaterial};
use super::json::{hexj, s, Fieldset, J};
use super::{case_rng, clamped, KeyStream, Link, Links};

/// How a case departs from an honest handshake.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    Accept { one_time_prekey: bool },
    Mismatch,
    SpkBitflip,
    SpkPrefixed,
    SpkWrongSigner,
    PqBitflip,
    PqWrongSigner,
    PqOtherKey,
}

const X3DH: [(&str, &str, Variant); 5] = [
    ("x3dh-with-one-time-prekey", "Full X3DH with a one-time prekey (DH1..DH4).", Variant::Accept { one_time_prekey: true }),
    ("x3dh-without-one-time-prekey", "X3DH without a one-time prekey (DH1..DH3 only).", Variant::Accept { one_time_prekey: false }),
    (
        "x3dh-reject-signature-bitflip",
        "Bob's signed-prekey signature with bit 0 of byte 0 flipped: Alice must abort, and Bob must refuse the prekey.",
        Variant::SpkBitflip,
    ),
    (
        "x3dh-reject-signature-over-prefixed-key",
        "Signature over 0x05 || SPK (libsignal's encoding) instead of the raw 32-byte SPK: must be rejected.",
        Variant::SpkPrefixed,
    ),
    ("x3dh-reject-signature-wrong-signer", "SPK signed by Alice's identity key instead of Bob's.", Variant::SpkWrongSigner),
];

const PQXDH: [(&str, &str, Variant); 7] = [
    (
        "pqxdh-with-one-time-prekey",
        "Full PQXDH with a one-time prekey: DH1..DH4 and the ML-KEM-768 shared secret.",
        Variant::Accept { one_time_prekey: true },
    ),
    (
        "pqxdh-without-one-time-prekey",
        "PQXDH without a one-time prekey: DH1..DH3 and the ML-KEM-768 shared secret.",
        Variant::Accept { one_time_prekey: false },
    ),
    (
        "pqxdh-mismatch-modified-kem-ciphertext",
        "Alice completes PQXDH normally; Bob receives her KEM ciphertext with bit 0 of byte 0 flipped \
         (bob_kem_ciphertext). Implicit rejection makes his decapsulation return J(z || c'), so both sides \
         complete with different SKs, and Bob rejects Alice's first ratchet message (first_message).",
        Variant::Mismatch,
    ),
    (
        "pqxdh-reject-spk-signature-bitflip",
        "Bob's signed-prekey signature with bit 0 of byte 0 flipped (the PQ-prekey signature is valid): Alice \
         must abort.",
        Variant::SpkBitflip,
    ),
    (
        "pqxdh-reject-pq-signature-bitflip",
        "Bob's PQ-prekey signature with bit 0 of byte 0 flipped (the signed-prekey signature is valid): Alice \
         must abort.",
        Variant::PqBitflip,
    ),
    (
        "pqxdh-reject-pq-signature-wrong-signer",
        "The PQ prekey is signed by Alice's identity key instead of Bob's: Alice must abort.",
        Variant::PqWrongSigner,
    ),
    (
        "pqxdh-reject-pq-signature-over-other-key",
        "The PQ-prekey signature is Bob's valid signature over a different ML-KEM-768 encapsulation key (his \
         genuine one); the bundle carries another key (bob_pq_prekey_seed/public), as if it had been swapped \
         in: Alice must abort.",
        Variant::PqOtherKey,
    ),
];

fn flipped(signature: Signature) -> [u8; 64] {
    let mut bytes = signature.to_bytes();
    bytes[0] ^= 0x01;
    bytes
}

fn ek_of(seed: &[u8; 64]) -> Vec<u8> {
    KemPrekey::from_seed(PrekeyId(3), seed, Signature::from([0; 64])).encapsulation_key().as_bytes().to_vec()
}

/// Draws a case's secrets and signs its prekeys, honestly or as `variant` requires.
fn material(kind: Kind, variant: Variant, rng: &mut ChaCha20Rng) -> Material {
    let (alice_seed, bob_seed): ([u8; 32], [u8; 32]) = (rng.random(), rng.random());
    let (alice, bob) = (IdentityKeyPair::from_seed(&alice_seed), IdentityKeyPair::from_seed(&bob_seed));
    let public_of = |private: [u8; 32]| DhKeyPair::from_private_bytes(private).public_key().to_bytes();
    let spk_private = clamped(rng);
    let spk_public = public_of(spk_private);
    let opk_private = clamped(rng);
    let (mut genuine, mut swapped) = ([0u8; 64], [0u8; 64]);
    rng.fill_bytes(&mut genuine);
    rng.fill_bytes(&mut swapped);
    let ephemeral_private = clamped(rng);
    let kem_randomness: [u8; 32] = rng.random();
    let spk_signature = match variant {
        Variant::SpkBitflip => flipped(bob.sign(&spk_public)),
        Variant::SpkPrefixed => bob.sign(&[&[0x05][..], &spk_public].concat()).to_bytes(),
        Variant::SpkWrongSigner => alice.sign(&spk_public).to_bytes(),
        _ => bob.sign(&spk_public).to_bytes(),
    };
    let pq = (kind == Kind::Pqxdh).then(|| {
        let seed = if variant == Variant::PqOtherKey { swapped } else { genuine };
        let public = ek_of(&seed);
        let signature = match variant {
            Variant::PqBitflip => flipped(bob.sign(&public)),
            Variant::PqWrongSigner => alice.sign(&public).to_bytes(),
            Variant::PqOtherKey => bob.sign(&ek_of(&genuine)).to_bytes(),
            _ => bob.sign(&public).to_bytes(),
        };
        PqMaterial { seed, public, signature }
    });
    Material {
        alice_seed,
        alice_public: alice.public_key().to_bytes(),
        bob_seed,
        bob_public: bob.public_key().to_bytes(),
        spk_private,
        spk_public,
        spk_signature,
        opk: (variant != Variant::Accept { one_time_prekey: false })
            .then(|| (opk_private, public_of(opk_private))),
        pq,
        ephemeral_private,
        ephemeral_public: public_of(ephemeral_private),
        kem_randomness: (kind == Kind::Pqxdh).then_some(kem_randomness),
    }
}

/// The fields every case has: identities, prekeys and Alice's randomness.
fn common_fields(kind: Kind, m: &Material) -> Fieldset {
    let alice = IdentityKeyPair::from_seed(&m.alice_seed);
    let bob = IdentityKeyPair::from_seed(&m.bob_seed);
    let mut fields = vec![
        ("alice_identity_seed", hexj(&m.alice_seed)),
        ("alice_identity_public", hexj(&m.alice_public)),
        ("alice_identity_dh_private", hexj(&low_level::identity_dh_private(&alice)[..])),
        ("alice_identity_dh_public", hexj(&low_level::identity_dh_public(&alice.public_key()))),
        ("bob_identity_seed", hexj(&m.bob_seed)),
        ("bob_identity_public", hexj(&m.bob_public)),
        ("bob_identity_dh_private", hexj(&low_level::identity_dh_private(&bob)[..])),
        ("bob_identity_dh_public", hexj(&low_level::identity_dh_public(&bob.public_key()))),
        ("bob_signed_prekey_private", hexj(&m.spk_private)),
        ("bob_signed_prekey_public", hexj(&m.spk_public)),
        ("bob_signed_prekey_signature", hexj(&m.spk_signature)),
        ("bob_one_time_prekey_private", m.opk.map_or(J::Null, |(private, _)| hexj(&private))),
        ("bob_one_time_prekey_public", m.opk.map_or(J::Null, |(_, public)| hexj(&public))),
    ];
    if let (Kind::Pqxdh, Some(pq)) = (kind, &m.pq) {
        fields.push(("bob_pq_prekey_seed", hexj(&pq.seed)));
        fields.push(("bob_pq_prekey_public", hexj(&pq.public)));
        fields.push(("bob_pq_prekey_signature", hexj(&pq.signature)));
    }
    fields.push(("alice_ephemeral_private", hexj(&m.ephemeral_private)));
    fields.push(("alice_ephemeral_public", hexj(&m.ephemeral_public)));
    if let Some(r) = m.kem_randomness {
        fields.push(("alice_kem_randomness", hexj(&r)));
    }
    fields
}

/// Alice's and Bob's results for an accept or mismatch case, as fields.
fn agreement_fields(
    kind: Kind,
    variant: Variant,
    m: &Material,
    rng: &mut ChaCha20Rng,
) -> Result<(Fieldset, Link), String> {
    let alice = run_alice(kind, m)?.result.map_err(|e| format!("Alice aborts: {e}"))?;
    let mut fields = Vec::new();
    for (key, dh) in ["dh1", "dh2", "dh3", "dh4"].into_iter().zip(dhs(m)?) {
        fields.push((key, dh.map_or(J::Null, |dh| hexj(&dh))));
    }
    let ciphertext = alice.kem_ciphertext.clone().unwrap_or_default();
    if let (Kind::Pqxdh, Some(pq), Some(r)) = (kind, &m.pq, m.kem_randomness) {
        let key = confidant::keys::KemEncapsulationKey::from_slice(&pq.public).map_err(|e| e.to_string())?;
        let (_, ss) = low_level::kem_encapsulate(&key, r).map_err(|e| e.to_string())?;
        fields.push(("kem_ciphertext", hexj(&ciphertext)));
        fields.push(("kem_shared_secret", hexj(&ss[..])));
    }
    let (sk, ad) = (alice.agreement.shared_secret, alice.agreement.associated_data);
    fields.push(("shared_secret", hexj(&sk)));
    fields.push(("associated_data", hexj(&ad)));
    if variant == Variant::Mismatch {
        let pq = m.pq.as_ref().ok_or("no PQ prekey")?;
        let mut bob_ct = ciphertext.clone();
        *bob_ct.first_mut().ok_or("empty KEM ciphertext")? ^= 0x01;
        let bob_ss = low_level::kem_decapsulate(&pq.seed, &bob_ct).map_err(|e| e.to_string())?;
        let bob = run_bob(kind, m, &bob_ct)?.map_err(|e| format!("Bob aborts: {e}"))?;
        fields.push(("bob_kem_ciphertext", hexj(&bob_ct)));
        fields.push(("bob_kem_shared_secret", hexj(&bob_ss[..])));
        fields.push(("bob_shared_secret", hexj(&bob.shared_secret)));
        let ratchet_private = clamped(rng);
        let plaintext: [u8; 32] = rng.random();
        let mut sender = Ratchet::init_alice(sk, m.spk_public, &ad);
        let TracedMessage { header, ciphertext: ct, message_key: mk } = sender
            .encrypt_traced(&mut KeyStream::new(&[&ratchet_private]), &plaintext)
            .map_err(|e| format!("Alice encrypt: {e}"))?;
        let header = J::Obj(vec![
            ("dh", hexj(header.dh.as_bytes())),
            ("pn", J::Num(header.pn.into())),
            ("n", J::Num(header.n.into())),
        ]);
        fields.push((
            "first_message",
            J::Obj(vec![
                ("ratchet_private", hexj(&ratchet_private)),
                ("header", header),
                ("plaintext", hexj(&plaintext)),
                ("ciphertext", hexj(&ct)),
                ("message_key", hexj(&mk[..])),
            ]),
        ));
    } else {
        let bob = run_bob(kind, m, &ciphertext)?.map_err(|e| format!("Bob aborts: {e}"))?;
        if bob.shared_secret != sk || bob.associated_data != ad {
            return Err("Alice and Bob derive different agreements".into());
        }
    }
    let link = Link {
        passed: true,
        shared_secret: sk,
        associated_data: ad.to_vec(),
        signed_prekey_private: m.spk_private,
    };
    Ok((fields, link))
}

/// The cases of one section, in catalogue order. Accept cases are added to `links`.
pub(crate) fn generate(kind: Kind, master: &mut ChaCha20Rng, links: &mut Links) -> Result<Vec<J>, String> {
    let catalogue: &[(&str, &str, Variant)] = if kind == Kind::Pqxdh { &PQXDH } else { &X3DH };
    let mut cases = Vec::new();
    for &(name, description, variant) in catalogue {
        let mut rng = case_rng(master);
        let m = material(kind, variant, &mut rng);
        let expect = match variant {
            Variant::Accept { .. } => "accept",
            Variant::Mismatch => "mismatch",
            _ => "reject",
        };
        let mut fields = vec![("name", s(name)), ("description", s(description)), ("expect", s(expect))];
        fields.extend(common_fields(kind, &m));
        if expect != "reject" {
            let (more, link) =
                agreement_fields(kind, variant, &m, &mut rng).map_err(|e| format!("{name}: {e}"))?;
            fields.extend(more);
            if expect == "accept" {
                links.insert((kind.section(), name.to_owned()), link);
            }
        }
        cases.push(J::Obj(fields));
    }
    Ok(cases)
}
