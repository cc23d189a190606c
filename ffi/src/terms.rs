//! Agreement terms as a plain record, and [`usual_terms`], the helper that fills in the usual
//! ones.
//!
//! The record leaves out the two identity keys: [`crate::Endpoint::propose_agreement`] names this
//! device's and the one stored for the peer, so an app never handles keys to propose.

use std::collections::BTreeMap;

use confidant::agreement::{
    AfterEnd, Closure as LibClosure, CrisisSupport as LibCrisisSupport, LocalDate, TermTexts,
};
use confidant::consts::DEFAULT_AUTO_REPLY_WINDOW_MS;
use confidant::expiry::{ExpiryStart, Lifespan};
use confidant::keys::IdentityKey;
use confidant::{Availability, Weekday as LibWeekday, Window as LibWindow};

use crate::error::ConfidantError;
use crate::types::Category;

/// The longest message text [`usual_terms`] agrees to, in Unicode scalar values (as the library's
/// own `AgreementTerms::new`).
const USUAL_MAX_MESSAGE_CHARS: u32 = 1000;

/// A day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Weekday {
    /// Monday.
    Monday,
    /// Tuesday.
    Tuesday,
    /// Wednesday.
    Wednesday,
    /// Thursday.
    Thursday,
    /// Friday.
    Friday,
    /// Saturday.
    Saturday,
    /// Sunday.
    Sunday,
}

impl From<Weekday> for LibWeekday {
    fn from(day: Weekday) -> Self {
        match day {
            Weekday::Monday => Self::Monday,
            Weekday::Tuesday => Self::Tuesday,
            Weekday::Wednesday => Self::Wednesday,
            Weekday::Thursday => Self::Thursday,
            Weekday::Friday => Self::Friday,
            Weekday::Saturday => Self::Saturday,
            Weekday::Sunday => Self::Sunday,
        }
    }
}

impl From<LibWeekday> for Weekday {
    fn from(day: LibWeekday) -> Self {
        match day {
            LibWeekday::Monday => Self::Monday,
            LibWeekday::Tuesday => Self::Tuesday,
            LibWeekday::Wednesday => Self::Wednesday,
            LibWeekday::Thursday => Self::Thursday,
            LibWeekday::Friday => Self::Friday,
            LibWeekday::Saturday => Self::Saturday,
            LibWeekday::Sunday => Self::Sunday,
        }
    }
}

/// A weekly window of the clinician's availability, in local time of the agreement's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct Window {
    /// The day.
    pub day: Weekday,
    /// First minute inside the window, counted from local midnight (9:00 is 540).
    pub start_minute: u16,
    /// First minute after the window (17:00 is 1020; the end of the day is 1440).
    pub end_minute: u16,
}

/// How long messages of a category live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct CategoryLifespan {
    /// The category.
    pub category: Category,
    /// The lifespan in milliseconds, within the library's bounds
    /// (`confidant::consts::MIN_LIFESPAN_MS`, one minute, to `MAX_LIFESPAN_MS`, a year).
    pub duration_ms: u64,
    /// Whether it runs from the moment the recipient first reads the message (`true`) or from
    /// sending (`false`).
    pub from_read: bool,
}

/// What the clinician and the client agree about their messaging. Start from [`usual_terms`] and
/// change what differs; the library checks every rule when the terms are proposed.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AgreementTerms {
    /// 1 for the first agreement; greater than the one in force on renegotiation.
    pub version: u32,
    /// The IANA time zone of the office hours, for example `America/New_York`.
    pub time_zone: String,
    /// When the clinician is available. A client's message outside these windows is delivered
    /// with an auto-reply.
    pub office_hours: Vec<Window>,
    /// What the client is told about when to expect a reply.
    pub response_time: String,
    /// Crisis resources shown to the client, in display order; at least one.
    pub crisis_resources: Vec<String>,
    /// The categories the clinician may send (appointment matters, check-ins, administrative).
    pub clinician_may_send: Vec<Category>,
    /// The categories the client may send.
    pub client_may_send: Vec<Category>,
    /// Lifespans per category; a category not listed lives 30 days from sending.
    pub lifespans: Vec<CategoryLifespan>,
    /// Longest message text, in Unicode scalar values.
    pub max_message_chars: u32,
    /// Whether delivery and read receipts are sent.
    pub receipts_enabled: bool,
    /// At most one auto-reply per conversation per this many milliseconds.
    pub auto_reply_window_ms: u64,
    /// When a client may send a crisis message. By default: never by message (a crisis draft is
    /// not sent; the app shows the crisis statement and resources). [`usual_terms`] sets `None`.
    pub crisis_support: CrisisSupport,
    /// The clinician's crisis statement; empty for the library's default.
    #[uniffi(default = "")]
    pub crisis_statement: String,
    /// The auto-reply text; empty for the library's default.
    #[uniffi(default = "")]
    pub auto_reply_text: String,
    /// The outside-hours notice; empty for the library's default.
    #[uniffi(default = "")]
    pub outside_hours_notice: String,
    /// The notice shown with a capped draft; empty for the library's default.
    #[uniffi(default = "")]
    pub capped_notice: String,
    /// The language of these texts (BCP 47), or empty.
    #[uniffi(default = "")]
    pub language: String,
    /// Most client messages per rolling 24 hours, or none.
    #[uniffi(default = None)]
    pub client_messages_per_day: Option<u32>,
    /// Most client messages per rolling 7 days, or none.
    #[uniffi(default = None)]
    pub client_messages_per_week: Option<u32>,
    /// After the agreement ends, the whole conversation is purged this many milliseconds later;
    /// none: each message lives until it expires.
    #[uniffi(default = None)]
    pub retention_after_end_ms: Option<u64>,
    /// Dated closures (holidays, leave).
    #[uniffi(default = [])]
    pub closures: Vec<Closure>,
    /// The effective date, `YYYY-MM-DD`, or none.
    #[uniffi(default = None)]
    pub effective_date: Option<String>,
    /// The review date, `YYYY-MM-DD`, or none.
    #[uniffi(default = None)]
    pub review_date: Option<String>,
    /// The risk disclosure the client accepts.
    #[uniffi(default = "")]
    pub risk_disclosure: String,
    /// Whether notifications may say who wrote; by default they say only "New message".
    #[uniffi(default = false)]
    pub named_notifications: bool,
}

/// When a client may send a crisis message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, uniffi::Enum)]
pub enum CrisisSupport {
    /// Never by message.
    #[default]
    None,
    /// Within office hours.
    OfficeHours,
    /// Only under an active support plan that lists crisis.
    SupportPlanOnly,
}

/// A dated closure: local days `first_day..=last_day` (`YYYY-MM-DD`) in the office hours' zone.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Closure {
    /// The first closed day.
    pub first_day: String,
    /// The last closed day.
    pub last_day: String,
    /// The colleague or service covering, or empty.
    pub covering: String,
}

/// The usual terms: office hours from `opens_minute` to `closes_minute` (minutes from local
/// midnight: 540 is 9:00) on each of `office_days` in `time_zone`, the reply expectation, the
/// crisis resources, and the categories the client may send. The clinician may send appointment
/// matters and administrative ones; messages are at most 1000 characters and live 30 days from
/// sending; receipts are off; at most one auto-reply per 15 minutes. Nothing is checked here:
/// [`crate::Endpoint::propose_agreement`] checks every rule.
// Each argument is one of the terms an app sets for every client; named arguments in Python and
// Kotlin, and labels in Swift, keep the call readable.
#[allow(clippy::too_many_arguments)]
#[uniffi::export]
pub fn usual_terms(
    version: u32,
    time_zone: String,
    office_days: Vec<Weekday>,
    opens_minute: u16,
    closes_minute: u16,
    response_time: String,
    crisis_resources: Vec<String>,
    client_may_send: Vec<Category>,
) -> AgreementTerms {
    let office_hours = office_days
        .into_iter()
        .map(|day| Window { day, start_minute: opens_minute, end_minute: closes_minute })
        .collect();
    AgreementTerms {
        version,
        time_zone,
        office_hours,
        response_time,
        crisis_resources,
        clinician_may_send: vec![
            Category::AppointmentReminder,
            Category::AppointmentConfirm,
            Category::AppointmentReschedule,
            Category::AppointmentCancel,
            Category::AppointmentDirections,
            Category::Administrative,
        ],
        client_may_send,
        lifespans: Vec::new(),
        max_message_chars: USUAL_MAX_MESSAGE_CHARS,
        receipts_enabled: false,
        auto_reply_window_ms: DEFAULT_AUTO_REPLY_WINDOW_MS,
        crisis_support: CrisisSupport::None,
        crisis_statement: String::new(),
        auto_reply_text: String::new(),
        outside_hours_notice: String::new(),
        capped_notice: String::new(),
        language: String::new(),
        client_messages_per_day: None,
        client_messages_per_week: None,
        retention_after_end_ms: None,
        closures: Vec::new(),
        effective_date: None,
        review_date: None,
        risk_disclosure: String::new(),
        named_notifications: false,
    }
}

impl AgreementTerms {
    /// The library's terms between `clinician` and `client`.
    ///
    /// # Errors
    /// [`ConfidantError::AgreementRefused`] for an unknown time zone, bad office hours, a lifespan
    /// out of range or a category given two lifespans. The other rules are checked when the terms
    /// are signed.
    pub(crate) fn to_library(
        &self,
        clinician: IdentityKey,
        client: IdentityKey,
    ) -> Result<confidant::AgreementTerms, ConfidantError> {
        let windows = self
            .office_hours
            .iter()
            .map(|w| LibWindow { day: w.day.into(), start_minute: w.start_minute, end_minute: w.end_minute })
            .collect();
        let availability = Availability::new(&self.time_zone, windows)?;
        let mut lifespans = BTreeMap::new();
        for lifespan in &self.lifespans {
            let start = if lifespan.from_read { ExpiryStart::FromRead } else { ExpiryStart::FromSend };
            let refused = |reason: String| ConfidantError::AgreementRefused { reason };
            let value = Lifespan::new(lifespan.duration_ms, start)
                .map_err(|error| refused(format!("lifespan of {:?}: {error}", lifespan.category)))?;
            if lifespans.insert(lifespan.category.kind(), value).is_some() {
                return Err(refused(format!("lifespan of {:?} given twice", lifespan.category)));
            }
        }
        let mut terms = confidant::AgreementTerms::new(
            self.version,
            clinician,
            client,
            availability,
            self.response_time.clone(),
            self.crisis_resources.clone(),
        );
        terms.clinician_may_send = self.clinician_may_send.iter().map(|c| c.kind()).collect();
        terms.client_may_send = self.client_may_send.iter().map(|c| c.kind()).collect();
        terms.lifespans = lifespans;
        terms.max_message_chars = self.max_message_chars;
        terms.receipts_enabled = self.receipts_enabled;
        terms.auto_reply_window_ms = self.auto_reply_window_ms;
        terms.crisis_support = match self.crisis_support {
            CrisisSupport::None => LibCrisisSupport::None,
            CrisisSupport::OfficeHours => LibCrisisSupport::OfficeHours,
            CrisisSupport::SupportPlanOnly => LibCrisisSupport::SupportPlanOnly,
        };
        terms.texts = TermTexts {
            crisis_statement: self.crisis_statement.clone(),
            auto_reply: self.auto_reply_text.clone(),
            outside_hours_notice: self.outside_hours_notice.clone(),
            capped_notice: self.capped_notice.clone(),
            language: self.language.clone(),
        };
        terms.client_messages_per_day = self.client_messages_per_day;
        terms.client_messages_per_week = self.client_messages_per_week;
        terms.after_end = match self.retention_after_end_ms {
            None => AfterEnd::KeepUntilExpiry,
            Some(ms) => AfterEnd::RetainFor { ms },
        };
        terms.closures = self
            .closures
            .iter()
            .map(|c| {
                Ok(LibClosure {
                    first_day: LocalDate::parse(&c.first_day, "closure")?,
                    last_day: LocalDate::parse(&c.last_day, "closure")?,
                    covering: c.covering.clone(),
                })
            })
            .collect::<Result<Vec<_>, confidant::agreement::AgreementError>>()?;
        let date = |d: &Option<String>, field| d.as_deref().map(|d| LocalDate::parse(d, field)).transpose();
        terms.effective_date = date(&self.effective_date, "effective date")?;
        terms.review_date = date(&self.review_date, "review date")?;
        terms.risk_disclosure = self.risk_disclosure.clone();
        terms.named_notifications = self.named_notifications;
        Ok(terms)
    }

    /// The record of the library's `terms`.
    pub(crate) fn from_library(terms: &confidant::AgreementTerms) -> Self {
        let categories = |kinds: &[confidant::content::CategoryKind]| {
            kinds.iter().copied().filter_map(Category::from_kind).collect()
        };
        Self {
            version: terms.version,
            time_zone: terms.availability.time_zone_name().to_owned(),
            office_hours: terms
                .availability
                .windows()
                .iter()
                .map(|w| Window { day: w.day.into(), start_minute: w.start_minute, end_minute: w.end_minute })
                .collect(),
            response_time: terms.response_time.clone(),
            crisis_resources: terms.crisis_resources.clone(),
            clinician_may_send: categories(&terms.clinician_may_send),
            client_may_send: categories(&terms.client_may_send),
            lifespans: terms
                .lifespans
                .iter()
                .filter_map(|(kind, lifespan)| {
                    Some(CategoryLifespan {
                        category: Category::from_kind(*kind)?,
                        duration_ms: lifespan.duration_ms(),
                        from_read: lifespan.start() == ExpiryStart::FromRead,
                    })
                })
                .collect(),
            max_message_chars: terms.max_message_chars,
            receipts_enabled: terms.receipts_enabled,
            auto_reply_window_ms: terms.auto_reply_window_ms,
            crisis_support: match terms.crisis_support {
                LibCrisisSupport::OfficeHours => CrisisSupport::OfficeHours,
                LibCrisisSupport::SupportPlanOnly => CrisisSupport::SupportPlanOnly,
                _ => CrisisSupport::None,
            },
            crisis_statement: terms.texts.crisis_statement.clone(),
            auto_reply_text: terms.texts.auto_reply.clone(),
            outside_hours_notice: terms.texts.outside_hours_notice.clone(),
            capped_notice: terms.texts.capped_notice.clone(),
            language: terms.texts.language.clone(),
            client_messages_per_day: terms.client_messages_per_day,
            client_messages_per_week: terms.client_messages_per_week,
            retention_after_end_ms: match terms.after_end {
                AfterEnd::KeepUntilExpiry => None,
                AfterEnd::RetainFor { ms } => Some(ms),
            },
            closures: terms
                .closures
                .iter()
                .map(|c| Closure {
                    first_day: c.first_day.to_string(),
                    last_day: c.last_day.to_string(),
                    covering: c.covering.clone(),
                })
                .collect(),
            effective_date: terms.effective_date.map(|d| d.to_string()),
            review_date: terms.review_date.map(|d| d.to_string()),
            risk_disclosure: terms.risk_disclosure.clone(),
            named_notifications: terms.named_notifications,
        }
    }
}
