"""The PEP 517 build backend of the `confidant` Python package: maturin's, in its UniFFI mode,
with UniFFI's generator at the crate's own version on the PATH as `uniffi-bindgen`.

maturin generates the Python module by running `uniffi-bindgen`. It would run a bin target of
that name with `cargo run` from the workspace root, whose default members leave the bindings
crate out (so that `cargo test` never builds it), and the `uniffi-bindgen` on PyPI lags the
`uniffi` crate. So this backend builds the crate's own generator (`confidant-uniffi-bindgen`,
release profile, sharing the build of the library), puts a `uniffi-bindgen` that runs it first on
the PATH, and hands every hook to maturin.
"""

import json
import os
import subprocess
import sys
import tempfile

import maturin

_HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_MANIFEST = os.path.join(_HERE, "Cargo.toml")
_BINDGEN = "confidant-uniffi-bindgen"


def _find_maturin():
    """Puts the directory of the interpreter running this backend, where pip installed maturin's
    executable, first on the PATH (pip does so itself only in an isolated build)."""
    os.environ["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])


def _with_maturin(hook):
    """`hook`, run with maturin's executable on the PATH."""

    def run(*args, **kwargs):
        _find_maturin()
        return hook(*args, **kwargs)

    run.__doc__ = hook.__doc__
    return run


def _prepare_bindgen():
    """Builds the generator and puts a `uniffi-bindgen` that runs it first on the PATH."""
    _find_maturin()
    cargo = ["cargo", "build", "--release", "--manifest-path", _MANIFEST, "--bin", _BINDGEN]
    subprocess.run(cargo, check=True, stdout=sys.stderr)
    metadata = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps", "--manifest-path", _MANIFEST],
        check=True,
        capture_output=True,
    )
    target = json.loads(metadata.stdout)["target_directory"]
    binary = os.path.join(target, "release", _BINDGEN)
    shim_dir = tempfile.mkdtemp(prefix="confidant-bindgen-")
    shim = os.path.join(shim_dir, "uniffi-bindgen")
    with open(shim, "w", encoding="utf-8") as handle:
        handle.write(f'#!/bin/sh\nexec "{binary}" "$@"\n')
    os.chmod(shim, 0o755)
    os.environ["PATH"] = os.pathsep.join([shim_dir, os.environ["PATH"]])


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    """PEP 517: builds the wheel with maturin, after the generator."""
    _prepare_bindgen()
    return maturin.build_wheel(wheel_directory, config_settings, metadata_directory)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    """PEP 660: builds an editable wheel with maturin, after the generator."""
    _prepare_bindgen()
    return maturin.build_editable(wheel_directory, config_settings, metadata_directory)


build_sdist = _with_maturin(maturin.build_sdist)
get_requires_for_build_wheel = _with_maturin(maturin.get_requires_for_build_wheel)
get_requires_for_build_editable = _with_maturin(maturin.get_requires_for_build_editable)
get_requires_for_build_sdist = _with_maturin(maturin.get_requires_for_build_sdist)
prepare_metadata_for_build_wheel = _with_maturin(maturin.prepare_metadata_for_build_wheel)
prepare_metadata_for_build_editable = _with_maturin(maturin.prepare_metadata_for_build_editable)
