//! The endpoint-level stateful target: a clinician's phone (primary) and desktop (linked) and a
//! client's phone, with an agreement in force, over a network that reorders, drops, duplicates
//! and tampers, while devices lose sessions and repair them and the desktop is removed; driven by
//! the fuzzer's bytes.
//!
//! Input: events, each an opcode byte and its operand bytes (missing operands read as zero):
//!
//! | opcode % 11 | event | operands |
//! |---|---|---|
//! | 0 | a device sends a message to the other person (a clinician device an appointment confirmation, the client a check-in) | device |
//! | 1 | the oldest envelope in flight to a device is delivered | device |
//! | 2 | any envelope in flight is delivered | which |
//! | 3 | an envelope in flight is dropped for good | which |
//! | 4 | an envelope already received is delivered again | which |
//! | 5 | an envelope in flight is delivered with one byte changed (and stays in flight) | which, position (2 bytes), xor mask |
//! | 6 | every clock moves forward a little | seconds / 8 |
//! | 7 | a device loses its sessions with a device of the other person (its store row is deleted) | pair |
//! | 8 | the repair of a lost pair runs: request, accept, the resent envelopes go in flight | pair |
//! | 9 | the phone removes the desktop and the client stores the new list (once) | |
//! | 10 | everything in flight to a device is delivered, oldest first | device |
//!
//! Devices: operand % 3, phone, desktop, client. Pairs (operand % 4; the first device loses its
//! sessions with the second): phone/client, desktop/client, client/phone, client/desktop. The
//! sessions between the two clinician devices are never lost (a person's own devices have no
//! repair).
//!
//! The model, and what every step checks (a failed check is a [`Violation`]):
//!
//! * A send produces exactly the envelopes the model expects: for the other person's primary
//!   device if the sender has a session with it (else the send fails with `NoSession` and changes
//!   nothing), and in the outbox one for every other device the sender has a session with, never
//!   one for the desktop once it is removed.
//! * An envelope is *required* when the device it is for can read it: it was not sent by or to
//!   the removed desktop, and its receiver had not lost its sessions with its sender (since the
//!   last repair of that pair) when it was sent. Losing a session makes every envelope in flight
//!   from that device to the loser not required: it was sealed on the lost session and is lost
//!   unless the repair sends the message again. (A prekey message may still complete a handshake
//!   on the loser; that is allowed, never required.) A removal makes everything in flight from the
//!   desktop *refused* (it must fail) and everything in flight to it not required.
//! * A genuine envelope delivered for the first time is received with the message id it carries
//!   (`Message`, or `Synced` into the right conversation), or fails: a failure changes neither
//!   the device's history nor its stored sessions, and is a violation for a required envelope
//!   unless it is `MessageExists` for a message the device holds already (sent again by a repair).
//!   A replayed or tampered envelope always fails and changes nothing.
//! * A repair is accepted (after the clocks pass the rate limit), and sends the repairing
//!   device's resend queue, computed here from its store by the rule of PROTOCOL.md 12.2; each
//!   resent envelope carries the id at its place in that queue, and is required. With the desktop
//!   removed, a repair with it is refused and changes nothing.
//! * At the end, everything in flight is delivered (every lost pair repaired first, clocks
//!   allowing); then each device's history holds every message it sent or received exactly once,
//!   no message twice, and no message that was never sent to it.
//!
//! Clocks move at most [`MAX_ADVANCE_MS`] in a run, repairs included, so no message expires and
//! office hours never end.
//!
//! Two defects this target found are fixed and pinned by tests in `tests/devices_properties.rs`:
//! a repair resent the copies of the other clinician device's messages with that device's
//! sequence numbers, and a message sealed before a loss, read after the repair, made the lost
//! session current again.

use std::collections::{HashMap, HashSet};

use super::clinic_setup::{Clinic, Dev};
use super::{setup, Violation};
use confidant::consts::{MAX_RESEND_MESSAGES, MIN_REPAIR_INTERVAL_MS, REPAIR_RESEND_WINDOW_MS};
use confidant::session::Envelope;
use confidant::store::{Direction, MessageId, Store, StoreError, StoredSession, WriteBatch};
use confidant::{
    AppointmentKind, Category, Delivery, Draft, EndpointError, Error, HistoryEntry, Incoming, Received,
};

/// Most messages sent in one input.
const MAX_SENDS: usize = 32;
/// Most events read from one input.
const MAX_EVENTS: usize = 400;
/// Most the clocks move in one input (appointment confirmations live two hours).
const MAX_ADVANCE_MS: u64 = 100 * 60 * 1000;
/// Most the clock events themselves move the clocks; the rest is for repairs.
const MAX_EVENT_ADVANCE_MS: u64 = 40 * 60 * 1000;

/// The pairs a loss and a repair name: the first device loses its sessions with the second.
const PAIRS: [(Dev, Dev); 4] = [
    (Dev::Phone, Dev::Client),
    (Dev::Desktop, Dev::Client),
    (Dev::Client, Dev::Phone),
    (Dev::Client, Dev::Desktop),
];

/// One envelope the network carries.
struct Flight {
    from: Dev,
    to: Dev,
    bytes: Vec<u8>,
    /// The message id it carries, when the model knows it (not for replies).
    id: Option<MessageId>,
    /// Its receiver must read it (module documentation).
    required: bool,
    /// Its receiver must refuse it: it comes from the removed desktop.
    refused: bool,
}

/// How an envelope is delivered.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The genuine bytes, for the first time.
    First,
    /// The genuine bytes of an envelope already received.
    Replay,
    /// Changed bytes.
    Tampered,
}

/// What a device holds before a delivery, to compare after a failure.
#[derive(PartialEq, Eq)]
struct Snapshot {
    history: Vec<HistoryEntry>,
    sessions: Vec<Option<StoredSession>>,
}

/// What a run did, to check that the seeds reach the interesting paths.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Stats {
    pub(super) received: usize,
    pub(super) refused: usize,
    pub(super) repairs: usize,
    pub(super) resent: usize,
    pub(super) removed: bool,
}

struct Model {
    clinic: Clinic,
    flights: Vec<Flight>,
    /// Indexes into `flights`, in the order sent.
    in_flight: Vec<usize>,
    /// Indexes into `flights` of the envelopes received, in order.
    received: Vec<usize>,
    /// The message ids the model sent, and which device sent each.
    known: HashSet<MessageId>,
    sent_by: HashMap<MessageId, Dev>,
    /// Per device, the ids it must hold exactly once: sent or received.
    held: [HashSet<MessageId>; 3],
    /// Per device, the ids ever sent or addressed to it.
    addressed: [HashSet<MessageId>; 3],
    /// `lost[x][y]`: `x` lost its sessions with `y`, and no repair of the pair ran since.
    lost: [[bool; 3]; 3],
    /// `session[x][y]`: `x` has a session with `y` to send on.
    session: [[bool; 3]; 3],
    /// The time of the last repair of `[x][y]` (accepted by `y`).
    repaired_at: HashMap<(usize, usize), u64>,
    removed: bool,
    advanced: u64,
    event_advanced: u64,
    sends: usize,
    stats: Stats,
}

/// Reads operand bytes; past the end, zero.
struct Input<'a>(std::slice::Iter<'a, u8>);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        self.0.next().copied().unwrap_or(0)
    }
}

pub(super) fn run(data: &[u8]) -> Result<(), Violation> {
    run_with_stats(data).map(|_| ())
}

pub(super) fn run_with_stats(data: &[u8]) -> Result<Stats, Violation> {
    let mut model = Model::new(Clinic::build()?);
    let mut input = Input(data.iter());
    let mut events = 0;
    while let Some(&opcode) = input.0.next() {
        if events == MAX_EVENTS {
            break;
        }
        events += 1;
        model.event(opcode, &mut input)?;
    }
    model.finish()
}

fn which(len: usize, b: u8) -> Option<usize> {
    (len > 0).then(|| usize::from(b) % len)
}

impl Model {
    fn new(clinic: Clinic) -> Self {
        let mut session = [[true; 3]; 3];
        for d in Dev::ALL {
            session[d.index()][d.index()] = false;
        }
        Self {
            clinic,
            flights: Vec::new(),
            in_flight: Vec::new(),
            received: Vec::new(),
            known: HashSet::new(),
            sent_by: HashMap::new(),
            held: Default::default(),
            addressed: Default::default(),
            lost: [[false; 3]; 3],
            session,
            repaired_at: HashMap::new(),
            removed: false,
            advanced: 0,
            event_advanced: 0,
            sends: 0,
            stats: Stats::default(),
        }
    }

    fn event(&mut self, opcode: u8, input: &mut Input<'_>) -> Result<(), Violation> {
        match opcode % 11 {
            0 => self.send(Dev::from_byte(input.byte())),
            1 => {
                let to = Dev::from_byte(input.byte());
                match self.in_flight.iter().position(|&f| self.flights[f].to == to) {
                    Some(at) => self.deliver_at(at),
                    None => Ok(()),
                }
            }
            2 => match which(self.in_flight.len(), input.byte()) {
                Some(at) => self.deliver_at(at),
                None => Ok(()),
            },
            3 => {
                if let Some(at) = which(self.in_flight.len(), input.byte()) {
                    self.in_flight.remove(at);
                }
                Ok(())
            }
            4 => match which(self.received.len(), input.byte()) {
                Some(at) => {
                    let f = self.received[at];
                    let bytes = self.flights[f].bytes.clone();
                    self.deliver(f, &bytes, Mode::Replay)
                }
                None => Ok(()),
            },
            5 => {
                let pick = input.byte();
                let position = usize::from(u16::from_be_bytes([input.byte(), input.byte()]));
                let mask = input.byte().max(1);
                let Some(at) = which(self.in_flight.len(), pick) else { return Ok(()) };
                let f = self.in_flight[at];
                let mut bytes = self.flights[f].bytes.clone();
                let len = bytes.len();
                if let Some(b) = bytes.get_mut(position % len.max(1)) {
                    *b ^= mask;
                }
                self.deliver(f, &bytes, Mode::Tampered)
            }
            6 => {
                let millis = u64::from(input.byte()) * 8 * 1000;
                if self.event_advanced + millis <= MAX_EVENT_ADVANCE_MS {
                    self.event_advanced += millis;
                    self.advance(millis);
                }
                Ok(())
            }
            7 => {
                let (x, y) = PAIRS[usize::from(input.byte()) % PAIRS.len()];
                self.lose(x, y)
            }
            8 => {
                let (x, y) = PAIRS[usize::from(input.byte()) % PAIRS.len()];
                self.repair(x, y)
            }
            9 => self.remove_desktop(),
            _ => {
                let to = Dev::from_byte(input.byte());
                while let Some(at) = self.in_flight.iter().position(|&f| self.flights[f].to == to) {
                    self.deliver_at(at)?;
                }
                Ok(())
            }
        }
    }

    fn advance(&mut self, millis: u64) {
        self.advanced += millis;
        self.clinic.advance(millis);
    }

    fn now(&self) -> u64 {
        use confidant::clock::Clock;
        self.clinic.device(Dev::Phone).clock().now().as_millis()
    }

    fn snapshot(&self, d: Dev) -> Result<Snapshot, Violation> {
        let device = self.clinic.device(d);
        let history = setup("history", device.history(self.clinic.conversation(d)))?;
        let mut sessions = Vec::new();
        for other in Dev::ALL.into_iter().filter(|o| *o != d) {
            let id = self.clinic.session_id(d, other)?;
            sessions.push(setup("session", device.store().session(&id))?);
        }
        Ok(Snapshot { history, sessions })
    }

    fn count(&self, d: Dev, id: &MessageId) -> Result<usize, Violation> {
        let history = setup("history", self.clinic.device(d).history(self.clinic.conversation(d)))?;
        Ok(history.iter().filter(|e| e.id == *id).count())
    }

    /// Whether an envelope sealed now from `from` to `to` must be read.
    fn required(&self, from: Dev, to: Dev) -> bool {
        !self.lost[to.index()][from.index()]
            && !(self.removed && (from == Dev::Desktop || to == Dev::Desktop))
    }

    fn push(&mut self, from: Dev, to: Dev, bytes: Vec<u8>, id: Option<MessageId>) {
        if let Some(id) = id {
            self.addressed[to.index()].insert(id);
        }
        let required = self.required(from, to);
        let refused = self.removed && from == Dev::Desktop;
        self.flights.push(Flight { from, to, bytes, id, required, refused });
        self.in_flight.push(self.flights.len() - 1);
    }

    fn send(&mut self, from: Dev) -> Result<(), Violation> {
        if self.sends >= MAX_SENDS {
            return Ok(());
        }
        self.sends += 1;
        let text = format!("m{}", self.sends);
        let draft = if from == Dev::Client {
            Draft::new(Category::CheckIn, text)
        } else {
            Draft::new(Category::Appointment(AppointmentKind::Confirm), text)
        };
        let primary = if from == Dev::Client { Dev::Phone } else { Dev::Client };
        let device = self.clinic.device(from);
        let before = self.snapshot(from)?;
        let result = device.send(self.clinic.conversation(from), draft);
        let outbox = device.take_outbox();
        let can = self.session[from.index()][primary.index()];
        let out = match result {
            Err(e) => {
                if can || e != Error::Endpoint(EndpointError::NoSession) {
                    return Err(Violation::new(format!("{from:?} could not send: {e}")));
                }
                if !outbox.is_empty() || self.snapshot(from)? != before {
                    return Err(Violation::new(format!("{from:?}: a failed send left envelopes or changes")));
                }
                return Ok(());
            }
            Ok(out) => out,
        };
        if !can {
            return Err(Violation::new(format!("{from:?} sent to {primary:?} without a session")));
        }
        let Some(envelope) = out.envelope else {
            // Refused by the sender's own policy check (a cap): nothing goes out.
            if !outbox.is_empty() {
                return Err(Violation::new(format!("{from:?}: a refused draft left envelopes")));
            }
            return Ok(());
        };
        let id = out.message_id.ok_or_else(|| Violation::new("a sent message has no id"))?;
        self.known.insert(id);
        self.sent_by.insert(id, from);
        self.held[from.index()].insert(id);
        self.addressed[from.index()].insert(id);
        self.push(from, primary, envelope, Some(id));
        // The outbox: the other device of the pair, unless removed or without a session.
        let other = match from {
            Dev::Phone | Dev::Client => Dev::Desktop,
            Dev::Desktop => Dev::Phone,
        };
        let expected =
            usize::from(self.session[from.index()][other.index()] && !(self.removed && from != Dev::Desktop));
        if outbox.len() != expected {
            return Err(Violation::new(format!(
                "{from:?} left {} envelopes in its outbox, {expected} expected (desktop removed: {})",
                outbox.len(),
                self.removed
            )));
        }
        for Delivery { to, device, envelope } in outbox {
            let expected_to = if other.is_clinician() == from.is_clinician() {
                self.clinic.person(from)
            } else {
                self.clinic.conversation(from)
            };
            if self.clinic.by_key(&device) != Some(other) || to != *expected_to {
                return Err(Violation::new(format!("{from:?}: an outbox envelope for the wrong device")));
            }
            self.push(from, other, envelope, Some(id));
        }
        Ok(())
    }

    fn deliver_at(&mut self, at: usize) -> Result<(), Violation> {
        let f = self.in_flight[at];
        let bytes = self.flights[f].bytes.clone();
        self.deliver(f, &bytes, Mode::First)
    }

    /// Delivers `bytes` as envelope `f` (or a replay or a tampered copy of it) to its device.
    fn deliver(&mut self, f: usize, bytes: &[u8], mode: Mode) -> Result<(), Violation> {
        let (from, to, id) = (self.flights[f].from, self.flights[f].to, self.flights[f].id);
        let device = self.clinic.device(to);
        let before = self.snapshot(to)?;
        let person = self.clinic.person(from);
        let result = if from != Dev::Desktop && from.is_clinician() != to.is_clinician() {
            device.receive(person, bytes)
        } else {
            device.receive_from(person, &self.clinic.key(from), bytes)
        };
        let what = |m: &str| format!("{from:?} -> {to:?} ({}): {m}", Self::mode_name(mode));
        let incoming = match result {
            Err(e) => {
                self.stats.refused += 1;
                let after = self.snapshot(to)?;
                // The one failure that may change the sessions: a held message that is the first
                // of a new handshake keeps the new session (PROTOCOL.md 12.2); the history never.
                let kept_handshake = e == Error::Store(StoreError::MessageExists)
                    && mode == Mode::First
                    && matches!(Envelope::from_bytes(bytes), Ok(Envelope::Prekey(_)))
                    && after.history == before.history
                    && after.sessions != before.sessions;
                if after != before && !kept_handshake {
                    return Err(Violation::new(what(&format!("a failed delivery ({e}) changed the device"))));
                }
                if kept_handshake {
                    self.session[to.index()][from.index()] = true;
                }
                if mode != Mode::First {
                    return Ok(());
                }
                let required = self.flights[f].required;
                let exists = e == Error::Store(StoreError::MessageExists);
                if exists {
                    match id {
                        Some(id) if self.known.contains(&id) => {
                            if self.count(to, &id)? != 1 {
                                return Err(Violation::new(what("MessageExists for a message not held")));
                            }
                            self.held[to.index()].insert(id);
                        }
                        _ => {}
                    }
                } else if required {
                    return Err(Violation::new(what(&format!("a required envelope was refused: {e}"))));
                }
                // Delivered once: the network does not try again.
                self.in_flight.retain(|&g| g != f);
                return Ok(());
            }
            Ok(incoming) => incoming,
        };
        if mode != Mode::First {
            return Err(Violation::new(what("a replayed or tampered envelope was received")));
        }
        if self.flights[f].refused {
            return Err(Violation::new(what("the removed desktop's envelope was received")));
        }
        self.stats.received += 1;
        self.in_flight.retain(|&g| g != f);
        self.received.push(f);
        self.session[to.index()][from.index()] = true;
        let Incoming { received, replies, .. } = incoming;
        for reply in replies {
            self.push(to, from, reply, None);
        }
        let got = match &received {
            Received::Message(m) => Some(m.id),
            Received::Synced { peer, id } => {
                if !to.is_clinician() || !from.is_clinician() || *peer != self.clinic.client_id {
                    return Err(Violation::new(what("a sync copy in the wrong conversation")));
                }
                Some(*id)
            }
            Received::Refused { reason, .. } => {
                return Err(Violation::new(what(&format!(
                    "a message within the agreement refused: {reason:?}"
                ))));
            }
            Received::Expired { .. } => return Err(Violation::new(what("a message expired"))),
            _ => None,
        };
        match (id.filter(|i| self.known.contains(i)), got) {
            (Some(id), Some(got)) if id == got => {
                if !self.held[to.index()].insert(id) {
                    return Err(Violation::new(what("a message received a second time")));
                }
                if self.count(to, &id)? != 1 {
                    return Err(Violation::new(what("a received message is not in the history once")));
                }
                Ok(())
            }
            (Some(_), _) => Err(Violation::new(what(&format!("received as another message: {received:?}")))),
            (None, Some(got)) if self.known.contains(&got) => {
                Err(Violation::new(what("a reply or system message received as a message sent")))
            }
            (None, _) => Ok(()),
        }
    }

    fn mode_name(mode: Mode) -> &'static str {
        match mode {
            Mode::First => "first delivery",
            Mode::Replay => "replay",
            Mode::Tampered => "tampered",
        }
    }

    fn lose(&mut self, x: Dev, y: Dev) -> Result<(), Violation> {
        if self.removed && (x == Dev::Desktop || y == Dev::Desktop) {
            return Ok(());
        }
        let mut batch = WriteBatch::new();
        batch.delete_session(&self.clinic.session_id(x, y)?);
        setup("delete session", self.clinic.device(x).store().apply(batch))?;
        self.lost[x.index()][y.index()] = true;
        self.session[x.index()][y.index()] = false;
        for &f in &self.in_flight {
            let flight = &mut self.flights[f];
            if flight.from == y && flight.to == x {
                flight.required = false;
            }
        }
        Ok(())
    }

    /// The ids of the resend queue `y` sends to `x`'s person (PROTOCOL.md 12.2), oldest first.
    fn resend_queue(&self, y: Dev) -> Result<Vec<MessageId>, Violation> {
        let now = self.now();
        let since = now.saturating_sub(REPAIR_RESEND_WINDOW_MS);
        let device = self.clinic.device(y);
        let mut queue: Vec<_> = setup("messages", device.store().messages(self.clinic.conversation(y)))?
            .into_iter()
            .filter(|m| m.direction == Direction::Outbound && m.at.as_millis() >= since)
            .filter(|m| m.expires_at.is_none_or(|at| at.as_millis() > now))
            // Only what `y` sent itself: the copies of its person's other device's messages stay
            // out (PROTOCOL.md 16.9). The desktop sent nothing before the model started.
            .filter(|m| match self.sent_by.get(&m.id) {
                Some(sender) => *sender == y,
                None => y != Dev::Desktop,
            })
            .map(|m| (m.at, m.id))
            .collect();
        queue.sort();
        let skip = queue.len().saturating_sub(MAX_RESEND_MESSAGES);
        Ok(queue.split_off(skip).into_iter().map(|(_, id)| id).collect())
    }

    fn repair(&mut self, x: Dev, y: Dev) -> Result<(), Violation> {
        if !self.lost[x.index()][y.index()] {
            return Ok(());
        }
        let (xd, yd) = (self.clinic.device(x), self.clinic.device(y));
        if self.removed && (x == Dev::Desktop || y == Dev::Desktop) {
            // The client no longer knows the desktop: it neither asks it nor accepts its request.
            let before = self.snapshot(Dev::Client)?;
            let refused = if x == Dev::Client {
                xd.repair_request_for_device(&self.clinic.clinician_id, &self.clinic.key(Dev::Desktop))
                    .is_err()
            } else {
                let request = setup("repair request", xd.repair_request(self.clinic.conversation(x)))?;
                yd.accept_repair_request(self.clinic.conversation(y), &request).is_err()
            };
            if !refused || self.snapshot(Dev::Client)? != before {
                return Err(Violation::new(format!("a repair {x:?}/{y:?} with the removed desktop ran")));
            }
            return Ok(());
        }
        if let Some(&last) = self.repaired_at.get(&(x.index(), y.index())) {
            let wait = (last + MIN_REPAIR_INTERVAL_MS).saturating_sub(self.now()).max(1);
            if self.advanced + wait > MAX_ADVANCE_MS {
                return Ok(());
            }
            self.advance(wait);
        }
        let (xd, yd) = (self.clinic.device(x), self.clinic.device(y));
        let request = if y == Dev::Desktop {
            xd.repair_request_for_device(self.clinic.conversation(x), &self.clinic.key(y))
        } else {
            xd.repair_request(self.clinic.conversation(x))
        };
        let request =
            request.map_err(|e| Violation::new(format!("{x:?} cannot ask {y:?} for a repair: {e}")))?;
        let queue = self.resend_queue(y)?;
        let resent = yd
            .accept_repair_request(self.clinic.conversation(y), &request)
            .map_err(|e| Violation::new(format!("{y:?} refused {x:?}'s repair request: {e}")))?;
        if resent.len() != queue.len() {
            return Err(Violation::new(format!(
                "{y:?} resent {} envelopes to {x:?}, its resend queue holds {}",
                resent.len(),
                queue.len()
            )));
        }
        self.stats.repairs += 1;
        self.stats.resent += resent.len();
        self.repaired_at.insert((x.index(), y.index()), self.now());
        self.lost[x.index()][y.index()] = false;
        self.session[y.index()][x.index()] = true;
        for (bytes, id) in resent.into_iter().zip(queue) {
            self.push(y, x, bytes, Some(id));
        }
        Ok(())
    }

    fn remove_desktop(&mut self) -> Result<(), Violation> {
        if self.removed {
            return Ok(());
        }
        let (phone, client) = (self.clinic.device(Dev::Phone), self.clinic.device(Dev::Client));
        let list = setup("remove", phone.remove_device(&self.clinic.key(Dev::Desktop)))?;
        let change = setup("update devices", client.update_devices(&self.clinic.clinician_id, &list))?;
        if change.removed != vec![self.clinic.key(Dev::Desktop)] {
            return Err(Violation::new("the client did not learn that the desktop was removed"));
        }
        self.removed = true;
        self.stats.removed = true;
        for &f in &self.in_flight {
            let flight = &mut self.flights[f];
            if flight.from == Dev::Desktop {
                flight.refused = true;
                flight.required = false;
            } else if flight.to == Dev::Desktop {
                flight.required = false;
            }
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Stats, Violation> {
        while !self.in_flight.is_empty() {
            self.deliver_at(0)?;
        }
        let lost: Vec<(Dev, Dev)> =
            PAIRS.into_iter().filter(|(x, y)| self.lost[x.index()][y.index()]).collect();
        for (x, y) in lost {
            self.repair(x, y)?;
        }
        while !self.in_flight.is_empty() {
            self.deliver_at(0)?;
        }
        for d in Dev::ALL {
            let history = setup("history", self.clinic.device(d).history(self.clinic.conversation(d)))?;
            let mut seen = HashSet::new();
            for entry in &history {
                if !seen.insert(entry.id) {
                    return Err(Violation::new(format!("{d:?} holds a message twice")));
                }
                if self.known.contains(&entry.id) && !self.addressed[d.index()].contains(&entry.id) {
                    return Err(Violation::new(format!("{d:?} holds a message never sent to it")));
                }
            }
            if self.held[d.index()].iter().any(|id| !seen.contains(id)) {
                return Err(Violation::new(format!("{d:?} lost a message it held or had to read")));
            }
        }
        Ok(self.stats)
    }
}
