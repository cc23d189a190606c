//! Dated closures of the practice (holidays, leave) and the calendar dates the terms carry.
//!
//! A closure covers whole local days in the availability's time zone: from the start of its
//! first day to the start of the day after its last day, as the zone's clocks read them (so a
//! closure ending on the day clocks change still ends at local midnight).

use std::fmt;

use jiff::civil::Date;
use jiff::tz::TimeZone;

use super::AgreementError;
use crate::clock::Timestamp;
use crate::consts::MAX_CONTACT_LEN;

/// A calendar date (proleptic Gregorian), written `YYYY-MM-DD` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LocalDate(Date);

impl LocalDate {
    /// The date `year-month-day`.
    ///
    /// # Errors
    /// [`AgreementError::InvalidTerms`] if there is no such date, or the year is outside
    /// 1000..=9999.
    pub fn new(year: i16, month: i8, day: i8) -> Result<Self, AgreementError> {
        if !(1000..=9999).contains(&year) {
            return Err(AgreementError::InvalidTerms("date"));
        }
        Date::new(year, month, day).map(Self).map_err(|_| AgreementError::InvalidTerms("date"))
    }

    /// Reads `YYYY-MM-DD`, exactly.
    ///
    /// # Errors
    /// [`AgreementError::InvalidTerms`] naming `field` for anything else.
    pub fn parse(text: &str, field: &'static str) -> Result<Self, AgreementError> {
        let date: Date = text.parse().map_err(|_| AgreementError::InvalidTerms(field))?;
        let date = Self::new(date.year(), date.month(), date.day())
            .map_err(|_| AgreementError::InvalidTerms(field))?;
        if date.to_string() != text {
            return Err(AgreementError::InvalidTerms(field));
        }
        Ok(date)
    }

    /// The year.
    #[must_use]
    pub fn year(self) -> i16 {
        self.0.year()
    }

    /// The month, 1..=12.
    #[must_use]
    pub fn month(self) -> i8 {
        self.0.month()
    }

    /// The day of the month, 1..=31.
    #[must_use]
    pub fn day(self) -> i8 {
        self.0.day()
    }

    /// The instant local day `self` starts in `tz`, or `None` past the calendar's end.
    pub(crate) fn start_in(self, tz: &TimeZone) -> Option<Timestamp> {
        let zoned = self.0.to_zoned_datetime(tz.clone()).ok()?;
        let start = zoned.start_of_day().ok()?;
        u64::try_from(start.timestamp().as_millisecond()).ok().map(Timestamp)
    }

    /// The instant the local day after `self` starts in `tz`.
    pub(crate) fn end_in(self, tz: &TimeZone) -> Option<Timestamp> {
        Self(self.0.tomorrow().ok()?).start_in(tz)
    }

    /// The local date of `at` in `tz`.
    pub(crate) fn of(at: Timestamp, tz: &TimeZone) -> Option<Self> {
        let t = jiff::Timestamp::from_millisecond(i64::try_from(at.as_millis()).ok()?).ok()?;
        Some(Self(tz.to_datetime(t).date()))
    }
}

impl fmt::Display for LocalDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl TryFrom<String> for LocalDate {
    type Error = AgreementError;
    fn try_from(text: String) -> Result<Self, AgreementError> {
        Self::parse(&text, "date")
    }
}

impl From<LocalDate> for String {
    fn from(date: LocalDate) -> Self {
        date.to_string()
    }
}

/// A dated closure: the practice is closed on local days `first_day..=last_day`, and
/// `covering` names who covers meanwhile (a colleague or a service), or is empty.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Closure {
    /// The first closed day.
    pub first_day: LocalDate,
    /// The last closed day (`>= first_day`).
    pub last_day: LocalDate,
    /// The colleague or service covering, at most [`MAX_CONTACT_LEN`] bytes; may be empty.
    pub covering: String,
}

impl Closure {
    /// Whether local date `date` is closed.
    #[must_use]
    pub fn covers(&self, date: LocalDate) -> bool {
        self.first_day <= date && date <= self.last_day
    }
}

/// Checks closures and puts them in order: each well-formed, ascending, not overlapping.
pub(super) fn validate_closures(closures: &mut [Closure], max: usize) -> Result<(), AgreementError> {
    if closures.len() > max {
        return Err(AgreementError::InvalidTerms("closures"));
    }
    if closures.iter().any(|c| c.first_day > c.last_day || c.covering.len() > MAX_CONTACT_LEN) {
        return Err(AgreementError::InvalidTerms("closure"));
    }
    closures.sort_by_key(|c| (c.first_day, c.last_day));
    if closures
        .windows(2)
        .any(|pair| pair.first().zip(pair.get(1)).is_some_and(|(a, b)| a.last_day >= b.first_day))
    {
        return Err(AgreementError::InvalidTerms("overlapping closures"));
    }
    Ok(())
}
