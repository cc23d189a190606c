//! `cargo fuzz run -s none store_record`: see `Target::StoreRecord` in `support/src/fuzzing`.
#![no_main]
#![allow(clippy::panic)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(violation) = confidant_support::fuzzing::Target::StoreRecord.run(data) {
        panic!("store_record: {violation}");
    }
});
