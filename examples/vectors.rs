//! The confidant-v1 test-vector tool (VECTORS.md).
//!
//! ```text
//! cargo run --release --example vectors -- generate [--seed N] > FILE
//! cargo run --release --example vectors -- generate --devices [--seed N] > FILE
//! cargo run --release --example vectors -- verify FILE
//! ```
//!
//! `generate` writes the vector file for a seed (default 1); the same seed gives the same bytes.
//! With `--devices` it writes the device-list file instead: empty ratchet, x3dh and pqxdh
//! sections and a `device_lists` section (PROTOCOL.md section 16).
//! `verify` replays every case of a file (ratchet, x3dh, pqxdh and device_lists) against the library, prints
//! `PASS name` or `FAIL name: reason` per case and a final `N passed, M failed` line, and exits
//! with status 0 only if nothing failed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use confidant_support::vectors as support;

use std::io::Write;
use std::process::ExitCode;

const USAGE: &str = "usage: vectors generate [--devices] [--seed N] > FILE\n       vectors verify FILE";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["generate"] => generate(support::generate(1)),
        ["generate", "--seed", seed] => match seed.parse() {
            Ok(seed) => generate(support::generate(seed)),
            Err(_) => usage(),
        },
        ["generate", "--devices"] => generate(support::generate_devices(1)),
        ["generate", "--devices", "--seed", seed] => match seed.parse() {
            Ok(seed) => generate(support::generate_devices(seed)),
            Err(_) => usage(),
        },
        ["verify", path] => verify(path),
        _ => usage(),
    }
}

fn usage() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::from(2)
}

fn generate(file: Result<String, String>) -> ExitCode {
    match file {
        Ok(text) => {
            let mut out = std::io::stdout().lock();
            if out.write_all(text.as_bytes()).and_then(|()| out.flush()).is_err() {
                eprintln!("cannot write the vector file");
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(reason) => {
            eprintln!("generate: {reason}");
            ExitCode::FAILURE
        }
    }
}

fn verify(path: &str) -> ExitCode {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("cannot read {path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let report = support::verify(&text);
    for line in &report.lines {
        println!("{line}");
    }
    println!("{}", report.summary());
    if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
