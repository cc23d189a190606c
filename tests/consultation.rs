//! Consultation with a colleague: refused on both clinicians' devices unless the client's signed
//! record terms permit its kind; de-identified excerpts carry nothing that identifies the client.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use confidant::agreement::{Consultation, RecordTerms};
use confidant::content::{Category, Content, ContentError, Excerpt, ExcerptMessage, MessageId};
use confidant::expiry::{ExpiryStart, Lifespan};
use confidant::session::{Envelope, Session};
use confidant::store::{AuditEvent, MemoryStore, PeerId, Store};
use confidant::{Draft, Endpoint, EndpointError, Error, ManualClock, Received, Role, Timestamp};
use confidant_support::pair::{pair_with, send_raw, Pair, HOUR, MONDAY_10AM_NY};
use confidant_support::store::contains;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

const DAY: u64 = 24 * HOUR;
const TEXT: &str = "I slept badly again and skipped work.";

struct Clinic {
    pair: Pair<MemoryStore>,
    /// The colleague's device.
    kim: Endpoint<MemoryStore, ManualClock>,
    /// The colleague, as the sharing clinician knows her, and the other way round.
    kim_id: PeerId,
    lee_id: PeerId,
    /// The client's check-in, on the clinician's device.
    check_in: MessageId,
}

/// A clinician and client under `consultation` terms, the client's check-in received, and a
/// colleague with signed colleague terms (excerpts live seven days).
fn clinic(seed: u64, consultation: Consultation, notify: bool) -> Clinic {
    let mut pair = pair_with(seed, MemoryStore::new(), MemoryStore::new(), false);
    let mut terms = pair.terms(1);
    terms.records =
        RecordTerms { consultation, notify_client_of_consultation: notify, ..RecordTerms::default() };
    pair.agree(terms);
    let sent = pair.client.send(&pair.clinician_id, Draft::new(Category::CheckIn, TEXT)).unwrap();
    let check_in = sent.message_id.unwrap();
    pair.deliver_to_clinician(&sent.envelope.unwrap());
    let kim = Endpoint::with_generator(
        ChaCha20Rng::seed_from_u64(seed ^ 0xc3),
        MemoryStore::new(),
        ManualClock::new(MONDAY_10AM_NY),
        Role::Clinician,
        "dr-kim",
    )
    .unwrap();
    let (kim_id, lee_id) = (PeerId::new("dr-kim").unwrap(), PeerId::new("dr-lee").unwrap());
    pair.clinician.start_session(&kim_id, &kim.prekey_bundle().unwrap()).unwrap();
    let terms = pair.clinician.colleague_terms(&kim_id, 7 * DAY).unwrap();
    let (by_lee, by_kim) =
        (pair.clinician.sign_colleague_terms(&terms).unwrap(), kim.sign_colleague_terms(&terms).unwrap());
    pair.clinician.accept_colleague(&kim_id, &terms, &by_kim).unwrap();
    kim.accept_colleague(&lee_id, &terms, &by_lee).unwrap();
    Clinic { pair, kim, kim_id, lee_id, check_in }
}

fn shares(clinic: &Clinic) -> usize {
    let log = clinic.pair.clinician.audit_log().unwrap();
    log.iter().filter(|e| matches!(e.event, AuditEvent::ConsultationShared { .. })).count()
}

fn excerpt_of(received: Received) -> Excerpt {
    let Received::Message(message) = received else { panic!("expected a message: {received:?}") };
    let Category::Consultation(excerpt) = message.category else { panic!("expected an excerpt") };
    *excerpt
}

#[test]
fn a_permitted_de_identified_excerpt_arrives_with_its_provenance_and_the_client_is_told() {
    let mut c = clinic(31, Consultation::DeIdentified, true);
    let share = c.pair.clinician.share_excerpt(&c.kim_id, &c.pair.client_id, &[c.check_in], false).unwrap();
    let excerpt = excerpt_of(c.kim.receive(&c.lee_id, &share.envelope).unwrap().received);
    assert!(!excerpt.identified && excerpt.client.is_none() && excerpt.agreement.is_none());
    assert_eq!(excerpt.permitted, Consultation::DeIdentified);
    assert_eq!(excerpt.shared_at, MONDAY_10AM_NY);
    assert_eq!(excerpt.messages.len(), 1);
    assert_eq!((excerpt.messages[0].id, excerpt.messages[0].from_client), (c.check_in, true));
    assert_eq!(&excerpt.messages[0].text[..], TEXT);
    // Recorded on the sharing device.
    let last = c.pair.clinician.audit_log().unwrap().last().unwrap().event.clone();
    assert_eq!(
        last,
        AuditEvent::ConsultationShared {
            colleague: c.kim_id.clone(),
            client: c.pair.client_id.clone(),
            identified: false,
            messages: vec![c.check_in],
        }
    );
    // The client's device receives the notice.
    let notice = c.pair.deliver_to_client(&share.notice.unwrap());
    let Received::Message(message) = notice.received else { panic!("expected the notice") };
    let Category::ConsultationNotice(notice) = message.category else { panic!("expected a notice") };
    assert!(!notice.identified);
    assert_eq!(notice.messages, vec![c.check_in]);
    // An excerpt has no text of its own: it is not exported as a message of the colleague conversation.
    let bundle = c.pair.clinician.export_record(&c.kim_id, &confidant::records::Selection::All).unwrap();
    assert!(!bundle.contains("Communication") && !bundle.contains(TEXT));
    // The excerpt lives the colleague terms' seven days on the colleague's device.
    c.kim.clock().advance_millis(7 * DAY);
    assert_eq!(c.kim.purge_expired().unwrap(), 1);
    assert!(c.kim.store().message(&share.id).unwrap().is_none());
}

#[test]
fn the_sending_device_refuses_what_the_client_did_not_permit_and_records_nothing() {
    for (consultation, identified) in [
        (Consultation::NotPermitted, false),
        (Consultation::NotPermitted, true),
        (Consultation::DeIdentified, true),
    ] {
        let c = clinic(32, consultation, true);
        let before = c.pair.clinician.store().session(&c.kim_id).unwrap();
        let err = c.pair.clinician.share_excerpt(&c.kim_id, &c.pair.client_id, &[c.check_in], identified);
        assert_eq!(err.unwrap_err(), Error::Endpoint(EndpointError::ConsultationNotPermitted));
        assert_eq!(shares(&c), 0);
        assert_eq!(c.pair.clinician.store().session(&c.kim_id).unwrap(), before);
    }
    // Control: the same calls where the terms permit them go through.
    let c = clinic(33, Consultation::Identified, false);
    for identified in [false, true] {
        let share = c.pair.clinician.share_excerpt(&c.kim_id, &c.pair.client_id, &[c.check_in], identified);
        assert!(share.unwrap().notice.is_none(), "the client asked not to be told");
    }
    assert_eq!(shares(&c), 2);
}

#[test]
fn without_colleague_terms_nothing_is_shared() {
    let c = clinic(34, Consultation::Identified, true);
    let stranger = PeerId::new("dr-nobody").unwrap();
    let err = c.pair.clinician.share_excerpt(&stranger, &c.pair.client_id, &[c.check_in], false).unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::NoColleague));
    let err = c.pair.client.share_excerpt(&c.kim_id, &c.pair.clinician_id, &[c.check_in], false).unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::WrongRole));
}

/// Padded content of an excerpt as a modified sender could make it.
fn forged(c: &Clinic, identified: bool, permitted: Consultation, agreement: Option<Vec<u8>>) -> Vec<u8> {
    let excerpt = Excerpt {
        identified,
        client: identified.then(|| "client-42".to_owned()),
        agreement,
        permitted,
        shared_at: MONDAY_10AM_NY,
        messages: vec![ExcerptMessage {
            id: c.check_in,
            from_client: true,
            sent_at: MONDAY_10AM_NY,
            category: confidant::content::CategoryKind::CheckIn,
            text: String::from(TEXT).into(),
        }],
    };
    let lifespan = Lifespan::new(DAY, ExpiryStart::FromSend).unwrap();
    let category = Category::Consultation(Box::new(excerpt));
    let content = Content::new(MessageId([0x5a; 16]), category, String::new(), MONDAY_10AM_NY, lifespan, 1);
    content.unwrap().encode_padded().to_vec()
}

#[test]
fn the_receiving_device_refuses_an_identified_excerpt_whose_agreement_does_not_permit_it() {
    // The client permits de-identified consultation only; a modified app shares identified
    // excerpts anyway, claiming the client permitted them.
    let mut c = clinic(35, Consultation::DeIdentified, true);
    let agreement = c.pair.clinician.agreement(&c.pair.client_id).unwrap().unwrap().to_bytes();
    let claims = forged(&c, true, Consultation::Identified, Some(agreement));
    let envelope = send_raw(&c.pair.clinician, &c.kim_id, &mut c.pair.rng, &claims);
    let err = c.kim.receive(&c.lee_id, &envelope).unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::ConsultationNotPermitted));
    assert!(c.kim.store().session(&c.lee_id).unwrap().is_none(), "nothing was saved");
    assert!(c.kim.store().messages(&c.lee_id).unwrap().is_empty());
    // An excerpt that declares the client's refusal is refused whole, in either form.
    let agreement = c.pair.clinician.agreement(&c.pair.client_id).unwrap().unwrap().to_bytes();
    for identified in [false, true] {
        let agreement = identified.then(|| agreement.clone());
        let padded = forged_unchecked(&c, identified, agreement);
        let envelope = send_raw(&c.pair.clinician, &c.kim_id, &mut c.pair.rng, &padded);
        let err = c.kim.receive(&c.lee_id, &envelope).unwrap_err();
        assert_eq!(err, Error::Content(ContentError::InvalidField("excerpt")), "identified: {identified}");
        assert!(c.kim.store().messages(&c.lee_id).unwrap().is_empty());
    }
}

/// [`forged`] with a `permitted` of "not permitted", which `Content::new` refuses to make: the
/// protobuf is edited after encoding a permitted one. The term's number is the last byte of the
/// excerpt's `permitted` field (tag 0x20).
fn forged_unchecked(c: &Clinic, identified: bool, agreement: Option<Vec<u8>>) -> Vec<u8> {
    let mut padded = forged(c, identified, Consultation::Identified, agreement);
    let at = padded.windows(2).position(|w| w == [0x20, 0x02]).unwrap();
    padded[at + 1] = 0x00;
    padded
}

#[test]
fn an_identified_excerpt_from_a_permitting_client_is_verified_and_kept() {
    let mut c = clinic(36, Consultation::Identified, true);
    let share = c.pair.clinician.share_excerpt(&c.kim_id, &c.pair.client_id, &[c.check_in], true).unwrap();
    let excerpt = excerpt_of(c.kim.receive(&c.lee_id, &share.envelope).unwrap().received);
    assert_eq!(excerpt.client.as_deref(), Some("client-42"));
    assert!(excerpt.agreement.is_some());
    // A client's device refuses an excerpt outright.
    let share = c.pair.clinician.share_excerpt(&c.kim_id, &c.pair.client_id, &[c.check_in], true).unwrap();
    let padded = {
        let mut session = kim_session(&c);
        session.decrypt(&Envelope::from_bytes(&share.envelope).unwrap()).unwrap()
    };
    let to_client = send_raw(&c.pair.clinician, &c.pair.client_id, &mut c.pair.rng, &padded);
    let err = c.pair.client.receive(&c.pair.clinician_id, &to_client).unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::ConsultationNotPermitted));
}

/// A copy of the colleague's session with the sharing clinician.
fn kim_session(c: &Clinic) -> Session {
    Session::from_bytes(&c.kim.store().session(&c.lee_id).unwrap().unwrap().state).unwrap()
}

#[test]
fn a_de_identified_excerpt_carries_no_peer_id_name_or_identity_key_of_the_client() {
    let c = clinic(37, Consultation::Identified, false);
    // A first excerpt opens the colleague's session.
    let first = c.pair.clinician.share_excerpt(&c.kim_id, &c.pair.client_id, &[c.check_in], true).unwrap();
    c.kim.receive(&c.lee_id, &first.envelope).unwrap();
    let client_key = c.pair.client.identity_key().to_bytes();
    let identifying: [&[u8]; 2] = [b"client-42", &client_key];
    let plaintext = |identified| {
        let share = c.pair.clinician.share_excerpt(&c.kim_id, &c.pair.client_id, &[c.check_in], identified);
        let envelope = Envelope::from_bytes(&share.unwrap().envelope).unwrap();
        kim_session(&c).decrypt(&envelope).unwrap()
    };
    // Control: the identified excerpt names the client and carries their key (in the agreement).
    let named = plaintext(true);
    assert!(identifying.iter().all(|needle| contains(&named, needle)));
    let anonymous = plaintext(false);
    assert!(contains(&anonymous, TEXT.as_bytes()), "the text is there");
    for needle in identifying {
        assert!(!contains(&anonymous, needle));
    }
    let _ = Timestamp(0);
}
