//! Several devices with a lost session and its repair: a clinician's phone (primary) and desktop
//! (linked) and a client's phone. Whatever the order of sends and deliveries, and whichever
//! clinician device loses its sessions with the client and is repaired in between, every message
//! ends on every device exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use confidant::keys::IdentityKey;
use confidant::store::{MemoryStore, PeerId, Store, StoreError, WriteBatch};
use confidant::{
    AppointmentKind, Category, Delivery, Draft, Endpoint, EndpointError, Error, ManualClock, Received, Role,
};
use confidant_support::pair::{pair_with, Pair, MONDAY_10AM_NY};
use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

type Device = Endpoint<MemoryStore, ManualClock>;

/// A message's id and its envelopes, each with the index of the device it is for.
type Sent = (confidant::store::MessageId, Vec<(usize, Vec<u8>)>);

const PHONE: usize = 0;
const DESKTOP: usize = 1;
const CLIENT: usize = 2;

/// The three devices, linked, with every session started and the agreement in force on each.
struct Clinic {
    devices: [Device; 3],
    client_id: PeerId,
    clinician_id: PeerId,
}

impl Clinic {
    fn new(seed: u64) -> Self {
        let Pair { clinician: phone, client, client_id, clinician_id, .. } =
            pair_with(seed, MemoryStore::new(), MemoryStore::new(), false);
        let rng = ChaCha20Rng::seed_from_u64(seed ^ 0xd5);
        let desktop = Endpoint::with_generator(
            rng,
            MemoryStore::new(),
            ManualClock::new(MONDAY_10AM_NY),
            Role::Clinician,
            "dr-lee",
        )
        .unwrap();
        let code = phone.offer_link().unwrap();
        let accepted = phone.accept_link(&desktop.request_link(&code, "desktop").unwrap()).unwrap();
        desktop.complete_link(&accepted.response).unwrap();
        client.update_devices(&clinician_id, &accepted.devices).unwrap();
        client.start_session(&clinician_id, &desktop.prekey_bundle().unwrap()).unwrap();
        desktop.start_session(&client_id, &client.prekey_bundle().unwrap()).unwrap();
        desktop.start_session(&clinician_id, &phone.prekey_bundle().unwrap()).unwrap();
        phone.start_session(&clinician_id, &desktop.prekey_bundle().unwrap()).unwrap();

        let scratch: Pair<MemoryStore> = pair_with(1, MemoryStore::new(), MemoryStore::new(), false);
        let mut terms = scratch.terms(1);
        terms.clinician = phone.identity_key();
        terms.client = client.identity_key();
        let proposal = phone.propose_agreement(&client_id, terms).unwrap();
        for d in phone.take_outbox() {
            desktop.receive_from(&clinician_id, &phone.identity_key(), &d.envelope).unwrap();
        }
        let Received::AgreementProposed { id, .. } =
            client.receive(&clinician_id, &proposal).unwrap().received
        else {
            panic!("expected a proposal")
        };
        let acceptance = client.accept_agreement(&clinician_id, id).unwrap();
        phone.receive(&client_id, &acceptance).unwrap();
        for d in client.take_outbox() {
            desktop.receive_from(&client_id, &client.identity_key(), &d.envelope).unwrap();
        }
        Self { devices: [phone, desktop, client], client_id, clinician_id }
    }

    fn key(&self, d: usize) -> IdentityKey {
        self.devices[d].identity_key()
    }

    fn index(&self, key: &IdentityKey) -> usize {
        (0..3).find(|&d| self.key(d) == *key).expect("an envelope for a device of the test")
    }

    /// The conversation `d` keeps: the other person's id.
    fn conversation(&self, d: usize) -> &PeerId {
        if d == CLIENT {
            &self.clinician_id
        } else {
            &self.client_id
        }
    }

    fn person(&self, d: usize) -> &PeerId {
        if d == CLIENT {
            &self.client_id
        } else {
            &self.clinician_id
        }
    }

    /// Sends a message from `d`; returns its id and the envelopes, each with the device it is for.
    fn send(&self, d: usize, text: &str) -> Result<Sent, Error> {
        let draft = if d == CLIENT {
            Draft::new(Category::CheckIn, text)
        } else {
            Draft::new(Category::Appointment(AppointmentKind::Confirm), text)
        };
        let device = &self.devices[d];
        let out = device.send(self.conversation(d), draft)?;
        let primary = if d == CLIENT { PHONE } else { CLIENT };
        let mut envelopes = vec![(primary, out.envelope.unwrap())];
        for Delivery { device, envelope, .. } in device.take_outbox() {
            envelopes.push((self.index(&device), envelope));
        }
        Ok((out.message_id.unwrap(), envelopes))
    }

    fn deliver(&self, from: usize, to: usize, envelope: &[u8]) -> Result<confidant::Incoming, Error> {
        self.devices[to].receive_from(self.person(from), &self.key(from), envelope)
    }

    fn count(&self, d: usize, id: &confidant::store::MessageId) -> usize {
        let history = self.devices[d].history(self.conversation(d)).unwrap();
        history.iter().filter(|e| e.id == *id).count()
    }

    fn lose_client_session(&self, d: usize) {
        let mut batch = WriteBatch::new();
        batch.delete_session(self.conversation(d));
        self.devices[d].store().apply(batch).unwrap();
    }
}

/// An envelope in flight.
struct Flight {
    from: usize,
    to: usize,
    envelope: Vec<u8>,
    /// Sealed on a session its receiver lost: it may fail (and then changes nothing).
    may_fail: bool,
}

#[derive(Debug, Clone)]
enum Step {
    Send(usize),
    Deliver(usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![(0usize..3).prop_map(Step::Send), any::<usize>().prop_map(Step::Deliver)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Sends and deliveries in any order; at `lose_at`, the phone or the desktop loses its
    /// sessions with the client, and at `repair_at` it asks for a repair, which the client grants
    /// by sending its resend queue. Meanwhile the device that lost its sessions cannot send to the
    /// client, and what the client sealed on the lost session may fail (changing nothing). At the
    /// end every message is on each of the three devices exactly once.
    #[test]
    fn sends_out_of_order_deliveries_and_a_repair_end_with_every_message_once_everywhere(
        steps in proptest::collection::vec(step(), 1..40),
        lose_at in 0usize..40,
        repair_gap in 0usize..20,
        loser in prop_oneof![Just(PHONE), Just(DESKTOP)],
        seed in 0u64..1000,
    ) {
        let clinic = Clinic::new(30_000 + seed);
        let mut flight: Vec<Flight> = Vec::new();
        let mut sent = Vec::new();
        let mut lost = false;
        // The loser has a session to send on again once it received something from the client.
        let mut can_send = [true; 3];
        let repair_at = lose_at + repair_gap;
        let deliver = |flight: &mut Vec<Flight>, can_send: &mut [bool; 3], pick: usize| {
            if flight.is_empty() {
                return;
            }
            let Flight { from, to, envelope, may_fail } = flight.remove(pick % flight.len());
            let history = |d: usize| clinic.devices[d].history(clinic.conversation(d)).unwrap();
            let before = history(to);
            match clinic.deliver(from, to, &envelope) {
                Ok(incoming) => {
                    assert!(
                        matches!(incoming.received, Received::Message(_) | Received::Synced { .. }),
                        "{:?}", incoming.received
                    );
                    if from == CLIENT {
                        can_send[to] = true;
                    }
                }
                // A copy the device holds already, sent again by the repair.
                Err(Error::Store(StoreError::MessageExists)) => assert_eq!(history(to), before),
                Err(e) if may_fail => assert_eq!(history(to), before, "{e:?}"),
                Err(e) => panic!("{from} -> {to}: {e:?}"),
            }
        };
        for (i, step) in steps.into_iter().enumerate() {
            if i == lose_at {
                // What the loser sent to the client arrives before the loss (a message sealed on
                // the lost session and read after the repair makes the lost session current
                // again on the client: `a_message_sealed_before_a_loss_does_not_undo_the_repair`).
                while let Some(at) = flight.iter().position(|f| f.from == loser && f.to == CLIENT) {
                    deliver(&mut flight, &mut can_send, at);
                }
                clinic.lose_client_session(loser);
                lost = true;
                can_send[loser] = false;
                for f in flight.iter_mut().filter(|f| f.from == CLIENT && f.to == loser) {
                    f.may_fail = true;
                }
            }
            if i == repair_at && lost {
                let request = clinic.devices[loser].repair_request(&clinic.client_id).unwrap();
                let resent = clinic.devices[CLIENT].accept_repair_request(&clinic.clinician_id, &request).unwrap();
                lost = false;
                for envelope in resent {
                    flight.push(Flight { from: CLIENT, to: loser, envelope, may_fail: false });
                }
            }
            match step {
                Step::Send(d) => {
                    let text = format!("m{}", sent.len());
                    match clinic.send(d, &text) {
                        Ok((id, envelopes)) => {
                            sent.push(id);
                            for (to, envelope) in envelopes {
                                let may_fail = lost && d == CLIENT && to == loser;
                                flight.push(Flight { from: d, to, envelope, may_fail });
                            }
                        }
                        Err(e) => {
                            prop_assert!(!can_send[d], "{d} could not send: {e:?}");
                            prop_assert_eq!(e, Error::Endpoint(EndpointError::NoSession));
                        }
                    }
                }
                Step::Deliver(pick) => deliver(&mut flight, &mut can_send, pick),
            }
        }
        if lost {
            let request = clinic.devices[loser].repair_request(&clinic.client_id).unwrap();
            let resent = clinic.devices[CLIENT].accept_repair_request(&clinic.clinician_id, &request).unwrap();
            for envelope in resent {
                flight.push(Flight { from: CLIENT, to: loser, envelope, may_fail: false });
            }
        }
        while !flight.is_empty() {
            deliver(&mut flight, &mut can_send, 0);
        }
        for id in &sent {
            for d in [PHONE, DESKTOP, CLIENT] {
                prop_assert_eq!(clinic.count(d, id), 1, "device {} holds a message {} times", d, clinic.count(d, id));
            }
        }
    }
}

/// The phone's repair of the client's sessions resends the phone's own messages only: the copy
/// of the desktop's message it holds carries the desktop's sequence number, which the client
/// would take for one of the phone's (refusing it as a duplicate number, or refusing the
/// phone's own message of that number later), so it stays the desktop's to deliver. Nothing the
/// phone resends is refused, and the phone's numbering stays intact.
#[test]
fn a_repair_by_the_phone_resends_only_the_phones_own_messages() {
    let clinic = Clinic::new(1701);
    let (phone, client) = (&clinic.devices[PHONE], &clinic.devices[CLIENT]);
    let second = || clinic.devices.iter().for_each(|d| d.clock().advance_millis(1000));
    // The phone's number 1 reaches the client, its number 2 does not.
    let (one, envelopes) = clinic.send(PHONE, "one").unwrap();
    for (to, envelope) in envelopes {
        clinic.deliver(PHONE, to, &envelope).unwrap();
    }
    second();
    let (two, envelopes) = clinic.send(PHONE, "two").unwrap();
    for (to, envelope) in envelopes.into_iter().filter(|(to, _)| *to == DESKTOP) {
        clinic.deliver(PHONE, to, &envelope).unwrap();
    }
    second();
    // The desktop's number 1: its sync copy reaches the phone, its envelope to the client does not.
    let (three, envelopes) = clinic.send(DESKTOP, "three").unwrap();
    for (to, envelope) in envelopes.into_iter().filter(|(to, _)| *to == PHONE) {
        clinic.deliver(DESKTOP, to, &envelope).unwrap();
    }
    // The client loses its sessions with the phone and asks it for a repair: the phone resends
    // the proposal, "one" and "two", oldest first, and not the copy of the desktop's "three".
    clinic.lose_client_session(CLIENT);
    let request = client.repair_request(&clinic.clinician_id).unwrap();
    let resent = phone.accept_repair_request(&clinic.client_id, &request).unwrap();
    assert_eq!(resent.len(), 3);
    let mut refused = Vec::new();
    for envelope in &resent {
        match client.receive(&clinic.clinician_id, envelope) {
            Ok(_) | Err(Error::Store(StoreError::MessageExists)) => {}
            Err(e) => refused.push(e),
        }
    }
    assert_eq!(clinic.count(CLIENT, &one), 1);
    assert_eq!(clinic.count(CLIENT, &two), 1);
    assert_eq!(refused, vec![], "a resent message was refused");
    assert_eq!(clinic.count(CLIENT, &three), 0, "the desktop's message is not the phone's to resend");
    // The phone's next message is received: its numbering was not disturbed.
    second();
    let (four, envelopes) = clinic.send(PHONE, "four").unwrap();
    for (to, envelope) in envelopes.into_iter().filter(|(to, _)| *to == CLIENT) {
        clinic.deliver(PHONE, to, &envelope).unwrap();
    }
    assert_eq!(clinic.count(CLIENT, &four), 1);
}

/// The desktop sends a message and then loses its sessions with the client; the repair makes a
/// new session current on the client. When the message sealed on the old session arrives after
/// the repair, the client's old session decrypts it but does not become current again (rule 6
/// of section 12's "Several sessions with one peer"), so the client's next message goes on the
/// repaired session, which the desktop has.
#[test]
fn a_message_sealed_before_a_loss_does_not_undo_the_repair() {
    let clinic = Clinic::new(1702);
    let (desktop, client) = (&clinic.devices[DESKTOP], &clinic.devices[CLIENT]);
    let (_, envelopes) = clinic.send(DESKTOP, "before").unwrap();
    let held: Vec<Vec<u8>> =
        envelopes.into_iter().filter(|(to, _)| *to == CLIENT).map(|(_, envelope)| envelope).collect();
    clinic.lose_client_session(DESKTOP);
    let request = desktop.repair_request(&clinic.client_id).unwrap();
    let resent = client.accept_repair_request(&clinic.clinician_id, &request).unwrap();
    for envelope in &resent {
        match clinic.deliver(CLIENT, DESKTOP, envelope) {
            Ok(_) | Err(Error::Store(StoreError::MessageExists)) => {}
            Err(e) => panic!("a resent message was refused: {e:?}"),
        }
    }
    // The message the desktop sealed before the loss arrives now.
    for envelope in &held {
        clinic.deliver(DESKTOP, CLIENT, envelope).unwrap();
    }
    let (after, envelopes) = clinic.send(CLIENT, "after").unwrap();
    for (to, envelope) in envelopes.into_iter().filter(|(to, _)| *to == DESKTOP) {
        let received = clinic.deliver(CLIENT, to, &envelope);
        assert!(received.is_ok(), "the client's message after the repair: {:?}", received.err());
    }
    assert_eq!(clinic.count(DESKTOP, &after), 1);
}
