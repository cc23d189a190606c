//! The communication agreement: the propose/accept flow, renegotiation, and every kind of
//! agreement that must be refused.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use confidant::agreement::{AgreementError, ProposedAgreement, SignedAgreement, UnverifiedAgreement};
use confidant::consts::{AGREEMENT_CLINICIAN_LABEL, AGREEMENT_FORMAT_VERSION, MAX_AGREEMENT_LEN};
use confidant::content::CategoryKind;
use confidant::keys::IdentityKeyPair;
use confidant::{AgreementTerms, Availability, Role, Weekday, Window};
use prost::Message;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

#[allow(clippy::all, dead_code, unreachable_pub, missing_docs)]
mod proto {
    include!(concat!(env!("OUT_DIR"), "/confidant.agreement.rs"));
}

/// The enums `proto/agreement.proto` imports from `proto/common.proto`, where the generated code
/// above looks for them (`super::common`).
#[allow(clippy::all, dead_code, unreachable_pub, missing_docs)]
mod common {
    include!(concat!(env!("OUT_DIR"), "/confidant.common.rs"));
}

struct Parties {
    clinician: IdentityKeyPair,
    client: IdentityKeyPair,
    mallory: IdentityKeyPair,
}

fn parties() -> Parties {
    let mut rng = ChaCha20Rng::seed_from_u64(2024);
    Parties {
        clinician: IdentityKeyPair::generate(&mut rng),
        client: IdentityKeyPair::generate(&mut rng),
        mallory: IdentityKeyPair::generate(&mut rng),
    }
}

fn terms(p: &Parties, version: u32) -> AgreementTerms {
    let windows = [Weekday::Tuesday, Weekday::Thursday].map(|d| Window::new(d, (10, 0), (18, 30))).to_vec();
    AgreementTerms::new(
        version,
        p.clinician.public_key(),
        p.client.public_key(),
        Availability::new("Europe/London", windows).unwrap(),
        "By the end of the next working day".to_owned(),
        vec!["Call 999 in an emergency".to_owned(), "Samaritans: call 116 123".to_owned()],
    )
}

fn signed(p: &Parties, version: u32) -> SignedAgreement {
    ProposedAgreement::propose(terms(p, version), &p.clinician, None)
        .unwrap()
        .accept(&p.client, None)
        .unwrap()
}

fn read_signed(p: &Parties, bytes: &[u8]) -> Result<SignedAgreement, AgreementError> {
    SignedAgreement::from_bytes(bytes, &p.clinician.public_key(), &p.client.public_key())
}

fn read_proposal(p: &Parties, bytes: &[u8]) -> Result<ProposedAgreement, AgreementError> {
    ProposedAgreement::from_bytes(bytes, &p.clinician.public_key(), &p.client.public_key())
}

/// Decodes agreement bytes into the protobuf form, lets `edit` change it, and encodes it again.
fn rewrap(bytes: &[u8], edit: impl FnOnce(&mut proto::SignedAgreement)) -> Vec<u8> {
    let mut outer = proto::SignedAgreement::decode(&bytes[1..]).unwrap();
    edit(&mut outer);
    let mut out = vec![AGREEMENT_FORMAT_VERSION];
    out.extend(outer.encode_to_vec());
    out
}

#[test]
fn propose_accept_and_read_back() {
    let p = parties();
    let proposal = ProposedAgreement::propose(terms(&p, 1), &p.clinician, None).unwrap();
    let received = read_proposal(&p, &proposal.to_bytes()).unwrap();
    assert_eq!(received.terms(), proposal.terms());
    let agreement = received.accept(&p.client, None).unwrap();
    let bytes = agreement.to_bytes();
    let read = read_signed(&p, &bytes).unwrap();
    assert_eq!(read.terms(), agreement.terms());
    assert_eq!(read.version(), 1);
    // The canonical encoding round-trips byte for byte.
    assert_eq!(read.to_bytes(), bytes);
    assert_eq!(UnverifiedAgreement::from_bytes(&bytes).unwrap().to_bytes(), bytes);
}

#[test]
fn encoding_does_not_depend_on_the_order_terms_were_written_in() {
    let p = parties();
    let mut shuffled = terms(&p, 1);
    shuffled.clinician_may_send.reverse();
    let windows = shuffled.availability.windows().iter().rev().copied().collect();
    shuffled.availability = Availability::new("Europe/London", windows).unwrap();
    let a = ProposedAgreement::propose(terms(&p, 1), &p.clinician, None).unwrap();
    let b = ProposedAgreement::propose(shuffled, &p.clinician, None).unwrap();
    assert_eq!(a.to_bytes(), b.to_bytes());
}

#[test]
fn unsigned_is_refused() {
    let p = parties();
    let bytes = rewrap(&signed(&p, 1).to_bytes(), |outer| {
        outer.clinician_signature.clear();
        outer.client_signature.clear();
    });
    assert_eq!(read_signed(&p, &bytes).unwrap_err(), AgreementError::Unsigned);
    assert_eq!(read_proposal(&p, &bytes).unwrap_err(), AgreementError::Unsigned);
    // The client's signature alone does not make up for the clinician's.
    let client_only = rewrap(&signed(&p, 1).to_bytes(), |outer| outer.clinician_signature.clear());
    assert_eq!(read_signed(&p, &client_only).unwrap_err(), AgreementError::Unsigned);
}

#[test]
fn half_signed_is_refused_where_a_full_agreement_is_required() {
    let p = parties();
    let proposal = ProposedAgreement::propose(terms(&p, 1), &p.clinician, None).unwrap().to_bytes();
    assert_eq!(read_signed(&p, &proposal).unwrap_err(), AgreementError::HalfSigned);
    // And a full agreement is not a proposal.
    assert_eq!(
        read_proposal(&p, &signed(&p, 1).to_bytes()).unwrap_err(),
        AgreementError::AlreadyCountersigned
    );
}

#[test]
fn every_byte_flip_is_refused() {
    let p = parties();
    let bytes = signed(&p, 1).to_bytes();
    for i in 0..bytes.len() {
        for bit in [0x01u8, 0x80] {
            let mut tampered = bytes.clone();
            tampered[i] ^= bit;
            assert!(read_signed(&p, &tampered).is_err(), "flip of bit {bit:#x} in byte {i} was accepted");
        }
    }
}

#[test]
fn tampered_terms_under_the_original_signatures_are_refused() {
    let p = parties();
    let original = signed(&p, 1);
    let mut changed = terms(&p, 1);
    changed.response_time = "Within ten minutes, any time".to_owned();
    let other =
        ProposedAgreement::propose(changed, &p.clinician, None).unwrap().accept(&p.client, None).unwrap();
    let other_terms = proto::SignedAgreement::decode(&other.to_bytes()[1..]).unwrap().terms;
    let tampered = rewrap(&original.to_bytes(), |outer| outer.terms = other_terms);
    assert_eq!(read_signed(&p, &tampered).unwrap_err(), AgreementError::BadSignature(Role::Clinician));
}

#[test]
fn wrong_signers_are_refused() {
    let p = parties();
    // Signing for the clinician with another key.
    assert_eq!(
        ProposedAgreement::propose(terms(&p, 1), &p.mallory, None).unwrap_err(),
        AgreementError::WrongSigner(Role::Clinician)
    );
    // Accepting for the client with another key.
    let proposal = ProposedAgreement::propose(terms(&p, 1), &p.clinician, None).unwrap();
    assert_eq!(
        proposal.clone().accept(&p.mallory, None).unwrap_err(),
        AgreementError::WrongSigner(Role::Client)
    );
    // A clinician signature made by another key over terms naming the real clinician.
    let bytes = rewrap(&proposal.to_bytes(), |outer| {
        let mut message = AGREEMENT_CLINICIAN_LABEL.to_vec();
        message.extend_from_slice(&outer.terms);
        outer.clinician_signature = p.mallory.sign(&message).to_bytes().to_vec();
    });
    assert_eq!(read_proposal(&p, &bytes).unwrap_err(), AgreementError::BadSignature(Role::Clinician));
    // A client signature made by another key.
    let bytes = rewrap(&signed(&p, 1).to_bytes(), |outer| {
        outer.client_signature = p.mallory.sign(&outer.terms).to_bytes().to_vec();
    });
    assert_eq!(read_signed(&p, &bytes).unwrap_err(), AgreementError::BadSignature(Role::Client));
    // The clinician's signature presented as the client's.
    let bytes =
        rewrap(&signed(&p, 1).to_bytes(), |outer| outer.client_signature = outer.clinician_signature.clone());
    assert_eq!(read_signed(&p, &bytes).unwrap_err(), AgreementError::BadSignature(Role::Client));
}

#[test]
fn an_agreement_between_other_parties_is_refused() {
    let p = parties();
    let mut between_mallory_and_client = terms(&p, 1);
    between_mallory_and_client.clinician = p.mallory.public_key();
    let bytes = ProposedAgreement::propose(between_mallory_and_client, &p.mallory, None)
        .unwrap()
        .accept(&p.client, None)
        .unwrap()
        .to_bytes();
    assert_eq!(read_signed(&p, &bytes).unwrap_err(), AgreementError::WrongSigner(Role::Clinician));
    // The same bytes are fine for whoever expects Mallory as the clinician.
    assert!(SignedAgreement::from_bytes(&bytes, &p.mallory.public_key(), &p.client.public_key()).is_ok());
}

#[test]
fn stale_versions_are_refused() {
    let p = parties();
    let current = signed(&p, 3);
    for version in [1, 3] {
        assert_eq!(
            ProposedAgreement::propose(terms(&p, version), &p.clinician, Some(&current)).unwrap_err(),
            AgreementError::Stale { current: 3, offered: version }
        );
    }
    // A proposal that was fresh when made but is stale by the time the client accepts it.
    let old = ProposedAgreement::propose(terms(&p, 2), &p.clinician, None).unwrap();
    assert_eq!(
        old.accept(&p.client, Some(&current)).unwrap_err(),
        AgreementError::Stale { current: 3, offered: 2 }
    );
    assert_eq!(
        signed(&p, 2).check_replaces(&current).unwrap_err(),
        AgreementError::Stale { current: 3, offered: 2 }
    );
}

#[test]
fn renegotiation_needs_both_signatures_and_a_greater_version() {
    let p = parties();
    let current = signed(&p, 1);
    let mut new_terms = terms(&p, 2);
    new_terms.client_may_send.push(CategoryKind::CheckIn);
    new_terms.receipts_enabled = true;
    let proposal = ProposedAgreement::propose(new_terms, &p.clinician, Some(&current)).unwrap();
    // The clinician alone cannot put it in force.
    assert_eq!(read_signed(&p, &proposal.to_bytes()).unwrap_err(), AgreementError::HalfSigned);
    let next = read_proposal(&p, &proposal.to_bytes()).unwrap().accept(&p.client, Some(&current)).unwrap();
    let at_clinician = read_signed(&p, &next.to_bytes()).unwrap();
    at_clinician.check_replaces(&current).unwrap();
    assert_eq!(at_clinician.version(), 2);
    assert!(at_clinician.terms().may_send(Role::Client).contains(&CategoryKind::CheckIn));
}

#[test]
fn renegotiation_cannot_change_the_parties() {
    let p = parties();
    let current = signed(&p, 1);
    let mut new_terms = terms(&p, 2);
    new_terms.client = p.mallory.public_key();
    assert_eq!(
        ProposedAgreement::propose(new_terms, &p.clinician, Some(&current)).unwrap_err(),
        AgreementError::PartiesChanged
    );
}

#[test]
fn invalid_terms_are_refused() {
    let p = parties();
    type Edit = fn(&mut AgreementTerms);
    let cases: Vec<(Edit, AgreementError)> = vec![
        (|t| t.version = 0, AgreementError::InvalidTerms("version")),
        (|t| t.client = t.clinician, AgreementError::SameIdentity),
        (|t| t.client_may_send.push(CategoryKind::Crisis), AgreementError::InvalidTerms("client categories")),
        (
            |t| t.clinician_may_send.push(CategoryKind::Receipt),
            AgreementError::InvalidTerms("clinician categories"),
        ),
        (
            |t| t.client_may_send.push(CategoryKind::AppointmentCancel),
            AgreementError::InvalidTerms("client categories"),
        ),
        (|t| t.crisis_resources.clear(), AgreementError::InvalidTerms("crisis resources")),
        (|t| t.response_time.clear(), AgreementError::InvalidTerms("response time")),
        (|t| t.max_message_chars = 0, AgreementError::InvalidTerms("max message length")),
        (|t| t.auto_reply_window_ms = 1, AgreementError::InvalidTerms("auto-reply window")),
    ];
    for (edit, expected) in cases {
        let mut t = terms(&p, 1);
        edit(&mut t);
        assert_eq!(ProposedAgreement::propose(t, &p.clinician, None).unwrap_err(), expected);
    }
}

#[test]
fn non_canonical_encodings_are_refused() {
    let p = parties();
    let bytes = signed(&p, 1).to_bytes();
    // An unknown field (number 127, varint 1) appended to the terms.
    let unknown = rewrap(&bytes, |outer| outer.terms.extend_from_slice(&[0xf8, 0x07, 0x01]));
    assert_eq!(read_signed(&p, &unknown).unwrap_err(), AgreementError::NonCanonical);
    // Categories out of order.
    let unsorted = rewrap(&bytes, |outer| {
        let mut terms = proto::Terms::decode(outer.terms.as_slice()).unwrap();
        terms.clinician_may_send.reverse();
        outer.terms = terms.encode_to_vec();
    });
    assert_eq!(read_signed(&p, &unsorted).unwrap_err(), AgreementError::NonCanonical);
    // A field written twice: protobuf keeps the last, the canonical form has one.
    let repeated = rewrap(&bytes, |outer| {
        let terms = proto::Terms::decode(outer.terms.as_slice()).unwrap();
        let again = proto::Terms { version: terms.version, ..Default::default() }.encode_to_vec();
        outer.terms.extend_from_slice(&again);
    });
    assert_eq!(read_signed(&p, &repeated).unwrap_err(), AgreementError::NonCanonical);
    // An unknown field on the outer message.
    let mut outer_unknown = bytes.clone();
    outer_unknown.extend_from_slice(&[0xf8, 0x07, 0x01]);
    assert_eq!(read_signed(&p, &outer_unknown).unwrap_err(), AgreementError::NonCanonical);
}

#[test]
fn malformed_input_is_refused() {
    let p = parties();
    let bytes = signed(&p, 1).to_bytes();
    assert_eq!(read_signed(&p, &[]).unwrap_err(), AgreementError::Malformed);
    let mut other_version = bytes.clone();
    other_version[0] = 2;
    assert_eq!(read_signed(&p, &other_version).unwrap_err(), AgreementError::UnsupportedVersion(2));
    assert_eq!(read_signed(&p, &bytes[..bytes.len() - 1]).unwrap_err(), AgreementError::Malformed);
    let mut huge = bytes.clone();
    huge.resize(MAX_AGREEMENT_LEN + 1, 0);
    assert_eq!(read_signed(&p, &huge).unwrap_err(), AgreementError::TooLarge);
    let short_signature = rewrap(&bytes, |outer| outer.client_signature.truncate(63));
    assert_eq!(read_signed(&p, &short_signature).unwrap_err(), AgreementError::Malformed);
}

#[test]
fn terms_serialize_for_apps() {
    let p = parties();
    let t = terms(&p, 1);
    let json = serde_json::to_string(&t).unwrap();
    let back: AgreementTerms = serde_json::from_str(&json).unwrap();
    assert_eq!(back, t);
    let bad_zone = json.replace("Europe/London", "Europe/Atlantis");
    assert!(serde_json::from_str::<AgreementTerms>(&bad_zone).is_err());
}
