//! A plain transcript of a conversation that a person can open: text, or an HTML page. It holds
//! the messages' times, senders, recipients, categories and texts, and nothing else: no ids,
//! keys, scripts, styles or links.

use std::fmt::Write;

use zeroize::Zeroizing;

use super::fhir::ExportError;
use super::{category_display, rfc3339, RecordMessage};

/// The form of a transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TranscriptFormat {
    /// UTF-8 text.
    Text,
    /// A self-contained HTML page; every text is HTML-escaped.
    Html,
}

/// Counts the bytes written to it.
struct Counter(usize);

impl Write for Counter {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0 = self.0.saturating_add(s.len());
        Ok(())
    }
}

/// Writes `text` with `&`, `<`, `>`, `"` and `'` escaped.
fn escape(out: &mut dyn Write, text: &str) -> std::fmt::Result {
    for c in text.chars() {
        match c {
            '&' => out.write_str("&amp;")?,
            '<' => out.write_str("&lt;")?,
            '>' => out.write_str("&gt;")?,
            '"' => out.write_str("&quot;")?,
            '\'' => out.write_str("&#39;")?,
            '\n' => out.write_str("<br>\n")?,
            c => out.write_char(c)?,
        }
    }
    Ok(())
}

fn write(out: &mut dyn Write, messages: &[RecordMessage], format: TranscriptFormat) -> std::fmt::Result {
    if format == TranscriptFormat::Html {
        out.write_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>Conversation</title></head>\n<body>\n")?;
    }
    for m in messages {
        let sent = rfc3339(m.sent_at).ok_or(std::fmt::Error)?;
        let category = category_display(m.category);
        match format {
            TranscriptFormat::Text => {
                writeln!(out, "{sent}  {} to {}  ({category})", m.sender.id, m.recipient.id)?;
                for line in m.text.lines() {
                    writeln!(out, "  {line}")?;
                }
                out.write_str("\n")?;
            }
            TranscriptFormat::Html => {
                out.write_str("<article>\n<p><time>")?;
                escape(out, &sent)?;
                out.write_str("</time> <strong>")?;
                escape(out, &m.sender.id)?;
                out.write_str("</strong> to <strong>")?;
                escape(out, &m.recipient.id)?;
                out.write_str("</strong> (")?;
                escape(out, &category)?;
                out.write_str(")</p>\n<p>")?;
                escape(out, &m.text)?;
                out.write_str("</p>\n</article>\n")?;
            }
        }
    }
    if format == TranscriptFormat::Html {
        out.write_str("</body>\n</html>\n")?;
    }
    Ok(())
}

/// `messages` as a transcript in `format`, in the order given, written into a buffer allocated
/// once at its final length and zeroized on drop.
///
/// # Errors
/// [`ExportError::TimeOutOfRange`] if a time cannot be written as a calendar date.
pub fn transcript(
    messages: &[RecordMessage],
    format: TranscriptFormat,
) -> Result<Zeroizing<String>, ExportError> {
    let mut counter = Counter(0);
    write(&mut counter, messages, format).map_err(|_| ExportError::TimeOutOfRange)?;
    let mut out = Zeroizing::new(String::with_capacity(counter.0));
    write(&mut *out, messages, format).map_err(|_| ExportError::TimeOutOfRange)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::category::CategoryKind;
    use crate::clock::Timestamp;
    use crate::content::MessageId;
    use crate::records::Party;
    use crate::role::Role;

    fn message(text: &str) -> RecordMessage {
        RecordMessage {
            id: MessageId([7; 16]),
            sender: Party { id: "client-<42>".into(), role: Role::Client },
            recipient: Party { id: "dr-lee".into(), role: Role::Clinician },
            sent_at: Timestamp(1_772_463_600_000),
            received_at: None,
            category: CategoryKind::CheckIn,
            text: Zeroizing::new(text.to_owned()),
            agreement_version: 1,
            reply_to: None,
            corrects: None,
        }
    }

    #[test]
    fn html_escapes_every_text_and_holds_no_script() {
        let html =
            transcript(&[message("<script>alert('x')</script> & \"so\"\nnext")], TranscriptFormat::Html)
                .unwrap();
        assert!(
            html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;so&quot;<br>\nnext")
        );
        assert!(html.contains("client-&lt;42&gt;"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("0707"), "no message id");
    }

    #[test]
    fn text_has_times_parties_category_and_text_only() {
        let text = transcript(&[message("Feeling better\ntoday")], TranscriptFormat::Text).unwrap();
        assert_eq!(
            &text[..],
            "2026-03-02T15:00:00.000Z  client-<42> to dr-lee  (Check in)\n  Feeling better\n  today\n\n"
        );
        assert_eq!(text.capacity(), text.len(), "allocated once at its final length");
    }
}
