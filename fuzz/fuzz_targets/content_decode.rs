//! `cargo fuzz run -s none content_decode`: see `Target::ContentDecode` in `src/internal/fuzzing`.
#![no_main]
#![allow(clippy::panic)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(violation) = confidant::internal::fuzzing::Target::ContentDecode.run(data) {
        panic!("content_decode: {violation}");
    }
});
