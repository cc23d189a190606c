//! Whole-endpoint throughput as an app gets it, in Rust: the flow of `benches/endpoint.rs` (a
//! client's endpoint sends check-ins, the clinician's receives them and seals a delivery receipt
//! back, the client receives the receipts) on endpoints opened as the bindings open them
//! (`Endpoint::open` on `SqliteStore` files with a platform key, the system clock, the operating
//! system's generator), so that `ffi/benches/throughput.py` can set the same flow through the
//! Python package next to it:
//!
//! ```sh
//! cargo run --release -p confidant-benches --example endpoint_throughput
//! ```
//!
//! Prints one line per measurement, `name msg/s send/s receive/s receipt/s`: messages per second
//! of the whole flow (the median of the rounds), and of each of its three steps alone (their
//! time summed over the same rounds). `BENCH_DIR` puts the store files in another directory
//! than the system's temporary one. BENCHMARKS.md ("Endpoint throughput") has the numbers.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::{Duration, Instant};

use confidant::content::CategoryKind;
use confidant::expiry::{ExpiryStart, Lifespan};
use confidant::store::{PeerId, StoreKeySource};
use confidant::{AgreementTerms, Availability, Category, Draft, Endpoint, Received, Role, Weekday, Window};

/// The check-in text of `benches/endpoint.rs`.
const TEXT: &str = "Rough morning, but I used the breathing exercise before the meeting and it helped. \
                    Could we talk about the sleep diary on Thursday?";
const HOUR: u64 = 3_600_000;
/// Rounds and messages per round, one by one and in batches (as `benches/endpoint.rs` pairs
/// them), and messages sent one by one before the first round.
const ONE_ROUNDS: usize = 25;
const ONE_PER_ROUND: usize = 10;
const BATCH_ROUNDS: usize = 7;
const BATCH: usize = 100;
const WARM_UP: usize = 20;

struct Flow {
    clinician: Endpoint,
    client: Endpoint,
    sam: PeerId,
    dr_lee: PeerId,
}

/// Time spent in each step.
#[derive(Default)]
struct Steps {
    send: Duration,
    receive: Duration,
    receipt: Duration,
}

impl Flow {
    /// Two endpoints on key-protected files in `dir`, agreed with the terms of
    /// `confidant_support::pair` (check-ins allowed, their lifespans) and receipts on, but office
    /// hours all day every day, since the clock is the system's.
    fn new(dir: &Path) -> Self {
        let open = |name: &str, role, id: &str| {
            Endpoint::open(dir.join(name), &StoreKeySource::key([7; 32]), role, id).unwrap()
        };
        let clinician = open("clinician.db", Role::Clinician, "dr-lee");
        let client = open("client.db", Role::Client, "sam");
        let (sam, dr_lee) = (PeerId::new("sam").unwrap(), PeerId::new("dr-lee").unwrap());
        clinician.start_session(&sam, &client.prekey_bundle().unwrap()).unwrap();
        let every_day = Weekday::ALL.iter().map(|&day| Window::new(day, (0, 0), (24, 0))).collect();
        let mut terms = AgreementTerms::new(
            1,
            clinician.identity_key(),
            client.identity_key(),
            Availability::new("America/New_York", every_day).unwrap(),
            "I reply within one business day.".into(),
            vec!["Call or text 988 (Suicide & Crisis Lifeline)".into()],
        );
        terms.client_may_send.push(CategoryKind::CheckIn);
        terms
            .lifespans
            .insert(CategoryKind::CheckIn, Lifespan::new(24 * HOUR, ExpiryStart::FromRead).unwrap());
        terms.lifespans.insert(
            CategoryKind::AppointmentConfirm,
            Lifespan::new(2 * HOUR, ExpiryStart::FromSend).unwrap(),
        );
        terms.receipts_enabled = true;
        let proposal = clinician.propose_agreement(&sam, terms).unwrap();
        let Received::AgreementProposed { id, .. } = client.receive(&dr_lee, &proposal).unwrap().received
        else {
            panic!("expected the proposal")
        };
        let acceptance = client.accept_agreement(&dr_lee, id).unwrap();
        assert!(matches!(
            clinician.receive(&sam, &acceptance).unwrap().received,
            Received::AgreementAccepted { version: 1 }
        ));
        Self { clinician, client, sam, dr_lee }
    }

    fn send(&self, steps: &mut Steps) -> Vec<u8> {
        let start = Instant::now();
        let sent = self.client.send(&self.dr_lee, Draft::new(Category::CheckIn, TEXT)).unwrap();
        steps.send += start.elapsed();
        sent.envelope.unwrap()
    }

    /// One message and its receipt: three transactions.
    fn one(&self, steps: &mut Steps) {
        let envelope = self.send(steps);
        let start = Instant::now();
        let incoming = self.clinician.receive(&self.sam, &envelope).unwrap();
        steps.receive += start.elapsed();
        assert!(matches!(incoming.received, Received::Message(_)));
        let [receipt] = &incoming.replies[..] else { panic!("one receipt") };
        let start = Instant::now();
        let back = self.client.receive(&self.dr_lee, receipt).unwrap();
        steps.receipt += start.elapsed();
        assert!(matches!(back.received, Received::Receipt(_)));
    }

    /// `n` messages sent one by one, received in one batch, their receipts in another.
    fn batch(&self, n: usize, steps: &mut Steps) {
        let envelopes: Vec<Vec<u8>> = (0..n).map(|_| self.send(steps)).collect();
        let start = Instant::now();
        let results = self.clinician.receive_batch(&self.sam, &envelopes).unwrap();
        steps.receive += start.elapsed();
        let mut receipts = Vec::with_capacity(n);
        for result in results {
            let incoming = result.unwrap();
            assert!(matches!(incoming.received, Received::Message(_)));
            receipts.extend(incoming.replies);
        }
        assert_eq!(receipts.len(), n);
        let start = Instant::now();
        let back = self.client.receive_batch(&self.dr_lee, &receipts).unwrap();
        steps.receipt += start.elapsed();
        assert!(back.iter().all(|r| matches!(r, Ok(i) if matches!(i.received, Received::Receipt(_)))));
    }
}

/// Runs `rounds` rounds of `per_round` messages; prints the line described in the module docs.
fn measure(name: &str, rounds: usize, per_round: usize, mut round: impl FnMut(&mut Steps)) {
    let mut steps = Steps::default();
    let mut times: Vec<Duration> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            round(&mut steps);
            start.elapsed()
        })
        .collect();
    times.sort();
    let total = (rounds * per_round) as f64;
    let rate = |d: Duration| total / d.as_secs_f64();
    println!(
        "{name} {:.0} {:.0} {:.0} {:.0}",
        per_round as f64 / times[rounds / 2].as_secs_f64(),
        rate(steps.send),
        rate(steps.receive),
        rate(steps.receipt)
    );
}

fn main() {
    let base = std::env::var("BENCH_DIR").unwrap_or_else(|_| std::env::temp_dir().display().to_string());
    let dir = tempfile::tempdir_in(base).unwrap();
    let flow = Flow::new(dir.path());
    let mut steps = Steps::default();
    for _ in 0..WARM_UP {
        flow.one(&mut steps);
    }
    measure("one_by_one", ONE_ROUNDS, ONE_PER_ROUND, |steps| {
        for _ in 0..ONE_PER_ROUND {
            flow.one(steps);
        }
    });
    measure("batch_100", BATCH_ROUNDS, BATCH, |steps| flow.batch(BATCH, steps));
}
