#!/usr/bin/env bash
# Builds and tests the bindings, self-contained: on a machine with only Rust and Python 3 (3.10 or
# newer) with pip, it
#   1. creates a virtual environment in target/ffi-venv (kept between runs) and installs maturin,
#      pytest and fhir.resources (the FHIR R4 models that check exported records) with pip;
#   2. builds the `confidant` Python package from ffi/ and installs it there (the same build as
#      `pip install ./ffi`: the Rust library in release, and the module UniFFI generates);
#   3. runs the pytest suites of ffi/tests (no test collected counts as a failure), and the
#      throughput script ffi/benches/throughput.py on a few messages, so that it keeps working
#      (its times mean nothing there; BENCHMARKS.md has the measurement);
#   4. runs the crate's Rust tests (`cargo test -p confidant-ffi`: arbitrary input at every entry
#      point, one endpoint shared between threads);
#   5. checks the Kotlin and Swift generation (ffi/check-bindings.sh);
#   6. compiles the Kotlin bindings and runs a story on the JVM (ffi/check-kotlin.sh: the Kotlin
#      compiler from npm, JNA from Debian; skipped, with a message, without java or npm).
#
# Usage: bash ffi/run-tests.sh   (PYTHON=python3.12 to pick another interpreter)
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
target_dir=$(cargo metadata --format-version 1 --no-deps | "$python" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
venv="$target_dir/ffi-venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check --quiet)

echo "== Python environment ($venv)"
if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv"
fi
# fhir.resources 6.1.0 is the release whose models are FHIR R4 (4.0.1); it needs pydantic 1.
"${pip[@]}" install "maturin==1.16.0" "pytest==9.2.0" "fhir.resources==6.1.0" "pydantic>=1.10,<2"

echo "== build and install the confidant package"
# No build isolation: the maturin just installed builds it, without fetching another copy.
"${pip[@]}" install --no-build-isolation --force-reinstall --no-deps ./ffi

echo "== pytest ffi/tests"
status=0
"$venv/bin/python" -m pytest ffi/tests -p no:cacheprovider || status=$?
if [[ $status -eq 5 ]]; then
    echo "FAIL: pytest collected no tests" >&2
    exit 1
elif [[ $status -ne 0 ]]; then
    exit "$status"
fi

echo "== throughput script, a few messages"
"$venv/bin/python" ffi/benches/throughput.py --smoke

echo "== cargo test -p confidant-ffi"
cargo test --quiet -p confidant-ffi

echo "== Kotlin and Swift generation"
bash ffi/check-bindings.sh

echo "== Kotlin on the JVM"
bash ffi/check-kotlin.sh
