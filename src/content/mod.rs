//! Message content: what a session encrypts.
//!
//! A [`Content`] holds a random [`MessageId`], a [`Category`], the text, the sender's clock at
//! sending, a [`Lifespan`], an optional reply-to id, and the version of the agreement it was sent
//! under. [`Content::encode_padded`] pads the encoding to one of
//! [`crate::consts::CONTENT_BUCKETS`], so that its length reveals only the bucket.

mod category;
mod codec;
mod consultation;
mod padding;

use rand_core::CryptoRng;
use zeroize::Zeroizing;

pub use category::{AppointmentKind, Category, NotDeliveredReason, Receipt, ReceiptKind};
pub use consultation::{ConsultationNotice, Excerpt, ExcerptMessage, MAX_EXCERPT_MESSAGES};
// Defined below content and agreements, which both use it.
pub use crate::category::CategoryKind;

use crate::agreement::SignedAgreement;
use crate::clock::Timestamp;
use crate::consts::{MAX_RECEIPT_IDS, MAX_TEXT_BYTES};

/// The largest sequence number a message may carry (2^53 - 1, exact in every JSON number).
pub const MAX_SEQUENCE: u64 = (1 << 53) - 1;
use crate::expiry::Lifespan;

/// A message's random 16-byte identifier.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct MessageId(pub [u8; 16]);

impl MessageId {
    /// Draws a fresh id from `rng`.
    pub fn random(rng: &mut (impl CryptoRng + ?Sized)) -> Self {
        let mut bytes = [0u8; 16];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }
}

impl std::fmt::Debug for MessageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MessageId({})", crate::codec::hex_prefix(&self.0))
    }
}

/// Why content was refused. Never carries the text.
#[derive(Debug, thiserror::Error, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ContentError {
    /// The padded length is not one of [`crate::consts::CONTENT_BUCKETS`].
    #[error("padded content has a length that is not a bucket")]
    BadLength,
    /// The padding is not `0x80` followed by zero bytes.
    #[error("bad padding")]
    BadPadding,
    /// The leading version byte names a format this library does not know.
    #[error("unsupported content version {0}")]
    UnsupportedVersion(u8),
    /// The bytes are not a well-formed content message.
    #[error("malformed content")]
    Malformed,
    /// The text is longer than [`MAX_TEXT_BYTES`].
    #[error("text too long")]
    TextTooLong,
    /// A field is missing or holds a value that is not allowed; the field is named.
    #[error("invalid content field: {0}")]
    InvalidField(&'static str),
}

/// One message, as the sender wrote it. The text is zeroized on drop and never printed by `Debug`.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "codec::ContentData", into = "codec::ContentData")]
pub struct Content {
    id: MessageId,
    category: Category,
    text: Zeroizing<String>,
    sent_at: Timestamp,
    lifespan: Lifespan,
    reply_to: Option<MessageId>,
    agreement_version: u32,
    /// Per conversation and sender, from 1; 0: none.
    sequence: u64,
    ack_requested: bool,
    corrects: Option<MessageId>,
}

impl Content {
    /// A message with the given fields.
    ///
    /// `agreement_version` is that of the agreement in force; 0 (no agreement yet) is allowed only
    /// for agreement messages and receipts.
    ///
    /// # Errors
    /// [`ContentError::TextTooLong`] if the text is longer than [`MAX_TEXT_BYTES`];
    /// [`ContentError::InvalidField`] if the text is empty for a category that needs one or present
    /// for an agreement message or a receipt (these carry no text), if a receipt acknowledges no message or more than [`MAX_RECEIPT_IDS`], or if
    /// version 0 is used for a category that needs an agreement.
    pub fn new(
        id: MessageId,
        category: Category,
        text: String,
        sent_at: Timestamp,
        lifespan: Lifespan,
        agreement_version: u32,
    ) -> Result<Self, ContentError> {
        let content = Self {
            id,
            category,
            text: Zeroizing::new(text),
            sent_at,
            lifespan,
            reply_to: None,
            agreement_version,
            sequence: 0,
            ack_requested: false,
            corrects: None,
        };
        content.validate()?;
        Ok(content)
    }

    /// A new message under `agreement`: a random id, and the agreement's lifespan for the category.
    ///
    /// # Errors
    /// As [`Content::new`].
    pub fn compose(
        rng: &mut (impl CryptoRng + ?Sized),
        agreement: &SignedAgreement,
        category: Category,
        text: String,
        sent_at: Timestamp,
    ) -> Result<Self, ContentError> {
        let lifespan = agreement.terms().lifespan_for(category.kind());
        Self::new(MessageId::random(rng), category, text, sent_at, lifespan, agreement.version())
    }

    /// The same message, as a reply to `message`.
    #[must_use]
    pub fn in_reply_to(mut self, message: MessageId) -> Self {
        self.reply_to = Some(message);
        self
    }

    /// The same message with sequence number `sequence` (PROTOCOL.md, section 12, "Order").
    ///
    /// # Errors
    /// [`ContentError::InvalidField`] naming `sequence` for a system message (agreements and
    /// receipts carry none), or if `sequence` is above [`MAX_SEQUENCE`].
    pub fn with_sequence(mut self, sequence: u64) -> Result<Self, ContentError> {
        self.sequence = sequence;
        self.validate()?;
        Ok(self)
    }

    /// The same message, asking the recipient to confirm it read and understood it.
    ///
    /// # Errors
    /// [`ContentError::InvalidField`] naming `ack requested` for a system message.
    pub fn requesting_acknowledgement(mut self) -> Result<Self, ContentError> {
        self.ack_requested = true;
        self.validate()?;
        Ok(self)
    }

    /// The same message, as a correction of the sender's earlier message `original`.
    ///
    /// # Errors
    /// [`ContentError::InvalidField`] naming `corrects` for a system message or a message that
    /// corrects itself.
    pub fn correcting(mut self, original: MessageId) -> Result<Self, ContentError> {
        self.corrects = Some(original);
        self.validate()?;
        Ok(self)
    }

    /// The same message with `lifespan`: what a receiver stores once it applied the agreed
    /// lifespan ([`Lifespan::within`]).
    pub(crate) fn with_lifespan(mut self, lifespan: Lifespan) -> Self {
        self.lifespan = lifespan;
        self
    }

    fn validate(&self) -> Result<(), ContentError> {
        if self.text.len() > MAX_TEXT_BYTES {
            return Err(ContentError::TextTooLong);
        }
        let system = matches!(
            self.category.kind(),
            CategoryKind::Agreement | CategoryKind::Receipt | CategoryKind::AutoReply
        );
        if self.sequence > MAX_SEQUENCE || (system && self.sequence != 0) {
            return Err(ContentError::InvalidField("sequence"));
        }
        if system && self.ack_requested {
            return Err(ContentError::InvalidField("ack requested"));
        }
        if self.corrects.is_some_and(|original| system || original == self.id) {
            return Err(ContentError::InvalidField("corrects"));
        }
        match &self.category {
            Category::Receipt(receipt) => {
                if !self.text.is_empty() {
                    return Err(ContentError::InvalidField("text"));
                }
                if receipt.message_ids.is_empty() || receipt.message_ids.len() > MAX_RECEIPT_IDS {
                    return Err(ContentError::InvalidField("receipt"));
                }
            }
            // Agreement messages carry no text: what they say is the agreement, which both sign.
            Category::Agreement(_) | Category::Withdrawal(_) if !self.text.is_empty() => {
                return Err(ContentError::InvalidField("text"))
            }
            Category::Agreement(_) | Category::Withdrawal(_) => {}
            Category::Consultation(excerpt) if self.text.is_empty() => excerpt.validate(MAX_TEXT_BYTES)?,
            Category::Consultation(_) => return Err(ContentError::InvalidField("text")),
            Category::ConsultationNotice(notice) => notice.validate()?,
            // Plans and notices carry no text either, and exist only under an agreement.
            Category::SupportPlan(_) | Category::EndNotice(_) if !self.text.is_empty() => {
                return Err(ContentError::InvalidField("text"))
            }
            Category::SupportPlan(_) | Category::EndNotice(_) if self.agreement_version == 0 => {
                return Err(ContentError::InvalidField("agreement version"))
            }
            Category::SupportPlan(_) | Category::EndNotice(_) => {}
            _ if self.text.is_empty() => return Err(ContentError::InvalidField("text")),
            _ if self.agreement_version == 0 => return Err(ContentError::InvalidField("agreement version")),
            _ => {}
        }
        Ok(())
    }

    /// The message's id.
    #[must_use]
    pub fn id(&self) -> MessageId {
        self.id
    }

    /// What the message is about.
    #[must_use]
    pub fn category(&self) -> &Category {
        &self.category
    }

    /// The text.
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The length of the text in Unicode scalar values, as agreements limit it.
    #[must_use]
    pub fn text_chars(&self) -> usize {
        self.text.chars().count()
    }

    /// When the sender says it sent the message (its own clock; see [`Lifespan::on_arrival`]).
    #[must_use]
    pub fn sent_at(&self) -> Timestamp {
        self.sent_at
    }

    /// How long the message lives.
    #[must_use]
    pub fn lifespan(&self) -> Lifespan {
        self.lifespan
    }

    /// The message this one replies to, if any.
    #[must_use]
    pub fn reply_to(&self) -> Option<MessageId> {
        self.reply_to
    }

    /// Version of the agreement the message was sent under (0: none yet).
    #[must_use]
    pub fn agreement_version(&self) -> u32 {
        self.agreement_version
    }

    /// The message's sequence number in its sender's direction of the conversation, from 1;
    /// 0 for system messages and for senders that number none.
    #[must_use]
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    /// Whether the sender asks the recipient to acknowledge the message.
    #[must_use]
    pub fn ack_requested(&self) -> bool {
        self.ack_requested
    }

    /// The sender's earlier message that this one corrects, if any.
    #[must_use]
    pub fn corrects(&self) -> Option<MessageId> {
        self.corrects
    }

    /// The encoding, padded to the smallest bucket of [`crate::consts::CONTENT_BUCKETS`] that holds
    /// it. Zeroized when dropped.
    #[must_use]
    pub fn encode_padded(&self) -> Zeroizing<Vec<u8>> {
        codec::encode_padded(self)
    }

    /// Reads padded content: length is a bucket, padding, version byte, protobuf decode, then every
    /// field into its domain type and the rules of [`Content::new`].
    ///
    /// # Errors
    /// [`ContentError::BadLength`], [`ContentError::BadPadding`], [`ContentError::UnsupportedVersion`],
    /// [`ContentError::Malformed`], [`ContentError::TextTooLong`] or [`ContentError::InvalidField`].
    pub fn decode(bytes: &[u8]) -> Result<Content, ContentError> {
        codec::decode(bytes)
    }
}

impl std::fmt::Debug for Content {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Content")
            .field("id", &self.id)
            .field("category", &self.category.kind())
            .field("text_len", &self.text.len())
            .field("sent_at", &self.sent_at)
            .field("lifespan", &self.lifespan)
            .field("reply_to", &self.reply_to)
            .field("agreement_version", &self.agreement_version)
            .field("sequence", &self.sequence)
            .field("ack_requested", &self.ack_requested)
            .field("corrects", &self.corrects)
            .finish()
    }
}

#[cfg(test)]
mod tests;
