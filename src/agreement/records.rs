//! The record terms of an agreement: what the clinician may keep beyond the lifespans, and
//! which consultations with a colleague the client permits (PROTOCOL.md, section 15).

use super::canonical::proto;
use super::AgreementError;

/// Longest record retention an agreement may state: 100 years, in milliseconds.
pub const MAX_RECORD_RETENTION_MS: u64 = 36_525 * 24 * 60 * 60 * 1000;

/// Which consultations with a colleague the client permits.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub enum Consultation {
    /// No excerpt of the conversation may be shared (the default).
    #[default]
    NotPermitted,
    /// Only de-identified excerpts: no name, peer id or key of the client.
    DeIdentified,
    /// Identified or de-identified excerpts.
    Identified,
}

impl Consultation {
    /// Whether an excerpt that is `identified` (or not) is permitted.
    #[must_use]
    pub fn permits(self, identified: bool) -> bool {
        match self {
            Self::NotPermitted => false,
            Self::DeIdentified => !identified,
            Self::Identified => true,
        }
    }

    /// The term's number on the wire (`Consultation` of agreement.proto).
    pub(crate) fn to_number(self) -> u32 {
        u32::try_from(self.to_wire()).unwrap_or(0)
    }

    /// The term of a number on the wire.
    pub(crate) fn from_number(number: u32) -> Option<Self> {
        Self::from_wire(i32::try_from(number).ok()?)
    }

    fn to_wire(self) -> i32 {
        match self {
            Self::NotPermitted => proto::Consultation::NotPermitted as i32,
            Self::DeIdentified => proto::Consultation::Deidentified as i32,
            Self::Identified => proto::Consultation::Identified as i32,
        }
    }

    fn from_wire(value: i32) -> Option<Self> {
        match proto::Consultation::try_from(value).ok()? {
            proto::Consultation::NotPermitted => Some(Self::NotPermitted),
            proto::Consultation::Deidentified => Some(Self::DeIdentified),
            proto::Consultation::Identified => Some(Self::Identified),
        }
    }
}

/// What the clinician may keep of the conversation beyond the lifespans, and what the client
/// permits of consultations. The default is the safe one: nothing is kept, no consultation, the
/// client would be told of each, and no export is required before a purge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecordTerms {
    /// How long the clinician's device keeps a sealed record copy of each message, in
    /// milliseconds from when it was sent or received; 0 (the default): no record copy.
    pub retention_ms: u64,
    /// Which consultations with a colleague are permitted.
    pub consultation: Consultation,
    /// Whether the client's device is sent a notice of each consultation.
    pub notify_client_of_consultation: bool,
    /// Whether the clinician's device keeps each message until it was exported for the record
    /// (and deletes it at the first purge after both its expiry and its export).
    pub export_required_before_purge: bool,
}

impl Default for RecordTerms {
    fn default() -> Self {
        Self {
            retention_ms: 0,
            consultation: Consultation::NotPermitted,
            notify_client_of_consultation: true,
            export_required_before_purge: false,
        }
    }
}

impl RecordTerms {
    /// Checks the record terms.
    ///
    /// # Errors
    /// [`AgreementError::InvalidTerms`] naming `records` if the retention is longer than
    /// [`MAX_RECORD_RETENTION_MS`].
    pub fn validate(&self) -> Result<(), AgreementError> {
        if self.retention_ms > MAX_RECORD_RETENTION_MS {
            return Err(AgreementError::InvalidTerms("records"));
        }
        Ok(())
    }

    /// The wire form: `None` for the default terms, so that agreements that leave them at
    /// their defaults encode exactly as before field 30 existed.
    pub(super) fn to_wire(self) -> Option<proto::RecordTerms> {
        (self != Self::default()).then(|| proto::RecordTerms {
            retention_ms: self.retention_ms,
            consultation: self.consultation.to_wire(),
            client_not_notified: !self.notify_client_of_consultation,
            export_required_before_purge: self.export_required_before_purge,
        })
    }

    /// The record terms from the wire: the defaults when the field is absent.
    pub(super) fn from_wire(wire: Option<proto::RecordTerms>) -> Result<Self, AgreementError> {
        let Some(wire) = wire else { return Ok(Self::default()) };
        Ok(Self {
            retention_ms: wire.retention_ms,
            consultation: Consultation::from_wire(wire.consultation)
                .ok_or(AgreementError::InvalidTerms("records"))?,
            notify_client_of_consultation: !wire.client_not_notified,
            export_required_before_purge: wire.export_required_before_purge,
        })
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;
    use rand::SeedableRng;

    use super::super::{AgreementTerms, Availability, ProposedAgreement, Role, UnverifiedAgreement};
    use super::*;
    use crate::consts::AGREEMENT_FORMAT_VERSION;
    use crate::keys::IdentityKeyPair;

    /// Signed agreement bytes for terms with `records`, and the two parties.
    fn signed(records: RecordTerms) -> (Vec<u8>, IdentityKeyPair, IdentityKeyPair) {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(30);
        let (clinician, client) = (IdentityKeyPair::generate(&mut rng), IdentityKeyPair::generate(&mut rng));
        let mut terms = AgreementTerms::new(
            1,
            clinician.public_key(),
            client.public_key(),
            Availability::new(
                "UTC",
                vec![super::super::Window::new(super::super::Weekday::Monday, (9, 0), (17, 0))],
            )
            .unwrap(),
            "Within a day".to_owned(),
            vec!["Call 988".to_owned()],
        );
        terms.records = records;
        let bytes =
            ProposedAgreement::propose(terms, &clinician, None).unwrap().accept(&client, None).unwrap();
        (bytes.to_bytes(), clinician, client)
    }

    /// `signed` with its terms edited (signatures unchanged).
    fn edit_terms(signed: &[u8], edit: impl FnOnce(&mut proto::Terms)) -> Vec<u8> {
        let mut outer = proto::SignedAgreement::decode(&signed[1..]).unwrap();
        let mut inner = proto::Terms::decode(outer.terms.as_slice()).unwrap();
        edit(&mut inner);
        outer.terms = inner.encode_to_vec();
        [vec![AGREEMENT_FORMAT_VERSION], outer.encode_to_vec()].concat()
    }

    #[test]
    fn record_terms_are_signed_and_each_field_is_covered() {
        let records = RecordTerms {
            retention_ms: 1000,
            consultation: Consultation::DeIdentified,
            notify_client_of_consultation: true,
            export_required_before_purge: false,
        };
        let (bytes, clinician, client) = signed(records);
        let read = UnverifiedAgreement::from_bytes(&bytes).unwrap();
        let verified = read.verify_signed(&clinician.public_key(), &client.public_key()).unwrap();
        assert_eq!(verified.terms().records, records);
        let tamperings: [fn(&mut proto::RecordTerms); 4] = [
            |r| r.retention_ms += 1,
            |r| r.consultation = proto::Consultation::Identified as i32,
            |r| r.client_not_notified = true,
            |r| r.export_required_before_purge = true,
        ];
        for tamper in tamperings {
            let tampered = edit_terms(&bytes, |t| tamper(t.records.as_mut().unwrap()));
            let unverified = UnverifiedAgreement::from_bytes(&tampered).unwrap();
            assert_eq!(
                unverified.verify_signed(&clinician.public_key(), &client.public_key()).unwrap_err(),
                AgreementError::BadSignature(Role::Clinician)
            );
        }
        // Removing the record terms is tampering too: they read as the defaults.
        let removed = edit_terms(&bytes, |t| t.records = None);
        let unverified = UnverifiedAgreement::from_bytes(&removed).unwrap();
        assert_eq!(unverified.terms().records, RecordTerms::default());
        assert!(unverified.verify_signed(&clinician.public_key(), &client.public_key()).is_err());
    }

    #[test]
    fn default_record_terms_leave_the_encoding_as_before_and_an_empty_field_is_not_canonical() {
        let (bytes, _, _) = signed(RecordTerms::default());
        let outer = proto::SignedAgreement::decode(&bytes[1..]).unwrap();
        assert_eq!(proto::Terms::decode(outer.terms.as_slice()).unwrap().records, None);
        let empty = edit_terms(&bytes, |t| t.records = Some(proto::RecordTerms::default()));
        assert_eq!(UnverifiedAgreement::from_bytes(&empty).unwrap_err(), AgreementError::NonCanonical);
    }

    #[test]
    fn the_default_is_absent_on_the_wire_and_round_trips() {
        assert_eq!(RecordTerms::default().to_wire(), None);
        assert_eq!(RecordTerms::from_wire(None), Ok(RecordTerms::default()));
        let terms = RecordTerms {
            retention_ms: 7,
            consultation: Consultation::DeIdentified,
            notify_client_of_consultation: false,
            export_required_before_purge: true,
        };
        assert_eq!(RecordTerms::from_wire(terms.to_wire()), Ok(terms));
    }

    #[test]
    fn unknown_consultation_and_long_retention_are_refused() {
        let wire = proto::RecordTerms { consultation: 9, ..Default::default() };
        assert_eq!(RecordTerms::from_wire(Some(wire)), Err(AgreementError::InvalidTerms("records")));
        let long = RecordTerms { retention_ms: MAX_RECORD_RETENTION_MS + 1, ..RecordTerms::default() };
        assert_eq!(long.validate(), Err(AgreementError::InvalidTerms("records")));
    }

    #[test]
    fn consultation_permits_by_kind() {
        assert!(!Consultation::NotPermitted.permits(false) && !Consultation::NotPermitted.permits(true));
        assert!(Consultation::DeIdentified.permits(false) && !Consultation::DeIdentified.permits(true));
        assert!(Consultation::Identified.permits(false) && Consultation::Identified.permits(true));
    }
}
