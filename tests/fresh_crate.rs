//! confidant as a new app sees it: a brand-new crate whose only dependency is `confidant`, with
//! default features.
//!
//! * The README's example (`examples/readme.rs`, shown in the README in full) compiles and runs
//!   there unchanged.
//! * The low-level layer is not there: a program that names `confidant::low_level` does not
//!   compile.
//! * No cryptographic crate is compiled twice in two versions (`cargo tree -d -e normal`).
//!
//! The crate is built offline against the workspace's `Cargo.lock`, in its own target directory
//! under `target/`, so only the first run pays for a cold build.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A new crate in `dir` with `main` as its `src/main.rs`, depending on confidant only.
fn fresh_crate(dir: &Path, main: &str) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let manifest = format!(
        "[package]\nname = \"fresh-app\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n\
         [dependencies]\nconfidant = {{ path = {:?} }}\n\n[workspace]\n",
        root().display().to_string()
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::copy(root().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    std::fs::write(dir.join("src/main.rs"), main).unwrap();
}

fn cargo(dir: &Path, args: &[&str]) -> Output {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    Command::new(cargo)
        .args(args)
        .arg("--offline")
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", root().join("target/fresh-crate"))
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// The README shows `examples/readme.rs` whole, without hidden lines, and a crate that depends on
/// confidant and nothing else runs it as pasted.
#[test]
fn the_readme_example_runs_in_a_new_crate() {
    let example = std::fs::read_to_string(root().join("examples/readme.rs")).unwrap();
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("```rust\n{example}```")),
        "README.md must show examples/readme.rs verbatim in a ```rust block"
    );
    assert!(!example.lines().any(|line| line.trim_start().starts_with("# ")), "no hidden lines");

    let dir = tempfile::tempdir().unwrap();
    fresh_crate(dir.path(), &example);
    let run = cargo(dir.path(), &["run", "--quiet"]);
    assert!(run.status.success(), "the README example does not run in a new crate:\n{}", text(&run));
}

/// With default features, `confidant::low_level` (raw secrets, bare ratchets, record sealing)
/// does not exist.
#[test]
fn a_default_build_has_no_low_level_layer() {
    let dir = tempfile::tempdir().unwrap();
    fresh_crate(dir.path(), "fn main() {\n    let _ = confidant::low_level::x25519([1; 32], [9; 32]);\n}\n");
    let check = cargo(dir.path(), &["check", "--quiet"]);
    let output = text(&check);
    assert!(!check.status.success(), "confidant::low_level compiled in a default build");
    assert!(output.contains("low_level"), "failed for another reason:\n{output}");

    // The same program compiles once the feature is asked for, so the failure above is the gate.
    let manifest = std::fs::read_to_string(dir.path().join("Cargo.toml")).unwrap();
    let manifest = manifest.replace("confidant = {", "confidant = { features = [\"low-level\"],");
    std::fs::write(dir.path().join("Cargo.toml"), manifest).unwrap();
    let check = cargo(dir.path(), &["check", "--quiet"]);
    assert!(check.status.success(), "with the feature:\n{}", text(&check));
}

/// `cargo tree -d -e normal` for an app that depends on confidant: no crate appears in two
/// versions among the cryptographic ones.
#[test]
fn no_cryptographic_crate_is_duplicated() {
    let dir = tempfile::tempdir().unwrap();
    fresh_crate(dir.path(), "fn main() {}\n");
    let tree = cargo(dir.path(), &["tree", "-d", "-e", "normal", "--depth", "0", "--prefix", "none"]);
    assert!(tree.status.success(), "{}", text(&tree));
    let duplicated = String::from_utf8_lossy(&tree.stdout).into_owned();
    let crypto = [
        "rand_core",
        "rand ",
        "digest",
        "cipher",
        "crypto-common",
        "curve25519-dalek",
        "universal-hash",
        "aead",
        "sha2",
        "hmac",
        "hkdf",
        "chacha20",
        "poly1305",
        "ed25519",
        "x25519-dalek",
        "ml-kem",
        "signature",
        "getrandom",
        "zeroize",
        "subtle",
        "block-buffer",
    ];
    for line in duplicated.lines() {
        assert!(
            !crypto.iter().any(|name| line.starts_with(name)),
            "duplicated cryptographic crate: {line}\n{duplicated}"
        );
    }
}
