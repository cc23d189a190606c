//! Several devices per person: a clinician's phone (primary) and desktop (linked) and a client's
//! phone. Every message reaches every other device exactly once, each device shows the same
//! conversation, adding and removing a device takes effect from the next message, and a forged
//! or replayed device list is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use confidant::devices::{DeviceError, DeviceList};
use confidant::keys::IdentityKeyPair;
use confidant::store::{Direction, MemoryStore, PeerId, Store};
use confidant::{
    AppointmentKind, Category, Delivery, Draft, Endpoint, EndpointError, Error, Incoming, ManualClock,
    Received, Role,
};
use confidant_support::pair::{pair_with, Pair, MINUTE, MONDAY_10AM_NY};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

type Device = Endpoint<MemoryStore, ManualClock>;

fn confirm(text: &str) -> Draft {
    Draft::new(Category::Appointment(AppointmentKind::Confirm), text)
}

fn device(seed: u64, role: Role, id: &str) -> Device {
    let rng = ChaCha20Rng::seed_from_u64(seed);
    Endpoint::with_generator(rng, MemoryStore::new(), ManualClock::new(MONDAY_10AM_NY), role, id).unwrap()
}

/// The clinician's phone and desktop, the client's phone, and the ids they know each other by.
struct Clinic {
    phone: Device,
    desktop: Device,
    client: Device,
    client_id: PeerId,
    clinician_id: PeerId,
}

impl Clinic {
    /// Links the desktop to the phone, tells the client, and starts the sessions between every
    /// two devices; no agreement yet.
    fn new(seed: u64) -> Self {
        let Pair { clinician: phone, client, client_id, clinician_id, .. } =
            pair_with(seed, MemoryStore::new(), MemoryStore::new(), false);
        let desktop = device(seed ^ 0xd5, Role::Clinician, "dr-lee");
        let devices = link(&phone, &desktop, "desktop");
        assert!(!desktop.is_primary());
        assert_eq!(desktop.person_key(), phone.identity_key());

        let change = client.update_devices(&clinician_id, &devices).unwrap();
        assert_eq!(change.added, vec![desktop.identity_key()]);
        client.start_session(&clinician_id, &desktop.prekey_bundle().unwrap()).unwrap();
        desktop.start_session(&client_id, &client.prekey_bundle().unwrap()).unwrap();
        desktop.start_session(&clinician_id, &phone.prekey_bundle().unwrap()).unwrap();
        phone.start_session(&clinician_id, &desktop.prekey_bundle().unwrap()).unwrap();
        Self { phone, desktop, client, client_id, clinician_id }
    }

    /// Hands every envelope waiting in `from`'s outbox to its device.
    fn flush(&self, from: &Device) -> Vec<(String, Incoming)> {
        let mut arrived = Vec::new();
        for Delivery { to, device, envelope } in from.take_outbox() {
            let sender = if to == self.clinician_id && from.role() == Role::Client {
                &self.client_id
            } else {
                &self.clinician_id
            };
            let (name, target) = self.by_key(&device);
            arrived.push((
                name.to_owned(),
                target.receive_from(sender, &from.identity_key(), &envelope).unwrap(),
            ));
        }
        arrived
    }

    fn by_key(&self, key: &confidant::keys::IdentityKey) -> (&'static str, &Device) {
        if *key == self.phone.identity_key() {
            ("phone", &self.phone)
        } else if *key == self.desktop.identity_key() {
            ("desktop", &self.desktop)
        } else if *key == self.client.identity_key() {
            ("client", &self.client)
        } else {
            panic!("an envelope for no device of the test")
        }
    }

    /// The clinician proposes from the phone; the client accepts; both clinician devices put it
    /// in force.
    fn agree(&self) {
        let pair_terms = self.terms();
        let proposal = self.phone.propose_agreement(&self.client_id, pair_terms).unwrap();
        let synced = self.flush(&self.phone);
        assert!(
            matches!(&synced[..], [(name, Incoming { received: Received::Synced { .. }, .. })] if name == "desktop")
        );
        let Received::AgreementProposed { id, .. } =
            self.client.receive(&self.clinician_id, &proposal).unwrap().received
        else {
            panic!("expected a proposal")
        };
        let acceptance = self.client.accept_agreement(&self.clinician_id, id).unwrap();
        assert!(matches!(
            self.phone.receive(&self.client_id, &acceptance).unwrap().received,
            Received::AgreementAccepted { version: 1 }
        ));
        let on_desktop = self.flush(&self.client);
        assert!(
            matches!(&on_desktop[..], [(name, Incoming { received: Received::AgreementAccepted { version: 1 }, .. })] if name == "desktop"),
            "the desktop puts the agreement in force too"
        );
    }

    fn terms(&self) -> confidant::AgreementTerms {
        // The same default terms as the two-device pair, between the two persons.
        let scratch: Pair<MemoryStore> = pair_with(1, MemoryStore::new(), MemoryStore::new(), false);
        let mut terms = scratch.terms(1);
        terms.clinician = self.phone.identity_key();
        terms.client = self.client.identity_key();
        terms
    }
}

/// Links `new` to `primary` through the code and the two relayed messages; returns the new
/// signed list.
fn link(primary: &Device, new: &Device, name: &str) -> Vec<u8> {
    let code = primary.offer_link().unwrap();
    let request = new.request_link(&code, name).unwrap();
    let accepted = primary.accept_link(&request).unwrap();
    assert_eq!(accepted.device, new.identity_key());
    new.complete_link(&accepted.response).unwrap();
    accepted.devices
}

fn texts(device: &Device, peer: &PeerId) -> Vec<(Direction, String)> {
    device.history(peer).unwrap().into_iter().map(|e| (e.direction, e.text.to_string())).collect()
}

#[test]
fn three_devices_each_message_reaches_every_other_device_once_and_histories_agree() {
    let clinic = Clinic::new(1601);
    clinic.agree();

    // The phone sends: the client's phone gets it, the desktop a sync copy.
    let sent = clinic.phone.send(&clinic.client_id, confirm("from the phone")).unwrap();
    let received = clinic.client.receive(&clinic.clinician_id, &sent.envelope.unwrap()).unwrap();
    assert!(matches!(received.received, Received::Message(_)));
    let synced = clinic.flush(&clinic.phone);
    assert_eq!(synced.len(), 1, "one sync copy, to the desktop");
    assert!(
        matches!(&synced[0].1.received, Received::Synced { peer, id } if *peer == clinic.client_id && Some(*id) == sent.message_id)
    );

    // The desktop sends: the client gets it from the desktop, the phone a sync copy.
    let sent = clinic.desktop.send(&clinic.client_id, confirm("from the desktop")).unwrap();
    let received = clinic
        .client
        .receive_from(&clinic.clinician_id, &clinic.desktop.identity_key(), &sent.envelope.unwrap())
        .unwrap();
    assert!(matches!(received.received, Received::Message(_)));
    let synced = clinic.flush(&clinic.desktop);
    assert_eq!(synced.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>(), ["phone"]);

    // The client sends: the phone gets the primary envelope, the desktop its own.
    let check_in = Draft::new(Category::CheckIn, "from the client");
    let sent = clinic.client.send(&clinic.clinician_id, check_in).unwrap();
    let on_phone = clinic.phone.receive(&clinic.client_id, &sent.envelope.unwrap()).unwrap();
    assert!(matches!(on_phone.received, Received::Message(_)));
    let others = clinic.flush(&clinic.client);
    assert_eq!(others.len(), 1);
    assert_eq!(others[0].0, "desktop");
    assert!(matches!(others[0].1.received, Received::Message(_)));

    // The safety numbers bind the person keys: the same on both clinician devices, and the
    // client's is the one with the phone's key, whatever devices the clinician added.
    assert_eq!(
        clinic.desktop.safety_number(&clinic.client_id).unwrap(),
        clinic.phone.safety_number(&clinic.client_id).unwrap()
    );
    assert_eq!(
        clinic.client.safety_number(&clinic.clinician_id).unwrap(),
        clinic.client.safety_number_with(&clinic.clinician_id, &clinic.phone.identity_key())
    );

    // Every device shows the same conversation.
    let phone = texts(&clinic.phone, &clinic.client_id);
    let desktop = texts(&clinic.desktop, &clinic.client_id);
    let client: Vec<(Direction, String)> = texts(&clinic.client, &clinic.clinician_id)
        .into_iter()
        .map(|(direction, text)| {
            let flipped =
                if direction == Direction::Inbound { Direction::Outbound } else { Direction::Inbound };
            (flipped, text)
        })
        .collect();
    let messages = |all: Vec<(Direction, String)>| -> Vec<(Direction, String)> {
        all.into_iter().filter(|(_, text)| text.starts_with("from")).collect()
    };
    let expected = vec![
        (Direction::Outbound, "from the phone".to_owned()),
        (Direction::Outbound, "from the desktop".to_owned()),
        (Direction::Inbound, "from the client".to_owned()),
    ];
    assert_eq!(messages(phone), expected);
    assert_eq!(messages(desktop), expected);
    assert_eq!(messages(client), expected);

    // Nothing was delivered twice: the outboxes are empty and a replay of a sync copy fails.
    assert!(clinic.phone.take_outbox().is_empty());
    assert!(clinic.client.take_outbox().is_empty());
}

#[test]
fn a_removed_device_gets_nothing_from_the_next_message_on_and_is_refused_by_the_peer() {
    let clinic = Clinic::new(1602);
    clinic.agree();
    let list = clinic.phone.remove_device(&clinic.desktop.identity_key()).unwrap();
    let change = clinic.client.update_devices(&clinic.clinician_id, &list).unwrap();
    assert_eq!(change.removed, vec![clinic.desktop.identity_key()]);

    // The next messages reach the phone only, both ways.
    let sent = clinic.client.send(&clinic.clinician_id, Draft::new(Category::CheckIn, "after")).unwrap();
    assert!(sent.envelope.is_some());
    assert!(clinic.client.take_outbox().is_empty(), "no envelope for the removed desktop");
    clinic.phone.send(&clinic.client_id, confirm("only to the client")).unwrap();
    assert!(clinic.phone.take_outbox().is_empty(), "no sync copy for the removed desktop");

    // The removed desktop still believes it is linked; the client refuses what it sends.
    let stale = clinic.desktop.send(&clinic.client_id, confirm("from a removed device")).unwrap();
    let err = clinic
        .client
        .receive_from(&clinic.clinician_id, &clinic.desktop.identity_key(), &stale.envelope.unwrap())
        .unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::UnknownDevice));
}

#[test]
fn adding_a_device_takes_effect_from_the_next_message() {
    let clinic = Clinic::new(1603);
    clinic.agree();
    let laptop = device(1699, Role::Clinician, "dr-lee");
    let devices = link(&clinic.phone, &laptop, "laptop");
    // Before the client learns of the laptop, nothing goes to it.
    clinic.client.send(&clinic.clinician_id, Draft::new(Category::CheckIn, "before")).unwrap();
    let before: Vec<_> = clinic.client.take_outbox().into_iter().map(|d| d.device).collect();
    assert_eq!(before, vec![clinic.desktop.identity_key()]);

    let change = clinic.client.update_devices(&clinic.clinician_id, &devices).unwrap();
    assert_eq!(change.added, vec![laptop.identity_key()]);
    assert_eq!(change.version, 3);
    clinic.client.start_session(&clinic.clinician_id, &laptop.prekey_bundle().unwrap()).unwrap();
    clinic.advance_all(MINUTE);
    clinic.client.send(&clinic.clinician_id, Draft::new(Category::CheckIn, "after")).unwrap();
    let mut after: Vec<_> = clinic.client.take_outbox().into_iter().map(|d| d.device).collect();
    let mut expected = vec![clinic.desktop.identity_key(), laptop.identity_key()];
    after.sort_by_key(|k| k.to_bytes());
    expected.sort_by_key(|k| k.to_bytes());
    assert_eq!(after, expected);
}

impl Clinic {
    fn advance_all(&self, millis: u64) {
        for device in [&self.phone, &self.desktop, &self.client] {
            device.clock().advance_millis(millis);
        }
    }
}

#[test]
fn a_forged_or_replayed_device_list_is_refused_and_changes_nothing() {
    let clinic = Clinic::new(1604);
    // A list naming a stranger's device, signed by the stranger's key, not the clinician's.
    let stranger = IdentityKeyPair::from_seed(&[7; 32]);
    let forged = DeviceList::first(stranger.public_key(), "forged", MONDAY_10AM_NY)
        .unwrap()
        .with_device(
            confidant::devices::Device {
                key: IdentityKeyPair::from_seed(&[8; 32]).public_key(),
                name: "evil".into(),
                added_at: MONDAY_10AM_NY,
            },
            MONDAY_10AM_NY,
        )
        .unwrap()
        .with_device(
            confidant::devices::Device {
                key: IdentityKeyPair::from_seed(&[9; 32]).public_key(),
                name: "evil 2".into(),
                added_at: MONDAY_10AM_NY,
            },
            MONDAY_10AM_NY,
        )
        .unwrap()
        .sign(&stranger)
        .unwrap()
        .to_bytes();
    let err = clinic.client.update_devices(&clinic.clinician_id, &forged).unwrap_err();
    assert_eq!(err, Error::Devices(DeviceError::WrongPerson));

    // A bit flipped in a genuine list.
    let genuine = clinic.phone.own_devices().unwrap();
    let mut flipped = genuine.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    assert!(clinic.client.update_devices(&clinic.clinician_id, &flipped).is_err());

    // The genuine list again (a relay replaying it) is stale.
    let err = clinic.client.update_devices(&clinic.clinician_id, &genuine).unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::StaleDeviceList));
    assert_eq!(
        clinic.client.devices(&clinic.clinician_id).unwrap().len(),
        2,
        "the stored list is the one from before"
    );

    // An envelope from a device the list does not name is refused before it is read.
    let outsider = device(1605, Role::Clinician, "dr-lee");
    let err =
        clinic.client.receive_from(&clinic.clinician_id, &outsider.identity_key(), b"anything").unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::UnknownDevice));
}

#[test]
fn a_linked_device_cannot_sign_and_a_relay_cannot_link_a_device() {
    let clinic = Clinic::new(1606);
    let err = clinic.desktop.propose_agreement(&clinic.client_id, clinic.terms()).unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::NotPrimary));
    assert_eq!(clinic.desktop.offer_link().unwrap_err(), Error::Endpoint(EndpointError::NotPrimary));

    // A relay that saw the request but not the code cannot make its own: a request from
    // another device with a guessed code fails, and so does a replay of a used one.
    let code = clinic.phone.offer_link().unwrap();
    let relay = device(1607, Role::Clinician, "dr-lee");
    let mut wrong = code.to_string();
    let flip = if wrong.ends_with('0') { '1' } else { '0' };
    wrong.pop();
    wrong.push(flip);
    let forged = relay.request_link(&wrong, "relay").unwrap();
    assert!(matches!(clinic.phone.accept_link(&forged), Err(Error::Devices(_))));
    let laptop = device(1608, Role::Clinician, "dr-lee");
    let request = laptop.request_link(&code, "laptop").unwrap();
    clinic.phone.accept_link(&request).unwrap();
    assert!(clinic.phone.accept_link(&request).is_err(), "an offer is used once");
}

mod interleavings {
    use super::*;
    use proptest::prelude::*;

    /// One step: a device (0 phone, 1 desktop, 2 client) sends a message, or one envelope
    /// waiting for a device is delivered (chosen by index among those waiting).
    #[derive(Debug, Clone)]
    enum Step {
        Send(u8),
        Deliver(u8, usize),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (0u8..3).prop_map(Step::Send),
            ((0u8..3), any::<usize>()).prop_map(|(d, i)| Step::Deliver(d, i))
        ]
    }

    /// An envelope in flight: from which device (by index), to which.
    struct InFlight {
        from: usize,
        to: usize,
        envelope: Vec<u8>,
    }

    fn ids(clinic: &Clinic, device: usize) -> (&Device, &PeerId) {
        match device {
            0 => (&clinic.phone, &clinic.client_id),
            1 => (&clinic.desktop, &clinic.client_id),
            _ => (&clinic.client, &clinic.clinician_id),
        }
    }

    fn index(clinic: &Clinic, key: &confidant::keys::IdentityKey) -> usize {
        match clinic.by_key(key).0 {
            "phone" => 0,
            "desktop" => 1,
            _ => 2,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        /// Whatever the order of sending and delivery, once everything is delivered each device
        /// holds each message exactly once and the three histories are the same conversation.
        #[test]
        fn every_order_of_sends_and_deliveries_ends_in_the_same_conversation(
            steps in proptest::collection::vec(step(), 1..40),
            seed in 0u64..1000,
        ) {
            let clinic = Clinic::new(20_000 + seed);
            clinic.agree();
            let mut flight: Vec<InFlight> = Vec::new();
            let mut sent = 0usize;
            let deliver = |clinic: &Clinic, flight: &mut Vec<InFlight>, to: usize, pick: usize| {
                let waiting: Vec<usize> = (0..flight.len()).filter(|&i| flight[i].to == to).collect();
                if waiting.is_empty() {
                    return;
                }
                let InFlight { from, envelope, .. } = flight.remove(waiting[pick % waiting.len()]);
                let (sender, _) = ids(clinic, from);
                let person = if from == 2 { &clinic.client_id } else { &clinic.clinician_id };
                let (target, _) = ids(clinic, to);
                let incoming = target.receive_from(person, &sender.identity_key(), &envelope).unwrap();
                // Receipts and other replies are not part of this test's conversation.
                let _ = incoming;
            };
            for step in steps {
                match step {
                    Step::Send(from) => {
                        let from = usize::from(from);
                        let (device, peer) = ids(&clinic, from);
                        let draft = if from == 2 {
                            Draft::new(Category::CheckIn, format!("m{sent}"))
                        } else {
                            confirm(&format!("m{sent}"))
                        };
                        sent += 1;
                        let out = device.send(peer, draft).unwrap();
                        let primary = if from == 2 { 0 } else { 2 };
                        flight.push(InFlight { from, to: primary, envelope: out.envelope.unwrap() });
                        for delivery in device.take_outbox() {
                            flight.push(InFlight { from, to: index(&clinic, &delivery.device), envelope: delivery.envelope });
                        }
                    }
                    Step::Deliver(to, pick) => deliver(&clinic, &mut flight, usize::from(to), pick),
                }
            }
            while !flight.is_empty() {
                let to = flight[0].to;
                deliver(&clinic, &mut flight, to, 0);
            }
            let conversation = |device: usize| -> Vec<String> {
                let (endpoint, peer) = ids(&clinic, device);
                let mut texts: Vec<String> = endpoint
                    .history(peer)
                    .unwrap()
                    .into_iter()
                    .map(|e| e.text.to_string())
                    .filter(|t| t.starts_with('m'))
                    .collect();
                texts.sort();
                texts
            };
            let mut expected: Vec<String> = (0..sent).map(|i| format!("m{i}")).collect();
            expected.sort();
            prop_assert_eq!(conversation(0), expected.clone());
            prop_assert_eq!(conversation(1), expected.clone());
            prop_assert_eq!(conversation(2), expected);
        }
    }
}

#[test]
fn a_device_linked_after_the_agreement_gets_it_from_the_primary_and_enforces_it() {
    // The agreement is signed while the clinician has one device.
    let Pair { clinician: phone, client, client_id, clinician_id, .. } =
        pair_with(1610, MemoryStore::new(), MemoryStore::new(), true);
    let desktop = device(1611, Role::Clinician, "dr-lee");
    let devices = link(&phone, &desktop, "desktop");
    client.update_devices(&clinician_id, &devices).unwrap();
    client.start_session(&clinician_id, &desktop.prekey_bundle().unwrap()).unwrap();
    phone.start_session(&clinician_id, &desktop.prekey_bundle().unwrap()).unwrap();

    // Before the copy, the desktop has no agreement and refuses the client's message.
    client.send(&clinician_id, Draft::new(Category::CheckIn, "early")).unwrap();
    let early = client.take_outbox();
    assert_eq!(early.len(), 1);
    let refused = desktop.receive_from(&client_id, &client.identity_key(), &early[0].envelope).unwrap();
    assert!(matches!(refused.received, Received::Refused { .. }));

    // The linked desktop cannot copy agreements; the primary can.
    let err = desktop.sync_agreements(&phone.identity_key()).unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::NotPrimary));
    assert_eq!(phone.sync_agreements(&desktop.identity_key()).unwrap(), 1);
    let copies = phone.take_outbox();
    assert_eq!(copies.len(), 1);
    let copied = desktop.receive_from(&clinician_id, &phone.identity_key(), &copies[0].envelope).unwrap();
    assert!(
        matches!(copied.received, Received::AgreementSynced { ref peer, version: 1 } if *peer == client_id)
    );
    assert_eq!(desktop.agreement(&client_id).unwrap().unwrap().version(), 1);
    assert_eq!(desktop.safety_number(&client_id).unwrap(), phone.safety_number(&client_id).unwrap());

    // A replay of the copy is refused by the session and changes nothing.
    assert!(desktop.receive_from(&clinician_id, &phone.identity_key(), &copies[0].envelope).is_err());

    // Now the desktop receives the client's messages within the agreement.
    client.send(&clinician_id, Draft::new(Category::CheckIn, "now")).unwrap();
    let now = client.take_outbox();
    let received = desktop.receive_from(&client_id, &client.identity_key(), &now[0].envelope).unwrap();
    assert!(matches!(received.received, Received::Message(_)));
}

#[test]
fn a_linked_device_that_lost_its_session_is_repaired_and_gets_the_resend_queue() {
    let clinic = Clinic::new(1620);
    clinic.agree();
    let first = clinic.client.send(&clinic.clinician_id, Draft::new(Category::CheckIn, "one")).unwrap();
    drop(first);
    clinic.flush(&clinic.client);

    // The desktop loses its session with the client's phone.
    let mut batch = confidant::store::WriteBatch::new();
    batch.delete_session(&clinic.client_id);
    clinic.desktop.store().apply(batch).unwrap();
    clinic.client.send(&clinic.clinician_id, Draft::new(Category::CheckIn, "two")).unwrap();
    let lost = clinic.client.take_outbox();
    let err = clinic
        .desktop
        .receive_from(&clinic.client_id, &clinic.client.identity_key(), &lost[0].envelope)
        .unwrap_err();
    assert!(err.suggests_repair(), "{err:?}");

    // The desktop asks; the client repairs its sessions with the desktop (not with the phone)
    // and sends its resend queue on the new session.
    let request = clinic.desktop.repair_request(&clinic.client_id).unwrap();
    let resent = clinic.client.accept_repair_request(&clinic.clinician_id, &request).unwrap();
    assert!(!resent.is_empty());
    let mut texts = Vec::new();
    for envelope in &resent {
        // A message the desktop already holds comes again too, and is recognised as such.
        match clinic.desktop.receive_from(&clinic.client_id, &clinic.client.identity_key(), envelope) {
            Ok(Incoming { received: Received::Message(m), .. }) => texts.push(m.text.to_string()),
            Ok(other) => panic!("unexpected {other:?}"),
            Err(err) => assert_eq!(err, Error::Store(confidant::store::StoreError::MessageExists)),
        }
    }
    assert!(texts.contains(&"two".to_owned()), "the lost message came again: {texts:?}");

    // The phone's sessions with the client were not touched: it still receives.
    let sent = clinic.client.send(&clinic.clinician_id, Draft::new(Category::CheckIn, "three")).unwrap();
    assert!(matches!(
        clinic.phone.receive(&clinic.client_id, &sent.envelope.unwrap()).unwrap().received,
        Received::Message(_)
    ));
    let to_desktop = clinic.flush(&clinic.client);
    assert!(
        matches!(&to_desktop[..], [(name, Incoming { received: Received::Message(_), .. })] if name == "desktop")
    );

    // A request naming the desktop is accepted by the desktop only.
    clinic.advance_all(11 * MINUTE);
    let for_desktop = clinic
        .client
        .repair_request_for_device(&clinic.clinician_id, &clinic.desktop.identity_key())
        .unwrap();
    assert_eq!(
        clinic.phone.accept_repair_request(&clinic.client_id, &for_desktop).unwrap_err(),
        Error::Endpoint(EndpointError::InvalidRepairRequest)
    );
    let resent = clinic.desktop.accept_repair_request(&clinic.client_id, &for_desktop).unwrap();
    for envelope in &resent {
        let result =
            clinic.client.receive_from(&clinic.clinician_id, &clinic.desktop.identity_key(), envelope);
        assert!(matches!(result, Ok(_) | Err(Error::Store(confidant::store::StoreError::MessageExists))));
    }
    let after = clinic.desktop.send(&clinic.client_id, confirm("after the repair")).unwrap();
    let received = clinic
        .client
        .receive_from(&clinic.clinician_id, &clinic.desktop.identity_key(), &after.envelope.unwrap())
        .unwrap();
    assert!(matches!(received.received, Received::Message(_)));
}

#[test]
fn a_message_missing_from_a_linked_device_shows_as_a_gap_until_it_arrives() {
    let clinic = Clinic::new(1630);
    clinic.agree();
    // The desktop sends two; the client gets the second first.
    let one = clinic.desktop.send(&clinic.client_id, confirm("one")).unwrap().envelope.unwrap();
    let two = clinic.desktop.send(&clinic.client_id, confirm("two")).unwrap().envelope.unwrap();
    let desktop = clinic.desktop.identity_key();
    clinic.client.receive_from(&clinic.clinician_id, &desktop, &two).unwrap();
    let gaps = |client: &Device| {
        client
            .history_items(&clinic.clinician_id)
            .unwrap()
            .into_iter()
            .filter(|item| matches!(item, confidant::HistoryItem::Gap { .. }))
            .count()
    };
    assert_eq!(gaps(&clinic.client), 1);
    clinic.client.receive_from(&clinic.clinician_id, &desktop, &one).unwrap();
    assert_eq!(gaps(&clinic.client), 0);
}

#[test]
fn after_a_new_identity_is_accepted_the_old_device_list_names_no_device() {
    let clinic = Clinic::new(1640);
    clinic.agree();
    let reinstalled = device(1641, Role::Clinician, "dr-lee");
    clinic.client.accept_new_identity(&clinic.clinician_id, &reinstalled.identity_key()).unwrap();
    assert_eq!(clinic.client.devices(&clinic.clinician_id).unwrap(), vec![reinstalled.identity_key()]);
    let err =
        clinic.client.receive_from(&clinic.clinician_id, &clinic.desktop.identity_key(), b"x").unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::UnknownDevice));
    // The new person's first list is accepted whatever its version.
    let list = reinstalled.own_devices().unwrap();
    let change = clinic.client.update_devices(&clinic.clinician_id, &list).unwrap();
    assert_eq!(change.version, 1);
}

#[test]
fn a_batch_from_a_linked_device_is_received_in_one_transaction_and_a_bad_envelope_fails_alone() {
    let clinic = Clinic::new(1650);
    clinic.agree();
    let mut envelopes = Vec::new();
    for text in ["a", "b", "c"] {
        envelopes.push(clinic.desktop.send(&clinic.client_id, confirm(text)).unwrap().envelope.unwrap());
    }
    let mut tampered = envelopes[1].clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 0x40;
    let batch = vec![envelopes[0].clone(), tampered, envelopes[1].clone(), envelopes[2].clone()];
    let results = clinic
        .client
        .receive_batch_from(&clinic.clinician_id, &clinic.desktop.identity_key(), &batch)
        .unwrap();
    assert!(results[0].is_ok() && results[1].is_err() && results[2].is_ok() && results[3].is_ok());
    let texts: Vec<String> =
        texts(&clinic.client, &clinic.clinician_id).into_iter().map(|(_, t)| t).collect();
    for text in ["a", "b", "c"] {
        assert_eq!(texts.iter().filter(|t| *t == text).count(), 1, "{texts:?}");
    }
    let unknown = device(1651, Role::Clinician, "dr-lee");
    let err =
        clinic.client.receive_batch_from(&clinic.clinician_id, &unknown.identity_key(), &batch).unwrap_err();
    assert_eq!(err, Error::Endpoint(EndpointError::UnknownDevice));
}

/// Two threads send to two clients at once from a clinician's phone with a linked desktop: the
/// sync copies to the desktop share one session, which its lock keeps consistent, so every copy
/// arrives and decrypts.
#[test]
fn sends_to_two_peers_at_once_share_the_sync_session_without_conflict() {
    let clock = || ManualClock::new(MONDAY_10AM_NY);
    let phone = Endpoint::new(MemoryStore::new(), clock(), Role::Clinician, "dr-lee").unwrap();
    let desktop = Endpoint::new(MemoryStore::new(), clock(), Role::Clinician, "dr-lee").unwrap();
    link(&phone, &desktop, "desktop");
    let clinician_id = PeerId::new("dr-lee").unwrap();
    phone.start_session(&clinician_id, &desktop.prekey_bundle().unwrap()).unwrap();
    let scratch: Pair<MemoryStore> = pair_with(1, MemoryStore::new(), MemoryStore::new(), false);
    let mut clients = Vec::new();
    for name in ["client-a", "client-b"] {
        let client = Endpoint::new(MemoryStore::new(), clock(), Role::Client, name).unwrap();
        let id = PeerId::new(name).unwrap();
        phone.start_session(&id, &client.prekey_bundle().unwrap()).unwrap();
        let mut terms = scratch.terms(1);
        terms.clinician = phone.identity_key();
        terms.client = client.identity_key();
        let proposal = phone.propose_agreement(&id, terms).unwrap();
        let Received::AgreementProposed { id: proposal_id, .. } =
            client.receive(&clinician_id, &proposal).unwrap().received
        else {
            panic!("expected a proposal")
        };
        let acceptance = client.accept_agreement(&clinician_id, proposal_id).unwrap();
        phone.receive(&id, &acceptance).unwrap();
        clients.push((id, client));
    }
    let mut copies: Vec<Delivery> = phone.take_outbox();
    std::thread::scope(|scope| {
        for (id, _) in &clients {
            let phone = &phone;
            scope.spawn(move || {
                for n in 0..20 {
                    phone.send(id, confirm(&format!("{} {n}", id.as_str()))).unwrap();
                }
            });
        }
    });
    copies.extend(phone.take_outbox());
    assert_eq!(copies.len(), 2 + 40, "two proposals and forty messages, each copied once");
    for copy in &copies {
        let incoming = desktop.receive_from(&clinician_id, &phone.identity_key(), &copy.envelope).unwrap();
        assert!(matches!(incoming.received, Received::Synced { .. }));
    }
    for (id, _) in &clients {
        let sent =
            desktop.history(id).unwrap().into_iter().filter(|e| e.direction == Direction::Outbound).count();
        assert_eq!(sent, 21, "the proposal and twenty messages to {}", id.as_str());
    }
}

/// A repair of the client's sessions with the phone resends the phone's own messages only: the
/// desktop's message, whose copy the phone holds, carries the desktop's numbering and stays the
/// desktop's to deliver, so the client refuses nothing and the phone's next message is received.
#[test]
fn a_repair_resends_only_what_the_repairing_device_sent_itself() {
    let clinic = Clinic::new(1660);
    clinic.agree();
    let one = clinic.phone.send(&clinic.client_id, confirm("one")).unwrap();
    clinic.client.receive(&clinic.clinician_id, &one.envelope.unwrap()).unwrap();
    clinic.flush(&clinic.phone);
    // The desktop's message: its copy reaches the phone, its envelope to the client is lost.
    let two = clinic.desktop.send(&clinic.client_id, confirm("two")).unwrap();
    drop(two.envelope);
    clinic.flush(&clinic.desktop);
    assert!(clinic.phone.history(&clinic.client_id).unwrap().iter().any(|e| &e.text[..] == "two"));

    // The client loses its sessions with the phone and asks the phone for a repair.
    let mut batch = confidant::store::WriteBatch::new();
    batch.delete_session(&clinic.clinician_id);
    clinic.client.store().apply(batch).unwrap();
    let request = clinic.client.repair_request(&clinic.clinician_id).unwrap();
    let resent = clinic.phone.accept_repair_request(&clinic.client_id, &request).unwrap();
    let mut texts = Vec::new();
    for envelope in &resent {
        match clinic.client.receive(&clinic.clinician_id, envelope) {
            Ok(Incoming { received: Received::Message(m), .. }) => texts.push(m.text.to_string()),
            Ok(_) => {}
            Err(err) => assert_eq!(err, Error::Store(confidant::store::StoreError::MessageExists)),
        }
    }
    assert!(!texts.contains(&"two".to_owned()), "the desktop's message is not the phone's to resend");
    let three = clinic.phone.send(&clinic.client_id, confirm("three")).unwrap();
    let received = clinic.client.receive(&clinic.clinician_id, &three.envelope.unwrap()).unwrap();
    assert!(matches!(received.received, Received::Message(_)), "the phone's numbering is intact");
}

/// A primary that already linked a device cannot itself be linked to another person's device
/// set: that would orphan its own linked device.
#[test]
fn a_primary_with_linked_devices_cannot_be_linked_elsewhere() {
    let phone = device(1670, Role::Clinician, "dr-lee");
    let desktop = device(1671, Role::Clinician, "dr-lee");
    link(&phone, &desktop, "desktop");
    let other = device(1672, Role::Clinician, "dr-lee");
    let code = other.offer_link().unwrap();
    assert_eq!(
        phone.request_link(&code, "phone").unwrap_err(),
        Error::Endpoint(EndpointError::AlreadyLinked)
    );
    assert!(phone.is_primary());
}
