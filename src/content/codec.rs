//! Content to and from protobuf `confidant.content.Content`, with padding.

use prost::Message;
use zeroize::{Zeroize, Zeroizing};

use super::consultation::{ConsultationNotice, Excerpt};
use super::padding::{pad, padded_len, unpad};
use super::{
    AppointmentKind, Category, Content, ContentError, MessageId, NotDeliveredReason, Receipt, ReceiptKind,
};
use crate::agreement::{PlanMessage, SignedNotice, UnverifiedAgreement};
use crate::category::{expiry_start_from_wire, expiry_start_to_wire, CategoryKind};
use crate::clock::Timestamp;
use crate::consts::{CONTENT_VERSION, MAX_RECEIPT_IDS};
use crate::expiry::Lifespan;

#[allow(unreachable_pub, missing_docs, clippy::all, clippy::pedantic)]
pub(super) mod proto {
    include!(concat!(env!("OUT_DIR"), "/confidant.content.rs"));
}

/// The shared enums, where the generated code above looks for them (`super::common`).
use crate::category::proto as common;

/// A receipt kind's wire number and reason code.
fn receipt_kind_to_wire(kind: ReceiptKind) -> (i32, u32) {
    match kind {
        ReceiptKind::Delivered => (1, 0),
        ReceiptKind::Read => (2, 0),
        ReceiptKind::Acknowledged => (16, 0),
        ReceiptKind::NotDelivered(reason) => (17, reason.code()),
        ReceiptKind::Recall => (18, 0),
        ReceiptKind::RecalledUnread => (19, 0),
        ReceiptKind::RecalledAfterRead => (20, 0),
    }
}

/// The receipt kind of a wire number and reason code: a reason only with `NOT_DELIVERED`.
fn receipt_kind_from_wire(kind: i32, reason: u32) -> Result<ReceiptKind, ContentError> {
    let invalid = ContentError::InvalidField("receipt");
    let kind = match kind {
        1 => ReceiptKind::Delivered,
        2 => ReceiptKind::Read,
        16 => ReceiptKind::Acknowledged,
        17 => return NotDeliveredReason::from_code(reason).map(ReceiptKind::NotDelivered).ok_or(invalid),
        18 => ReceiptKind::Recall,
        19 => ReceiptKind::RecalledUnread,
        20 => ReceiptKind::RecalledAfterRead,
        _ => return Err(invalid),
    };
    if reason != 0 {
        return Err(invalid);
    }
    Ok(kind)
}

fn to_proto(content: &Content) -> proto::Content {
    let (agreement, receipt) = match &content.category {
        Category::Agreement(agreement) => (agreement.to_bytes(), None),
        Category::Receipt(receipt) => (
            Vec::new(),
            Some(proto::Receipt {
                kind: receipt_kind_to_wire(receipt.kind).0,
                message_ids: receipt.message_ids.iter().map(|id| id.0.to_vec()).collect(),
                reason: receipt_kind_to_wire(receipt.kind).1,
            }),
        ),
        _ => (Vec::new(), None),
    };
    let withdrawn_proposal = match &content.category {
        Category::Withdrawal(proposal) => proposal.0.to_vec(),
        _ => Vec::new(),
    };
    let (support_plan, end_notice) = match &content.category {
        Category::SupportPlan(plan) => (plan.to_bytes(), Vec::new()),
        Category::EndNotice(notice) => (Vec::new(), notice.to_bytes()),
        _ => (Vec::new(), Vec::new()),
    };
    proto::Content {
        support_plan,
        end_notice,
        id: content.id.0.to_vec(),
        category: content.category.kind().to_wire(),
        text: String::clone(&content.text),
        sent_at_ms: content.sent_at.as_millis(),
        lifespan_ms: content.lifespan.duration_ms(),
        expiry_start: expiry_start_to_wire(content.lifespan.start()),
        reply_to: content.reply_to.map(|id| id.0.to_vec()).unwrap_or_default(),
        agreement_version: content.agreement_version,
        agreement,
        receipt,
        withdrawn_proposal,
        excerpt: match &content.category {
            Category::Consultation(excerpt) => Some(excerpt.to_proto()),
            _ => None,
        },
        consultation_notice: match &content.category {
            Category::ConsultationNotice(notice) => Some(notice.to_proto()),
            _ => None,
        },
        sequence: content.sequence,
        ack_requested: content.ack_requested,
        corrects: content.corrects.map(|id| id.0.to_vec()).unwrap_or_default(),
    }
}

pub(super) fn encode_padded(content: &Content) -> Zeroizing<Vec<u8>> {
    let mut message = to_proto(content);
    let body_len = 1 + message.encoded_len();
    // The limits of `Content::new` keep every body below the largest bucket (tested), so the
    // fallback length is never used.
    let bucket = padded_len(body_len).unwrap_or(body_len + 1);
    // Allocated once at full size, so no partial copy of the text is left behind by a reallocation.
    let mut out = Zeroizing::new(Vec::with_capacity(bucket));
    out.push(CONTENT_VERSION);
    // Encoding into a Vec cannot fail: a Vec grows as needed.
    let _ = message.encode(&mut *out);
    message.text.zeroize();
    if let Some(excerpt) = &mut message.excerpt {
        excerpt.messages.iter_mut().for_each(|m| m.text.zeroize());
    }
    pad(&mut out, bucket);
    out
}

fn message_id(raw: &[u8], field: &'static str) -> Result<MessageId, ContentError> {
    <[u8; 16]>::try_from(raw).map(MessageId).map_err(|_| ContentError::InvalidField(field))
}

pub(super) fn decode(bytes: &[u8]) -> Result<Content, ContentError> {
    let body = unpad(bytes)?;
    let (&version, body) = body.split_first().ok_or(ContentError::Malformed)?;
    if version != CONTENT_VERSION {
        return Err(ContentError::UnsupportedVersion(version));
    }
    let mut message = proto::Content::decode(body).map_err(|_| ContentError::Malformed)?;
    let text = Zeroizing::new(std::mem::take(&mut message.text));
    let kind = CategoryKind::from_wire(message.category).ok_or(ContentError::InvalidField("category"))?;
    if kind != CategoryKind::Agreement && !message.agreement.is_empty() {
        return Err(ContentError::InvalidField("agreement"));
    }
    if kind != CategoryKind::Agreement && !message.withdrawn_proposal.is_empty() {
        return Err(ContentError::InvalidField("withdrawn proposal"));
    }
    if kind != CategoryKind::SupportPlan && !message.support_plan.is_empty() {
        return Err(ContentError::InvalidField("support plan"));
    }
    if kind != CategoryKind::EndNotice && !message.end_notice.is_empty() {
        return Err(ContentError::InvalidField("end notice"));
    }
    if kind != CategoryKind::Receipt && message.receipt.is_some() {
        return Err(ContentError::InvalidField("receipt"));
    }
    if kind != CategoryKind::Consultation && message.excerpt.is_some() {
        return Err(ContentError::InvalidField("excerpt"));
    }
    if kind != CategoryKind::ConsultationNotice && message.consultation_notice.is_some() {
        return Err(ContentError::InvalidField("consultation notice"));
    }
    let category = match kind {
        CategoryKind::AppointmentReminder => Category::Appointment(AppointmentKind::Reminder),
        CategoryKind::AppointmentConfirm => Category::Appointment(AppointmentKind::Confirm),
        CategoryKind::AppointmentReschedule => Category::Appointment(AppointmentKind::Reschedule),
        CategoryKind::AppointmentCancel => Category::Appointment(AppointmentKind::Cancel),
        CategoryKind::AppointmentDirections => Category::Appointment(AppointmentKind::Directions),
        CategoryKind::CheckIn => Category::CheckIn,
        CategoryKind::Crisis => Category::Crisis,
        CategoryKind::Administrative => Category::Administrative,
        CategoryKind::AutoReply => Category::AutoReply,
        CategoryKind::CopingGuidance => Category::CopingGuidance,
        CategoryKind::SupportPlan => Category::SupportPlan(Box::new(
            PlanMessage::from_bytes(&message.support_plan)
                .map_err(|_| ContentError::InvalidField("support plan"))?,
        )),
        CategoryKind::EndNotice => Category::EndNotice(Box::new(
            SignedNotice::from_bytes(&message.end_notice)
                .map_err(|_| ContentError::InvalidField("end notice"))?,
        )),
        // An agreement message carries an agreement, or withdraws a proposal: one of the two.
        CategoryKind::Agreement if message.agreement.is_empty() && !message.withdrawn_proposal.is_empty() => {
            Category::Withdrawal(message_id(&message.withdrawn_proposal, "withdrawn proposal")?)
        }
        CategoryKind::Agreement if !message.withdrawn_proposal.is_empty() => {
            return Err(ContentError::InvalidField("withdrawn proposal"))
        }
        CategoryKind::Agreement => Category::Agreement(Box::new(
            UnverifiedAgreement::from_bytes(&message.agreement)
                .map_err(|_| ContentError::InvalidField("agreement"))?,
        )),
        CategoryKind::Receipt => {
            let receipt = message.receipt.take().ok_or(ContentError::InvalidField("receipt"))?;
            let kind = receipt_kind_from_wire(receipt.kind, receipt.reason)?;
            if receipt.message_ids.len() > MAX_RECEIPT_IDS {
                return Err(ContentError::InvalidField("receipt"));
            }
            let message_ids = receipt
                .message_ids
                .iter()
                .map(|raw| message_id(raw, "receipt"))
                .collect::<Result<Vec<_>, _>>()?;
            Category::Receipt(Receipt { kind, message_ids })
        }
        CategoryKind::Consultation => {
            let excerpt = message.excerpt.take().ok_or(ContentError::InvalidField("excerpt"))?;
            Category::Consultation(Box::new(Excerpt::from_proto(excerpt)?))
        }
        CategoryKind::ConsultationNotice => {
            let notice = message
                .consultation_notice
                .as_ref()
                .ok_or(ContentError::InvalidField("consultation notice"))?;
            Category::ConsultationNotice(ConsultationNotice::from_proto(notice)?)
        }
    };
    let start =
        expiry_start_from_wire(message.expiry_start).ok_or(ContentError::InvalidField("expiry start"))?;
    let lifespan =
        Lifespan::new(message.lifespan_ms, start).map_err(|_| ContentError::InvalidField("lifespan"))?;
    let reply_to = match message.reply_to.as_slice() {
        [] => None,
        raw => Some(message_id(raw, "reply to")?),
    };
    let content = Content {
        id: message_id(&message.id, "id")?,
        category,
        text,
        sent_at: Timestamp(message.sent_at_ms),
        lifespan,
        reply_to,
        agreement_version: message.agreement_version,
        sequence: message.sequence,
        ack_requested: message.ack_requested,
        corrects: match message.corrects.as_slice() {
            [] => None,
            raw => Some(message_id(raw, "corrects")?),
        },
    };
    content.validate()?;
    Ok(content)
}

/// The serialized (serde) form of [`Content`], validated on the way in. Its text is zeroized
/// when it is dropped, on the way in and on the way out.
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct ContentData {
    id: MessageId,
    category: Category,
    text: Zeroizing<String>,
    sent_at: Timestamp,
    lifespan: Lifespan,
    reply_to: Option<MessageId>,
    agreement_version: u32,
    #[serde(default)]
    sequence: u64,
    #[serde(default)]
    ack_requested: bool,
    #[serde(default)]
    corrects: Option<MessageId>,
}

impl TryFrom<ContentData> for Content {
    type Error = ContentError;
    fn try_from(mut data: ContentData) -> Result<Self, ContentError> {
        let text = std::mem::take(&mut *data.text);
        let content =
            Content::new(data.id, data.category, text, data.sent_at, data.lifespan, data.agreement_version)?;
        let mut content = match data.reply_to {
            Some(id) => content.in_reply_to(id),
            None => content,
        };
        content.sequence = data.sequence;
        content.ack_requested = data.ack_requested;
        content.corrects = data.corrects;
        content.validate()?;
        Ok(content)
    }
}

impl From<Content> for ContentData {
    fn from(content: Content) -> Self {
        Self {
            id: content.id,
            category: content.category.clone(),
            text: content.text.clone(),
            sent_at: content.sent_at,
            lifespan: content.lifespan,
            reply_to: content.reply_to,
            agreement_version: content.agreement_version,
            sequence: content.sequence,
            ack_requested: content.ack_requested,
            corrects: content.corrects,
        }
    }
}

/// A content message of `category` with the given `agreement` and `withdrawn_proposal` fields
/// (and a valid id and lifespan), encoded without padding: for tests of the decoder's refusals.
#[cfg(test)]
pub(super) fn proto_for_tests(category: i32, agreement: &[u8], withdrawn_proposal: &[u8]) -> Vec<u8> {
    let message = proto::Content {
        id: vec![1; 16],
        category,
        lifespan_ms: crate::consts::DEFAULT_LIFESPAN_MS,
        expiry_start: 1,
        agreement_version: 1,
        agreement: agreement.to_vec(),
        withdrawn_proposal: withdrawn_proposal.to_vec(),
        ..proto::Content::default()
    };
    message.encode_to_vec()
}
