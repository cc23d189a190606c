//! Runs a conversation between two `confidant::low_level::Ratchet`s and records it as a ratchet
//! case (VECTORS.md section 3): every send and delivery is what the library did.

use confidant::keys::{DhKeyPair, DhPublicKey};
use confidant::low_level::{Header, Ratchet, TracedMessage};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha20Rng;

use super::json::{hexj, s, J};
use super::{clamped, uniform_u32, KeyStream, PARTIES};

pub(crate) const ALICE: usize = 0;
pub(crate) const BOB: usize = 1;

/// Ratchet keys drawn in advance for each party; a case needs far fewer.
const KEYS_PER_PARTY: usize = 512;

struct SimMsg {
    from: usize,
    header: Header,
    ciphertext: Vec<u8>,
    plaintext: Option<Vec<u8>>,
}

/// Two parties, their key streams, and the case being recorded.
pub(crate) struct Sim {
    pub(crate) rng: ChaCha20Rng,
    shared_secret: [u8; 32],
    associated_data: Vec<u8>,
    bob_private: [u8; 32],
    link: Option<(&'static str, &'static str)>,
    keys: [Vec<[u8; 32]>; 2],
    streams: [KeyStream; 2],
    parties: [Ratchet; 2],
    /// Keys each party has adopted (VECTORS.md 3.1): the prefix of `keys` the case lists.
    committed: [usize; 2],
    msgs: Vec<SimMsg>,
    messages: Vec<J>,
    events: Vec<J>,
}

fn header_json(h: &Header) -> J {
    J::Obj(vec![("dh", hexj(h.dh.as_bytes())), ("pn", J::Num(h.pn.into())), ("n", J::Num(h.n.into()))])
}

impl Sim {
    /// A session with random `SK`, `AD` of `ad_len` random bytes, and a random key for Bob.
    pub(crate) fn random(mut rng: ChaCha20Rng, ad_len: usize) -> Self {
        let sk: [u8; 32] = rng.random();
        let ad: Vec<u8> = (0..ad_len).map(|_| rng.random()).collect();
        let bob_private = clamped(&mut rng);
        Self::new(rng, sk, ad, bob_private, None)
    }

    /// A session keyed by `SK`, `AD` and Bob's initial ratchet key, optionally from a named
    /// handshake case (`(section, name)`).
    pub(crate) fn new(
        mut rng: ChaCha20Rng,
        shared_secret: [u8; 32],
        associated_data: Vec<u8>,
        bob_private: [u8; 32],
        link: Option<(&'static str, &'static str)>,
    ) -> Self {
        let mut key_list = || {
            let mut stream = ChaCha20Rng::from_seed(rng.random());
            (0..KEYS_PER_PARTY).map(|_| clamped(&mut stream)).collect::<Vec<_>>()
        };
        let keys = [key_list(), key_list()];
        let stream = |list: &Vec<[u8; 32]>| KeyStream::new(&list.iter().map(|k| &k[..]).collect::<Vec<_>>());
        let bob_public = DhKeyPair::from_private_bytes(bob_private).public_key().to_bytes();
        Self {
            streams: [stream(&keys[0]), stream(&keys[1])],
            parties: [
                Ratchet::init_alice(shared_secret, bob_public, &associated_data),
                Ratchet::init_bob(shared_secret, bob_private, &associated_data),
            ],
            rng,
            shared_secret,
            associated_data,
            bob_private,
            link,
            keys,
            committed: [0, 0],
            msgs: Vec::new(),
            messages: Vec::new(),
            events: Vec::new(),
        }
    }

    /// Whether `p` may send: Bob only after his first accepted delivery.
    pub(crate) fn can_send(&self, p: usize) -> bool {
        p == ALICE || self.committed[BOB] > 0
    }

    /// `p` encrypts `plaintext`; returns the message id.
    pub(crate) fn send(&mut self, p: usize, plaintext: &[u8]) -> Result<usize, String> {
        if p == ALICE {
            self.committed[ALICE] = self.committed[ALICE].max(1);
        }
        let before = self.streams[p].drawn();
        let TracedMessage { header, ciphertext, message_key } = self.parties[p]
            .encrypt_traced(&mut self.streams[p], plaintext)
            .map_err(|e| format!("encrypt: {e}"))?;
        let drawn = self.streams[p].drawn();
        if self.streams[p].overrun() || (drawn != before && drawn / 32 != self.committed[p]) || drawn < 32 {
            return Err(format!("{} drew ratchet key bytes {before}..{drawn} out of order", PARTIES[p]));
        }
        let id = self.msgs.len();
        self.messages.push(J::Obj(vec![
            ("id", J::Num(id as u64)),
            ("from", s(PARTIES[p])),
            ("ratchet_private", hexj(&self.keys[p][drawn / 32 - 1])),
            ("header", header_json(&header)),
            ("plaintext", hexj(plaintext)),
            ("ciphertext", hexj(&ciphertext)),
            ("message_key", hexj(&message_key[..])),
        ]));
        self.events.push(J::Obj(vec![("op", s("send")), ("msg", J::Num(id as u64))]));
        self.msgs.push(SimMsg { from: p, header, ciphertext, plaintext: Some(plaintext.to_vec()) });
        Ok(id)
    }

    /// `p` sends a random plaintext of 1 to 80 bytes.
    pub(crate) fn send_random(&mut self, p: usize) -> Result<usize, String> {
        let len = uniform_u32(&mut self.rng, 1, 80);
        let plaintext: Vec<u8> = (0..len).map(|_| self.rng.random()).collect();
        self.send(p, &plaintext)
    }

    /// Delivers message `id` to the other party and records what the library did: whether it
    /// accepted, and whether it took a DH ratchet step.
    pub(crate) fn deliver(&mut self, id: usize) -> Result<bool, String> {
        let msg = self.msgs.get(id).ok_or_else(|| format!("no message {id}"))?;
        let r = 1 - msg.from;
        let before = self.parties[r].to_bytes();
        let mut event = vec![("op", s("deliver")), ("msg", J::Num(id as u64))];
        let accepted = match self.parties[r].decrypt(&msg.header, &msg.ciphertext) {
            Ok((plaintext, dh_ratchet)) => {
                if msg.plaintext.as_deref() != Some(&plaintext[..]) {
                    return Err(format!("message {id} decrypts to something else than was sent"));
                }
                event.push(("expect", s("accept")));
                event.push(("dh_ratchet", J::Bool(dh_ratchet)));
                if dh_ratchet {
                    let key = self.keys[r].get(self.committed[r]).ok_or("out of ratchet keys")?;
                    event.push(("new_ratchet_private", hexj(key)));
                    self.committed[r] += 1;
                }
                true
            }
            Err(_) if self.parties[r].to_bytes() != before => {
                return Err(format!("rejecting message {id} changed {}'s state", PARTIES[r]));
            }
            Err(_) => {
                event.push(("expect", s("reject")));
                false
            }
        };
        self.events.push(J::Obj(event));
        Ok(accepted)
    }

    /// Delivers `id`, which the case requires to be accepted.
    pub(crate) fn accept(&mut self, id: usize) -> Result<(), String> {
        if self.deliver(id)? {
            Ok(())
        } else {
            Err(format!("message {id} is rejected, but the case needs it accepted"))
        }
    }

    /// Delivers `id`, which the case requires to be rejected.
    pub(crate) fn reject(&mut self, id: usize) -> Result<(), String> {
        if self.deliver(id)? {
            Err(format!("message {id} is accepted, but the case needs it rejected"))
        } else {
            Ok(())
        }
    }

    /// A forgery of genuine message `source` (VECTORS.md 3.2), never sent; returns its id.
    pub(crate) fn forge(&mut self, source: usize, tamper: &'static str) -> Result<usize, String> {
        let src = self.msgs.get(source).ok_or_else(|| format!("no message {source}"))?;
        let (from, mut header, mut ct) = (src.from, src.header, src.ciphertext.clone());
        let last = ct.len().checked_sub(1).ok_or("empty source ciphertext")?;
        match tamper {
            "ciphertext-bitflip" => ct[0] ^= 0x01,
            "tag-bitflip" => ct[last] ^= 0x80,
            "truncated" => ct.truncate(last),
            "truncated-below-tag" => ct.truncate(15),
            "empty-ciphertext" => ct.clear(),
            "header-n" => header.n += 1,
            "header-n-u32max" => header.n = u32::MAX,
            "header-pn" => header.pn += 1,
            "header-dh" => header.dh = DhKeyPair::from_private_bytes(clamped(&mut self.rng)).public_key(),
            "header-dh-zero" => header.dh = DhPublicKey::from([0; 32]),
            other => return Err(format!("unknown tamper {other}")),
        }
        let id = self.msgs.len();
        self.messages.push(J::Obj(vec![
            ("id", J::Num(id as u64)),
            ("from", s(PARTIES[from])),
            ("forged_from", J::Num(source as u64)),
            ("tamper", s(tamper)),
            ("header", header_json(&header)),
            ("ciphertext", hexj(&ct)),
        ]));
        self.msgs.push(SimMsg { from, header, ciphertext: ct, plaintext: None });
        Ok(id)
    }

    /// The recorded case.
    pub(crate) fn finish(self, name: &str, description: &str) -> J {
        let bob_public = DhKeyPair::from_private_bytes(self.bob_private).public_key();
        let mut fields = vec![
            ("name", s(name)),
            ("description", s(description)),
            ("shared_secret", hexj(&self.shared_secret)),
            ("associated_data", hexj(&self.associated_data)),
            ("bob_ratchet_private", hexj(&self.bob_private)),
            ("bob_ratchet_public", hexj(bob_public.as_bytes())),
        ];
        if let Some((section, case)) = self.link {
            fields.push((section, s(case)));
        }
        let listed = |p: usize| J::Arr(self.keys[p][..self.committed[p]].iter().map(|k| hexj(k)).collect());
        fields.push(("ratchet_keys", J::Obj(vec![("alice", listed(ALICE)), ("bob", listed(BOB))])));
        fields.push(("messages", J::Arr(self.messages)));
        fields.push(("events", J::Arr(self.events)));
        J::Obj(fields)
    }
}
