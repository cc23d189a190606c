//! The sessions kept with one peer: the current one, which sends, and a few previous ones, which
//! can still decrypt.
//!
//! A peer can end up with more than one session: both sides start one at the same time, a first
//! message of another handshake arrives late, or the app starts a new session while the old one
//! still has messages in flight. Replacing the old session would make every message still coming
//! on it undecryptable while the peer's app shows them as sent; so, as Signal does, the old ones
//! are kept, bounded, and one rule decides which session sends (PROTOCOL.md, section 12,
//! "Several sessions with one peer"):
//!
//! 1. Sending uses the current session.
//! 2. A message is decrypted by the current session, else by the previous ones, most recently
//!    current first; a [`PrekeyMessage`](crate::wire::PrekeyMessage) only by the session of its
//!    handshake (its base key), or, if no kept session has that handshake, by a new one.
//! 3. A previous session that decrypts a message becomes current again (the current one becomes
//!    the most recent previous one).
//! 4. A new session (started with `start_session`, or created by a first message) becomes current
//!    unless the current session has received a message from the peer; then it is kept as the most
//!    recent previous session. A session that has received wins over one that has not; between
//!    two that have not, the newer one wins.
//! 5. A new session drops the kept sessions with another peer identity (the store trusts only one
//!    identity per peer); at most [`MAX_PREVIOUS_SESSIONS`] previous sessions are kept, and fewer
//!    if the record would exceed [`MAX_SESSION_LEN`]: the least recently current are dropped first.
//! 6. A session started by a repair (PROTOCOL.md section 12.2) becomes current whatever the
//!    current one received, and stays current: until another session is added, a previous
//!    session that decrypts a message in flight does not become current again (the peer that
//!    asked for the repair no longer has it).
//!
//! The stored form: a set without previous sessions is stored as its session's own record
//! (PROTOCOL.md, section 8, version 1), exactly as before sets existed; a set with previous
//! sessions as a session set record: `u8 version` ([`SESSION_SET_VERSION`]) `‖ u8 count of
//! previous sessions (1 to` [`MAX_PREVIOUS_SESSIONS`]`)`, then `u32be length ‖ session record`
//! for the current session and for each previous one, most recently current first. A set pinned by
//! a repair (rule 6) is stored the same way with [`SESSION_SET_PINNED_VERSION`] as its version.

use std::collections::VecDeque;

use zeroize::Zeroizing;

use crate::codec::{Reader, Writer};
use crate::consts::{
    MAX_PREVIOUS_SESSIONS, MAX_SESSION_LEN, SESSION_FORMAT_VERSION, SESSION_SET_PINNED_VERSION,
    SESSION_SET_VERSION,
};
use crate::error::DecodeError;
use crate::keys::{DhPublicKey, IdentityKey};
use crate::session::{Session, SessionError};
use crate::wire::Envelope;

const WHAT: &str = "session set";

/// Bytes a session set record starts with: the version and the count.
const SET_OVERHEAD: usize = 2;
/// Bytes a session set record adds before each session record: its length.
const LENGTH_OVERHEAD: usize = 4;

/// The sessions kept with one peer.
#[derive(Clone)]
pub(super) struct SessionSet {
    current: Session,
    /// Most recently current first; at most [`MAX_PREVIOUS_SESSIONS`].
    previous: VecDeque<Session>,
    /// The current session came from a repair (rule 6): previous sessions still decrypt but do
    /// not become current again, until a new session is added.
    pinned: bool,
}

impl SessionSet {
    /// A set of one session.
    pub(super) fn new(session: Session) -> Self {
        Self { current: session, previous: VecDeque::new(), pinned: false }
    }

    /// The session that sends.
    #[cfg(test)]
    fn current(&self) -> &Session {
        &self.current
    }

    /// The session that sends.
    pub(super) fn current_mut(&mut self) -> &mut Session {
        &mut self.current
    }

    /// How many sessions the set holds, the current one included.
    #[cfg(test)]
    fn len(&self) -> usize {
        1 + self.previous.len()
    }

    /// Whether a kept session belongs to the handshake with initiator base key `base_key`.
    pub(super) fn has_handshake(&self, base_key: &DhPublicKey) -> bool {
        self.sessions().any(|session| session.base_key() == *base_key)
    }

    /// How many kept sessions have received a message from the peer.
    pub(super) fn received_count(&self) -> usize {
        self.sessions().filter(|session| session.has_received()).count()
    }

    fn sessions(&self) -> impl Iterator<Item = &Session> {
        std::iter::once(&self.current).chain(self.previous.iter())
    }

    /// Adds a new session by rules 4 and 5 (module documentation).
    pub(super) fn add(&mut self, session: Session) {
        self.pinned = false;
        let identity = session.remote_identity();
        let keep = |kept: &Session| kept.remote_identity().ct_eq(&identity);
        self.previous.retain(keep);
        if !keep(&self.current) {
            self.current = session;
        } else if self.current.has_received() {
            self.previous.push_front(session);
        } else {
            let replaced = std::mem::replace(&mut self.current, session);
            self.previous.push_front(replaced);
        }
        self.previous.truncate(MAX_PREVIOUS_SESSIONS);
    }

    /// Adds a new session that becomes current whatever the current one received (a repair,
    /// PROTOCOL.md section 12.2); the current one becomes the most recent previous one (rule 5
    /// otherwise applies).
    pub(super) fn add_current(&mut self, session: Session) {
        self.add(session.clone());
        if self.current.base_key() != session.base_key() {
            if let Some(index) = self.previous.iter().position(|kept| kept.base_key() == session.base_key()) {
                if let Some(promoted) = self.previous.remove(index) {
                    let demoted = std::mem::replace(&mut self.current, promoted);
                    self.previous.push_front(demoted);
                }
            }
        }
        self.pinned = true;
    }

    /// Decrypts `envelope` with a kept session (rule 2) and promotes that session (rule 3).
    ///
    /// Each session tried leaves itself unchanged when it fails ([`Session::decrypt`]), so only
    /// the session that decrypted changes.
    ///
    /// # Errors
    /// For a prekey message, the error of the session of its handshake. For a ratchet message
    /// that no session decrypts, [`SessionError::Duplicate`] if a session recognised it as a
    /// message it already decrypted, otherwise the current session's error.
    pub(super) fn decrypt(&mut self, envelope: &Envelope) -> Result<Zeroizing<Vec<u8>>, SessionError> {
        if let Envelope::Prekey(first) = envelope {
            let handshake = |session: &Session| session.base_key() == first.base_key();
            if handshake(&self.current) {
                return self.current.decrypt(envelope);
            }
            let index = self.previous.iter().position(handshake).ok_or(SessionError::ForeignHandshake)?;
            return self.decrypt_previous(index, envelope);
        }
        let current_error = match self.current.decrypt(envelope) {
            Ok(plaintext) => return Ok(plaintext),
            Err(error) => error,
        };
        let mut duplicate = current_error == SessionError::Duplicate;
        for index in 0..self.previous.len() {
            match self.decrypt_previous(index, envelope) {
                Ok(plaintext) => return Ok(plaintext),
                Err(SessionError::Duplicate) => duplicate = true,
                Err(_) => {}
            }
        }
        Err(if duplicate { SessionError::Duplicate } else { current_error })
    }

    /// Decrypts with previous session `index` and, if that succeeds, makes it current (unless
    /// the set is pinned by a repair, rule 6).
    fn decrypt_previous(
        &mut self,
        index: usize,
        envelope: &Envelope,
    ) -> Result<Zeroizing<Vec<u8>>, SessionError> {
        let session = self.previous.get_mut(index).ok_or(SessionError::NotReady)?;
        let plaintext = session.decrypt(envelope)?;
        if self.pinned {
            return Ok(plaintext);
        }
        if let Some(promoted) = self.previous.remove(index) {
            let demoted = std::mem::replace(&mut self.current, promoted);
            self.previous.push_front(demoted);
        }
        Ok(plaintext)
    }

    /// The peer's identity key (the same for every kept session, rule 5).
    pub(super) fn remote_identity(&self) -> IdentityKey {
        self.current.remote_identity()
    }

    /// The stored form (module documentation): the current session and as many previous ones,
    /// most recently current first, as fit in [`MAX_SESSION_LEN`] bytes.
    pub(super) fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let current = self.current.to_bytes();
        let mut previous = Vec::with_capacity(self.previous.len());
        let mut len = SET_OVERHEAD + LENGTH_OVERHEAD + current.len();
        for session in &self.previous {
            let record = session.to_bytes();
            len += LENGTH_OVERHEAD + record.len();
            if len > MAX_SESSION_LEN {
                break;
            }
            previous.push(record);
        }
        if previous.is_empty() {
            return current;
        }
        let version = if self.pinned { SESSION_SET_PINNED_VERSION } else { SESSION_SET_VERSION };
        Writer::encode(|w| {
            w.u8(version);
            // At most `MAX_PREVIOUS_SESSIONS`, far below 256.
            w.u8(u8::try_from(previous.len()).unwrap_or(u8::MAX));
            w.var_bytes(&current);
            for record in &previous {
                w.var_bytes(record);
            }
        })
    }

    /// Reads the stored form: a session record, or a session set record.
    ///
    /// # Errors
    /// [`SessionError::Decode`] with [`DecodeError::UnsupportedVersion`] for another version
    /// byte, [`DecodeError::TooLarge`] beyond [`MAX_SESSION_LEN`], otherwise with
    /// [`DecodeError::InvalidField`] or the error of a session record inside.
    pub(super) fn from_bytes(bytes: &[u8]) -> Result<Self, SessionError> {
        if bytes.first() == Some(&SESSION_FORMAT_VERSION) {
            return Ok(Self::new(Session::from_bytes(bytes)?));
        }
        let pinned = bytes.first() == Some(&SESSION_SET_PINNED_VERSION);
        let version = if pinned { SESSION_SET_PINNED_VERSION } else { SESSION_SET_VERSION };
        let body = crate::wire::check_version(bytes, version, MAX_SESSION_LEN)?;
        let mut r = Reader::new(body, WHAT);
        let count = usize::from(r.u8()?);
        // A set without previous sessions is stored as a session record; a count of 0 here is
        // not the canonical form.
        if count == 0 || count > MAX_PREVIOUS_SESSIONS {
            return Err(DecodeError::InvalidField(WHAT).into());
        }
        let current = Session::from_bytes(r.var_bytes(MAX_SESSION_LEN)?)?;
        let mut previous = VecDeque::with_capacity(count);
        for _ in 0..count {
            let session = Session::from_bytes(r.var_bytes(MAX_SESSION_LEN)?)?;
            if !session.remote_identity().ct_eq(&current.remote_identity()) {
                return Err(DecodeError::InvalidField(WHAT).into());
            }
            previous.push_back(session);
        }
        r.finish()?;
        Ok(Self { current, previous, pinned })
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;
    use crate::handshake::PrekeyBundle;
    use crate::keys::{IdentityKeyPair, KemPrekey, OneTimePrekey, PrekeyId, SignedPrekey};

    /// A session with `peer` from a fresh bundle of `peer`'s, and its first envelope to `peer`.
    fn initiate(
        rng: &mut StdRng,
        local: &IdentityKeyPair,
        peer: &IdentityKeyPair,
        id: u32,
    ) -> (Session, Envelope, (SignedPrekey, OneTimePrekey, KemPrekey)) {
        let signed = SignedPrekey::generate(rng, PrekeyId(id), peer);
        let one_time = OneTimePrekey::generate(rng, PrekeyId(id));
        let kem = KemPrekey::generate(rng, PrekeyId(id), peer);
        let bundle = PrekeyBundle::new(peer.public_key(), &signed, Some(&one_time), &kem);
        let mut session = Session::initiate(rng, local, &bundle).unwrap();
        let first = session.encrypt(rng, b"first").unwrap();
        (session, first, (signed, one_time, kem))
    }

    fn respond(
        local: &IdentityKeyPair,
        first: &Envelope,
        keys: &(SignedPrekey, OneTimePrekey, KemPrekey),
    ) -> Session {
        let Envelope::Prekey(first) = first else { panic!("not a prekey message") };
        Session::respond(local, first, &keys.0, Some(&keys.1), &keys.2).unwrap().0
    }

    #[test]
    fn a_session_that_received_keeps_sending_and_new_ones_are_kept_behind_it() {
        let mut rng = StdRng::seed_from_u64(1);
        let (alice, bob) = (IdentityKeyPair::generate(&mut rng), IdentityKeyPair::generate(&mut rng));
        let (first, envelope, keys) = initiate(&mut rng, &alice, &bob, 1);
        let mut set = SessionSet::new(respond(&bob, &envelope, &keys));
        let established = set.current().base_key();
        // Bob's established session stays current whatever new sessions arrive; at most
        // `MAX_PREVIOUS_SESSIONS` of them are kept, the oldest dropped.
        for id in 2..10 {
            let (_, envelope, keys) = initiate(&mut rng, &alice, &bob, id);
            set.add(respond(&bob, &envelope, &keys));
            assert_eq!(set.current().base_key(), established);
            assert_eq!(set.len(), 1 + MAX_PREVIOUS_SESSIONS.min(usize::try_from(id).unwrap() - 1));
        }
        // A message on the first session still decrypts.
        let mut first = first;
        let envelope = first.encrypt(&mut rng, b"second").unwrap();
        assert_eq!(&set.decrypt(&envelope).unwrap()[..], b"second");
        // A set of sessions and its stored form agree.
        let stored = set.to_bytes();
        assert_eq!(stored[0], SESSION_SET_VERSION);
        let read = SessionSet::from_bytes(&stored).unwrap();
        assert_eq!(read.len(), set.len());
        assert_eq!(read.to_bytes()[..], stored[..]);
    }

    #[test]
    fn a_new_session_replaces_one_that_has_not_received_and_a_previous_one_is_promoted() {
        let mut rng = StdRng::seed_from_u64(2);
        let (alice, bob) = (IdentityKeyPair::generate(&mut rng), IdentityKeyPair::generate(&mut rng));
        // Alice starts a session and sends on it; Bob answers on it.
        let (older, to_bob, keys) = initiate(&mut rng, &alice, &bob, 1);
        let mut at_bob = respond(&bob, &to_bob, &keys);
        let reply = at_bob.encrypt(&mut rng, b"reply").unwrap();
        // Before the answer arrives, Alice starts another one: neither has received, so the newer
        // one sends.
        let (newer, _, _) = initiate(&mut rng, &alice, &bob, 2);
        let mut set = SessionSet::new(older.clone());
        set.add(newer.clone());
        assert_eq!(set.current().base_key(), newer.base_key());
        // The answer decrypts on the older session, which becomes current again.
        let forged = {
            let Envelope::Message(mut message) = reply.clone() else { panic!() };
            message.ciphertext[0] ^= 1;
            Envelope::Message(message)
        };
        assert_eq!(set.decrypt(&forged).unwrap_err(), SessionError::Decrypt);
        assert_eq!(set.current().base_key(), newer.base_key());
        assert_eq!(&set.decrypt(&reply).unwrap()[..], b"reply");
        assert_eq!(set.current().base_key(), older.base_key());
        assert_eq!(set.len(), 2);
        // Again, it is a duplicate, whichever session is tried first.
        assert_eq!(set.decrypt(&reply).unwrap_err(), SessionError::Duplicate);
        // A session with another identity (the user accepted a new key) drops the old ones.
        let stranger = IdentityKeyPair::generate(&mut rng);
        let (other, _, _) = initiate(&mut rng, &alice, &stranger, 3);
        set.add(other.clone());
        assert_eq!(set.len(), 1);
        assert_eq!(set.current().base_key(), other.base_key());
    }

    #[test]
    fn previous_sessions_that_do_not_fit_the_record_are_dropped() {
        let mut rng = StdRng::seed_from_u64(5);
        let (alice, bob) = (IdentityKeyPair::generate(&mut rng), IdentityKeyPair::generate(&mut rng));
        let (mut at_alice, to_bob, keys) = initiate(&mut rng, &alice, &bob, 1);
        let mut at_bob = respond(&bob, &to_bob, &keys);
        // Bob keeps the most skipped keys a session may hold: two chains of which he received
        // only the last message.
        for _ in 0..2 {
            let mut last = None;
            for _ in 0..=crate::consts::MAX_SKIP {
                last = Some(at_alice.encrypt(&mut rng, b"m").unwrap());
            }
            at_bob.decrypt(&last.unwrap()).unwrap();
            at_alice.decrypt(&at_bob.encrypt(&mut rng, b"ack").unwrap()).unwrap();
        }
        assert_eq!(at_bob.skipped_keys(), crate::consts::MAX_STORED_SKIPPED_KEYS);
        let big = at_bob.to_bytes().len();
        let set = SessionSet {
            current: at_bob.clone(),
            previous: std::iter::repeat_n(at_bob, MAX_PREVIOUS_SESSIONS).collect(),
            pinned: false,
        };
        let stored = set.to_bytes();
        assert!(stored.len() <= MAX_SESSION_LEN);
        let fit = (MAX_SESSION_LEN - SET_OVERHEAD) / (LENGTH_OVERHEAD + big);
        assert!(fit < 1 + MAX_PREVIOUS_SESSIONS, "the test needs sessions that do not all fit");
        assert_eq!(SessionSet::from_bytes(&stored).unwrap().len(), fit);
    }

    #[test]
    fn a_repaired_session_stays_current_and_the_pin_is_stored() {
        let mut rng = StdRng::seed_from_u64(6);
        let (alice, bob) = (IdentityKeyPair::generate(&mut rng), IdentityKeyPair::generate(&mut rng));
        // Bob's session with Alice, on which Alice's message is still in flight.
        let (mut old_at_alice, to_bob, keys) = initiate(&mut rng, &alice, &bob, 1);
        let mut set = SessionSet::new(respond(&bob, &to_bob, &keys));
        let late = old_at_alice.encrypt(&mut rng, b"late").unwrap();
        // Bob repairs: a session from Alice's new bundle becomes current, pinned.
        let (repaired, _, _) = initiate(&mut rng, &bob, &alice, 2);
        set.add_current(repaired.clone());
        assert_eq!(set.current().base_key(), repaired.base_key());
        let stored = set.to_bytes();
        assert_eq!(stored[0], SESSION_SET_PINNED_VERSION);
        let mut set = SessionSet::from_bytes(&stored).unwrap();
        // The late message decrypts on the old session, which stays behind the repaired one.
        assert_eq!(&set.decrypt(&late).unwrap()[..], b"late");
        assert_eq!(set.current().base_key(), repaired.base_key());
        // A new session lifts the pin: the rules are the usual ones again.
        let (newer, _, _) = initiate(&mut rng, &bob, &alice, 3);
        set.add(newer);
        assert_eq!(set.to_bytes()[0], SESSION_SET_VERSION);
    }

    #[test]
    fn a_single_session_is_stored_as_its_own_record() {
        let mut rng = StdRng::seed_from_u64(3);
        let (alice, bob) = (IdentityKeyPair::generate(&mut rng), IdentityKeyPair::generate(&mut rng));
        let (session, _, _) = initiate(&mut rng, &alice, &bob, 1);
        let set = SessionSet::new(session.clone());
        assert_eq!(set.to_bytes()[..], session.to_bytes()[..]);
        assert_eq!(SessionSet::from_bytes(&session.to_bytes()).unwrap().len(), 1);
    }

    #[test]
    fn malformed_sets_are_refused() {
        let mut rng = StdRng::seed_from_u64(4);
        let (alice, bob) = (IdentityKeyPair::generate(&mut rng), IdentityKeyPair::generate(&mut rng));
        let (a, _, _) = initiate(&mut rng, &alice, &bob, 1);
        let (b, _, _) = initiate(&mut rng, &alice, &bob, 2);
        let mut set = SessionSet::new(a);
        set.add(b);
        let good = set.to_bytes();
        let invalid = Err(SessionError::Decode(DecodeError::InvalidField(WHAT)));
        let read = |bytes: &[u8]| SessionSet::from_bytes(bytes).map(|set| set.len());
        assert_eq!(read(&good), Ok(2));
        assert_eq!(read(&[]), Err(SessionError::Decode(DecodeError::Empty)));
        assert_eq!(read(&[4, 0]), Err(SessionError::Decode(DecodeError::UnsupportedVersion(4))));
        let mut zero = good.to_vec();
        zero[1] = 0;
        assert_eq!(read(&zero), invalid);
        let mut too_many = good.to_vec();
        too_many[1] = u8::try_from(MAX_PREVIOUS_SESSIONS + 1).unwrap();
        assert_eq!(read(&too_many), invalid);
        let mut trailing = good.to_vec();
        trailing.push(0);
        assert_eq!(read(&trailing), invalid);
        assert!(read(&good[..good.len() - 1]).is_err());
        // A previous session with another peer is refused.
        let stranger = IdentityKeyPair::generate(&mut rng);
        let (c, _, _) = initiate(&mut rng, &alice, &stranger, 3);
        let (d, _, _) = initiate(&mut rng, &alice, &bob, 4);
        let mixed = Writer::encode(|w| {
            w.u8(SESSION_SET_VERSION);
            w.u8(1);
            w.var_bytes(&d.to_bytes());
            w.var_bytes(&c.to_bytes());
        });
        assert_eq!(read(&mixed), invalid);
        let huge = vec![SESSION_SET_VERSION; MAX_SESSION_LEN + 1];
        assert_eq!(read(&huge), Err(SessionError::Decode(DecodeError::TooLarge)));
    }
}
