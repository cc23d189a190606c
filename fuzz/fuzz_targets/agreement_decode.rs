//! `cargo fuzz run -s none agreement_decode`: see `Target::AgreementDecode` in `support/src/fuzzing`.
#![no_main]
#![allow(clippy::panic)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(violation) = confidant_support::fuzzing::Target::AgreementDecode.run(data) {
        panic!("agreement_decode: {violation}");
    }
});
