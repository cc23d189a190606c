//! A conversation's own state: the sequence numbers this device sent and received, and the
//! non-delivery notices it sent (PROTOCOL.md, section 12, "Order" and "Acknowledgements,
//! corrections, recalls and notices").
//!
//! Stored per peer ([`crate::store::Store::conversation`]) and saved in the same transaction as
//! the message that changed it. The stored form, all integers big-endian:
//!
//! ```text
//! u8 version (1) ‖ u64 last sequence sent
//! ‖ u64 floor ‖ u64 highest ‖ u16 n ‖ n × u64 accounted
//! ‖ u16 m ‖ m × (u64 first ‖ u64 last) lost
//! ‖ u64 notice window start (ms) ‖ u16 notices in the window
//! ```

use std::collections::BTreeSet;

use zeroize::Zeroizing;

use super::error::Result;
use super::EndpointError;
use crate::clock::Timestamp;
use crate::codec::Reader;
use crate::consts::MAX_SKIP;
use crate::error::DecodeError;

/// Version byte of the stored form.
const VERSION: u8 = 1;

/// How far above the highest sequence number received so far a message may be, and how many
/// sequence numbers below the highest one a gap may lie before it is known lost: the ratchet
/// skips at most [`MAX_SKIP`] message keys of one chain, and every numbered message takes a key.
pub(crate) const SEQUENCE_WINDOW: u64 = MAX_SKIP as u64;

/// Most lost ranges remembered (the oldest are forgotten first).
const MAX_LOST_RANGES: usize = 32;

/// Most non-delivery notices sent to one peer per [`NOTICE_WINDOW_MS`].
pub(crate) const MAX_NOTICES_PER_WINDOW: u16 = 32;

/// The window of the notice limit: one hour.
pub(crate) const NOTICE_WINDOW_MS: u64 = 60 * 60 * 1000;

/// The sequence state of one conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SequenceState {
    /// The last sequence number this device sent (0: none yet).
    pub(crate) last_sent: u64,
    /// Every received sequence number up to the floor is accounted for (arrived, refused, or
    /// known lost).
    floor: u64,
    /// The highest sequence number received.
    highest: u64,
    /// Sequence numbers above the floor that arrived or were refused.
    accounted: BTreeSet<u64>,
    /// Ranges known lost, oldest first.
    lost: Vec<(u64, u64)>,
    notice_window_start: u64,
    notices_in_window: u16,
}

/// A run of missing sequence numbers of the peer's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Missing {
    pub(crate) first: u64,
    pub(crate) last: u64,
}

impl SequenceState {
    /// The next sequence number to send, recorded as sent.
    pub(crate) fn next_outbound(&mut self) -> u64 {
        self.last_sent = self.last_sent.saturating_add(1);
        self.last_sent
    }

    /// Records that the peer's message numbered `sequence` arrived (0: unnumbered, nothing to
    /// record).
    ///
    /// # Errors
    /// [`EndpointError::BadSequence`] if the number was already received (a modified sender
    /// numbering two messages alike) or lies more than [`SEQUENCE_WINDOW`] above the highest one
    /// received. Nothing changed.
    pub(crate) fn record_inbound(&mut self, sequence: u64) -> Result<()> {
        if sequence == 0 {
            return Ok(());
        }
        let in_window = sequence <= self.highest.saturating_add(SEQUENCE_WINDOW);
        if sequence <= self.floor || self.accounted.contains(&sequence) || !in_window {
            return Err(EndpointError::BadSequence.into());
        }
        self.accounted.insert(sequence);
        self.highest = self.highest.max(sequence);
        self.settle();
        Ok(())
    }

    /// Records the first message of a new session (a new handshake of the peer's, or the first
    /// message received on a session this device started, as a repair does): if its number is
    /// not above the numbers already accounted for, the peer's count went back (its store was
    /// restored from an older copy), and the count
    /// restarts below that number; otherwise as [`Self::record_inbound`].
    ///
    /// # Errors
    /// As [`Self::record_inbound`].
    pub(crate) fn record_first_of_session(&mut self, sequence: u64) -> Result<()> {
        if sequence != 0 && sequence <= self.floor {
            let restarted = Self {
                last_sent: self.last_sent,
                floor: sequence - 1,
                highest: sequence - 1,
                notice_window_start: self.notice_window_start,
                notices_in_window: self.notices_in_window,
                ..Self::default()
            };
            *self = restarted;
        }
        self.record_inbound(sequence)
    }

    /// Raises the floor over what is accounted for, and over gaps more than
    /// [`SEQUENCE_WINDOW`] below the highest number, which become lost.
    fn settle(&mut self) {
        let lowest_open = self.highest.saturating_sub(SEQUENCE_WINDOW);
        while self.floor < lowest_open {
            let next = self.floor.saturating_add(1);
            if !self.accounted.remove(&next) {
                match self.lost.last_mut() {
                    Some((_, last)) if last.saturating_add(1) == next => *last = next,
                    _ => self.lost.push((next, next)),
                }
            }
            self.floor = next;
        }
        while self.accounted.remove(&self.floor.saturating_add(1)) {
            self.floor = self.floor.saturating_add(1);
        }
        if self.lost.len() > MAX_LOST_RANGES {
            let excess = self.lost.len() - MAX_LOST_RANGES;
            self.lost.drain(..excess);
        }
    }

    /// The peer's messages that have not arrived yet, lowest first.
    pub(crate) fn gaps(&self) -> Vec<Missing> {
        let mut gaps = Vec::new();
        let mut expected = self.floor.saturating_add(1);
        for &received in &self.accounted {
            if received > expected {
                gaps.push(Missing { first: expected, last: received - 1 });
            }
            expected = received.saturating_add(1);
        }
        gaps
    }

    /// The peer's messages known lost, oldest first (at most the last [`MAX_LOST_RANGES`] runs).
    pub(crate) fn lost(&self) -> Vec<Missing> {
        self.lost.iter().map(|&(first, last)| Missing { first, last }).collect()
    }

    /// Whether one more non-delivery notice may go out at `now`; if so, it is counted.
    pub(crate) fn take_notice(&mut self, now: Timestamp) -> bool {
        if now.0.saturating_sub(self.notice_window_start) >= NOTICE_WINDOW_MS
            || now.0 < self.notice_window_start
        {
            self.notice_window_start = now.0;
            self.notices_in_window = 0;
        }
        if self.notices_in_window >= MAX_NOTICES_PER_WINDOW {
            return false;
        }
        self.notices_in_window += 1;
        true
    }

    /// The stored form.
    pub(crate) fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(64 + 8 * self.accounted.len()));
        out.push(VERSION);
        for value in [self.last_sent, self.floor, self.highest] {
            out.extend_from_slice(&value.to_be_bytes());
        }
        // At most SEQUENCE_WINDOW numbers are accounted above the floor, and MAX_LOST_RANGES lost.
        out.extend_from_slice(&u16::try_from(self.accounted.len()).unwrap_or(u16::MAX).to_be_bytes());
        for value in self.accounted.iter().take(usize::from(u16::MAX)) {
            out.extend_from_slice(&value.to_be_bytes());
        }
        out.extend_from_slice(&u16::try_from(self.lost.len()).unwrap_or(u16::MAX).to_be_bytes());
        for (first, last) in &self.lost {
            out.extend_from_slice(&first.to_be_bytes());
            out.extend_from_slice(&last.to_be_bytes());
        }
        out.extend_from_slice(&self.notice_window_start.to_be_bytes());
        out.extend_from_slice(&self.notices_in_window.to_be_bytes());
        out
    }

    /// Reads the stored form, checking every rule the state keeps.
    ///
    /// # Errors
    /// [`DecodeError::InvalidField`] naming `conversation` if the bytes are not a state this
    /// module writes.
    pub(crate) fn from_bytes(bytes: &[u8]) -> std::result::Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, "conversation");
        if r.u8()? != VERSION {
            return Err(r.error());
        }
        let (last_sent, floor, highest) = (r.u64()?, r.u64()?, r.u64()?);
        let count = usize::from(r.u16()?);
        if count > usize::try_from(SEQUENCE_WINDOW).unwrap_or(usize::MAX) {
            return Err(r.error());
        }
        let mut accounted = BTreeSet::new();
        for _ in 0..count {
            let value = r.u64()?;
            if value <= floor || value > highest || !accounted.insert(value) {
                return Err(r.error());
            }
        }
        let lost_count = usize::from(r.u16()?);
        if lost_count > MAX_LOST_RANGES {
            return Err(r.error());
        }
        let mut lost = Vec::with_capacity(lost_count);
        for _ in 0..lost_count {
            let (first, last) = (r.u64()?, r.u64()?);
            if first > last || last > floor {
                return Err(r.error());
            }
            lost.push((first, last));
        }
        let notice_window_start = r.u64()?;
        let notices_in_window = r.u16()?;
        r.finish()?;
        if floor > highest {
            return Err(DecodeError::InvalidField("conversation"));
        }
        Ok(Self { last_sent, floor, highest, accounted, lost, notice_window_start, notices_in_window })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received(numbers: &[u64]) -> SequenceState {
        let mut state = SequenceState::default();
        for &n in numbers {
            state.record_inbound(n).unwrap();
        }
        state
    }

    #[test]
    fn gaps_close_when_filled_and_survive_a_round_trip() {
        let mut state = received(&[1, 2, 5, 7]);
        assert_eq!(state.gaps(), vec![Missing { first: 3, last: 4 }, Missing { first: 6, last: 6 }]);
        let copy = SequenceState::from_bytes(&state.to_bytes()).unwrap();
        assert_eq!(copy, state);
        for n in [4, 3, 6] {
            state.record_inbound(n).unwrap();
        }
        assert!(state.gaps().is_empty());
        assert_eq!((state.floor, state.highest), (7, 7));
    }

    #[test]
    fn duplicates_and_numbers_too_far_ahead_are_refused_and_change_nothing() {
        let mut state = received(&[1, 3]);
        let before = state.clone();
        for bad in [1, 3, 3 + SEQUENCE_WINDOW + 1, u64::MAX] {
            assert!(state.record_inbound(bad).is_err(), "{bad}");
            assert_eq!(state, before);
        }
        state.record_inbound(3 + SEQUENCE_WINDOW).unwrap();
    }

    #[test]
    fn a_gap_far_below_the_highest_number_is_known_lost() {
        let mut state = received(&[1]);
        state.record_inbound(1 + SEQUENCE_WINDOW).unwrap();
        assert_eq!(state.gaps(), vec![Missing { first: 2, last: SEQUENCE_WINDOW }]);
        state.record_inbound(3 + SEQUENCE_WINDOW).unwrap();
        assert_eq!(state.lost(), vec![Missing { first: 2, last: 3 }]);
        assert_eq!(
            state.gaps(),
            vec![
                Missing { first: 4, last: SEQUENCE_WINDOW },
                Missing { first: 2 + SEQUENCE_WINDOW, last: 2 + SEQUENCE_WINDOW }
            ]
        );
        // A lost message that arrives after all is refused as a duplicate would be.
        assert!(state.record_inbound(2).is_err());
    }

    #[test]
    fn outbound_numbers_count_up_from_one_and_survive_a_round_trip() {
        let mut state = SequenceState::default();
        assert_eq!((state.next_outbound(), state.next_outbound()), (1, 2));
        let mut copy = SequenceState::from_bytes(&state.to_bytes()).unwrap();
        assert_eq!(copy.next_outbound(), 3);
    }

    #[test]
    fn a_new_session_with_a_count_that_went_back_restarts_the_count() {
        let mut state = received(&[1, 2, 3]);
        // The same numbers on the same session are duplicates.
        assert!(state.clone().record_inbound(2).is_err());
        state.record_first_of_session(2).unwrap();
        assert!(state.gaps().is_empty());
        state.record_inbound(3).unwrap();
        assert!(state.record_inbound(3).is_err());
        // A new session whose count goes on is recorded as usual.
        let mut going_on = received(&[1]);
        going_on.record_first_of_session(3).unwrap();
        assert_eq!(going_on.gaps(), vec![Missing { first: 2, last: 2 }]);
    }

    #[test]
    fn notices_are_limited_per_window() {
        let mut state = SequenceState::default();
        let sent = (0..100).filter(|_| state.take_notice(Timestamp(1_000))).count();
        assert_eq!(sent, usize::from(MAX_NOTICES_PER_WINDOW));
        assert!(state.take_notice(Timestamp(1_000 + NOTICE_WINDOW_MS)));
    }

    #[test]
    fn malformed_states_are_refused() {
        let good = received(&[1, 3]).to_bytes();
        assert!(SequenceState::from_bytes(&good[..good.len() - 1]).is_err());
        let mut extra = good.to_vec();
        extra.push(0);
        assert!(SequenceState::from_bytes(&extra).is_err());
        let mut version = good.to_vec();
        version[0] = 9;
        assert!(SequenceState::from_bytes(&version).is_err());
    }
}
