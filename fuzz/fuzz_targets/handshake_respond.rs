//! `cargo fuzz run -s none handshake_respond`: see `Target::HandshakeRespond` in `src/internal/fuzzing`.
#![no_main]
#![allow(clippy::panic)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(violation) = confidant::internal::fuzzing::Target::HandshakeRespond.run(data) {
        panic!("handshake_respond: {violation}");
    }
});
