#!/usr/bin/env bash
# Generates the Kotlin and Swift bindings from the built library with the crate's own UniFFI
# generator, twice, and checks that generation succeeds, gives the files an Android or iOS project
# consumes, and is reproducible (both runs byte for byte the same). The sources are left in
# target/bindings/kotlin and target/bindings/swift; they are build products, not committed.
#
# Usage: bash ffi/check-bindings.sh   (from anywhere; needs only cargo)
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --quiet --release -p confidant-ffi --lib --bin confidant-uniffi-bindgen
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
case "$(uname -s)" in
    Darwin) library="$target_dir/release/libconfidant_ffi.dylib" ;;
    *) library="$target_dir/release/libconfidant_ffi.so" ;;
esac
bindgen="$target_dir/release/confidant-uniffi-bindgen"
out="$target_dir/bindings"
rm -rf "$out"

generate() { # language, output directory
    # Run from the crate, so that the generator finds the crate's uniffi.toml.
    (cd ffi && "$bindgen" generate --no-format --library "$library" --language "$1" --out-dir "$2")
}

status=0
for language in kotlin swift; do
    generate "$language" "$out/$language"
    generate "$language" "$out/$language-again"
    if ! diff -r "$out/$language" "$out/$language-again" >/dev/null; then
        echo "FAIL: generating the $language bindings twice gave different files" >&2
        status=1
    fi
    rm -rf "$out/$language-again"
done

expect() { # file that must exist and hold a line matching the pattern
    if [[ ! -s "$1" ]] || ! grep -q -- "$2" "$1"; then
        echo "FAIL: $1 is missing or lacks '$2'" >&2
        status=1
    fi
}
expect "$out/kotlin/confidant/confidant.kt" "class Endpoint"
expect "$out/kotlin/confidant/confidant.kt" "sealed class ConfidantException"
expect "$out/kotlin/confidant/confidant.kt" 'fun `open`('
expect "$out/kotlin/confidant/confidant.kt" 'fun `acceptRepairRequest`('
expect "$out/kotlin/confidant/confidant.kt" 'fun `suggestsRepair`('
expect "$out/kotlin/confidant/confidant.kt" 'fun `bundleIdentityKey`('
expect "$out/swift/Confidant.swift" "open class Endpoint: EndpointProtocol"
expect "$out/swift/Confidant.swift" "^enum ConfidantError: Swift.Error"
expect "$out/swift/Confidant.swift" 'public static func `open`(path: String, passphrase: String'
expect "$out/swift/Confidant.swift" 'func rotatePrekeys()'
expect "$out/swift/Confidant.swift" 'func suggestsRepair() -> Bool'
expect "$out/swift/confidantFFI.h" "uniffi_confidant_ffi_fn_method_endpoint_send"
expect "$out/kotlin/confidant/confidant.kt" 'fun `takeOutbox`(): List<Delivery>'
expect "$out/swift/confidantFFI.h" "uniffi_confidant_ffi_fn_method_endpoint_receive_from"
expect "$out/swift/confidantFFI.modulemap" "module ConfidantFFI"

if [[ $status -ne 0 ]]; then
    echo "bindings: generation check failed" >&2
    exit 1
fi
echo "bindings: Kotlin and Swift generated, reproducible: $out/kotlin, $out/swift"
