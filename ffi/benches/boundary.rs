//! The cost of crossing the boundary, Rust side: one message sent by the client and received by
//! the clinician (encrypt, seal and save on one store file; open, decrypt and save on the other),
//! timed the same way `ffi/benches/boundary.py` times it through Python, twice here:
//!
//! * `rust library`: `confidant::Endpoint` called directly, as a Rust app would;
//! * `rust bindings`: the same calls through this crate's `Endpoint`, from Rust (the conversions
//!   into records, without a foreign language);
//!
//! and one boundary crossing alone (`identity_key`, 32 bytes back).
//!
//! `cargo bench -p confidant-ffi --bench boundary`; `BENCH_DIR` puts the store files in another
//! directory (for example `/dev/shm`, where a commit's fsync costs nothing). BENCHMARKS.md
//! ("Bindings") has the method and the numbers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use confidant::store::{PeerId, StoreKeySource};
use confidant::{
    AgreementTerms, AppointmentKind, Availability, Category, Draft, Endpoint, Received, Role, Weekday, Window,
};

/// Messages per round, rounds (the median is reported), and messages before the first round.
const MESSAGES: usize = 1000;
const ROUNDS: usize = 5;
const WARM_UP: usize = 200;
/// The message text: 100 characters, as in the Python script.
const TEXT: &str =
    "See you Thursday at 3pm. Parking is free behind the building; ring the bell marked Lee, 2nd floor...";

fn main() {
    let base = std::env::var("BENCH_DIR").unwrap_or_else(|_| std::env::temp_dir().display().to_string());
    assert_eq!(TEXT.chars().count(), 100);

    let dir = tempfile::tempdir_in(&base).unwrap();
    let (clinician, client) = library_pair(dir.path());
    let (sam, dr_lee) = (PeerId::new("sam").unwrap(), PeerId::new("dr-lee").unwrap());
    let library = median_micros(|| {
        let draft = Draft::new(Category::Appointment(AppointmentKind::Confirm), TEXT);
        let envelope = client.send(&dr_lee, draft).unwrap().envelope.unwrap();
        black_box(clinician.receive(&sam, &envelope).unwrap());
    });
    let crossing = median_nanos(|| {
        black_box(client.identity_key());
    });
    println!("rust library:  {library:.1} µs per message (send + receive), identity_key {crossing:.0} ns");

    let dir = tempfile::tempdir_in(&base).unwrap();
    let (clinician, client) = bindings_pair(dir.path());
    let bindings = median_micros(|| {
        let draft = confidant_ffi::Draft {
            category: confidant_ffi::Category::AppointmentConfirm,
            text: TEXT.into(),
            reply_to: None,
            request_acknowledgement: false,
            corrects: None,
        };
        let envelope = client.send("dr-lee".into(), draft).unwrap().envelope.unwrap();
        black_box(clinician.receive("sam".into(), envelope).unwrap());
    });
    let crossing = median_nanos(|| {
        black_box(client.identity_key());
    });
    println!("rust bindings: {bindings:.1} µs per message (send + receive), identity_key {crossing:.0} ns");
}

/// The median over [`ROUNDS`] of the mean time of one call of `message`, in microseconds.
fn median_micros(mut message: impl FnMut()) -> f64 {
    for _ in 0..WARM_UP {
        message();
    }
    let mut rounds: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..MESSAGES {
                message();
            }
            start.elapsed().as_secs_f64() * 1e6 / MESSAGES as f64
        })
        .collect();
    rounds.sort_by(f64::total_cmp);
    rounds[ROUNDS / 2]
}

/// The median time of one call of `call`, in nanoseconds, over rounds of 100 000 calls.
fn median_nanos(mut call: impl FnMut()) -> f64 {
    let mut rounds: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..100_000 {
                call();
            }
            start.elapsed().as_secs_f64() * 1e9 / 100_000.0
        })
        .collect();
    rounds.sort_by(f64::total_cmp);
    rounds[ROUNDS / 2]
}

fn every_day() -> Vec<Window> {
    Weekday::ALL.iter().map(|&day| Window::new(day, (0, 0), (24, 0))).collect()
}

/// Two library endpoints on key-protected files, with an agreement open all day.
fn library_pair(dir: &Path) -> (Endpoint, Endpoint) {
    let open = |name: &str, key: u8, role, id: &str| {
        Endpoint::open(dir.join(name), &StoreKeySource::key([key; 32]), role, id).unwrap()
    };
    let clinician = open("clinician.db", 1, Role::Clinician, "dr-lee");
    let client = open("client.db", 2, Role::Client, "sam");
    let (sam, dr_lee) = (PeerId::new("sam").unwrap(), PeerId::new("dr-lee").unwrap());
    clinician.start_session(&sam, &client.prekey_bundle().unwrap()).unwrap();
    let terms = AgreementTerms::new(
        1,
        clinician.identity_key(),
        client.identity_key(),
        Availability::new("America/New_York", every_day()).unwrap(),
        "Within a day.".into(),
        vec!["Call or text 988".into()],
    );
    let proposal = clinician.propose_agreement(&sam, terms).unwrap();
    let Received::AgreementProposed { id, .. } = client.receive(&dr_lee, &proposal).unwrap().received else {
        panic!("expected the proposal")
    };
    let acceptance = client.accept_agreement(&dr_lee, id).unwrap();
    clinician.receive(&sam, &acceptance).unwrap();
    (clinician, client)
}

/// The same through the bindings' `Endpoint`, with the same terms (`usual_terms`, open all day).
fn bindings_pair(
    dir: &Path,
) -> (std::sync::Arc<confidant_ffi::Endpoint>, std::sync::Arc<confidant_ffi::Endpoint>) {
    use confidant_ffi::{usual_terms, Category as C, Endpoint as E, Role as R, Weekday as W};
    let path = |name: &str| dir.join(name).display().to_string();
    let clinician =
        E::open_with_key(path("clinician.db"), vec![1; 32], R::Clinician, "dr-lee".into()).unwrap();
    let client = E::open_with_key(path("client.db"), vec![2; 32], R::Client, "sam".into()).unwrap();
    clinician.start_session("sam".into(), client.prekey_bundle().unwrap()).unwrap();
    let days = vec![W::Monday, W::Tuesday, W::Wednesday, W::Thursday, W::Friday, W::Saturday, W::Sunday];
    let terms = usual_terms(
        1,
        "America/New_York".into(),
        days,
        0,
        24 * 60,
        "Within a day.".into(),
        vec!["Call or text 988".into()],
        vec![
            C::AppointmentConfirm,
            C::AppointmentReschedule,
            C::AppointmentCancel,
            C::AppointmentReminder,
            C::AppointmentDirections,
        ],
    );
    let proposal = clinician.propose_agreement("sam".into(), terms).unwrap();
    let confidant_ffi::Received::AgreementProposed { id, .. } =
        client.receive("dr-lee".into(), proposal).unwrap().received
    else {
        panic!("expected the proposal")
    };
    let acceptance = client.accept_agreement("dr-lee".into(), id).unwrap();
    clinician.receive("sam".into(), acceptance).unwrap();
    (clinician, client)
}
