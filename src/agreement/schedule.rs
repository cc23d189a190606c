//! The clinician's availability: weekly windows of local wall-clock time in a named IANA zone.
//!
//! Time zones come from the IANA database bundled into the library (jiff's `tzdb-bundle-always`),
//! so the result does not depend on the device's own time-zone files.

use jiff::tz::{TimeZone, TimeZoneDatabase};

use super::AgreementError;
use crate::consts::{MAX_TIME_ZONE_NAME_LEN, MAX_WINDOWS};

/// Minutes in a day: the largest end of a window (local midnight at the end of the day).
pub const MINUTES_PER_DAY: u16 = 24 * 60;

/// A day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub enum Weekday {
    /// Monday (wire number 1).
    Monday,
    /// Tuesday (2).
    Tuesday,
    /// Wednesday (3).
    Wednesday,
    /// Thursday (4).
    Thursday,
    /// Friday (5).
    Friday,
    /// Saturday (6).
    Saturday,
    /// Sunday (7).
    Sunday,
}

impl Weekday {
    /// Every day, Monday first.
    pub const ALL: [Weekday; 7] = [
        Self::Monday,
        Self::Tuesday,
        Self::Wednesday,
        Self::Thursday,
        Self::Friday,
        Self::Saturday,
        Self::Sunday,
    ];

    /// The ISO 8601 number of the day (Monday = 1, Sunday = 7), also its protobuf number.
    #[must_use]
    pub fn to_wire(self) -> i32 {
        match self {
            Self::Monday => 1,
            Self::Tuesday => 2,
            Self::Wednesday => 3,
            Self::Thursday => 4,
            Self::Friday => 5,
            Self::Saturday => 6,
            Self::Sunday => 7,
        }
    }

    /// The day an ISO 8601 number stands for, if any.
    #[must_use]
    pub fn from_wire(value: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|day| day.to_wire() == value)
    }

    pub(crate) fn from_jiff(day: jiff::civil::Weekday) -> Self {
        use jiff::civil::Weekday as J;
        match day {
            J::Monday => Self::Monday,
            J::Tuesday => Self::Tuesday,
            J::Wednesday => Self::Wednesday,
            J::Thursday => Self::Thursday,
            J::Friday => Self::Friday,
            J::Saturday => Self::Saturday,
            J::Sunday => Self::Sunday,
        }
    }
}

/// A weekly window `[start_minute, end_minute)` of local wall-clock time on one day.
///
/// Minutes count from local midnight. A window that should span midnight is written as two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct Window {
    /// The day.
    pub day: Weekday,
    /// First minute inside the window, `0..MINUTES_PER_DAY`.
    pub start_minute: u16,
    /// First minute after the window, `start_minute < end_minute <= MINUTES_PER_DAY`.
    pub end_minute: u16,
}

impl Window {
    /// A window on `day` from `start` to `end`, each given as (hour, minute) of local time;
    /// `(24, 0)` is the end of the day. Validity is checked by [`Availability::new`].
    #[must_use]
    pub fn new(day: Weekday, start: (u8, u8), end: (u8, u8)) -> Self {
        let minutes = |(h, m): (u8, u8)| u16::from(h) * 60 + u16::from(m);
        Self { day, start_minute: minutes(start), end_minute: minutes(end) }
    }

    /// Whether local minute-of-day `minute` on `day` is inside this window.
    #[must_use]
    pub fn contains(&self, day: Weekday, minute: u16) -> bool {
        self.day == day && self.start_minute <= minute && minute < self.end_minute
    }
}

/// The clinician's weekly availability: at least one window, in one IANA time zone.
///
/// Windows are kept sorted by (day, start, end) and never overlap.
///
/// An instant is inside a window when its local date in the zone falls on the window's day and its
/// local time, in whole minutes, is in `[start, end)`. A 09:00–17:00 window stays 09:00–17:00
/// local time across daylight-saving changes. On the day clocks spring forward, local times in the
/// skipped hour do not occur, and a window starting inside it opens at the transition; on the day
/// clocks fall back, the repeated local times occur twice, and both are inside a window covering
/// them.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "AvailabilityData", into = "AvailabilityData")]
pub struct Availability {
    time_zone_name: String,
    windows: Vec<Window>,
    time_zone: ZoneHandle,
}

/// A resolved time zone; compares by name.
#[derive(Debug, Clone)]
struct ZoneHandle(TimeZone);

impl PartialEq for ZoneHandle {
    fn eq(&self, other: &Self) -> bool {
        self.0.iana_name() == other.0.iana_name()
    }
}

impl Availability {
    /// Availability in the IANA zone `time_zone` (for example `"America/New_York"`).
    ///
    /// The windows are sorted; adjacent windows are allowed.
    ///
    /// # Errors
    /// [`AgreementError::InvalidTerms`] if the zone is unknown or its name too long, if there is no
    /// window or more than [`MAX_WINDOWS`], if a window is empty or runs past the end of its day,
    /// or if two windows overlap.
    pub fn new(time_zone: &str, mut windows: Vec<Window>) -> Result<Self, AgreementError> {
        if time_zone.len() > MAX_TIME_ZONE_NAME_LEN {
            return Err(AgreementError::InvalidTerms("time zone"));
        }
        let zone = TimeZoneDatabase::bundled()
            .get(time_zone)
            .map_err(|_| AgreementError::InvalidTerms("time zone"))?;
        // Keep the database's spelling so that equal zones encode equally.
        let name = zone.iana_name().ok_or(AgreementError::InvalidTerms("time zone"))?.to_owned();
        if name != time_zone {
            return Err(AgreementError::InvalidTerms("time zone"));
        }
        if windows.is_empty() || windows.len() > MAX_WINDOWS {
            return Err(AgreementError::InvalidTerms("availability windows"));
        }
        if windows.iter().any(|w| w.start_minute >= w.end_minute || w.end_minute > MINUTES_PER_DAY) {
            return Err(AgreementError::InvalidTerms("availability window"));
        }
        windows.sort();
        if windows
            .windows(2)
            .any(|pair| pair[0].day == pair[1].day && pair[0].end_minute > pair[1].start_minute)
        {
            return Err(AgreementError::InvalidTerms("overlapping availability windows"));
        }
        Ok(Self { time_zone_name: name, windows, time_zone: ZoneHandle(zone) })
    }

    /// The IANA name of the zone the windows are in.
    #[must_use]
    pub fn time_zone_name(&self) -> &str {
        &self.time_zone_name
    }

    /// The windows, sorted by (day, start, end).
    #[must_use]
    pub fn windows(&self) -> &[Window] {
        &self.windows
    }

    pub(crate) fn time_zone(&self) -> &TimeZone {
        &self.time_zone.0
    }
}

/// The serialized form of [`Availability`], validated on the way in.
#[derive(serde::Serialize, serde::Deserialize)]
struct AvailabilityData {
    time_zone: String,
    windows: Vec<Window>,
}

impl TryFrom<AvailabilityData> for Availability {
    type Error = AgreementError;
    fn try_from(data: AvailabilityData) -> Result<Self, AgreementError> {
        Self::new(&data.time_zone, data.windows)
    }
}

impl From<Availability> for AvailabilityData {
    fn from(availability: Availability) -> Self {
        Self { time_zone: availability.time_zone_name, windows: availability.windows }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nine_to_five(day: Weekday) -> Window {
        Window::new(day, (9, 0), (17, 0))
    }

    #[test]
    fn accepts_and_sorts() {
        let a = Availability::new(
            "America/New_York",
            vec![nine_to_five(Weekday::Friday), nine_to_five(Weekday::Monday)],
        )
        .unwrap();
        assert_eq!(a.windows()[0].day, Weekday::Monday);
        assert_eq!(a.time_zone_name(), "America/New_York");
    }

    #[test]
    fn refuses_bad_input() {
        let w = nine_to_five(Weekday::Monday);
        assert!(Availability::new("Mars/Olympus_Mons", vec![w]).is_err());
        assert!(Availability::new("america/new_york", vec![w]).is_err());
        assert!(Availability::new("America/New_York", vec![]).is_err());
        let empty = Window::new(Weekday::Monday, (9, 0), (9, 0));
        assert!(Availability::new("America/New_York", vec![empty]).is_err());
        let past_midnight = Window::new(Weekday::Monday, (23, 0), (24, 1));
        assert!(Availability::new("America/New_York", vec![past_midnight]).is_err());
        let overlap = Window::new(Weekday::Monday, (16, 0), (18, 0));
        assert!(Availability::new("America/New_York", vec![w, overlap]).is_err());
        let adjacent = Window::new(Weekday::Monday, (17, 0), (18, 0));
        assert!(Availability::new("America/New_York", vec![w, adjacent]).is_ok());
        assert!(Availability::new("America/New_York", vec![w; MAX_WINDOWS + 1]).is_err());
    }

    #[test]
    fn weekday_wire_numbers_round_trip() {
        for day in Weekday::ALL {
            assert_eq!(Weekday::from_wire(day.to_wire()), Some(day));
        }
        assert_eq!(Weekday::from_wire(0), None);
        assert_eq!(Weekday::from_wire(8), None);
    }
}
