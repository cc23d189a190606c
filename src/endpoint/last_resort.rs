//! Last-resort prekeys: a bundle without a one-time prekey that any number of initiators may
//! use until it is rotated, and the schedule that rotates it (PROTOCOL.md, sections 3 and 12).
//!
//! The device keeps one current last-resort pair (a signed X25519 prekey and a signed
//! ML-KEM-768 prekey, made together) and the pairs it replaced in the last
//! [`RETIRED_PREKEY_GRACE_MS`]. A handshake naming a last-resort pair does not delete it; instead
//! its base key is recorded, and a second handshake with the same base key is a replay. The
//! records of a pair are deleted with its private keys.
//!
//! The stored schedule: `u8 version (`[`PREKEY_SCHEDULE_VERSION`]`) ‖ u8 has current (0 or 1) ‖
//! [current pair] ‖ u8 count of retired pairs (at most` [`MAX_RETIRED_PREKEYS`]`) ‖ retired
//! pairs`, a pair being `u32be signed prekey id ‖ u32be ML-KEM prekey id ‖ u64be made at (ms)`,
//! followed for a retired pair by `u64be retired at (ms)`.

use rand_core::CryptoRng;

use super::error::Result;
use super::pending::Pending;
use super::{Endpoint, EndpointError};
use crate::clock::{Clock, Timestamp};
use crate::codec::{Reader, Writer};
use crate::consts::{
    LAST_RESORT_PREKEY_LIFETIME_MS, MAX_RETIRED_PREKEYS, PREKEY_SCHEDULE_VERSION, RETIRED_PREKEY_GRACE_MS,
};
use crate::error::DecodeError;
use crate::handshake::PrekeyBundle;
use crate::keys::{KemPrekey, OneTimePrekey, PrekeyId, SignedPrekey};
use crate::session::SessionError;
use crate::store::{Store, StoreError, WriteBatch};
use crate::wire::PrekeyMessage;

const WHAT: &str = "prekey schedule";

/// One last-resort pair, by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pair {
    signed: PrekeyId,
    kem: PrekeyId,
    made_at: Timestamp,
}

/// The last-resort pairs a device holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Schedule {
    current: Option<Pair>,
    /// Oldest first, with the time each was replaced.
    retired: Vec<(Pair, Timestamp)>,
}

impl Schedule {
    fn pairs(&self) -> impl Iterator<Item = &Pair> {
        self.current.iter().chain(self.retired.iter().map(|(pair, _)| pair))
    }

    /// How a handshake naming `signed` and `kem` uses the schedule.
    fn usage(&self, signed: PrekeyId, kem: PrekeyId) -> Usage {
        if self.pairs().any(|pair| pair.signed == signed && pair.kem == kem) {
            Usage::LastResort
        } else if self.pairs().any(|pair| pair.signed == signed || pair.kem == kem) {
            Usage::Mixed
        } else {
            Usage::SingleUse
        }
    }

    fn to_bytes(&self) -> zeroize::Zeroizing<Vec<u8>> {
        fn pair(w: &mut Writer, pair: &Pair) {
            w.u32(pair.signed.0);
            w.u32(pair.kem.0);
            w.bytes(&pair.made_at.as_millis().to_be_bytes());
        }
        Writer::encode(|w| {
            w.u8(PREKEY_SCHEDULE_VERSION);
            match &self.current {
                Some(current) => {
                    w.u8(1);
                    pair(w, current);
                }
                None => w.u8(0),
            }
            // At most `MAX_RETIRED_PREKEYS`, far below 256.
            w.u8(u8::try_from(self.retired.len()).unwrap_or(u8::MAX));
            for (retired, at) in &self.retired {
                pair(w, retired);
                w.bytes(&at.as_millis().to_be_bytes());
            }
        })
    }

    fn from_bytes(bytes: &[u8]) -> std::result::Result<Self, DecodeError> {
        fn pair(r: &mut Reader<'_>) -> std::result::Result<Pair, DecodeError> {
            Ok(Pair { signed: PrekeyId(r.u32()?), kem: PrekeyId(r.u32()?), made_at: Timestamp(r.u64()?) })
        }
        let mut r = Reader::new(bytes, WHAT);
        if r.u8()? != PREKEY_SCHEDULE_VERSION {
            return Err(DecodeError::InvalidField(WHAT));
        }
        let current = match r.u8()? {
            0 => None,
            1 => Some(pair(&mut r)?),
            _ => return Err(DecodeError::InvalidField(WHAT)),
        };
        let count = usize::from(r.u8()?);
        if count > MAX_RETIRED_PREKEYS {
            return Err(DecodeError::InvalidField(WHAT));
        }
        let mut retired = Vec::with_capacity(count);
        for _ in 0..count {
            let retired_pair = pair(&mut r)?;
            retired.push((retired_pair, Timestamp(r.u64()?)));
        }
        r.finish()?;
        Ok(Self { current, retired })
    }
}

/// How a handshake's prekeys relate to the last-resort pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Usage {
    /// Both are one last-resort pair.
    LastResort,
    /// One is a last-resort prekey, the other is not its pair: refused.
    Mixed,
    /// Neither is a last-resort prekey: a single-use bundle.
    SingleUse,
}

/// The private prekeys a handshake names, found, and how to record their use.
pub(super) struct ResponderPrekeys {
    pub(super) signed: SignedPrekey,
    pub(super) one_time: Option<OneTimePrekey>,
    pub(super) kem: KemPrekey,
    last_resort: bool,
}

impl ResponderPrekeys {
    /// Adds to `batch` what the handshake `first` uses up: for a single-use bundle, its three
    /// prekeys (all of them; `prekey_bundle` draws a new signed and post-quantum prekey for each
    /// bundle); for a last-resort pair, the record of its base key.
    pub(super) fn record_use(&self, first: &PrekeyMessage, pending: &mut Pending, batch: &mut WriteBatch) {
        if self.last_resort {
            batch.mark_last_resort_handshake(first.signed_prekey_id(), &first.base_key());
            return;
        }
        pending.take_prekeys(first);
        // A single-use bundle: all three prekeys go. The post-quantum prekey, which every
        // handshake names, is consumed: of two handshakes from one bundle received at once for two
        // peers, the second transaction fails, even if it names no one-time prekey.
        batch.remove_signed_prekey(first.signed_prekey_id()).consume_kem_prekey(first.kem_prekey_id());
        if let Some(id) = first.one_time_prekey_id() {
            batch.consume_one_time_prekey(id);
        }
    }
}

/// What a rotation did, and the bundle to publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrekeyRotation {
    /// The current last-resort bundle (new if `rotated`): publish it in place of the old one.
    pub bundle: Vec<u8>,
    /// Whether a new last-resort pair was made.
    pub rotated: bool,
    /// How many replaced pairs past their grace period had their private keys deleted.
    pub deleted: usize,
}

impl<S: Store, C: Clock> Endpoint<S, C> {
    /// The device's current last-resort bundle: a signed prekey and a signed post-quantum prekey,
    /// without a one-time prekey. Unlike [`Self::prekey_bundle`], any number of peers may start
    /// sessions from it, until [`Self::rotate_prekeys`] replaces it (and for
    /// [`RETIRED_PREKEY_GRACE_MS`] after). Made on first use.
    ///
    /// A session from it has a weaker guarantee against replay and a longer exposure of the
    /// first messages than one from a single-use bundle (PROTOCOL.md, section 4, "Last-resort
    /// handshakes"); publish it for when the single-use bundles ran out or were handed out twice.
    ///
    /// # Errors
    /// A store error; [`EndpointError::Randomness`].
    pub fn last_resort_bundle(&self) -> Result<Vec<u8>> {
        self.rotate(false).map(|rotation| rotation.bundle)
    }

    /// Rotates the last-resort prekeys on the app's schedule: call it regularly (for example
    /// daily, and at start-up). If the current pair is [`LAST_RESORT_PREKEY_LIFETIME_MS`] old,
    /// or there is none, a new pair is made and becomes current; the replaced one is still
    /// accepted for [`RETIRED_PREKEY_GRACE_MS`], after which a rotation deletes its private keys
    /// and the records of the handshakes made with it. Everything is saved in one transaction.
    ///
    /// # Errors
    /// A store error (then nothing changed); [`EndpointError::Randomness`].
    pub fn rotate_prekeys(&self) -> Result<PrekeyRotation> {
        self.rotate(true)
    }

    fn rotate(&self, on_schedule: bool) -> Result<PrekeyRotation> {
        let _schedule = self.prekey_schedule_lock.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.generator.run(|rng| self.rotate_with(rng, on_schedule))
    }

    fn rotate_with<R: CryptoRng + ?Sized>(&self, rng: &mut R, on_schedule: bool) -> Result<PrekeyRotation> {
        let now = self.now();
        let mut schedule = self.schedule()?;
        let mut batch = WriteBatch::new();
        let current = match schedule.current {
            Some(pair) => self.pair_keys(&pair)?,
            None => None,
        };
        let due = |pair: &Pair| now >= pair.made_at.plus_millis(LAST_RESORT_PREKEY_LIFETIME_MS);
        let (signed, kem, rotated) = match (current, schedule.current) {
            (Some((signed, kem)), Some(pair)) if !(on_schedule && due(&pair)) => (signed, kem, false),
            _ => {
                let id = self.unused_prekey_id(rng)?;
                let signed = SignedPrekey::generate(rng, id, &self.identity);
                let kem = KemPrekey::generate(rng, id, &self.identity);
                batch.put_signed_prekey(&signed).put_kem_prekey(&kem);
                let pair = Pair { signed: id, kem: id, made_at: now };
                if let Some(old) = schedule.current.replace(pair) {
                    schedule.retired.push((old, now));
                }
                (signed, kem, true)
            }
        };
        let deleted = Self::expire(&mut schedule, now, &mut batch);
        let known: Vec<PrekeyId> = schedule.pairs().map(|pair| pair.signed).collect();
        for (id, base_key) in self.store.last_resort_handshakes()? {
            if !known.contains(&id) {
                batch.forget_last_resort_handshake(&base_key);
            }
        }
        if rotated || deleted > 0 || !batch.is_empty() {
            batch.put_prekey_schedule(&schedule.to_bytes());
            self.store.apply(batch)?;
        }
        let bundle = PrekeyBundle::new(self.identity.public_key(), &signed, None, &kem).to_bytes();
        Ok(PrekeyRotation { bundle, rotated, deleted })
    }

    /// Removes from `schedule` the retired pairs past their grace period, and the oldest beyond
    /// [`MAX_RETIRED_PREKEYS`], deleting their private keys in `batch`. Returns how many.
    fn expire(schedule: &mut Schedule, now: Timestamp, batch: &mut WriteBatch) -> usize {
        let over = schedule.retired.len().saturating_sub(MAX_RETIRED_PREKEYS);
        let mut deleted = 0;
        let mut index = 0;
        schedule.retired.retain(|(pair, retired_at)| {
            let keep = index >= over && now < retired_at.plus_millis(RETIRED_PREKEY_GRACE_MS);
            index += 1;
            if !keep {
                batch.remove_signed_prekey(pair.signed).remove_kem_prekey(pair.kem);
                deleted += 1;
            }
            keep
        });
        deleted
    }

    /// The private keys of `pair`, if both are still stored.
    fn pair_keys(&self, pair: &Pair) -> Result<Option<(SignedPrekey, KemPrekey)>> {
        let signed = self.store.signed_prekey(pair.signed)?;
        let kem = self.store.kem_prekey(pair.kem)?;
        Ok(signed.zip(kem))
    }

    fn schedule(&self) -> Result<Schedule> {
        match self.store.prekey_schedule()? {
            Some(bytes) => Schedule::from_bytes(&bytes)
                .map_err(|_| StoreError::Corrupt { table: "prekey_schedule" }.into()),
            None => Ok(Schedule::default()),
        }
    }

    /// Finds the private prekeys the handshake `first` names. A last-resort pair must be named
    /// together and without a one-time prekey; a base key it already completed a handshake with
    /// is a replay ([`SessionError::Duplicate`]). Otherwise the prekeys are those of a single-use
    /// bundle, which no earlier envelope of the same receive may have used.
    ///
    /// # Errors
    /// [`EndpointError::UnknownPrekey`], [`SessionError::Duplicate`], or a store error.
    pub(super) fn responder_prekeys(
        &self,
        first: &PrekeyMessage,
        pending: &Pending,
    ) -> Result<ResponderPrekeys> {
        let missing = || EndpointError::UnknownPrekey;
        let usage = self.schedule()?.usage(first.signed_prekey_id(), first.kem_prekey_id());
        let last_resort = match usage {
            Usage::Mixed => return Err(missing().into()),
            Usage::LastResort if first.one_time_prekey_id().is_some() => return Err(missing().into()),
            Usage::LastResort => {
                if self.store.last_resort_handshake(&first.base_key())?.is_some() {
                    return Err(SessionError::Duplicate.into());
                }
                true
            }
            Usage::SingleUse => {
                pending.check_prekeys(first)?;
                false
            }
        };
        let signed = self.store.signed_prekey(first.signed_prekey_id())?.ok_or_else(missing)?;
        let kem = self.store.kem_prekey(first.kem_prekey_id())?.ok_or_else(missing)?;
        let one_time = match first.one_time_prekey_id() {
            Some(id) => Some(self.store.one_time_prekey(id)?.ok_or_else(missing)?),
            None => None,
        };
        Ok(ResponderPrekeys { signed, one_time, kem, last_resort })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_and_its_stored_form_agree_and_malformed_ones_are_refused() {
        let pair =
            |n: u32| Pair { signed: PrekeyId(n), kem: PrekeyId(n + 1), made_at: Timestamp(u64::from(n)) };
        let schedule = Schedule {
            current: Some(pair(7)),
            retired: vec![(pair(1), Timestamp(9)), (pair(3), Timestamp(10))],
        };
        let bytes = schedule.to_bytes();
        assert_eq!(Schedule::from_bytes(&bytes), Ok(schedule.clone()));
        assert_eq!(Schedule::from_bytes(&Schedule::default().to_bytes()), Ok(Schedule::default()));
        assert_eq!(schedule.usage(PrekeyId(7), PrekeyId(8)), Usage::LastResort);
        assert_eq!(schedule.usage(PrekeyId(1), PrekeyId(2)), Usage::LastResort);
        assert_eq!(schedule.usage(PrekeyId(7), PrekeyId(2)), Usage::Mixed);
        assert_eq!(schedule.usage(PrekeyId(9), PrekeyId(9)), Usage::SingleUse);
        let invalid = Err(DecodeError::InvalidField(WHAT));
        let mut version = bytes.to_vec();
        version[0] = 2;
        assert_eq!(Schedule::from_bytes(&version), invalid);
        let mut flag = bytes.to_vec();
        flag[1] = 2;
        assert_eq!(Schedule::from_bytes(&flag), invalid);
        let mut trailing = bytes.to_vec();
        trailing.push(0);
        assert!(Schedule::from_bytes(&trailing).is_err());
        assert!(Schedule::from_bytes(&bytes[..bytes.len() - 1]).is_err());
        let too_many = Writer::encode(|w| {
            w.u8(PREKEY_SCHEDULE_VERSION);
            w.u8(0);
            w.u8(u8::try_from(MAX_RETIRED_PREKEYS + 1).unwrap());
        });
        assert_eq!(Schedule::from_bytes(&too_many), invalid);
    }
}
