//! `cargo fuzz run -s none device_decode`: see `Target::DeviceDecode` in `support/src/fuzzing`.
#![no_main]
#![allow(clippy::panic)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(violation) = confidant_support::fuzzing::Target::DeviceDecode.run(data) {
        panic!("device_decode: {violation}");
    }
});
