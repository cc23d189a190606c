//! `cargo fuzz run -s none interaction`: see `Target::Interaction` in `src/internal/fuzzing`.
#![no_main]
#![allow(clippy::panic)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(violation) = confidant::internal::fuzzing::Target::Interaction.run(data) {
        panic!("interaction: {violation}");
    }
});
