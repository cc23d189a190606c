#!/usr/bin/env bash
# Compiles the generated Kotlin bindings (target/bindings/kotlin, from ffi/check-bindings.sh) with
# ffi/tests/kotlin/Story.kt, and runs the story on the JVM against the built library.
#
# Tools, from the registries this project uses: the Kotlin compiler from npm (package
# `kotlin-compiler`, the JetBrains distribution, installed into target/kotlinc), JNA from Debian
# (`libjna-java`, installed with apt-get when running as root), and a JDK already on the machine.
# Without java, npm or a way to get JNA, the check is skipped with a message, so that
# ffi/run-tests.sh still runs on a machine with only Rust and Python.
#
# Usage: bash ffi/check-kotlin.sh
set -euo pipefail
cd "$(dirname "$0")/.."

KOTLIN_VERSION=2.4.20
skip() {
    echo "SKIP: Kotlin on the JVM: $1"
    exit 0
}
command -v java >/dev/null || skip "no java"
command -v npm >/dev/null || skip "no npm to install the Kotlin compiler"

target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
bindings="$target_dir/bindings/kotlin/confidant/confidant.kt"
[[ -s "$bindings" ]] || bash ffi/check-bindings.sh

jna=/usr/share/java/jna.jar
if [[ ! -f "$jna" ]]; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        (apt-get install -y -qq libjna-java || { apt-get update -qq && apt-get install -y -qq libjna-java; }) >/dev/null
    else
        skip "no JNA ($jna), and no apt-get as root to install libjna-java"
    fi
fi

kotlinc_home="$target_dir/kotlinc/node_modules/kotlin-compiler"
if [[ ! -x "$kotlinc_home/bin/kotlinc-jvm" ]]; then
    npm install --silent --no-audit --no-fund --prefix "$target_dir/kotlinc" "kotlin-compiler@$KOTLIN_VERSION" >/dev/null
    chmod +x "$kotlinc_home"/bin/*
fi

out="$target_dir/kotlin-story"
rm -rf "$out" && mkdir -p "$out"
"$kotlinc_home/bin/kotlinc-jvm" -nowarn -cp "$jna" -d "$out/story.jar" "$bindings" ffi/tests/kotlin/Story.kt
java -Djna.library.path="$target_dir/release" -cp "$out/story.jar:$jna:$kotlinc_home/lib/kotlin-stdlib.jar" StoryKt
