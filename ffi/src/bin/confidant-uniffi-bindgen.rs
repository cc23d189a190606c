//! UniFFI's binding generator, at the version of the `uniffi` crate the scaffolding was made
//! with: `confidant-uniffi-bindgen generate --library libconfidant_ffi.so --language kotlin …`.
//! The Python build hands it to maturin as `uniffi-bindgen`; `ffi/check-bindings.sh` makes the
//! Kotlin and Swift sources with it.

fn main() {
    uniffi::uniffi_bindgen_main();
}
