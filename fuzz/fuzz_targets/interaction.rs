//! `cargo fuzz run -s none interaction`: see `Target::Interaction` in `support/src/fuzzing`.
#![no_main]
#![allow(clippy::panic)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(violation) = confidant_support::fuzzing::Target::Interaction.run(data) {
        panic!("interaction: {violation}");
    }
});
