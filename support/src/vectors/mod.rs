//! The confidant-v1 test vectors (VECTORS.md): generator and verifier, shared by
//! `examples/vectors.rs` and `tests/vectors.rs`.
//!
//! Both directions drive the library's own code paths (`confidant::low_level` and the public key
//! types): the generator records what the library does, the verifier replays a file against it.
//! Ratchet keys reach the library through `KeyStream`, a deterministic RNG that yields the
//! listed keys in order, so the order in which the library draws them is checked too.

mod cases;
mod devices;
mod handshake;
mod handshake_gen;
mod json;
mod replay;
mod sim;

use std::collections::HashMap;

use confidant::consts;
use std::convert::Infallible;

use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rand_core::{TryCryptoRng, TryRng};
use serde_json::Value;

use json::{hexj, s, Fields, J};

/// The only format version this tool reads and writes.
const FORMAT_VERSION: u64 = 1;

/// Party names, indexed 0 (Alice, the initiator) and 1 (Bob).
pub(crate) const PARTIES: [&str; 2] = ["alice", "bob"];

/// The outcome of one case. Every case kind of the format is implemented, so none is skipped.
pub(crate) enum Verdict {
    Pass,
    Fail(String),
}

impl From<Result<(), String>> for Verdict {
    fn from(result: Result<(), String>) -> Self {
        match result {
            Ok(()) => Verdict::Pass,
            Err(reason) => Verdict::Fail(reason),
        }
    }
}

/// One line per case, and the counts.
#[derive(Default)]
pub struct Report {
    /// `PASS name` or `FAIL name: reason`, one per case.
    pub lines: Vec<String>,
    /// How many cases passed.
    pub passed: usize,
    /// How many cases failed.
    pub failed: usize,
}

impl Report {
    fn add(&mut self, name: &str, verdict: Verdict) {
        let line = match verdict {
            Verdict::Pass => {
                self.passed += 1;
                format!("PASS {name}")
            }
            Verdict::Fail(reason) => {
                self.failed += 1;
                format!("FAIL {name}: {reason}")
            }
        };
        self.lines.push(line);
    }

    /// `N passed, M failed`.
    #[must_use]
    pub fn summary(&self) -> String {
        format!("{} passed, {} failed", self.passed, self.failed)
    }

    /// Whether nothing failed.
    #[must_use]
    pub fn ok(&self) -> bool {
        self.failed == 0
    }
}

/// What a ratchet case keyed by a handshake case (`"x3dh"`/`"pqxdh": NAME`) must match.
#[derive(Clone)]
pub(crate) struct Link {
    pub(crate) passed: bool,
    pub(crate) shared_secret: [u8; 32],
    pub(crate) associated_data: Vec<u8>,
    pub(crate) signed_prekey_private: [u8; 32],
}

/// Handshake cases that can key a ratchet case, by section and name.
pub(crate) type Links = HashMap<(&'static str, String), Link>;

/// A deterministic RNG that yields the concatenation of a list of 32-byte keys. When the list
/// runs out it yields zeros and records the overrun, which the caller reports as a failure.
#[derive(Clone)]
pub(crate) struct KeyStream {
    bytes: Vec<u8>,
    pos: usize,
    overrun: bool,
}

impl KeyStream {
    pub(crate) fn new(chunks: &[&[u8]]) -> Self {
        Self { bytes: chunks.concat(), pos: 0, overrun: false }
    }

    /// Bytes drawn so far.
    pub(crate) fn drawn(&self) -> usize {
        self.pos
    }

    /// Whether more bytes were drawn than the list holds.
    pub(crate) fn overrun(&self) -> bool {
        self.overrun
    }
}

impl TryRng for KeyStream {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        rand_core::utils::next_word_via_fill(self)
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        rand_core::utils::next_word_via_fill(self)
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), Infallible> {
        for byte in dest {
            match self.bytes.get(self.pos) {
                Some(b) => {
                    *byte = *b;
                    self.pos += 1;
                }
                None => {
                    *byte = 0;
                    self.overrun = true;
                }
            }
        }
        Ok(())
    }
}

// Test-only: the stream replays keys fixed by a vector file or by the generator's seed.
impl TryCryptoRng for KeyStream {}

/// An X25519 private key as vectors store it: 32 random bytes, clamped (RFC 7748).
pub(crate) fn clamped<R: Rng + ?Sized>(rng: &mut R) -> [u8; 32] {
    let mut key: [u8; 32] = rng.random();
    key[0] &= 248;
    key[31] &= 127;
    key[31] |= 64;
    key
}

/// The `parameters` block: the profile's constants.
fn parameters() -> J {
    J::Obj(vec![
        ("dh", s("X25519")),
        ("max_skip", J::Num(u64::from(consts::MAX_SKIP))),
        ("kdf_rk", s("HKDF-SHA256(salt=rk, ikm=dh_out, info=kdf_rk_info, L=64) -> rk=[0:32], ck=[32:64]")),
        ("kdf_rk_info", hexj(consts::KDF_RK_INFO)),
        ("kdf_ck", s("mk=HMAC-SHA256(ck, 0x01), ck'=HMAC-SHA256(ck, 0x02)")),
        (
            "aead",
            s("HKDF-SHA256(salt=0^32, ikm=mk, info=aead_info, L=44) -> key=[0:32], nonce=[32:44]; ChaCha20-Poly1305"),
        ),
        ("aead_info", hexj(consts::MESSAGE_KEY_INFO)),
        ("aad", s("AD || dh(32) || u32be(pn) || u32be(n)")),
        ("x3dh_info", hexj(consts::X3DH_INFO)),
        ("pqxdh_info", hexj(consts::PQXDH_INFO)),
        ("pq_kem", s(consts::PQ_KEM)),
        (
            "pqxdh_kdf",
            s("HKDF-SHA256(salt=0^32, ikm=0xFF^32 || DH1 || DH2 || DH3 [|| DH4] || SS, info=pqxdh_info, L=32)"),
        ),
    ])
}

/// Refuses a file of another profile or format, whose constants differ from the library's, or
/// that lacks one of the three sections.
fn check_header(top: Fields<'_>) -> Result<(), String> {
    if top.str("profile")? != consts::PROFILE {
        return Err(format!("profile {:?} is not {}", top.str("profile")?, consts::PROFILE));
    }
    if top.u64("format_version")? != FORMAT_VERSION {
        return Err(format!("format_version {} is not {FORMAT_VERSION}", top.u64("format_version")?));
    }
    let p = top.obj("parameters")?;
    if p.u64("max_skip")? != u64::from(consts::MAX_SKIP) {
        return Err(format!("parameters.max_skip {} is not {}", p.u64("max_skip")?, consts::MAX_SKIP));
    }
    for (key, value) in [
        ("kdf_rk_info", consts::KDF_RK_INFO),
        ("aead_info", consts::MESSAGE_KEY_INFO),
        ("x3dh_info", consts::X3DH_INFO),
        ("pqxdh_info", consts::PQXDH_INFO),
    ] {
        if p.bytes(key)? != value {
            return Err(format!("parameters.{key} is not hex({:?})", String::from_utf8_lossy(value)));
        }
    }
    if p.str("pq_kem")? != consts::PQ_KEM {
        return Err(format!("parameters.pq_kem {:?} is not {}", p.str("pq_kem")?, consts::PQ_KEM));
    }
    for section in ["ratchet", "x3dh", "pqxdh"] {
        top.arr(section)?;
    }
    Ok(())
}

/// A case's name, or its position when it has none.
fn case_name(case: &Value, section: &str, index: usize) -> String {
    case.get("name").and_then(Value::as_str).map_or_else(|| format!("{section}[{index}]"), str::to_owned)
}

/// Verifies a vector file: one verdict per case, ratchet cases first, then x3dh and pqxdh.
#[must_use]
pub fn verify(text: &str) -> Report {
    let mut report = Report::default();
    let root: Value = match serde_json::from_str(text) {
        Ok(root) => root,
        Err(e) => {
            report.add("file", Verdict::Fail(format!("not JSON: {e}")));
            return report;
        }
    };
    let top = match Fields::of(&root, "file").and_then(|top| check_header(top).map(|()| top)) {
        Ok(top) => top,
        Err(reason) => {
            report.add("file", Verdict::Fail(format!("rejected: {reason}")));
            return report;
        }
    };
    let section = |key: &str| top.0.get(key).and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    let mut links = Links::new();
    let mut handshake_lines = Vec::new();
    for kind in [handshake::Kind::X3dh, handshake::Kind::Pqxdh] {
        for (i, case) in section(kind.section()).iter().enumerate() {
            let name = case_name(case, kind.section(), i);
            let (verdict, link) = handshake::verify_case(kind, case);
            if let Some(mut link) = link {
                link.passed = matches!(verdict, Verdict::Pass);
                links.insert((kind.section(), name.clone()), link);
            }
            handshake_lines.push((name, verdict));
        }
    }
    for (i, case) in section("ratchet").iter().enumerate() {
        report.add(&case_name(case, "ratchet", i), replay::verify_case(case, &links).into());
    }
    for (name, verdict) in handshake_lines {
        report.add(&name, verdict);
    }
    if top.has("device_lists") {
        if let Err(reason) = top.obj("device_parameters").and_then(devices::check_parameters) {
            report.add("device_parameters", Verdict::Fail(format!("rejected: {reason}")));
            return report;
        }
        for (i, case) in section("device_lists").iter().enumerate() {
            report.add(&case_name(case, "device_lists", i), devices::verify_case(case).into());
        }
    }
    report
}

/// Generates the vector file for `seed`. The same seed gives the same bytes.
///
/// # Errors
/// If the library does not behave as a case requires (for example, it accepts a forgery), the
/// case cannot be written and the reason is returned.
pub fn generate(seed: u64) -> Result<String, String> {
    let mut master = ChaCha20Rng::seed_from_u64(seed);
    let mut links = Links::new();
    let x3dh = handshake_gen::generate(handshake::Kind::X3dh, &mut master, &mut links)?;
    let pqxdh = handshake_gen::generate(handshake::Kind::Pqxdh, &mut master, &mut links)?;
    let ratchet = cases::generate(&mut master, &links)?;
    let generator = J::Obj(vec![("tool", s("confidant examples/vectors.rs")), ("seed", J::Num(seed))]);
    let text = json::layout(&[
        ("profile", s(consts::PROFILE)),
        ("format_version", J::Num(FORMAT_VERSION)),
        ("generator", generator),
        ("parameters", parameters()),
        ("ratchet", J::Arr(ratchet)),
        ("x3dh", J::Arr(x3dh)),
        ("pqxdh", J::Arr(pqxdh)),
    ]);
    // A file this tool cannot verify is never written.
    let report = verify(&text);
    if !report.ok() {
        let failures: Vec<&str> =
            report.lines.iter().filter(|l| l.starts_with("FAIL")).map(String::as_str).collect();
        return Err(format!("the generated file does not verify: {}", failures.join("; ")));
    }
    Ok(text)
}

/// Generates the device-list vector file for `seed`: the header and parameters of every file,
/// empty `ratchet`, `x3dh` and `pqxdh` sections, and the `device_lists` section with its
/// `device_parameters` (PROTOCOL.md section 16). The same seed gives the same bytes.
///
/// # Errors
/// If the library does not behave as a case requires, the reason.
pub fn generate_devices(seed: u64) -> Result<String, String> {
    let mut master = ChaCha20Rng::seed_from_u64(seed);
    let cases = devices::generate(&mut case_rng(&mut master))?;
    let generator = J::Obj(vec![
        ("tool", s("confidant examples/vectors.rs")),
        ("seed", J::Num(seed)),
        ("sections", J::Arr(vec![s("device_lists")])),
    ]);
    let text = json::layout(&[
        ("profile", s(consts::PROFILE)),
        ("format_version", J::Num(FORMAT_VERSION)),
        ("generator", generator),
        ("parameters", parameters()),
        ("ratchet", J::Arr(Vec::new())),
        ("x3dh", J::Arr(Vec::new())),
        ("pqxdh", J::Arr(Vec::new())),
        ("device_parameters", devices::parameters()),
        ("device_lists", J::Arr(cases)),
    ]);
    let report = verify(&text);
    if !report.ok() {
        let failures: Vec<&str> =
            report.lines.iter().filter(|l| l.starts_with("FAIL")).map(String::as_str).collect();
        return Err(format!("the generated file does not verify: {}", failures.join("; ")));
    }
    Ok(text)
}

/// A fresh RNG for one case, drawn from the file's master RNG.
pub(crate) fn case_rng(master: &mut ChaCha20Rng) -> ChaCha20Rng {
    ChaCha20Rng::from_seed(master.random())
}

/// A uniform integer in `low..=high`, drawn as rand 0.8's `gen_range` drew a `u32` (widening
/// multiply, rejecting above a conservative zone). Later rand versions sample ranges differently;
/// the generator keeps this one so that the committed generated file stays reproducible.
pub(crate) fn uniform_u32<R: Rng + ?Sized>(rng: &mut R, low: u32, high: u32) -> u32 {
    let range = high.wrapping_sub(low).wrapping_add(1);
    if range == 0 {
        return rng.next_u32();
    }
    let zone = (range << range.leading_zeros()).wrapping_sub(1);
    loop {
        let wide = u64::from(rng.next_u32()) * u64::from(range);
        let (hi, lo) = ((wide >> 32) as u32, wide as u32);
        if lo <= zone {
            return low.wrapping_add(hi);
        }
    }
}

/// Fisher-Yates shuffle from the last element down, each index drawn with [`uniform_u32`]: the
/// order rand 0.8's `SliceRandom::shuffle` gave, for the same reason.
pub(crate) fn shuffle<T, R: Rng + ?Sized>(rng: &mut R, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        let j = uniform_u32(rng, 0, u32::try_from(i).unwrap_or(u32::MAX));
        items.swap(i, j as usize);
    }
}
