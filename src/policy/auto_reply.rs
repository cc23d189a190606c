//! At most one auto-reply per conversation per window, worded from the terms.

use crate::agreement::AgreementTerms;
use crate::clock::Timestamp;

/// The auto-reply's text: the agreed auto-reply text (or the library's default), the agreed
/// response time, and the crisis resources, one per line. Every word comes from the terms or the
/// library's default constants.
#[must_use]
pub fn auto_reply_text(terms: &AgreementTerms) -> String {
    let mut lines = vec![terms.texts.auto_reply(), terms.response_time.as_str()];
    lines.extend(terms.crisis_resources.iter().map(String::as_str));
    lines.join("\n")
}

/// The auto-reply state of one conversation: plain data, for the store to persist.
///
/// An auto-reply may be sent when none was sent yet, or when the last one is at least a window
/// old. If the stored time lies more than a window in the future, the clock was wrong when it was
/// stored, and it is disregarded so that auto-replies cannot be blocked for long.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AutoReplyLimiter {
    /// When the last auto-reply was sent, if any.
    pub last_sent_at: Option<Timestamp>,
}

impl AutoReplyLimiter {
    /// Whether an auto-reply may be sent at `now`, with a window of `window_ms` milliseconds
    /// (an agreement's `auto_reply_window_ms`). Changes nothing.
    #[must_use]
    pub fn may_send(&self, window_ms: u64, now: Timestamp) -> bool {
        match self.last_sent_at {
            None => true,
            Some(last) if last > now => last.as_millis() - now.as_millis() > window_ms,
            Some(last) => now.as_millis() - last.as_millis() >= window_ms,
        }
    }

    /// If an auto-reply may be sent at `now`, records it as sent and returns `true`.
    #[must_use]
    pub fn try_send(&mut self, window_ms: u64, now: Timestamp) -> bool {
        let allowed = self.may_send(window_ms, now);
        if allowed {
            self.last_sent_at = Some(now);
        }
        allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: u64 = 15 * 60 * 1000;

    #[test]
    fn one_per_window() {
        let mut limiter = AutoReplyLimiter::default();
        assert!(limiter.try_send(WINDOW, Timestamp(1_000_000)));
        assert!(!limiter.try_send(WINDOW, Timestamp(1_000_001)));
        assert!(!limiter.try_send(WINDOW, Timestamp(1_000_000 + WINDOW - 1)));
        assert!(limiter.try_send(WINDOW, Timestamp(1_000_000 + WINDOW)));
        assert_eq!(limiter.last_sent_at, Some(Timestamp(1_000_000 + WINDOW)));
    }

    #[test]
    fn window_is_configurable() {
        let mut limiter = AutoReplyLimiter::default();
        assert!(limiter.try_send(60_000, Timestamp(0)));
        assert!(limiter.may_send(60_000, Timestamp(60_000)));
        assert!(!limiter.may_send(WINDOW, Timestamp(60_000)));
    }

    #[test]
    fn clock_moved_back() {
        let mut limiter = AutoReplyLimiter { last_sent_at: Some(Timestamp(10 * WINDOW)) };
        // Slightly behind the stored time: still within the window.
        assert!(!limiter.try_send(WINDOW, Timestamp(10 * WINDOW - 1000)));
        // Far behind: the stored time is disregarded.
        assert!(limiter.try_send(WINDOW, Timestamp(WINDOW)));
    }

    #[test]
    fn state_persists_as_plain_data() {
        let mut limiter = AutoReplyLimiter::default();
        assert!(limiter.try_send(WINDOW, Timestamp(5)));
        let stored = serde_json::to_string(&limiter).unwrap();
        let mut restored: AutoReplyLimiter = serde_json::from_str(&stored).unwrap();
        assert!(!restored.try_send(WINDOW, Timestamp(6)));
    }
}
