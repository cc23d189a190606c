//! Tests of message content: round trips, padding buckets, refusals, hostile bytes, and agreements
//! carried inside content.

use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::*;
use crate::agreement::{
    AgreementTerms, Availability, ProposedAgreement, UnverifiedAgreement, Weekday, Window,
};
use crate::consts::{CONTENT_BUCKETS, MAX_RECEIPT_IDS, MAX_TEXT_BYTES};
use crate::expiry::ExpiryStart;
use crate::keys::IdentityKeyPair;

const DAY: u64 = 24 * 60 * 60 * 1000;

fn lifespan() -> Lifespan {
    Lifespan::new(DAY, ExpiryStart::FromSend).unwrap()
}

fn message(category: Category, text: &str) -> Content {
    Content::new(MessageId([7; 16]), category, text.to_owned(), Timestamp(1_700_000_000_000), lifespan(), 3)
        .unwrap()
}

fn arb_category() -> impl Strategy<Value = Category> {
    prop_oneof![
        Just(Category::Appointment(AppointmentKind::Reminder)),
        Just(Category::Appointment(AppointmentKind::Confirm)),
        Just(Category::Appointment(AppointmentKind::Reschedule)),
        Just(Category::Appointment(AppointmentKind::Cancel)),
        Just(Category::Appointment(AppointmentKind::Directions)),
        Just(Category::CheckIn),
        Just(Category::Crisis),
        Just(Category::Administrative),
        Just(Category::AutoReply),
    ]
}

prop_compose! {
    fn arb_content()(
        id in any::<[u8; 16]>(),
        category in arb_category(),
        text in "\\PC{1,400}",
        sent_at in any::<u64>(),
        duration in crate::consts::MIN_LIFESPAN_MS..=crate::consts::MAX_LIFESPAN_MS,
        from_read in any::<bool>(),
        reply_to in proptest::option::of(any::<[u8; 16]>()),
        version in 1u32..,
    ) -> Content {
        let start = if from_read { ExpiryStart::FromRead } else { ExpiryStart::FromSend };
        let content = Content::new(
            MessageId(id), category, text, Timestamp(sent_at), Lifespan::new(duration, start).unwrap(), version,
        ).unwrap();
        match reply_to {
            Some(r) => content.in_reply_to(MessageId(r)),
            None => content,
        }
    }
}

proptest! {
    #[test]
    fn round_trips_and_lands_on_a_bucket(content in arb_content()) {
        let padded = content.encode_padded();
        prop_assert!(CONTENT_BUCKETS.contains(&padded.len()), "length {}", padded.len());
        prop_assert_eq!(Content::decode(&padded).unwrap(), content);
    }

    #[test]
    fn decoding_random_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = Content::decode(&bytes);
    }

    #[test]
    fn decoding_random_bodies_in_a_bucket_never_panics(body in proptest::collection::vec(any::<u8>(), 0..255)) {
        let mut padded = vec![crate::consts::CONTENT_VERSION];
        padded.extend_from_slice(&body);
        padded.push(0x80);
        padded.resize(256, 0);
        let _ = Content::decode(&padded);
    }
}

#[test]
fn bucket_follows_the_text_length() {
    let short = message(Category::CheckIn, "See you Tuesday at 3.");
    assert_eq!(short.encode_padded().len(), 256);
    let longer = message(Category::CheckIn, &"x".repeat(300));
    assert_eq!(longer.encode_padded().len(), 1024);
}

#[test]
fn largest_content_fits_the_largest_bucket() {
    let ids = (0..MAX_RECEIPT_IDS).map(|i| MessageId([u8::try_from(i % 256).unwrap(); 16])).collect();
    let receipt = Content::new(
        MessageId([1; 16]),
        Category::Receipt(Receipt { kind: ReceiptKind::Read, message_ids: ids }),
        String::new(),
        Timestamp(u64::MAX),
        lifespan(),
        u32::MAX,
    )
    .unwrap()
    .in_reply_to(MessageId([2; 16]));
    let text = Content::new(
        MessageId([1; 16]),
        Category::Administrative,
        "\u{10FFFF}".repeat(MAX_TEXT_BYTES / 4),
        Timestamp(u64::MAX),
        lifespan(),
        u32::MAX,
    )
    .unwrap();
    for content in [receipt, text] {
        let padded = content.encode_padded();
        assert!(CONTENT_BUCKETS.contains(&padded.len()));
        assert_eq!(Content::decode(&padded).unwrap(), content);
    }
}

#[test]
fn refuses_what_the_rules_forbid() {
    let new = |category, text: &str, version| {
        Content::new(MessageId([0; 16]), category, text.to_owned(), Timestamp(0), lifespan(), version)
    };
    assert_eq!(new(Category::CheckIn, &"a".repeat(MAX_TEXT_BYTES + 1), 1), Err(ContentError::TextTooLong));
    assert_eq!(new(Category::CheckIn, "", 1), Err(ContentError::InvalidField("text")));
    assert_eq!(new(Category::CheckIn, "hi", 0), Err(ContentError::InvalidField("agreement version")));
    let empty_receipt = Category::Receipt(Receipt { kind: ReceiptKind::Delivered, message_ids: vec![] });
    assert_eq!(new(empty_receipt, "", 0), Err(ContentError::InvalidField("receipt")));
    let receipt =
        Category::Receipt(Receipt { kind: ReceiptKind::Delivered, message_ids: vec![MessageId([1; 16])] });
    assert_eq!(new(receipt.clone(), "text", 0), Err(ContentError::InvalidField("text")));
    assert!(new(receipt, "", 0).is_ok());
}

#[test]
fn refuses_tampered_padding_and_version() {
    let padded = message(Category::CheckIn, "Running ten minutes late").encode_padded();
    let mut bad = padded.to_vec();
    *bad.last_mut().unwrap() = 1;
    assert_eq!(Content::decode(&bad), Err(ContentError::BadPadding));
    let mut bad = padded.to_vec();
    bad[0] = 2;
    assert_eq!(Content::decode(&bad), Err(ContentError::UnsupportedVersion(2)));
    assert_eq!(Content::decode(&padded[..255]), Err(ContentError::BadLength));
    let mut longer = padded.to_vec();
    longer.resize(1024, 0);
    assert!(Content::decode(&longer).is_ok(), "more zero padding up to another bucket is still valid");
}

#[test]
fn debug_and_errors_hide_the_text() {
    let secret = "I stopped taking my medication";
    let content = message(Category::CheckIn, secret);
    assert!(!format!("{content:?}").contains("medication"));
    let too_long = Content::new(
        MessageId([0; 16]),
        Category::CheckIn,
        format!("{secret}{}", "!".repeat(MAX_TEXT_BYTES)),
        Timestamp(0),
        lifespan(),
        1,
    )
    .unwrap_err();
    assert!(!format!("{too_long:?} {too_long}").contains("medication"));
}

#[test]
fn serde_round_trips_and_validates() {
    let content = message(Category::Appointment(AppointmentKind::Directions), "Suite 4, second floor")
        .in_reply_to(MessageId([9; 16]));
    let json = serde_json::to_string(&content).unwrap();
    assert_eq!(serde_json::from_str::<Content>(&json).unwrap(), content);
    let emptied = json.replace("Suite 4, second floor", "");
    assert!(serde_json::from_str::<Content>(&emptied).is_err());
}

#[test]
fn random_ids_differ() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    assert_ne!(MessageId::random(&mut rng), MessageId::random(&mut rng));
}

#[test]
fn agreements_travel_inside_content() {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let (clinician, client) = (IdentityKeyPair::generate(&mut rng), IdentityKeyPair::generate(&mut rng));
    let weekdays = [Weekday::Monday, Weekday::Wednesday].map(|d| Window::new(d, (9, 0), (17, 0)));
    let terms = AgreementTerms::new(
        1,
        clinician.public_key(),
        client.public_key(),
        Availability::new("America/New_York", weekdays.to_vec()).unwrap(),
        "Within one business day".to_owned(),
        vec!["Call or text 988 (Suicide & Crisis Lifeline)".to_owned()],
    );
    let proposal = ProposedAgreement::propose(terms, &clinician, None).unwrap();
    let carrying = |text: &str| {
        Content::new(
            MessageId([3; 16]),
            Category::Agreement(Box::new(UnverifiedAgreement::from(&proposal))),
            text.to_owned(),
            Timestamp(1),
            Lifespan::DEFAULT,
            0,
        )
    };
    // An agreement message says nothing besides the agreement.
    assert_eq!(
        carrying("Our texting agreement, as discussed").unwrap_err(),
        ContentError::InvalidField("text")
    );
    let content = carrying("").unwrap();
    let decoded = Content::decode(&content.encode_padded()).unwrap();
    let Category::Agreement(carried) = decoded.category().clone() else { panic!("category changed") };
    assert!(!carried.is_countersigned());
    let received = carried.verify_proposal(&clinician.public_key(), &client.public_key()).unwrap();
    let accepted = received.accept(&client, None).unwrap();
    assert_eq!(accepted.terms(), proposal.terms());
}

#[test]
fn a_withdrawal_names_one_proposal_and_nothing_else() {
    let withdrawal = Content::new(
        MessageId([5; 16]),
        Category::Withdrawal(MessageId([6; 16])),
        String::new(),
        Timestamp(1),
        Lifespan::DEFAULT,
        1,
    )
    .unwrap();
    assert_eq!(withdrawal.category().kind(), CategoryKind::Agreement);
    let padded = withdrawal.encode_padded();
    assert_eq!(Content::decode(&padded).unwrap(), withdrawal);

    // Field 11 beside an agreement, or on another category, is refused; so is a short id.
    let body = |category: i32, agreement: &[u8], withdrawn: &[u8]| {
        let message = codec::proto_for_tests(category, agreement, withdrawn);
        let mut out = vec![crate::consts::CONTENT_VERSION];
        out.extend_from_slice(&message);
        let bucket = CONTENT_BUCKETS.iter().copied().find(|&b| b > out.len()).unwrap();
        padding::pad(&mut out, bucket);
        out
    };
    let agreement_kind = CategoryKind::Agreement.to_wire();
    let field = Err(ContentError::InvalidField("withdrawn proposal"));
    assert_eq!(Content::decode(&body(agreement_kind, &[1, 2], &[6; 16])), field);
    assert_eq!(Content::decode(&body(CategoryKind::CheckIn.to_wire(), &[], &[6; 16])), field);
    assert_eq!(Content::decode(&body(agreement_kind, &[], &[6; 15])), field);
    assert_eq!(
        Content::decode(&body(agreement_kind, &[], &[])),
        Err(ContentError::InvalidField("agreement"))
    );
}

#[test]
fn sequence_acknowledgement_and_correction_round_trip() {
    let content = message(Category::CheckIn, "corrected text")
        .with_sequence(42)
        .unwrap()
        .requesting_acknowledgement()
        .unwrap()
        .correcting(MessageId([9; 16]))
        .unwrap();
    let decoded = Content::decode(&content.encode_padded()).unwrap();
    assert_eq!(decoded, content);
    assert_eq!(decoded.sequence(), 42);
    assert!(decoded.ack_requested());
    assert_eq!(decoded.corrects(), Some(MessageId([9; 16])));
    // Content without the new fields decodes as unnumbered, asking nothing, correcting nothing.
    let plain = Content::decode(&message(Category::CheckIn, "hello").encode_padded()).unwrap();
    assert_eq!((plain.sequence(), plain.ack_requested(), plain.corrects()), (0, false, None));
}

#[test]
fn new_fields_are_refused_where_they_do_not_belong() {
    let receipt =
        Category::Receipt(Receipt { kind: ReceiptKind::Acknowledged, message_ids: vec![MessageId([1; 16])] });
    let system =
        Content::new(MessageId([7; 16]), receipt, String::new(), Timestamp(1), lifespan(), 3).unwrap();
    assert_eq!(system.clone().with_sequence(1), Err(ContentError::InvalidField("sequence")));
    assert_eq!(system.clone().requesting_acknowledgement(), Err(ContentError::InvalidField("ack requested")));
    assert_eq!(system.correcting(MessageId([1; 16])), Err(ContentError::InvalidField("corrects")));
    let text = message(Category::CheckIn, "hi");
    assert_eq!(text.clone().correcting(text.id()), Err(ContentError::InvalidField("corrects")));
    assert_eq!(text.with_sequence(MAX_SEQUENCE + 1), Err(ContentError::InvalidField("sequence")));
}

#[test]
fn every_receipt_kind_round_trips_and_reasons_only_with_not_delivered() {
    let kinds = [
        ReceiptKind::Delivered,
        ReceiptKind::Read,
        ReceiptKind::Acknowledged,
        ReceiptKind::NotDelivered(NotDeliveredReason::WrongAgreementVersion),
        ReceiptKind::NotDelivered(NotDeliveredReason::Expired),
        ReceiptKind::Recall,
        ReceiptKind::RecalledUnread,
        ReceiptKind::RecalledAfterRead,
    ];
    for kind in kinds {
        let receipt = Category::Receipt(Receipt { kind, message_ids: vec![MessageId([1; 16])] });
        let content =
            Content::new(MessageId([7; 16]), receipt, String::new(), Timestamp(1), lifespan(), 3).unwrap();
        assert_eq!(Content::decode(&content.encode_padded()).unwrap(), content);
    }
    for code in 1..=6 {
        assert_eq!(NotDeliveredReason::from_code(code).map(NotDeliveredReason::code), Some(code));
    }
    assert_eq!(NotDeliveredReason::from_code(0), None);
    assert_eq!(NotDeliveredReason::from_code(99), Some(NotDeliveredReason::Refused));
}
