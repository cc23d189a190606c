//! `cargo fuzz run -s none endpoint_batch`: see `Target::EndpointBatch` in `support/src/fuzzing`.
#![no_main]
#![allow(clippy::panic)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(violation) = confidant_support::fuzzing::Target::EndpointBatch.run(data) {
        panic!("endpoint_batch: {violation}");
    }
});
