//! `cargo fuzz run -s none envelope_decode`: see `Target::EnvelopeDecode` in `support/src/fuzzing`.
#![no_main]
#![allow(clippy::panic)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(violation) = confidant_support::fuzzing::Target::EnvelopeDecode.run(data) {
        panic!("envelope_decode: {violation}");
    }
});
