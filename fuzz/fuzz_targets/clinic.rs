//! `cargo fuzz run -s none clinic`: see `Target::Clinic` in `support/src/fuzzing`.
#![no_main]
#![allow(clippy::panic)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(violation) = confidant_support::fuzzing::Target::Clinic.run(data) {
        panic!("clinic: {violation}");
    }
});
