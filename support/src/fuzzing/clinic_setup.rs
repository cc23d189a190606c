//! The three devices of the clinic target, built from fixed seeds: the clinician's phone
//! (primary) and linked desktop, the client's phone, every session between them started and the
//! agreement in force on all three (as `tests/devices.rs` sets them up).

use sha2::{Digest, Sha256};

use super::{setup, Violation};
use crate::pair::{pair_with, Pair, MONDAY_10AM_NY};
use confidant::keys::IdentityKey;
use confidant::store::{MemoryStore, PeerId, Store};
use confidant::{Delivery, Endpoint, ManualClock, Received, Role};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// One device of the target.
pub(super) type Device = Endpoint<MemoryStore, ManualClock>;

/// The seed of every run: the same keys for every input, so the corpus stays meaningful.
const SEED: u64 = 0x0c11_41c0;

/// A device of the clinic.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Dev {
    /// The clinician's primary device.
    Phone,
    /// The clinician's linked device.
    Desktop,
    /// The client's (only, so primary) device.
    Client,
}

impl Dev {
    pub(super) const ALL: [Dev; 3] = [Dev::Phone, Dev::Desktop, Dev::Client];

    pub(super) fn index(self) -> usize {
        match self {
            Dev::Phone => 0,
            Dev::Desktop => 1,
            Dev::Client => 2,
        }
    }

    pub(super) fn from_byte(b: u8) -> Dev {
        match b % 3 {
            0 => Dev::Phone,
            1 => Dev::Desktop,
            _ => Dev::Client,
        }
    }

    pub(super) fn is_clinician(self) -> bool {
        self != Dev::Client
    }
}

/// The three endpoints and the ids they know each other by.
pub(super) struct Clinic {
    devices: [Device; 3],
    keys: [IdentityKey; 3],
    /// How the clinician's devices know the client.
    pub(super) client_id: PeerId,
    /// How the client knows the clinician; also the clinician devices' own local id.
    pub(super) clinician_id: PeerId,
}

impl Clinic {
    /// Links the desktop to the phone, tells the client, starts the sessions between every two
    /// devices and puts the agreement in force on all three.
    pub(super) fn build() -> Result<Self, Violation> {
        let Pair { clinician: phone, client, client_id, clinician_id, .. } =
            pair_with(SEED, MemoryStore::new(), MemoryStore::new(), false);
        let desktop = setup(
            "desktop",
            Endpoint::with_generator(
                ChaCha20Rng::seed_from_u64(SEED ^ 0xd5),
                MemoryStore::new(),
                ManualClock::new(MONDAY_10AM_NY),
                Role::Clinician,
                "dr-lee",
            ),
        )?;
        let code = setup("offer", phone.offer_link())?;
        let request = setup("request", desktop.request_link(&code, "desktop"))?;
        let accepted = setup("accept link", phone.accept_link(&request))?;
        setup("complete link", desktop.complete_link(&accepted.response))?;
        setup("update devices", client.update_devices(&clinician_id, &accepted.devices))?;
        let bundle = |d: &Device| setup("bundle", d.prekey_bundle());
        setup("session", client.start_session(&clinician_id, &bundle(&desktop)?))?;
        setup("session", desktop.start_session(&client_id, &bundle(&client)?))?;
        setup("session", desktop.start_session(&clinician_id, &bundle(&phone)?))?;
        setup("session", phone.start_session(&clinician_id, &bundle(&desktop)?))?;
        let keys = [phone.identity_key(), desktop.identity_key(), client.identity_key()];
        let clinic = Self { devices: [phone, desktop, client], keys, client_id, clinician_id };
        clinic.agree()?;
        // The device session ids computed here (PROTOCOL.md, section 16.9) name the stored
        // sessions: a second implementation of the rule, checked once per run.
        for (on, with) in
            [(Dev::Client, Dev::Desktop), (Dev::Phone, Dev::Desktop), (Dev::Desktop, Dev::Phone)]
        {
            let id = clinic.session_id(on, with)?;
            if setup("session", clinic.device(on).store().session(&id))?.is_none() {
                return Err(Violation::new(format!(
                    "fixture: no session under the device session id {on:?}/{with:?}"
                )));
            }
        }
        Ok(clinic)
    }

    /// The phone proposes; the client accepts; the acceptance reaches both clinician devices.
    fn agree(&self) -> Result<(), Violation> {
        let scratch: Pair<MemoryStore> = pair_with(1, MemoryStore::new(), MemoryStore::new(), false);
        let mut terms = scratch.terms(1);
        terms.clinician = self.key(Dev::Phone);
        terms.client = self.key(Dev::Client);
        let (phone, desktop, client) =
            (self.device(Dev::Phone), self.device(Dev::Desktop), self.device(Dev::Client));
        let proposal = setup("propose", phone.propose_agreement(&self.client_id, terms))?;
        for Delivery { envelope, .. } in phone.take_outbox() {
            setup(
                "sync proposal",
                desktop.receive_from(&self.clinician_id, &self.key(Dev::Phone), &envelope),
            )?;
        }
        let Received::AgreementProposed { id, .. } =
            setup("proposal", client.receive(&self.clinician_id, &proposal))?.received
        else {
            return Err(Violation::new("fixture: the proposal was not received as one"));
        };
        let acceptance = setup("accept", client.accept_agreement(&self.clinician_id, id))?;
        setup("acceptance", phone.receive(&self.client_id, &acceptance))?;
        for Delivery { envelope, .. } in client.take_outbox() {
            setup("acceptance", desktop.receive_from(&self.client_id, &self.key(Dev::Client), &envelope))?;
        }
        for d in Dev::ALL {
            let agreement = setup("agreement", self.device(d).agreement(self.conversation(d)))?;
            if agreement.is_none() {
                return Err(Violation::new(format!("fixture: no agreement in force on {d:?}")));
            }
        }
        Ok(())
    }

    pub(super) fn device(&self, d: Dev) -> &Device {
        &self.devices[d.index()]
    }

    pub(super) fn key(&self, d: Dev) -> IdentityKey {
        self.keys[d.index()]
    }

    /// The device with identity key `key`.
    pub(super) fn by_key(&self, key: &IdentityKey) -> Option<Dev> {
        Dev::ALL.into_iter().find(|d| self.key(*d) == *key)
    }

    /// The conversation `d` keeps its messages under: the other person's id.
    pub(super) fn conversation(&self, d: Dev) -> &PeerId {
        if d.is_clinician() {
            &self.client_id
        } else {
            &self.clinician_id
        }
    }

    /// The person id of `d`'s person (for a clinician device, also their own local id).
    pub(super) fn person(&self, d: Dev) -> &PeerId {
        if d.is_clinician() {
            &self.clinician_id
        } else {
            &self.client_id
        }
    }

    /// The store id under which `on` keeps its sessions with `with`: the person's id for a
    /// person's primary device of another person, a device session id otherwise.
    pub(super) fn session_id(&self, on: Dev, with: Dev) -> Result<PeerId, Violation> {
        if with != Dev::Desktop && on.is_clinician() != with.is_clinician() {
            return Ok(self.person(with).clone());
        }
        let person = self.person(with).as_str().as_bytes();
        let len = u16::try_from(person.len()).map_err(|_| Violation::new("fixture: long person id"))?;
        let digest = Sha256::new()
            .chain_update(b"confidant-v1 device session")
            .chain_update(len.to_be_bytes())
            .chain_update(person)
            .chain_update(self.key(with).as_bytes())
            .finalize();
        let mut text = String::from('\u{1f}');
        for byte in digest.iter().take(16) {
            text.push_str(&format!("{byte:02x}"));
        }
        setup("device session id", PeerId::new(text))
    }

    /// Advances every device's clock.
    pub(super) fn advance(&self, millis: u64) {
        for d in &self.devices {
            d.clock().advance_millis(millis);
        }
    }
}
