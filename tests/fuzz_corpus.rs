//! Replays the committed fuzz corpora (`fuzz/corpus/<target>/`) through the same property checks
//! the fuzz targets run, so that every input a fuzzer ever kept, crashes included, stays a
//! regression test under `cargo test`.
//!
//! To add a crash found by `cargo fuzz`, copy it from `fuzz/artifacts/<target>/` into
//! `fuzz/corpus/<target>/`. To rewrite the generated seed files after a fixture changed, run
//! `CONFIDANT_WRITE_SEEDS=1 cargo test --test fuzz_corpus`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use confidant_support::fuzzing::Target;
use sha2::{Digest, Sha256};

fn corpus_dir(target: Target) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target.name())
}

#[test]
fn every_committed_corpus_file_passes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut replayed = 0;
    for dir in std::fs::read_dir(&root).expect("fuzz/corpus exists") {
        let dir = dir.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let target = Target::from_name(&name).unwrap_or_else(|| panic!("fuzz/corpus/{name}: no such target"));
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|f| f.unwrap().path()).collect();
        files.sort();
        for file in files {
            let data = std::fs::read(&file).unwrap();
            if let Err(violation) = target.run(&data) {
                panic!("{}: {violation}", file.display());
            }
            replayed += 1;
        }
    }
    for target in Target::ALL {
        let dir = corpus_dir(target);
        assert!(
            dir.read_dir().is_ok_and(|mut d| d.next().is_some()),
            "{} has no committed corpus",
            target.name()
        );
    }
    assert!(replayed > 0);
}

#[test]
fn generated_seeds_pass() {
    let write = std::env::var_os("CONFIDANT_WRITE_SEEDS").is_some();
    for target in Target::ALL {
        for seed in target.seeds().unwrap() {
            if let Err(violation) = target.run(&seed) {
                panic!("{} seed {}: {violation}", target.name(), hex::encode(&seed[..seed.len().min(16)]));
            }
            if write {
                let dir = corpus_dir(target);
                std::fs::create_dir_all(&dir).unwrap();
                let name = format!("seed-{}", &hex::encode(Sha256::digest(&seed))[..16]);
                std::fs::write(dir.join(name), &seed).unwrap();
            }
        }
    }
}

#[test]
fn target_names_round_trip() {
    for target in Target::ALL {
        assert_eq!(Target::from_name(target.name()), Some(target));
    }
    assert_eq!(Target::from_name("nonsense"), None);
}
