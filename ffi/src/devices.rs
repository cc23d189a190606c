//! Several devices per person through the bindings (README "Several devices", PROTOCOL.md
//! section 16): linking a device in person, the signed device lists, the outbox of envelopes for
//! the other devices, and receiving from any device of a person.

use confidant::keys::IdentityKey;
use zeroize::Zeroize;

use crate::endpoint::Endpoint;
use crate::error::ConfidantError;
use crate::types::{peer_id, BatchItem, Incoming};

/// An envelope for one device: another device of the peer, or of this device's own person.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Delivery {
    /// The person it goes to: the peer, or this device's own local id for a sync copy.
    pub to: String,
    /// The identity key of the device it goes to (32 bytes).
    pub device: Vec<u8>,
    /// The envelope; the receiving device passes it to `receive_from` with the sender's person
    /// id and the sender's device key.
    pub envelope: Vec<u8>,
}

/// What a device list update changed.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DeviceChange {
    /// The list's version now stored.
    pub version: u64,
    /// Devices added: start a session with each from its prekey bundle.
    pub added: Vec<Vec<u8>>,
    /// Devices removed: nothing more goes to them.
    pub removed: Vec<Vec<u8>>,
}

/// What accepting a link request produced, on the primary device.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LinkAccepted {
    /// The new device's identity key.
    pub device: Vec<u8>,
    /// The name the new device gave itself.
    pub name: String,
    /// The answer to hand to the new device.
    pub response: Vec<u8>,
    /// The person's new signed device list, to publish.
    pub devices: Vec<u8>,
}

fn device_key(bytes: &[u8]) -> Result<IdentityKey, ConfidantError> {
    IdentityKey::from_slice(bytes).map_err(|_| ConfidantError::invalid("device: not a 32-byte identity key"))
}

fn change(change: confidant::DeviceChange) -> DeviceChange {
    DeviceChange {
        version: change.version,
        added: change.added.iter().map(|key| key.to_bytes().to_vec()).collect(),
        removed: change.removed.iter().map(|key| key.to_bytes().to_vec()).collect(),
    }
}

#[uniffi::export]
impl Endpoint {
    /// This device's person key: the key safety numbers and agreements name (the primary
    /// device's identity key).
    pub fn person_key(&self) -> Vec<u8> {
        self.inner.person_key().to_bytes().to_vec()
    }

    /// Whether this device is its person's primary device, which alone signs agreements, plans
    /// and device lists.
    pub fn is_primary(&self) -> bool {
        self.inner.is_primary()
    }

    /// The signed list of this person's devices, to publish with the prekey bundles.
    ///
    /// # Errors
    /// [`ConfidantError::Store`] if the store fails.
    pub fn own_devices(&self) -> Result<Vec<u8>, ConfidantError> {
        Ok(self.inner.own_devices()?)
    }

    /// On the primary device: the link code to show to a new device (as a QR code or text). It is
    /// a secret for ten minutes, used once: show it only on screen and drop it. It crosses as a
    /// plain string, which no binding language can zeroize (the library's own copy is zeroized).
    ///
    /// # Errors
    /// [`ConfidantError::NotPrimary`] on a linked device.
    pub fn offer_link(&self) -> Result<String, ConfidantError> {
        Ok(self.inner.offer_link()?.to_string())
    }

    /// On the new device (opened with the primary's role and local id): the link request for the
    /// code the primary shows. This copy of the code is zeroized after use; the caller's cannot be.
    ///
    /// # Errors
    /// [`ConfidantError::DeviceRefused`] for a code that does not parse or a device that already
    /// has conversations.
    pub fn request_link(&self, mut code: String, name: String) -> Result<Vec<u8>, ConfidantError> {
        let request = self.inner.request_link(&code, &name);
        code.zeroize();
        Ok(request?)
    }

    /// On the primary device: checks a link request and adds the device to the person's list.
    ///
    /// # Errors
    /// [`ConfidantError::DeviceRefused`] for a request that does not verify, an expired or used
    /// offer, or a full list; [`ConfidantError::NotPrimary`] on a linked device.
    pub fn accept_link(&self, request: Vec<u8>) -> Result<LinkAccepted, ConfidantError> {
        let accepted = self.inner.accept_link(&request)?;
        Ok(LinkAccepted {
            device: accepted.device.to_bytes().to_vec(),
            name: accepted.name,
            response: accepted.response,
            devices: accepted.devices,
        })
    }

    /// On the new device: checks the primary's answer and becomes a linked device.
    ///
    /// # Errors
    /// [`ConfidantError::DeviceRefused`] if the answer does not verify or no link was requested.
    pub fn complete_link(&self, response: Vec<u8>) -> Result<(), ConfidantError> {
        Ok(self.inner.complete_link(&response)?)
    }

    /// On the primary device: removes a device and returns the new signed list to publish.
    ///
    /// # Errors
    /// [`ConfidantError::DeviceRefused`] for a device not in the list or the primary itself;
    /// [`ConfidantError::NotPrimary`] on a linked device.
    pub fn remove_device(&self, device: Vec<u8>) -> Result<Vec<u8>, ConfidantError> {
        Ok(self.inner.remove_device(&device_key(&device)?)?)
    }

    /// Saves `peer`'s signed device list, checked against the identity trusted for `peer` and
    /// newer than the stored one.
    ///
    /// # Errors
    /// [`ConfidantError::DeviceRefused`] for a list that does not verify, is signed by another
    /// person, or is not newer.
    pub fn update_devices(&self, peer: String, list: Vec<u8>) -> Result<DeviceChange, ConfidantError> {
        Ok(change(self.inner.update_devices(&peer_id(peer)?, &list)?))
    }

    /// On a linked device: saves a newer list of this person's devices.
    ///
    /// # Errors
    /// As [`Self::update_devices`].
    pub fn update_own_devices(&self, list: Vec<u8>) -> Result<DeviceChange, ConfidantError> {
        Ok(change(self.inner.update_own_devices(&list)?))
    }

    /// The identity keys of `peer`'s devices this device knows.
    ///
    /// # Errors
    /// [`ConfidantError::Store`] if the store fails.
    pub fn devices(&self, peer: String) -> Result<Vec<Vec<u8>>, ConfidantError> {
        Ok(self.inner.devices(&peer_id(peer)?)?.iter().map(|key| key.to_bytes().to_vec()).collect())
    }

    /// Takes the envelopes waiting for the other devices of peers and of this person; call it
    /// after every call that sends, and hand each envelope to its device.
    pub fn take_outbox(&self) -> Vec<Delivery> {
        self.inner
            .take_outbox()
            .into_iter()
            .map(|delivery| Delivery {
                to: delivery.to.as_str().to_owned(),
                device: delivery.device.to_bytes().to_vec(),
                envelope: delivery.envelope,
            })
            .collect()
    }

    /// Receives an envelope from `device` of the person `sender` (a peer, or this device's own
    /// local id for a sync copy).
    ///
    /// # Errors
    /// [`ConfidantError::UnknownDevice`] if the device is not in the person's list as stored
    /// here; otherwise as `receive`.
    pub fn receive_from(
        &self,
        sender: String,
        device: Vec<u8>,
        envelope: Vec<u8>,
    ) -> Result<Incoming, ConfidantError> {
        self.inner.receive_from(&peer_id(sender)?, &device_key(&device)?, &envelope)?.try_into()
    }

    /// Receives a queue of envelopes from `device` of the peer `sender` in one transaction.
    ///
    /// # Errors
    /// [`ConfidantError::UnknownDevice`] as for [`Self::receive_from`]; a store error.
    pub fn receive_batch_from(
        &self,
        sender: String,
        device: Vec<u8>,
        envelopes: Vec<Vec<u8>>,
    ) -> Result<Vec<BatchItem>, ConfidantError> {
        let results = self.inner.receive_batch_from(&peer_id(sender)?, &device_key(&device)?, &envelopes)?;
        Ok(results.into_iter().map(BatchItem::from_result).collect())
    }

    /// On the primary device: copies every agreement in force to another device of this person
    /// (through the outbox); returns how many.
    ///
    /// # Errors
    /// [`ConfidantError::NotPrimary`] on a linked device; [`ConfidantError::UnknownDevice`] or
    /// [`ConfidantError::NoSession`] for a device this person's list does not name or without a
    /// session.
    pub fn sync_agreements(&self, device: Vec<u8>) -> Result<u32, ConfidantError> {
        let count = self.inner.sync_agreements(&device_key(&device)?)?;
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use confidant::content::MessageId;
    use confidant::devices::DeviceError;
    use confidant::store::PeerId;
    use confidant::EndpointError;

    use super::*;
    use crate::types::Received;

    #[test]
    fn each_device_error_lands_on_its_case() {
        let refused =
            |reason: &dyn std::fmt::Display| ConfidantError::DeviceRefused { reason: reason.to_string() };
        let cases: [(confidant::Error, ConfidantError); 6] = [
            (EndpointError::NotPrimary.into(), ConfidantError::NotPrimary),
            (EndpointError::UnknownDevice.into(), ConfidantError::UnknownDevice),
            (EndpointError::AlreadyLinked.into(), refused(&EndpointError::AlreadyLinked)),
            (EndpointError::NoLinkOffer.into(), refused(&EndpointError::NoLinkOffer)),
            (EndpointError::StaleDeviceList.into(), refused(&EndpointError::StaleDeviceList)),
            (DeviceError::BadSignature.into(), refused(&DeviceError::BadSignature)),
        ];
        for (error, expected) in cases {
            assert_eq!(ConfidantError::from(error), expected);
        }
    }

    #[test]
    fn the_sync_copies_convert_with_their_conversation() {
        let peer = PeerId::new("sam").unwrap();
        let synced = confidant::Received::Synced { peer: peer.clone(), id: MessageId([7; 16]) };
        assert_eq!(
            Received::try_from(synced).unwrap(),
            Received::Synced { peer: "sam".to_owned(), id: vec![7; 16] }
        );
        let agreement = confidant::Received::AgreementSynced { peer, version: 3 };
        assert_eq!(
            Received::try_from(agreement).unwrap(),
            Received::AgreementSynced { peer: "sam".to_owned(), version: 3 }
        );
    }

    #[test]
    fn a_device_key_is_exactly_32_bytes() {
        for length in [0, 31, 33] {
            assert!(matches!(device_key(&vec![1; length]), Err(ConfidantError::InvalidInput { .. })));
        }
        // The Ed25519 base point, a valid public key.
        let mut base = [0x66; 32];
        base[0] = 0x58;
        assert_eq!(device_key(&base).unwrap().to_bytes(), base);
    }
}
