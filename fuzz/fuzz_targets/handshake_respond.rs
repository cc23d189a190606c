//! `cargo fuzz run -s none handshake_respond`: see `Target::HandshakeRespond` in `support/src/fuzzing`.
#![no_main]
#![allow(clippy::panic)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(violation) = confidant_support::fuzzing::Target::HandshakeRespond.run(data) {
        panic!("handshake_respond: {violation}");
    }
});
