//! When a message expires.
//!
//! Every message has a [`Lifespan`]: a duration, bounded by [`MIN_LIFESPAN_MS`] and
//! [`MAX_LIFESPAN_MS`], that runs either from sending or from first reading.
//!
//! The receiver never trusts the sender's clock to make a message live longer. For a lifespan that
//! runs from sending, the receiver computes
//!
//! ```text
//! expires_at = min(sent_at, received_at) + duration
//! ```
//!
//! where `sent_at` is the sender's claim and `received_at` the receiver's own clock. A sender
//! clock that runs ahead is ignored (the receive time is earlier); one that runs behind only
//! shortens the message's life. A message whose `expires_at <= received_at` has already expired on
//! arrival: [`Arrival::Expired`], and the caller does not store it.
//!
//! For a lifespan that runs from reading, `expires_at = read_at + duration`, where `read_at` is the
//! reader's clock when the message was first shown. Until it is read, such a message expires at
//! `received_at + MAX_UNREAD_MS` ([`MAX_UNREAD_MS`], 30 days), so that an unread message does not
//! stay on a device indefinitely.
//! The sender's own copy of any message expires at `sent_at + duration` by the sender's clock.
//!
//! The lifespan itself is the agreement's, not the sender's: the receiver applies
//! [`Lifespan::within`] the lifespan the agreement in force gives the message's category, so a
//! sender can shorten a message's life on the receiver's device but neither lengthen it nor change
//! when it starts to run.

use crate::clock::Timestamp;
use crate::consts::{DEFAULT_LIFESPAN_MS, MAX_LIFESPAN_MS, MAX_UNREAD_MS, MIN_LIFESPAN_MS};

/// When a lifespan starts to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ExpiryStart {
    /// From sending (as bounded by the receiver's clock; see the module docs).
    FromSend,
    /// From the moment the recipient first reads the message.
    FromRead,
}

/// How long a message lives, and from when. Always within [`MIN_LIFESPAN_MS`]..=[`MAX_LIFESPAN_MS`].
///
/// The receiver never trusts the sender's clock to make a message live longer. For a lifespan
/// from sending, [`Lifespan::on_arrival`] computes `expires_at = min(sent_at, received_at) + duration`
/// (`sent_at` the sender's claim, `received_at` the receiver's clock); a message with
/// `expires_at <= received_at` has expired on arrival and is not stored. For a lifespan from
/// reading, `expires_at = read_at + duration` by the reader's clock ([`Lifespan::on_first_read`]).
/// The sender's own copy expires at `sent_at + duration` ([`Lifespan::expires_at_sender`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "LifespanData", into = "LifespanData")]
pub struct Lifespan {
    duration_ms: u64,
    start: ExpiryStart,
}

/// Why a lifespan was refused.
#[derive(Debug, thiserror::Error, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExpiryError {
    /// The duration is shorter than [`MIN_LIFESPAN_MS`] or longer than [`MAX_LIFESPAN_MS`].
    #[error("lifespan out of range")]
    OutOfRange,
}

// The default lifespan is within the bounds; checked when the crate compiles.
const _: () = assert!(MIN_LIFESPAN_MS <= DEFAULT_LIFESPAN_MS && DEFAULT_LIFESPAN_MS <= MAX_LIFESPAN_MS);

impl Lifespan {
    /// The lifespan of a category an agreement names none for: [`DEFAULT_LIFESPAN_MS`] from sending.
    pub const DEFAULT: Lifespan = Lifespan { duration_ms: DEFAULT_LIFESPAN_MS, start: ExpiryStart::FromSend };

    /// A lifespan of `duration_ms` milliseconds running from `start`.
    ///
    /// # Errors
    /// [`ExpiryError::OutOfRange`] if the duration is outside the bounds.
    pub fn new(duration_ms: u64, start: ExpiryStart) -> Result<Self, ExpiryError> {
        if (MIN_LIFESPAN_MS..=MAX_LIFESPAN_MS).contains(&duration_ms) {
            Ok(Self { duration_ms, start })
        } else {
            Err(ExpiryError::OutOfRange)
        }
    }

    /// The duration, in milliseconds.
    #[must_use]
    pub fn duration_ms(&self) -> u64 {
        self.duration_ms
    }

    /// When the duration starts to run.
    #[must_use]
    pub fn start(&self) -> ExpiryStart {
        self.start
    }

    /// The lifespan a receiver applies to a message that asked for `self`, when the agreement in
    /// force gives the message's category `agreed`: the shorter duration of the two, running from
    /// the agreed start. A sender can shorten a message's life on the receiver's device, but
    /// neither lengthen it nor change when it starts to run.
    #[must_use]
    pub fn within(self, agreed: Lifespan) -> Lifespan {
        Lifespan { duration_ms: self.duration_ms.min(agreed.duration_ms), start: agreed.start }
    }

    /// When the sender's own copy expires: `sent_at + duration`, by the sender's clock.
    #[must_use]
    pub fn expires_at_sender(&self, sent_at: Timestamp) -> Timestamp {
        sent_at.plus_millis(self.duration_ms)
    }

    /// What the receiver does with a message that just arrived (see the module docs for the rule).
    #[must_use]
    pub fn on_arrival(&self, sent_at: Timestamp, received_at: Timestamp) -> Arrival {
        match self.start {
            ExpiryStart::FromRead => {
                Arrival::Keep { expires_at: Some(received_at.plus_millis(MAX_UNREAD_MS)) }
            }
            ExpiryStart::FromSend => {
                let expires_at = sent_at.min(received_at).plus_millis(self.duration_ms);
                if expires_at <= received_at {
                    Arrival::Expired
                } else {
                    Arrival::Keep { expires_at: Some(expires_at) }
                }
            }
        }
    }

    /// When a received message expires once it was first read at `read_at` (the reader's clock).
    ///
    /// For a lifespan from sending, `arrival_expiry` (from [`Lifespan::on_arrival`]) stands and
    /// reading changes nothing; for a lifespan from reading, the result is `read_at + duration`.
    #[must_use]
    pub fn on_first_read(&self, arrival_expiry: Option<Timestamp>, read_at: Timestamp) -> Option<Timestamp> {
        match self.start {
            ExpiryStart::FromSend => arrival_expiry,
            ExpiryStart::FromRead => Some(read_at.plus_millis(self.duration_ms)),
        }
    }
}

/// What to do with a message that just arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Arrival {
    /// Store it; delete it at `expires_at`. For a lifespan from reading this is the unread cap
    /// ([`MAX_UNREAD_MS`] after arrival), replaced by `read_at + duration` when it is read.
    Keep {
        /// When the message expires (as far as known at arrival).
        expires_at: Option<Timestamp>,
    },
    /// It expired before it arrived: do not store or show it.
    Expired,
}

/// The serialized form of a [`Lifespan`], validated on the way in.
#[derive(serde::Serialize, serde::Deserialize)]
struct LifespanData {
    duration_ms: u64,
    start: ExpiryStart,
}

impl TryFrom<LifespanData> for Lifespan {
    type Error = ExpiryError;
    fn try_from(data: LifespanData) -> Result<Self, ExpiryError> {
        Self::new(data.duration_ms, data.start)
    }
}

impl From<Lifespan> for LifespanData {
    fn from(lifespan: Lifespan) -> Self {
        Self { duration_ms: lifespan.duration_ms, start: lifespan.start }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: u64 = 60 * 60 * 1000;

    fn from_send(hours: u64) -> Lifespan {
        Lifespan::new(hours * HOUR, ExpiryStart::FromSend).unwrap()
    }

    #[test]
    fn bounds_are_enforced() {
        assert_eq!(Lifespan::new(MIN_LIFESPAN_MS - 1, ExpiryStart::FromSend), Err(ExpiryError::OutOfRange));
        assert_eq!(Lifespan::new(MAX_LIFESPAN_MS + 1, ExpiryStart::FromRead), Err(ExpiryError::OutOfRange));
        assert!(Lifespan::new(MIN_LIFESPAN_MS, ExpiryStart::FromSend).is_ok());
        assert!(Lifespan::new(MAX_LIFESPAN_MS, ExpiryStart::FromRead).is_ok());
    }

    #[test]
    fn from_send_with_honest_clocks() {
        let sent = Timestamp(1_000_000);
        let received = Timestamp(1_000_000 + 5_000);
        assert_eq!(
            from_send(24).on_arrival(sent, received),
            Arrival::Keep { expires_at: Some(Timestamp(1_000_000 + 24 * HOUR)) }
        );
        assert_eq!(from_send(24).expires_at_sender(sent), Timestamp(1_000_000 + 24 * HOUR));
    }

    #[test]
    fn sender_clock_ahead_cannot_lengthen() {
        let received = Timestamp(10 * HOUR);
        let sent = Timestamp(10 * HOUR + 1000 * HOUR); // sender claims a far future
        assert_eq!(
            from_send(2).on_arrival(sent, received),
            Arrival::Keep { expires_at: Some(Timestamp(12 * HOUR)) }
        );
    }

    #[test]
    fn sender_clock_behind_shortens_or_expires() {
        let received = Timestamp(10 * HOUR);
        assert_eq!(
            from_send(2).on_arrival(Timestamp(9 * HOUR), received),
            Arrival::Keep { expires_at: Some(Timestamp(11 * HOUR)) }
        );
        assert_eq!(from_send(2).on_arrival(Timestamp(8 * HOUR), received), Arrival::Expired);
        assert_eq!(from_send(2).on_arrival(Timestamp(HOUR), received), Arrival::Expired);
    }

    #[test]
    fn delayed_past_its_lifespan_is_expired_on_arrival() {
        // Honest clocks, but the recipient's phone was off for three days.
        let sent = Timestamp(100 * HOUR);
        assert_eq!(from_send(24).on_arrival(sent, Timestamp(172 * HOUR)), Arrival::Expired);
        assert_eq!(from_send(24).on_arrival(sent, Timestamp(124 * HOUR)), Arrival::Expired);
        assert_eq!(
            from_send(24).on_arrival(sent, Timestamp(124 * HOUR - 1)),
            Arrival::Keep { expires_at: Some(Timestamp(124 * HOUR)) }
        );
    }

    #[test]
    fn from_read_waits_for_reading() {
        let lifespan = Lifespan::new(HOUR, ExpiryStart::FromRead).unwrap();
        let arrival = lifespan.on_arrival(Timestamp(0), Timestamp(100 * HOUR));
        // Unread, it is kept at most MAX_UNREAD_MS after it arrived.
        let cap = Timestamp(100 * HOUR + MAX_UNREAD_MS);
        assert_eq!(arrival, Arrival::Keep { expires_at: Some(cap) });
        assert_eq!(lifespan.on_first_read(Some(cap), Timestamp(200 * HOUR)), Some(Timestamp(201 * HOUR)));
        // From-send ignores the reading time.
        assert_eq!(from_send(1).on_first_read(Some(Timestamp(5)), Timestamp(200 * HOUR)), Some(Timestamp(5)));
    }

    #[test]
    fn the_agreed_lifespan_bounds_the_senders() {
        let agreed = Lifespan::new(2 * HOUR, ExpiryStart::FromRead).unwrap();
        let year = Lifespan::new(MAX_LIFESPAN_MS, ExpiryStart::FromSend).unwrap();
        assert_eq!(year.within(agreed), agreed);
        let shorter = Lifespan::new(HOUR, ExpiryStart::FromSend).unwrap();
        assert_eq!(shorter.within(agreed), Lifespan::new(HOUR, ExpiryStart::FromRead).unwrap());
        assert_eq!(from_send(2).within(from_send(2)), from_send(2));
    }

    #[test]
    fn serde_refuses_out_of_range() {
        let json = serde_json::json!({"duration_ms": 1, "start": "FromSend"});
        assert!(serde_json::from_value::<Lifespan>(json).is_err());
        let ok = from_send(3);
        let back: Lifespan = serde_json::from_str(&serde_json::to_string(&ok).unwrap()).unwrap();
        assert_eq!(back, ok);
    }
}
