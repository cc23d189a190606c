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
use crate::clock::Timestamp;

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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::agreement::Window;

    const MINUTE: u64 = 60_000;

    /// Clock changes of 2025 (UTC): New York, London, Sydney and Lord Howe Island, each way.
    const DST_CHANGES_2025: [u64; 8] = [
        1_741_503_600_000, // 2025-03-09T07:00Z New York forward
        1_762_063_200_000, // 2025-11-02T06:00Z New York back
        1_743_296_400_000, // 2025-03-30T01:00Z London forward
        1_761_440_400_000, // 2025-10-26T01:00Z London back
        1_743_868_800_000, // 2025-04-05T16:00Z Sydney back
        1_759_593_600_000, // 2025-10-04T16:00Z Sydney forward
        1_743_865_200_000, // 2025-04-05T15:00Z Lord Howe back
        1_759_591_800_000, // 2025-10-04T15:30Z Lord Howe forward
    ];

    /// Weekday windows, plus Sunday windows (the day these zones change clocks) chosen per zone:
    /// with `fold`, a window that the repeated hour re-enters in its middle, so that only the
    /// transition itself opens it; otherwise a window starting in the skipped hour.
    fn availability(zone: &str, fold: bool) -> Availability {
        let mut windows = vec![
            Window::new(Weekday::Monday, (9, 0), (12, 0)),
            Window::new(Weekday::Monday, (13, 0), (17, 0)),
            Window::new(Weekday::Wednesday, (0, 0), (2, 30)),
            Window::new(Weekday::Saturday, (23, 0), (24, 0)),
            Window::new(Weekday::Sunday, (22, 0), (24, 0)),
        ];
        let sunday = |from, to| Window::new(Weekday::Sunday, from, to);
        windows.push(match (zone, fold) {
            ("Australia/Sydney", true) => sunday((1, 50), (2, 15)),
            ("Australia/Lord_Howe", true) => sunday((1, 0), (1, 40)),
            (_, true) => sunday((0, 30), (1, 20)),
            ("Europe/London", false) => sunday((1, 20), (2, 30)),
            ("Australia/Lord_Howe", false) => sunday((2, 10), (3, 0)),
            (_, false) => sunday((2, 20), (3, 30)),
        });
        Availability::new(zone, windows).unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// The next opening agrees with a minute-by-minute search, across zones with daylight
        /// saving in either hemisphere and with a half-hour shift (Lord Howe Island).
        #[test]
        fn next_open_matches_brute_force(
            zone in prop::sample::select(vec![
                "America/New_York", "Australia/Sydney", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata",
            ]),
            fold in any::<bool>(),
            // 2020-01-01 .. 2030-01-01, or within three hours before one of the changes of 2025
            now in prop_oneof![
                1_577_836_800_000u64..1_893_456_000_000u64,
                prop::sample::select(DST_CHANGES_2025.to_vec()).prop_flat_map(|t| (t - 3 * 60 * MINUTE)..t + MINUTE),
            ],
        ) {
            let a = availability(zone, fold);
            let next = a.next_open(Timestamp(now)).unwrap();
            prop_assert!(a.is_open_at(next));
            prop_assert!(next >= Timestamp(now));
            if next > Timestamp(now) {
                prop_assert!(!a.is_open_at(Timestamp(now)));
                // Every whole minute strictly between now and next is closed (offsets here are
                // whole minutes, so openness only changes on minute boundaries).
                let mut t = (now / MINUTE + 1) * MINUTE;
                while t < next.as_millis() {
                    prop_assert!(!a.is_open_at(Timestamp(t)), "{} open before {:?}", t, next);
                    t += MINUTE;
                }
                prop_assert_eq!(next.as_millis() % MINUTE, 0);
            }
        }
    }

    #[test]
    fn instants_past_the_calendar_do_not_panic() {
        let a = availability("America/New_York", true);
        assert!(!a.is_open_at(Timestamp(u64::MAX)));
        assert_eq!(a.next_open(Timestamp(u64::MAX)), None);
        assert!(a.next_open(Timestamp(0)).is_some());
    }
}
