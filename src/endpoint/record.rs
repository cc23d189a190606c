//! What the endpoint stores as a message's body: its content, and once something happened to the
//! message after it was sent or received, what happened (acknowledged, not delivered, corrected,
//! recalled), and for a received message that arrived later than its place in the conversation,
//! when it arrived.
//!
//! A message nothing happened to is stored as its padded content (PROTOCOL.md, section 10.1),
//! which starts with the content version byte. A marked message is stored as
//!
//! ```text
//! 0xC5 ‖ u8 version (1 or 2) ‖ u64 acknowledged at (ms, 0: no) ‖ u8 not-delivered reason code (0: no)
//! ‖ u8 recall (0 none, 1 recalled, 2 deleted unread, 3 recalled after read)
//! ‖ 16 bytes corrected by (all zero: no) ‖ [version 2: u64 received at (ms, 0: not recorded)]
//! ‖ padded content
//! ```
//!
//! Version 2 is written; version 1 (without the arrival time) is still read.

use zeroize::Zeroizing;

use super::types::{MessageMarks, RecallState};
use crate::clock::Timestamp;
use crate::content::{Content, ContentError, MessageId, NotDeliveredReason};

/// First byte of a marked record: never a content version.
const MARKED: u8 = 0xC5;
/// Version of the marked record written now.
const VERSION: u8 = 2;
/// The first version, without the arrival time.
const VERSION_1: u8 = 1;
/// Bytes before the content in a version-1 record.
const HEADER_1_LEN: usize = 2 + 8 + 1 + 1 + 16;
/// Bytes before the content.
const HEADER_LEN: usize = HEADER_1_LEN + 8;

fn recall_code(recall: Option<RecallState>) -> u8 {
    match recall {
        None => 0,
        Some(RecallState::Recalled) => 1,
        Some(RecallState::DeletedUnread) => 2,
        Some(RecallState::RecalledAfterRead) => 3,
    }
}

/// The content and marks of a stored body.
///
/// # Errors
/// [`ContentError`] if the body is neither padded content nor a marked record of it.
pub(super) fn open(body: &[u8]) -> Result<(Content, MessageMarks), ContentError> {
    let Some((&MARKED, rest)) = body.split_first() else {
        return Ok((Content::decode(body)?, MessageMarks::default()));
    };
    let bad = ContentError::InvalidField("stored marks");
    let header_len = match rest.first() {
        Some(&VERSION_1) => HEADER_1_LEN,
        Some(&VERSION) => HEADER_LEN,
        _ => return Err(bad),
    };
    let (header, content) = rest.split_at_checked(header_len - 1).ok_or(ContentError::Malformed)?;
    let (header, received) = header.split_at_checked(HEADER_1_LEN - 1).ok_or(bad)?;
    let [_, a0, a1, a2, a3, a4, a5, a6, a7, reason, recall, corrected @ ..] = header else {
        return Err(bad);
    };
    let received = match received {
        [] => 0,
        bytes => u64::from_be_bytes(bytes.try_into().map_err(|_| bad)?),
    };
    let acknowledged = u64::from_be_bytes([*a0, *a1, *a2, *a3, *a4, *a5, *a6, *a7]);
    let corrected: [u8; 16] = corrected.try_into().map_err(|_| bad)?;
    let recall = match recall {
        0 => None,
        1 => Some(RecallState::Recalled),
        2 => Some(RecallState::DeletedUnread),
        3 => Some(RecallState::RecalledAfterRead),
        _ => return Err(bad),
    };
    let marks = MessageMarks {
        acknowledged_at: (acknowledged != 0).then_some(Timestamp(acknowledged)),
        not_delivered: NotDeliveredReason::from_code(u32::from(*reason)),
        corrected_by: (corrected != [0; 16]).then_some(MessageId(corrected)),
        recall,
        received_at: (received != 0).then_some(Timestamp(received)),
    };
    Ok((Content::decode(content)?, marks))
}

/// The body storing `content` with `marks`: the padded content alone when nothing is marked.
pub(super) fn seal(content: &Content, marks: &MessageMarks) -> Zeroizing<Vec<u8>> {
    with_marks(content.encode_padded(), marks)
}

/// The body storing the already padded content `padded` with `marks`: `padded` itself when
/// nothing is marked.
pub(super) fn with_marks(padded: Zeroizing<Vec<u8>>, marks: &MessageMarks) -> Zeroizing<Vec<u8>> {
    if *marks == MessageMarks::default() {
        return padded;
    }
    let mut out = Zeroizing::new(Vec::with_capacity(HEADER_LEN + padded.len()));
    out.push(MARKED);
    out.push(VERSION);
    out.extend_from_slice(&marks.acknowledged_at.map_or(0, |at| at.0.max(1)).to_be_bytes());
    // Reason codes are small (1..=6).
    out.push(marks.not_delivered.map_or(0, |reason| u8::try_from(reason.code()).unwrap_or(u8::MAX)));
    out.push(recall_code(marks.recall));
    out.extend_from_slice(&marks.corrected_by.map_or([0; 16], |id| id.0));
    out.extend_from_slice(&marks.received_at.map_or(0, |at| at.0.max(1)).to_be_bytes());
    out.extend_from_slice(&padded);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::Category;
    use crate::expiry::Lifespan;

    #[test]
    fn marks_round_trip_and_unmarked_bodies_are_plain_content() {
        let content = Content::new(
            MessageId([3; 16]),
            Category::CheckIn,
            "hi".into(),
            Timestamp(5),
            Lifespan::DEFAULT,
            1,
        )
        .unwrap();
        let plain = seal(&content, &MessageMarks::default());
        assert_eq!(&plain[..], &content.encode_padded()[..]);
        assert_eq!(open(&plain).unwrap(), (content.clone(), MessageMarks::default()));
        let marks = MessageMarks {
            acknowledged_at: Some(Timestamp(9)),
            not_delivered: Some(NotDeliveredReason::Expired),
            corrected_by: Some(MessageId([4; 16])),
            recall: Some(RecallState::RecalledAfterRead),
            received_at: Some(Timestamp(11)),
        };
        let marked = seal(&content, &marks);
        assert_eq!(open(&marked).unwrap(), (content.clone(), marks));
        assert!(open(&marked[..HEADER_LEN]).is_err());
        let mut bad = marked.to_vec();
        bad[1] = 3;
        assert!(open(&bad).is_err());
        // A version-1 record (no arrival time) still reads, with no arrival time.
        let mut v1 = marked[..HEADER_1_LEN].to_vec();
        v1[1] = VERSION_1;
        v1.extend_from_slice(&content.encode_padded());
        assert_eq!(open(&v1).unwrap(), (content, MessageMarks { received_at: None, ..marks }));
    }
}
