//! The ratchet case catalogue (VECTORS.md 3.6): one script per case, run by [`Sim`].

use rand::RngExt;
use rand_chacha::ChaCha20Rng;

use super::json::J;
use super::sim::{Sim, ALICE, BOB};
use super::{case_rng, shuffle, uniform_u32, Links};

type Script = fn(&mut Sim) -> Result<(), String>;

/// How a case's session is keyed.
enum Setup {
    /// Random `SK`, a 64-byte random `AD`, a random key for Bob.
    Random,
    /// As `Random`, with an empty `AD`.
    EmptyAd,
    /// From an accept case of a handshake section: `(section, case)`.
    Handshake(&'static str, &'static str),
}

/// The ten forgeries of VECTORS.md 3.2.
const TAMPERS: [&str; 10] = [
    "ciphertext-bitflip",
    "tag-bitflip",
    "truncated",
    "truncated-below-tag",
    "empty-ciphertext",
    "header-n",
    "header-n-u32max",
    "header-pn",
    "header-dh",
    "header-dh-zero",
];

fn sends(sim: &mut Sim, p: usize, count: usize) -> Result<Vec<usize>, String> {
    (0..count).map(|_| sim.send_random(p)).collect()
}

/// `count` empty messages from `p`: long chains stay small.
fn empty_sends(sim: &mut Sim, p: usize, count: usize) -> Result<Vec<usize>, String> {
    (0..count).map(|_| sim.send(p, &[])).collect()
}

fn accept_all(sim: &mut Sim, ids: &[usize]) -> Result<(), String> {
    ids.iter().try_for_each(|&id| sim.accept(id))
}

/// Each party in turn sends and the message is delivered: `turns` DH ratchet steps.
fn exchange(sim: &mut Sim, turns: usize) -> Result<(), String> {
    for turn in 0..turns {
        let id = sim.send_random(turn % 2)?;
        sim.accept(id)?;
    }
    Ok(())
}

fn in_order_one_direction(sim: &mut Sim) -> Result<(), String> {
    let ids = sends(sim, ALICE, 6)?;
    accept_all(sim, &ids)
}

fn ping_pong(sim: &mut Sim) -> Result<(), String> {
    exchange(sim, 12)
}

fn bursts(sim: &mut Sim) -> Result<(), String> {
    for (k, count) in [3, 2, 1, 4, 2, 3].into_iter().enumerate() {
        let ids = sends(sim, k % 2, count)?;
        accept_all(sim, &ids)?;
    }
    Ok(())
}

fn out_of_order_within_chain(sim: &mut Sim) -> Result<(), String> {
    let a = sends(sim, ALICE, 6)?;
    accept_all(sim, &[a[2], a[0], a[4], a[1], a[5], a[3]])?;
    let b = sends(sim, BOB, 4)?;
    accept_all(sim, &[b[3], b[1], b[0], b[2]])
}

fn out_of_order_across_chains(sim: &mut Sim) -> Result<(), String> {
    let a1 = sends(sim, ALICE, 3)?;
    sim.accept(a1[0])?;
    let b1 = sends(sim, BOB, 3)?;
    sim.accept(b1[0])?;
    let a2 = sends(sim, ALICE, 2)?;
    sim.accept(a2[1])?;
    let b2 = sends(sim, BOB, 2)?;
    sim.accept(b2[1])?;
    let a3 = sends(sim, ALICE, 2)?;
    sim.accept(a3[0])?;
    accept_all(sim, &[a1[2], a2[0], a1[1], b1[2], b2[0], b1[1], a3[1]])?;
    exchange_from(sim, BOB)
}

/// One message from `p`, delivered.
fn exchange_from(sim: &mut Sim, p: usize) -> Result<(), String> {
    let id = sim.send_random(p)?;
    sim.accept(id)
}

fn empty_plaintext(sim: &mut Sim) -> Result<(), String> {
    for (p, plaintext) in [(ALICE, &[][..]), (BOB, &[]), (ALICE, &[]), (ALICE, &[0x2a])] {
        let id = sim.send(p, plaintext)?;
        sim.accept(id)?;
    }
    Ok(())
}

fn three_turns(sim: &mut Sim) -> Result<(), String> {
    exchange(sim, 3)
}

fn large_plaintext(sim: &mut Sim) -> Result<(), String> {
    for (p, len) in [(ALICE, 65536), (BOB, 65535)] {
        let plaintext: Vec<u8> = (0..len).map(|_| sim.rng.random()).collect();
        let id = sim.send(p, &plaintext)?;
        sim.accept(id)?;
    }
    Ok(())
}

fn reject_forgeries(sim: &mut Sim, source: usize, tampers: &[&'static str]) -> Result<(), String> {
    for tamper in tampers {
        let forged = sim.forge(source, tamper)?;
        sim.reject(forged)?;
    }
    Ok(())
}

fn tamper_initial_message(sim: &mut Sim) -> Result<(), String> {
    let a = sends(sim, ALICE, 2)?;
    reject_forgeries(sim, a[0], &TAMPERS)?;
    accept_all(sim, &a)?;
    exchange_from(sim, BOB)
}

fn tamper_same_chain(sim: &mut Sim) -> Result<(), String> {
    exchange_from(sim, ALICE)?;
    let a = sends(sim, ALICE, 2)?;
    reject_forgeries(sim, a[0], &TAMPERS)?;
    accept_all(sim, &a)
}

fn tamper_new_chain(sim: &mut Sim) -> Result<(), String> {
    exchange_from(sim, ALICE)?;
    let b = sends(sim, BOB, 2)?;
    reject_forgeries(sim, b[0], &TAMPERS)?;
    sim.accept(b[0])?;
    reject_forgeries(sim, b[1], &["ciphertext-bitflip", "header-pn", "header-dh"])?;
    sim.accept(b[1])?;
    exchange_from(sim, ALICE)
}

fn tamper_skipped_key(sim: &mut Sim) -> Result<(), String> {
    let a = sends(sim, ALICE, 3)?;
    sim.accept(a[2])?;
    reject_forgeries(sim, a[0], &["ciphertext-bitflip", "tag-bitflip", "header-pn", "truncated"])?;
    accept_all(sim, &[a[0], a[1]])
}

fn replay_duplicate(sim: &mut Sim) -> Result<(), String> {
    let a = sends(sim, ALICE, 3)?;
    sim.accept(a[0])?;
    sim.reject(a[0])?; // in order, current chain
    accept_all(sim, &[a[2], a[1]])?;
    sim.reject(a[1])?; // from a skipped key
    sim.reject(a[2])?;
    let b = sim.send_random(BOB)?;
    sim.accept(b)?;
    sim.reject(b)?; // first message of a chain, after the DH ratchet step
    sim.reject(a[0])?;
    let a2 = sim.send_random(ALICE)?;
    sim.accept(a2)?;
    sim.reject(b)?;
    sim.reject(a2)?;
    sim.reject(a[1]) // from a chain one DH ratchet step old
}

fn max_skip_initial_chain(sim: &mut Sim) -> Result<(), String> {
    let a = empty_sends(sim, ALICE, 1002)?;
    sim.reject(a[1001])?;
    accept_all(sim, &[a[1000], a[0], a[500], a[999], a[1001]])?;
    exchange_from(sim, BOB)
}

fn max_skip_after_ratchet(sim: &mut Sim) -> Result<(), String> {
    exchange(sim, 2)?;
    let a = empty_sends(sim, ALICE, 1002)?;
    sim.reject(a[1001])?;
    accept_all(sim, &[a[1000], a[0], a[999], a[1001], a[1]])?;
    exchange_from(sim, BOB)
}

fn max_skip_pn(sim: &mut Sim) -> Result<(), String> {
    let a = empty_sends(sim, ALICE, 1002)?;
    sim.accept(a[0])?;
    exchange_from(sim, BOB)?;
    let next = sim.send_random(ALICE)?;
    sim.reject(next)?;
    accept_all(sim, &[a[1], next, a[1001], a[2], a[500]])?;
    exchange_from(sim, BOB)
}

fn random_network(sim: &mut Sim) -> Result<(), String> {
    let mut in_flight: Vec<usize> = Vec::new();
    for _ in 0..240 {
        if in_flight.is_empty() || sim.rng.random_bool(0.5) {
            let from = if sim.can_send(BOB) && sim.rng.random_bool(0.5) { BOB } else { ALICE };
            let id = sim.send_random(from)?;
            if !sim.rng.random_bool(0.05) {
                in_flight.push(id);
            }
        } else {
            // Mostly in order: one of the four oldest messages in flight.
            let window = in_flight.len().min(4) as u32;
            let id = in_flight.remove(uniform_u32(&mut sim.rng, 0, window - 1) as usize);
            sim.accept(id)?;
        }
    }
    shuffle(&mut sim.rng, &mut in_flight);
    accept_all(sim, &in_flight)
}

const CASES: [(&str, &str, Setup, Script); 19] = [
    ("in-order-one-direction", "Alice sends 6 messages in one chain; Bob receives them in order.", Setup::Random, in_order_one_direction),
    (
        "ping-pong",
        "12 messages alternating Alice/Bob, each delivered before the reply is sent, so every message starts a \
         new sending chain (DH ratchet every turn).",
        Setup::Random,
        ping_pong,
    ),
    (
        "bursts",
        "Bursts of 3/2/1/4/2/3 messages alternating senders, delivered in order after each burst (pn > 0 in \
         headers).",
        Setup::Random,
        bursts,
    ),
    (
        "out-of-order-within-chain",
        "Alice sends n=0..5; Bob receives 2 (first message he sees, skips 0,1), 0, 4, 1, 5, 3; then Bob sends 4, \
         Alice receives 3, 1, 0, 2.",
        Setup::Random,
        out_of_order_within_chain,
    ),
    (
        "out-of-order-across-chains",
        "Messages held back from chains that are one and two DH ratchet steps old are delivered late; skipped \
         keys are derived from header.pn when the new ratchet key arrives.",
        Setup::Random,
        out_of_order_across_chains,
    ),
    (
        "empty-plaintext",
        "Zero-length plaintexts in both directions (ciphertext = 16-byte tag only), then a 1-byte plaintext.",
        Setup::Random,
        empty_plaintext,
    ),
    (
        "empty-associated-data",
        "Session associated data AD is empty, so the AAD is just the 40-byte header.",
        Setup::EmptyAd,
        three_turns,
    ),
    ("large-plaintext-64k", "A 65536-byte plaintext from Alice, a 65535-byte reply from Bob.", Setup::Random, large_plaintext),
    (
        "tamper-initial-message",
        "All 10 forgeries of Alice's first message are delivered to Bob before the genuine one; all must be \
         rejected without creating or altering Bob's session, then the genuine messages are accepted.",
        Setup::Random,
        tamper_initial_message,
    ),
    (
        "tamper-same-chain",
        "All 10 forgeries of a message in Bob's current receiving chain (no DH ratchet step needed) are \
         rejected; the state is unchanged, so the genuine message and its successor still decrypt.",
        Setup::Random,
        tamper_same_chain,
    ),
    (
        "tamper-new-chain",
        "All 10 forgeries of the first message of Bob's new sending chain are delivered to Alice; each would \
         make her attempt a DH ratchet step; all must be rejected and rolled back. Then 3 forgeries of Bob's \
         second message, after the step.",
        Setup::Random,
        tamper_new_chain,
    ),
    (
        "tamper-skipped-key",
        "Forgeries of a message whose key was stored as skipped are rejected; the stored key survives and the \
         genuine message still decrypts once.",
        Setup::Random,
        tamper_skipped_key,
    ),
    (
        "replay-duplicate",
        "Messages that were already decrypted (in order, from a skipped key, the first of a new chain, and one \
         from a chain a DH ratchet step old) are delivered again and must be rejected.",
        Setup::Random,
        replay_duplicate,
    ),
    (
        "max-skip-initial-chain",
        "Alice sends n=0..1001. Bob's first delivery is n=1001 (needs 1001 skipped keys: reject), then n=1000 \
         (exactly MAX_SKIP=1000 skipped: accept), then stored keys n=0, 500, 999 and the current n=1001.",
        Setup::Random,
        max_skip_initial_chain,
    ),
    (
        "max-skip-after-ratchet",
        "Same boundary as max-skip-initial-chain, but in Alice's second chain, so the skip happens together \
         with a DH ratchet step on Bob's side.",
        Setup::Random,
        max_skip_after_ratchet,
    ),
    (
        "max-skip-pn",
        "Alice's first chain has 1002 messages; Bob got only n=0 when Alice's next chain arrives with pn=1002: \
         skipping pn-Nr=1001 keys exceeds MAX_SKIP (reject). After n=1 arrives, the same message needs exactly \
         MAX_SKIP keys and is accepted.",
        Setup::Random,
        max_skip_pn,
    ),
    (
        "random-network",
        "Seeded random interleaving of sends and deliveries with reordering and ~5% loss, 240 steps, then \
         everything still in flight is delivered in random order.",
        Setup::Random,
        random_network,
    ),
    (
        "x3dh-then-ratchet",
        "Session keyed by x3dh case 'x3dh-with-one-time-prekey': shared_secret = its SK, associated_data = its \
         AD, bob_ratchet_private = Bob's signed prekey (Signal convention).",
        Setup::Handshake("x3dh", "x3dh-with-one-time-prekey"),
        three_turns,
    ),
    (
        "pqxdh-then-ratchet",
        "Session keyed by pqxdh case 'pqxdh-with-one-time-prekey': shared_secret = its SK, associated_data = \
         its AD, bob_ratchet_private = Bob's signed prekey (Signal convention).",
        Setup::Handshake("pqxdh", "pqxdh-with-one-time-prekey"),
        three_turns,
    ),
];

/// All ratchet cases, in catalogue order.
pub(crate) fn generate(master: &mut ChaCha20Rng, links: &Links) -> Result<Vec<J>, String> {
    let mut cases = Vec::new();
    for (name, description, setup, script) in &CASES {
        let rng = case_rng(master);
        let mut sim = match setup {
            Setup::Random => Sim::random(rng, 64),
            Setup::EmptyAd => Sim::random(rng, 0),
            Setup::Handshake(section, case) => {
                let link =
                    links.get(&(*section, (*case).to_owned())).ok_or_else(|| format!("no case {case}"))?;
                Sim::new(
                    rng,
                    link.shared_secret,
                    link.associated_data.clone(),
                    link.signed_prekey_private,
                    Some((section, case)),
                )
            }
        };
        script(&mut sim).map_err(|e| format!("{name}: {e}"))?;
        cases.push(sim.finish(name, description));
    }
    Ok(cases)
}
