//! The bodies of consultation messages: an excerpt of a client conversation that a clinician
//! shares with a colleague, and the notice that tells the client of it (PROTOCOL.md, 15.5).

use zeroize::Zeroizing;

use super::codec::proto;
use super::{ContentError, MessageId};
use crate::agreement::Consultation;
use crate::category::CategoryKind;
use crate::clock::Timestamp;
use crate::consts::MAX_RECEIPT_IDS;

/// Most messages one excerpt or notice holds.
pub const MAX_EXCERPT_MESSAGES: usize = MAX_RECEIPT_IDS;

/// One message of an excerpt.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExcerptMessage {
    /// The message's id in the shared conversation.
    pub id: MessageId,
    /// Whether the client sent it (otherwise the sharing clinician did).
    pub from_client: bool,
    /// When it was sent.
    pub sent_at: Timestamp,
    /// Its category.
    pub category: CategoryKind,
    /// Its text. Zeroized on drop.
    pub text: Zeroizing<String>,
}

impl std::fmt::Debug for ExcerptMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExcerptMessage")
            .field("id", &self.id)
            .field("from_client", &self.from_client)
            .field("category", &self.category)
            .field("text_len", &self.text.len())
            .finish_non_exhaustive()
    }
}

/// An excerpt of a client conversation and its provenance.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Excerpt {
    /// Whether the excerpt identifies the client.
    pub identified: bool,
    /// Identified only: the client's peer id on the sharing clinician's device.
    pub client: Option<String>,
    /// Identified only: the signed agreement with the client, which proves the client's consent.
    pub agreement: Option<Vec<u8>>,
    /// The client's consultation term, as signed.
    pub permitted: Consultation,
    /// When it was shared.
    pub shared_at: Timestamp,
    /// The messages, in conversation order.
    pub messages: Vec<ExcerptMessage>,
}

impl std::fmt::Debug for Excerpt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Excerpt")
            .field("identified", &self.identified)
            .field("permitted", &self.permitted)
            .field("shared_at", &self.shared_at)
            .field("messages", &self.messages)
            .finish_non_exhaustive()
    }
}

/// Tells the client that an excerpt of their conversation was shared with a colleague.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ConsultationNotice {
    /// Whether the excerpt identified the client.
    pub identified: bool,
    /// The messages shared.
    pub messages: Vec<MessageId>,
}

impl Excerpt {
    /// Checks the excerpt's own rules: 1..=[`MAX_EXCERPT_MESSAGES`] messages with text, the
    /// client named and the agreement present exactly when identified, and a consultation term
    /// that permits this kind of excerpt.
    pub(super) fn validate(&self, max_text_bytes: usize) -> Result<(), ContentError> {
        let invalid = ContentError::InvalidField("excerpt");
        if self.messages.is_empty() || self.messages.len() > MAX_EXCERPT_MESSAGES {
            return Err(invalid);
        }
        let total: usize = self.messages.iter().map(|m| m.text.len()).sum();
        if total > max_text_bytes || self.messages.iter().any(|m| m.text.is_empty()) {
            return Err(invalid);
        }
        if self.identified != self.client.is_some() || self.identified != self.agreement.is_some() {
            return Err(invalid);
        }
        if !self.permitted.permits(self.identified) {
            return Err(invalid);
        }
        Ok(())
    }

    pub(super) fn to_proto(&self) -> proto::Excerpt {
        proto::Excerpt {
            identified: self.identified,
            client: self.client.clone().unwrap_or_default(),
            agreement: self.agreement.clone().unwrap_or_default(),
            permitted: self.permitted.to_number(),
            shared_at_ms: self.shared_at.as_millis(),
            messages: self
                .messages
                .iter()
                .map(|m| proto::ExcerptMessage {
                    id: m.id.0.to_vec(),
                    from_client: m.from_client,
                    sent_at_ms: m.sent_at.as_millis(),
                    category: m.category.to_wire(),
                    text: String::clone(&m.text),
                })
                .collect(),
        }
    }

    pub(super) fn from_proto(mut wire: proto::Excerpt) -> Result<Self, ContentError> {
        let invalid = || ContentError::InvalidField("excerpt");
        if wire.messages.len() > MAX_EXCERPT_MESSAGES {
            return Err(invalid());
        }
        let messages = wire
            .messages
            .iter_mut()
            .map(|m| {
                Ok(ExcerptMessage {
                    id: MessageId(<[u8; 16]>::try_from(m.id.as_slice()).map_err(|_| invalid())?),
                    from_client: m.from_client,
                    sent_at: Timestamp(m.sent_at_ms),
                    category: CategoryKind::from_wire(m.category).ok_or_else(invalid)?,
                    text: Zeroizing::new(std::mem::take(&mut m.text)),
                })
            })
            .collect::<Result<Vec<_>, ContentError>>()?;
        Ok(Self {
            identified: wire.identified,
            client: (!wire.client.is_empty()).then(|| std::mem::take(&mut wire.client)),
            agreement: (!wire.agreement.is_empty()).then(|| std::mem::take(&mut wire.agreement)),
            permitted: Consultation::from_number(wire.permitted).ok_or_else(invalid)?,
            shared_at: Timestamp(wire.shared_at_ms),
            messages,
        })
    }
}

impl ConsultationNotice {
    pub(super) fn validate(&self) -> Result<(), ContentError> {
        if self.messages.is_empty() || self.messages.len() > MAX_EXCERPT_MESSAGES {
            return Err(ContentError::InvalidField("consultation notice"));
        }
        Ok(())
    }

    pub(super) fn to_proto(&self) -> proto::ConsultationNotice {
        proto::ConsultationNotice {
            identified: self.identified,
            message_ids: self.messages.iter().map(|id| id.0.to_vec()).collect(),
        }
    }

    pub(super) fn from_proto(wire: &proto::ConsultationNotice) -> Result<Self, ContentError> {
        if wire.message_ids.len() > MAX_EXCERPT_MESSAGES {
            return Err(ContentError::InvalidField("consultation notice"));
        }
        let messages = wire
            .message_ids
            .iter()
            .map(|raw| {
                <[u8; 16]>::try_from(raw.as_slice())
                    .map(MessageId)
                    .map_err(|_| ContentError::InvalidField("consultation notice"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { identified: wire.identified, messages })
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;
    use crate::content::padding::{pad, padded_len};
    use crate::content::{Category, Content};
    use crate::expiry::Lifespan;
    use zeroize::Zeroizing;

    fn excerpt(identified: bool, permitted: Consultation) -> Excerpt {
        Excerpt {
            identified,
            client: identified.then(|| "client-42".to_owned()),
            agreement: identified.then(|| vec![1, 2, 3]),
            permitted,
            shared_at: Timestamp(5),
            messages: vec![ExcerptMessage {
                id: MessageId([3; 16]),
                from_client: true,
                sent_at: Timestamp(4),
                category: CategoryKind::CheckIn,
                text: Zeroizing::new("hello".to_owned()),
            }],
        }
    }

    fn content(category: Category, text: &str) -> Result<Content, ContentError> {
        Content::new(MessageId([9; 16]), category, text.to_owned(), Timestamp(6), Lifespan::DEFAULT, 1)
    }

    /// Padded content bytes for a hand-made protobuf message.
    fn padded(message: &proto::Content) -> Vec<u8> {
        let mut out = vec![crate::consts::CONTENT_VERSION];
        out.extend(message.encode_to_vec());
        let bucket = padded_len(out.len()).unwrap();
        pad(&mut out, bucket);
        out
    }

    #[test]
    fn excerpts_and_notices_round_trip() {
        for (identified, permitted) in [(false, Consultation::DeIdentified), (true, Consultation::Identified)]
        {
            let original =
                content(Category::Consultation(Box::new(excerpt(identified, permitted))), "").unwrap();
            assert_eq!(Content::decode(&original.encode_padded()).unwrap(), original);
        }
        let notice = ConsultationNotice { identified: false, messages: vec![MessageId([3; 16])] };
        let original = content(Category::ConsultationNotice(notice), "You were consulted about.").unwrap();
        assert_eq!(Content::decode(&original.encode_padded()).unwrap(), original);
    }

    #[test]
    fn an_excerpt_breaking_its_rules_is_refused() {
        let refused = Err(ContentError::InvalidField("excerpt"));
        let not_permitted = excerpt(false, Consultation::NotPermitted);
        assert_eq!(content(Category::Consultation(Box::new(not_permitted)), "").map(drop), refused);
        let too_far = excerpt(true, Consultation::DeIdentified);
        assert_eq!(content(Category::Consultation(Box::new(too_far)), "").map(drop), refused);
        let mut unnamed = excerpt(true, Consultation::Identified);
        unnamed.client = None;
        assert_eq!(content(Category::Consultation(Box::new(unnamed)), "").map(drop), refused);
        let mut empty = excerpt(false, Consultation::DeIdentified);
        empty.messages.clear();
        assert_eq!(content(Category::Consultation(Box::new(empty)), "").map(drop), refused);
        let with_text = Category::Consultation(Box::new(excerpt(false, Consultation::DeIdentified)));
        assert_eq!(content(with_text, "note").map(drop), Err(ContentError::InvalidField("text")));
    }

    #[test]
    fn an_excerpt_or_notice_in_another_category_is_refused() {
        let check_in = content(Category::CheckIn, "hi").unwrap();
        let encoded = check_in.encode_padded();
        let body = crate::content::padding::unpad(&encoded).unwrap();
        let mut message = proto::Content::decode(&body[1..]).unwrap();
        message.excerpt = Some(excerpt(false, Consultation::DeIdentified).to_proto());
        assert_eq!(Content::decode(&padded(&message)).err(), Some(ContentError::InvalidField("excerpt")));
        message.excerpt = None;
        message.consultation_notice =
            Some(proto::ConsultationNotice { identified: true, message_ids: vec![vec![1; 16]] });
        let expected = Some(ContentError::InvalidField("consultation notice"));
        assert_eq!(Content::decode(&padded(&message)).err(), expected);
        // Control: the edited message without the extra field decodes.
        message.consultation_notice = None;
        assert!(Content::decode(&padded(&message)).is_ok());
    }
}
