//! The confidant-v1 test vectors (VECTORS.md): the committed files verify against the library,
//! and generation is deterministic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use confidant_support::vectors as vectors_support;

use vectors_support::{generate, verify};

/// The file made by an independent implementation of the profile.
const INDEPENDENT: &str = "tests/data/confidant-v1-seed1.json";
/// The file this crate's generator made with seed 2.
const GENERATED: &str = "tests/data/confidant-v1-seed2-generated.json";

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
