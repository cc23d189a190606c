//! Tampering with each field of signed terms.

use prost::Message;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::canonical::proto;
use super::*;
use crate::category::CategoryKind;
use crate::consts::AGREEMENT_FORMAT_VERSION;
use crate::expiry::{ExpiryStart, Lifespan};
use crate::keys::IdentityKeyPair;

fn parties() -> (IdentityKeyPair, IdentityKeyPair) {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    (IdentityKeyPair::generate(&mut rng), IdentityKeyPair::generate(&mut rng))
}

fn terms(clinician: &IdentityKeyPair, client: &IdentityKeyPair) -> AgreementTerms {
    let weekdays = [Weekday::Monday, Weekday::Wednesday].map(|d| Window::new(d, (9, 0), (17, 0)));
    let mut terms = AgreementTerms::new(
        1,
        clinician.public_key(),
        client.public_key(),
        Availability::new("America/New_York", weekdays.to_vec()).unwrap(),
        "Within one business day".to_owned(),
        vec!["Call or text 988 (Suicide & Crisis Lifeline)".to_owned()],
    );
    terms.lifespans.insert(CategoryKind::CheckIn, Lifespan::new(86_400_000, ExpiryStart::FromRead).unwrap());
    terms
}

/// Every way to change one field of the terms while keeping them valid and canonical.
type Tampering = fn(&mut proto::Terms);

fn tamperings() -> Vec<(&'static str, Tampering)> {
    vec![
        ("version", |t| t.version += 1),
        ("clinician categories", |t| {
            t.clinician_may_send.push(CategoryKind::CheckIn.to_wire());
            t.clinician_may_send.sort();
        }),
        ("client categories", |t| t.client_may_send.push(CategoryKind::Administrative.to_wire())),
        ("time zone", |t| t.availability.as_mut().unwrap().time_zone = "Europe/Paris".to_owned()),
        ("window day", |t| t.availability.as_mut().unwrap().windows[1].day = 5),
        ("window start", |t| t.availability.as_mut().unwrap().windows[0].start_minute = 8 * 60),
        ("window end", |t| t.availability.as_mut().unwrap().windows[0].end_minute = 22 * 60),
        ("response time", |t| t.response_time = "Within the hour".to_owned()),
        ("crisis resources", |t| t.crisis_resources[0] = "Call 555 0100".to_owned()),
        ("lifespan duration", |t| t.lifespans[0].duration_ms *= 2),
        ("lifespan start", |t| t.lifespans[0].start = 1),
        ("max message length", |t| t.max_message_chars += 1),
        ("receipts", |t| t.receipts_enabled = !t.receipts_enabled),
        ("auto-reply window", |t| t.auto_reply_window_ms += 60_000),
    ]
}

fn rewrap(signed: &[u8], edit: impl FnOnce(&mut proto::SignedAgreement)) -> Vec<u8> {
    let mut outer = proto::SignedAgreement::decode(&signed[1..]).unwrap();
    edit(&mut outer);
    let mut bytes = vec![AGREEMENT_FORMAT_VERSION];
    bytes.extend(outer.encode_to_vec());
    bytes
}

#[test]
fn every_tampered_field_is_refused() {
    let (clinician, client) = parties();
    let signed = ProposedAgreement::propose(terms(&clinician, &client), &clinician, None)
        .unwrap()
        .accept(&client, None)
        .unwrap()
        .to_bytes();
    for (field, tamper) in tamperings() {
        let tampered = rewrap(&signed, |outer| {
            let mut inner = proto::Terms::decode(outer.terms.as_slice()).unwrap();
            tamper(&mut inner);
            outer.terms = inner.encode_to_vec();
        });
        // The tampered terms are themselves well-formed: only the signatures betray them.
        let unverified =
            UnverifiedAgreement::from_bytes(&tampered).unwrap_or_else(|e| panic!("{field}: {e:?}"));
        assert_eq!(
            unverified.verify_signed(&clinician.public_key(), &client.public_key()).unwrap_err(),
            AgreementError::BadSignature(Role::Clinician),
            "{field}"
        );
    }
}

#[test]
fn replacing_an_identity_is_refused() {
    let (clinician, client) = parties();
    let mallory = IdentityKeyPair::generate(&mut ChaCha20Rng::seed_from_u64(99));
    let signed = ProposedAgreement::propose(terms(&clinician, &client), &clinician, None)
        .unwrap()
        .accept(&client, None)
        .unwrap()
        .to_bytes();
    for role in [Role::Clinician, Role::Client] {
        let tampered = rewrap(&signed, |outer| {
            let mut inner = proto::Terms::decode(outer.terms.as_slice()).unwrap();
            match role {
                Role::Clinician => inner.clinician_identity = mallory.public_key().to_bytes().to_vec(),
                Role::Client => inner.client_identity = mallory.public_key().to_bytes().to_vec(),
            }
            outer.terms = inner.encode_to_vec();
        });
        let err = SignedAgreement::from_bytes(&tampered, &clinician.public_key(), &client.public_key())
            .unwrap_err();
        assert_eq!(err, AgreementError::WrongSigner(role));
    }
}

proptest::proptest! {
    #[test]
    fn decoding_random_bytes_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
        let _ = UnverifiedAgreement::from_bytes(&bytes);
        let mut versioned = vec![AGREEMENT_FORMAT_VERSION];
        versioned.extend_from_slice(&bytes);
        let _ = UnverifiedAgreement::from_bytes(&versioned);
    }
}
