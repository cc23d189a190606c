//! The confidant-v1 test vectors (VECTORS.md): the committed files verify against the library,
//! and generation is deterministic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use confidant_support::vectors as vectors_support;

use vectors_support::{generate, generate_devices, verify};

/// The file made by an independent implementation of the profile.
const INDEPENDENT: &str = "tests/data/confidant-v1-seed1.json";
/// The file this crate's generator made with seed 2.
const GENERATED: &str = "tests/data/confidant-v1-seed2-generated.json";
/// The device-list file this crate's generator made with `--devices` and seed 1.
const DEVICES: &str = "tests/data/confidant-v1-devices.json";
/// Cases of the device-list file: 3 valid lists and 8 refusals.
const DEVICE_CASES: usize = 11;

fn read(path: &str) -> String {
    let full = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("cannot read {full}: {e}"))
}

fn assert_verifies(what: &str, text: &str) {
    let report = verify(text);
    let failures: Vec<&String> = report.lines.iter().filter(|line| !line.starts_with("PASS")).collect();
    assert!(report.ok() && failures.is_empty(), "{what}: {}\n{failures:#?}", report.summary());
    // 19 ratchet cases, 5 x3dh cases and 7 pqxdh cases.
    assert_eq!(report.passed, 31, "{what}: {}", report.summary());
}

#[test]
fn independent_file_verifies() {
    assert_verifies(INDEPENDENT, &read(INDEPENDENT));
}

#[test]
fn committed_generated_file_verifies_and_is_current() {
    let committed = read(GENERATED);
    assert_verifies(GENERATED, &committed);
    let fresh = generate(2).unwrap();
    assert!(
        fresh == committed,
        "generate(2) no longer gives {GENERATED}; regenerate it and review the change"
    );
}

#[test]
fn generation_is_deterministic_and_verifies() {
    let first = generate(7).unwrap();
    let second = generate(7).unwrap();
    assert!(first == second, "two runs with seed 7 differ");
    assert_verifies("generate(7)", &first);
}

#[test]
fn a_changed_parameter_rejects_the_file() {
    let text = read(INDEPENDENT).replacen("\"max_skip\": 1000", "\"max_skip\": 1001", 1);
    let report = verify(&text);
    assert!(!report.ok());
    assert_eq!(report.summary(), "0 passed, 1 failed");
}

#[test]
fn committed_device_file_verifies_and_is_current() {
    let committed = read(DEVICES);
    let report = verify(&committed);
    assert!(report.ok(), "{DEVICES}: {}\n{:#?}", report.summary(), report.lines);
    assert_eq!(report.passed, DEVICE_CASES, "{DEVICES}: {}", report.summary());
    assert!(report.lines.iter().any(|l| l == "PASS unsorted"), "{:#?}", report.lines);
    let fresh = generate_devices(1).unwrap();
    assert!(
        fresh == committed,
        "generate_devices(1) no longer gives {DEVICES}; regenerate it and review the change"
    );
    assert!(generate_devices(5).unwrap() != committed, "the seed does not reach the device cases");
}

#[test]
fn a_changed_device_case_fails() {
    let committed = read(DEVICES);
    // A refusal read as valid, a valid list read as a refusal, and a changed name.
    for (from, to) in [
        ("\"expect\": \"unsorted\"", "\"expect\": \"valid\""),
        ("\"expect\": \"valid\"", "\"expect\": \"bad_signature\""),
        ("\"name\": \"laptop\"", "\"name\": \"laptoq\""),
    ] {
        assert!(committed.contains(from), "{from}");
        let report = verify(&committed.replacen(from, to, 1));
        assert_eq!(report.failed, 1, "{from} -> {to}: {}", report.summary());
    }
    let report = verify(&committed.replacen("\"max_devices\": 8", "\"max_devices\": 9", 1));
    assert!(!report.ok());
}
