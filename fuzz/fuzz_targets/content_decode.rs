//! `cargo fuzz run -s none content_decode`: see `Target::ContentDecode` in `support/src/fuzzing`.
#![no_main]
#![allow(clippy::panic)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(violation) = confidant_support::fuzzing::Target::ContentDecode.run(data) {
        panic!("content_decode: {violation}");
    }
});
