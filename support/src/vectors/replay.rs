//! Replays a ratchet case (VECTORS.md section 3) against `confidant::low_level::Ratchet`.

use confidant::keys::{DhKeyPair, DhPublicKey};
use confidant::low_level::{Header, Ratchet, TracedMessage};
use serde_json::Value;

use super::json::{same, Fields};
use super::{KeyStream, Links, PARTIES};

/// A message of the case, genuine or forged.
struct Msg {
    from: usize,
    /// A forgery: never sent, only delivered.
    forged: bool,
    header: Header,
    ciphertext: Vec<u8>,
    plaintext: Option<Vec<u8>>,
    ratchet_private: Option<[u8; 32]>,
    message_key: Option<[u8; 32]>,
}

fn party(name: &str) -> Result<usize, String> {
    PARTIES.iter().position(|p| *p == name).ok_or_else(|| format!("unknown party {name:?}"))
}

fn header(f: Fields<'_>) -> Result<Header, String> {
    let h = f.obj("header")?;
    Ok(Header { dh: DhPublicKey::from(h.array::<32>("dh")?), pn: h.u32("pn")?, n: h.u32("n")? })
}

fn parse_msg(index: usize, value: &Value, earlier: &[Msg]) -> Result<Msg, String> {
    let f = Fields::of(value, "message")?;
    if f.u64("id")? != index as u64 {
        return Err(format!("message {index} has id {}", f.u64("id")?));
    }
    let from = party(f.str("from")?)?;
    let (header, ciphertext) = (header(f)?, f.bytes("ciphertext")?);
    if f.has("forged_from") {
        let source = usize::try_from(f.u64("forged_from")?).map_err(|e| e.to_string())?;
        let src = earlier
            .get(source)
            .ok_or_else(|| format!("message {index}: forged_from {source} is not earlier"))?;
        if src.forged || src.from != from {
            return Err(format!(
                "message {index}: forged_from {source} is not a genuine message from {}",
                PARTIES[from]
            ));
        }
        if let Some(tamper) = f.opt_str("tamper")? {
            check_tamper(tamper, src, &header, &ciphertext)
                .map_err(|e| format!("message {index} ({tamper}): {e}"))?;
        }
        let (plaintext, ratchet_private, message_key) = (None, None, None);
        return Ok(Msg { from, forged: true, header, ciphertext, plaintext, ratchet_private, message_key });
    }
    let optional = |key: &str| if f.has(key) { f.array::<32>(key).map(Some) } else { Ok(None) };
    Ok(Msg {
        from,
        forged: false,
        header,
        ciphertext,
        plaintext: Some(f.bytes("plaintext")?),
        ratchet_private: optional("ratchet_private")?,
        message_key: optional("message_key")?,
    })
}

/// The informative `tamper`: the forgery must be exactly that change of its source.
fn check_tamper(tamper: &str, src: &Msg, header: &Header, ciphertext: &[u8]) -> Result<(), String> {
    let (mut h, mut ct) = (src.header, src.ciphertext.clone());
    let empty = || "source ciphertext is empty".to_string();
    match tamper {
        "ciphertext-bitflip" => *ct.first_mut().ok_or_else(empty)? ^= 0x01,
        "tag-bitflip" => *ct.last_mut().ok_or_else(empty)? ^= 0x80,
        "truncated" => {
            ct.pop().ok_or_else(empty)?;
        }
        "truncated-below-tag" => ct.truncate(15),
        "empty-ciphertext" => ct.clear(),
        "header-n" => h.n = h.n.checked_add(1).ok_or("n overflows")?,
        "header-n-u32max" => h.n = u32::MAX,
        "header-pn" => h.pn = h.pn.checked_add(1).ok_or("pn overflows")?,
        "header-dh" => {
            if header.dh == src.header.dh || header.dh.to_bytes() == [0; 32] {
                return Err("header.dh is not an unrelated key".into());
            }
            h.dh = header.dh;
        }
        "header-dh-zero" => h.dh = DhPublicKey::from([0; 32]),
        other => return Err(format!("unknown tamper {other:?}")),
    }
    if h != *header || ct != ciphertext {
        return Err("header or ciphertext is not the source with this change".into());
    }
    Ok(())
}

/// Both parties' ratchets, fed their listed keys through [`KeyStream`]s.
struct Replay {
    keys: [Vec<[u8; 32]>; 2],
    streams: [KeyStream; 2],
    parties: [Ratchet; 2],
    /// Keys each party has adopted so far (its committed generations, VECTORS.md 3.1).
    committed: [usize; 2],
    sent: Vec<bool>,
    msgs: Vec<Msg>,
}

impl Replay {
    fn send(&mut self, id: usize) -> Result<(), String> {
        let msg = &self.msgs[id];
        let p = msg.from;
        let plaintext = msg.plaintext.as_deref().ok_or("a forged message is never sent")?;
        if self.sent[id] {
            return Err("sent twice".into());
        }
        if p == 0 {
            // alice[0] is Alice's initial ratchet key, adopted at her first send.
            self.committed[0] = self.committed[0].max(1);
        }
        let before = self.streams[p].drawn();
        let TracedMessage { header, ciphertext, message_key } = self.parties[p]
            .encrypt_traced(&mut self.streams[p], plaintext)
            .map_err(|e| format!("encrypt: {e}"))?;
        let drawn = self.streams[p].drawn();
        if self.streams[p].overrun() {
            return Err(format!("the library wants more keys than ratchet_keys.{} lists", PARTIES[p]));
        }
        if drawn != before && (drawn != before + 32 || drawn / 32 != self.committed[p]) {
            return Err(format!(
                "the library drew ratchet key bytes {before}..{drawn}, but {} has adopted {} keys",
                PARTIES[p], self.committed[p]
            ));
        }
        same("header.dh", msg.header.dh.as_bytes(), header.dh.as_bytes())?;
        same("header.pn", &msg.header.pn.to_be_bytes(), &header.pn.to_be_bytes())?;
        same("header.n", &msg.header.n.to_be_bytes(), &header.n.to_be_bytes())?;
        same("ciphertext", &msg.ciphertext, &ciphertext)?;
        if let Some(expected) = msg.ratchet_private {
            let current =
                drawn.checked_sub(32).map(|at| self.keys[p][at / 32]).ok_or("no ratchet key drawn yet")?;
            same("ratchet_private", &expected, &current)?;
        }
        if let Some(expected) = msg.message_key {
            same("message_key", &expected, &message_key[..])?;
        }
        self.sent[id] = true;
        Ok(())
    }

    fn deliver(&mut self, id: usize, event: Fields<'_>) -> Result<(), String> {
        let msg = &self.msgs[id];
        if !msg.forged && !self.sent[id] {
            return Err("delivered before it was sent".into());
        }
        let r = 1 - msg.from;
        let expect = event.str("expect")?;
        match expect {
            "accept" => {
                let (plaintext, dh_ratchet) = self.parties[r]
                    .decrypt(&msg.header, &msg.ciphertext)
                    .map_err(|e| format!("{} rejects it: {e}", PARTIES[r]))?;
                let expected = msg.plaintext.as_deref().ok_or("a forged message cannot be accepted")?;
                same("plaintext", expected, &plaintext)?;
                if let Some(flag) = event.opt_bool("dh_ratchet")? {
                    if flag != dh_ratchet {
                        return Err(format!("dh_ratchet: vector has {flag}, library gives {dh_ratchet}"));
                    }
                }
                if dh_ratchet {
                    self.committed[r] += 1;
                    let key = self.keys[r].get(self.committed[r] - 1).ok_or_else(|| {
                        format!(
                            "DH ratchet step {} of {} has no key in ratchet_keys",
                            self.committed[r], PARTIES[r]
                        )
                    })?;
                    if event.has("new_ratchet_private") {
                        same("new_ratchet_private", &event.array::<32>("new_ratchet_private")?, key)?;
                    }
                } else if event.has("new_ratchet_private") {
                    return Err("new_ratchet_private without a DH ratchet step".into());
                }
                Ok(())
            }
            "reject" => {
                let before = self.parties[r].to_bytes();
                match self.parties[r].decrypt(&msg.header, &msg.ciphertext) {
                    Ok(_) => Err(format!("{} accepts it", PARTIES[r])),
                    Err(_) if self.parties[r].to_bytes() != before => {
                        Err(format!("rejected, but {}'s state changed", PARTIES[r]))
                    }
                    Err(_) => Ok(()),
                }
            }
            other => Err(format!("unknown expect {other:?}")),
        }
    }
}

/// Checks a ratchet case keyed by a handshake case against that case.
fn check_link(f: Fields<'_>, links: &Links, sk: &[u8; 32], ad: &[u8], bob: &[u8; 32]) -> Result<(), String> {
    for section in ["x3dh", "pqxdh"] {
        let Some(name) = f.opt_str(section)? else { continue };
        let link = links
            .get(&(section, name.to_owned()))
            .ok_or_else(|| format!("no accept case {name:?} in section {section}"))?;
        if !link.passed {
            return Err(format!("{section} case {name:?} failed"));
        }
        same(&format!("shared_secret (from {name})"), &link.shared_secret, sk)?;
        same(&format!("associated_data (from {name})"), &link.associated_data, ad)?;
        same(&format!("bob_ratchet_private (SPK of {name})"), &link.signed_prekey_private, bob)?;
    }
    Ok(())
}

/// Replays one ratchet case.
pub(crate) fn verify_case(case: &Value, links: &Links) -> Result<(), String> {
    let f = Fields::of(case, "case")?;
    let sk = f.array::<32>("shared_secret")?;
    let ad = f.bytes("associated_data")?;
    let bob_private = f.array::<32>("bob_ratchet_private")?;
    let bob_public = DhKeyPair::from_private_bytes(bob_private).public_key();
    if f.has("bob_ratchet_public") {
        same("bob_ratchet_public", &f.array::<32>("bob_ratchet_public")?, bob_public.as_bytes())?;
    }
    check_link(f, links, &sk, &ad, &bob_private)?;
    let key_lists = f.obj("ratchet_keys")?;
    let mut keys: [Vec<[u8; 32]>; 2] = [Vec::new(), Vec::new()];
    for (p, list) in keys.iter_mut().enumerate() {
        for (k, key) in key_lists.arr(PARTIES[p])?.iter().enumerate() {
            let hex =
                key.as_str().ok_or_else(|| format!("ratchet_keys.{}[{k}] is not a string", PARTIES[p]))?;
            let bytes = super::json::unhex(hex)?;
            list.push(
                <[u8; 32]>::try_from(bytes.as_slice())
                    .map_err(|_| format!("ratchet_keys.{}[{k}]", PARTIES[p]))?,
            );
        }
    }
    let mut msgs = Vec::new();
    for (i, value) in f.arr("messages")?.iter().enumerate() {
        let msg = parse_msg(i, value, &msgs)?;
        msgs.push(msg);
    }
    let stream = |list: &Vec<[u8; 32]>| KeyStream::new(&list.iter().map(|k| &k[..]).collect::<Vec<_>>());
    let mut replay = Replay {
        streams: [stream(&keys[0]), stream(&keys[1])],
        parties: [
            Ratchet::init_alice(sk, bob_public.to_bytes(), &ad),
            Ratchet::init_bob(sk, bob_private, &ad),
        ],
        keys,
        committed: [0, 0],
        sent: vec![false; msgs.len()],
        msgs,
    };
    for (i, value) in f.arr("events")?.iter().enumerate() {
        let event = Fields::of(value, "event")?;
        let id = usize::try_from(event.u64("msg")?).map_err(|e| e.to_string())?;
        if id >= replay.msgs.len() {
            return Err(format!("event {i}: no message {id}"));
        }
        let result = match event.str("op")? {
            "send" => replay.send(id),
            "deliver" => replay.deliver(id, event),
            other => Err(format!("unknown op {other:?}")),
        };
        result.map_err(|e| format!("event {i} ({} {id}): {e}", event.str("op").unwrap_or("?")))?;
    }
    for ((name, keys), committed) in PARTIES.iter().zip(&replay.keys).zip(replay.committed) {
        if committed != keys.len() {
            return Err(format!(
                "ratchet_keys.{name} lists {} keys, but {committed} were adopted",
                keys.len()
            ));
        }
    }
    Ok(())
}
