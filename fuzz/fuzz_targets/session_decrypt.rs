//! `cargo fuzz run -s none session_decrypt`: see `Target::SessionDecrypt` in `support/src/fuzzing`.
#![no_main]
#![allow(clippy::panic)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(violation) = confidant_support::fuzzing::Target::SessionDecrypt.run(data) {
        panic!("session_decrypt: {violation}");
    }
});
