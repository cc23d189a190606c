//! Office hours: whether an instant falls in the clinician's availability, and when it next does.
//!
//! A window is local wall-clock time in the agreement's zone. An instant is inside a window when
//! its local date falls on the window's day and its local time of day, in whole minutes, is in
//! `[start, end)`. So across daylight-saving changes a 09:00–17:00 window stays 09:00–17:00 local
//! time; on the day clocks spring forward, local times in the skipped hour do not occur, and a
//! window starting inside the skipped hour opens at the transition; on the day clocks fall back,
//! local times in the repeated hour occur twice, and both occurrences are inside a window that
//! covers them.

use jiff::civil::{Date, DateTime};
use jiff::tz::AmbiguousOffset;

use crate::agreement::{Availability, Weekday};
use crate::Timestamp;

/// How many local days ahead the search for the next open instant looks. A weekly window recurs
/// within 7 days; the margin covers a window lost in a skipped hour, whose next occurrence is the
/// following week.
const SEARCH_DAYS: i64 = 16;
/// Most time-zone transitions considered within the search horizon (real zones have a few).
const MAX_TRANSITIONS: usize = 64;

fn to_jiff(t: Timestamp) -> Option<jiff::Timestamp> {
    jiff::Timestamp::from_millisecond(i64::try_from(t.as_millis()).ok()?).ok()
}

fn from_jiff(t: jiff::Timestamp) -> Option<Timestamp> {
    u64::try_from(t.as_millisecond()).ok().map(Timestamp)
}

fn is_open_jiff(availability: &Availability, t: jiff::Timestamp) -> bool {
    let local = availability.time_zone().to_datetime(t);
    let day = Weekday::from_jiff(local.weekday());
    let Ok(minute) = u16::try_from(i16::from(local.hour()) * 60 + i16::from(local.minute())) else {
        return false;
    };
    availability.windows().iter().any(|w| w.contains(day, minute))
}

/// The instants at which local wall time `local` occurs, or, when it falls in a skipped hour,
/// the instant the skipped hour ends.
fn occurrences(availability: &Availability, local: DateTime) -> Vec<jiff::Timestamp> {
    let tz = availability.time_zone();
    let at = |offset: jiff::tz::Offset| offset.to_timestamp(local).ok();
    match tz.to_ambiguous_timestamp(local).offset() {
        AmbiguousOffset::Unambiguous { offset } => at(offset).into_iter().collect(),
        AmbiguousOffset::Fold { before, after } => at(before).into_iter().chain(at(after)).collect(),
        AmbiguousOffset::Gap { before, after } => {
            // Read with either offset, the time lies on both sides of the transition; the
            // transition is the first one after the earlier reading.
            let earlier = match (at(before), at(after)) {
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) | (None, Some(a)) => a,
                (None, None) => return Vec::new(),
            };
            tz.following(earlier).next().map(|transition| transition.timestamp()).into_iter().collect()
        }
    }
}

impl Availability {
    /// Whether `now` falls inside one of the windows (local wall time in the agreement's zone).
    /// Instants that the calendar cannot represent (past the year 9999) are never inside.
    #[must_use]
    pub fn is_open_at(&self, now: Timestamp) -> bool {
        to_jiff(now).is_some_and(|t| is_open_jiff(self, t))
    }

    /// The first instant at or after `now` inside a window: `now` itself when open.
    ///
    /// `None` only for instants the calendar cannot represent (past the year 9999).
    #[must_use]
    pub fn next_open(&self, now: Timestamp) -> Option<Timestamp> {
        let now_j = to_jiff(now)?;
        if is_open_jiff(self, now_j) {
            return Some(now);
        }
        // Where the state can change from closed to open: a window's local start time occurring,
        // or a transition making local time jump into a window.
        let tz = self.time_zone();
        let mut candidates: Vec<jiff::Timestamp> = Vec::new();
        let mut date: Date = tz.to_datetime(now_j).date().yesterday().ok()?;
        for _ in 0..SEARCH_DAYS {
            let day = Weekday::from_jiff(date.weekday());
            for window in self.windows().iter().filter(|w| w.day == day) {
                let hour = i8::try_from(window.start_minute / 60).ok()?;
                let minute = i8::try_from(window.start_minute % 60).ok()?;
                let Ok(local) = DateTime::new(date.year(), date.month(), date.day(), hour, minute, 0, 0)
                else {
                    continue;
                };
                candidates.extend(occurrences(self, local));
            }
            match date.tomorrow() {
                Ok(next) => date = next,
                Err(_) => break,
            }
        }
        let horizon = now_j.checked_add(jiff::SignedDuration::from_hours(24 * SEARCH_DAYS)).ok();
        candidates.extend(
            tz.following(now_j)
                .map(|transition| transition.timestamp())
                .take_while(|t| horizon.is_some_and(|h| *t <= h))
                .take(MAX_TRANSITIONS),
        );
        candidates.into_iter().filter(|&t| t >= now_j && is_open_jiff(self, t)).min().and_then(from_jiff)
    }
}
