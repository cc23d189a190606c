//! `cargo fuzz run -s none store_record`: see `Target::StoreRecord` in `src/internal/fuzzing`.
#![no_main]
#![allow(clippy::panic)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(violation) = confidant::internal::fuzzing::Target::StoreRecord.run(data) {
        panic!("store_record: {violation}");
    }
});
