//! A person's device list, its canonical signed bytes, and the signed list's wire format.

use prost::Message;

use super::proto;
use super::DeviceError;
use crate::clock::Timestamp;
use crate::consts::{DEVICE_LIST_FORMAT_VERSION, MAX_DEVICES, MAX_DEVICE_LIST_LEN, MAX_DEVICE_NAME_LEN};
use crate::keys::{IdentityKey, IdentityKeyPair, Signature};

pub use crate::consts::DEVICE_LIST_LABEL;

/// One device of a person: its identity key, the name its owner gave it, and when it was added.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    /// The device's own identity key (for the primary device, the person key).
    pub key: IdentityKey,
    /// A name for people to tell devices apart: 1 to [`MAX_DEVICE_NAME_LEN`] UTF-8 bytes, no
    /// control characters.
    pub name: String,
    /// When the device was added to the list.
    pub added_at: Timestamp,
}

/// Checks a device name: not empty, at most [`MAX_DEVICE_NAME_LEN`] bytes, no control character.
pub(super) fn check_name(name: &str) -> Result<(), DeviceError> {
    if name.len() > MAX_DEVICE_NAME_LEN {
        return Err(DeviceError::NameTooLong);
    }
    if name.is_empty() || name.chars().any(char::is_control) {
        return Err(DeviceError::InvalidName);
    }
    Ok(())
}

/// A person's devices, sorted by key bytes, each key once, the person key among them.
///
/// Every value of this type keeps those rules: the constructors check them, so a list read from
/// bytes and a list built here are alike.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceList {
    person: IdentityKey,
    version: u64,
    issued_at: Timestamp,
    devices: Vec<Device>,
}

impl DeviceList {
    /// The list of a person with one device, the primary, whose key is `person`: version 1.
    ///
    /// # Errors
    /// [`DeviceError::NameTooLong`] or [`DeviceError::InvalidName`] if `name` breaks the rules of
    /// [`Device::name`].
    pub fn first(person: IdentityKey, name: &str, at: Timestamp) -> Result<Self, DeviceError> {
        check_name(name)?;
        let primary = Device { key: person, name: name.to_owned(), added_at: at };
        Ok(Self { person, version: 1, issued_at: at, devices: vec![primary] })
    }

    /// Builds a list from its parts, checking every rule in the order [`SignedDeviceList::from_bytes`]
    /// does: the version, the count, each name, the order, the primary.
    fn from_parts(
        person: IdentityKey,
        version: u64,
        issued_at: Timestamp,
        devices: Vec<Device>,
    ) -> Result<Self, DeviceError> {
        if version == 0 {
            return Err(DeviceError::VersionOutOfRange);
        }
        if devices.len() > MAX_DEVICES {
            return Err(DeviceError::TooManyDevices);
        }
        for device in &devices {
            check_name(&device.name)?;
        }
        for pair in devices.windows(2) {
            if let [a, b] = pair {
                match a.key.as_bytes().cmp(b.key.as_bytes()) {
                    std::cmp::Ordering::Less => {}
                    std::cmp::Ordering::Equal => return Err(DeviceError::DuplicateDevice),
                    std::cmp::Ordering::Greater => return Err(DeviceError::Unsorted),
                }
            }
        }
        let list = Self { person, version, issued_at, devices };
        if !list.contains(&person) {
            return Err(DeviceError::PrimaryMissing);
        }
        Ok(list)
    }

    /// The person key: the primary device's key, which signs the list.
    #[must_use]
    pub fn person(&self) -> IdentityKey {
        self.person
    }

    /// The list's version; every change gives a greater one.
    #[must_use]
    pub fn version(&self) -> u64 {
        self.version
    }

    /// When this version of the list was made.
    #[must_use]
    pub fn issued_at(&self) -> Timestamp {
        self.issued_at
    }

    /// The devices, in ascending order of their key bytes.
    #[must_use]
    pub fn devices(&self) -> &[Device] {
        &self.devices
    }

    /// Whether `key` is one of the devices (each key compared in constant time).
    #[must_use]
    pub fn contains(&self, key: &IdentityKey) -> bool {
        self.devices.iter().fold(false, |found, device| found | device.key.ct_eq(key))
    }

    /// The next version of the list, with `device` added, issued at `at`.
    ///
    /// # Errors
    /// [`DeviceError::DuplicateDevice`] if the device's key is already listed,
    /// [`DeviceError::TooManyDevices`] if the list is full, [`DeviceError::NameTooLong`] or
    /// [`DeviceError::InvalidName`] for its name, [`DeviceError::VersionOutOfRange`] if the
    /// version cannot grow.
    pub fn with_device(&self, device: Device, at: Timestamp) -> Result<Self, DeviceError> {
        if self.contains(&device.key) {
            return Err(DeviceError::DuplicateDevice);
        }
        let version = self.version.checked_add(1).ok_or(DeviceError::VersionOutOfRange)?;
        let mut devices = self.devices.clone();
        let position = devices.partition_point(|d| d.key.as_bytes() < device.key.as_bytes());
        devices.insert(position, device);
        Self::from_parts(self.person, version, at, devices)
    }

    /// The next version of the list, without the device `key`, issued at `at`.
    ///
    /// # Errors
    /// [`DeviceError::CannotRemovePrimary`] if `key` is the person key, [`DeviceError::NotAMember`]
    /// if it is not listed, [`DeviceError::VersionOutOfRange`] if the version cannot grow.
    pub fn without_device(&self, key: &IdentityKey, at: Timestamp) -> Result<Self, DeviceError> {
        if key.ct_eq(&self.person) {
            return Err(DeviceError::CannotRemovePrimary);
        }
        if !self.contains(key) {
            return Err(DeviceError::NotAMember);
        }
        let version = self.version.checked_add(1).ok_or(DeviceError::VersionOutOfRange)?;
        let devices = self.devices.iter().filter(|d| !d.key.ct_eq(key)).cloned().collect();
        Self::from_parts(self.person, version, at, devices)
    }

    /// The bytes the person key signs:
    /// `DEVICE_LIST_LABEL ‖ person (32) ‖ u64be(version) ‖ u64be(issued_at) ‖ u8(count)`, then
    /// per device in list order `key (32) ‖ u64be(added_at) ‖ u8(name length) ‖ name (UTF-8)`.
    #[must_use]
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(DEVICE_LIST_LABEL.len() + 49 + self.devices.len() * 105);
        out.extend_from_slice(DEVICE_LIST_LABEL);
        out.extend_from_slice(self.person.as_bytes());
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(&self.issued_at.as_millis().to_be_bytes());
        // Both fit a byte: at most MAX_DEVICES devices, names of at most MAX_DEVICE_NAME_LEN bytes.
        out.push(u8::try_from(self.devices.len()).unwrap_or(u8::MAX));
        for device in &self.devices {
            out.extend_from_slice(device.key.as_bytes());
            out.extend_from_slice(&device.added_at.as_millis().to_be_bytes());
            out.push(u8::try_from(device.name.len()).unwrap_or(u8::MAX));
            out.extend_from_slice(device.name.as_bytes());
        }
        out
    }

    /// The person signs this list.
    ///
    /// # Errors
    /// [`DeviceError::WrongPerson`] if `person` is not the key pair of this list's person key.
    pub fn sign(&self, person: &IdentityKeyPair) -> Result<SignedDeviceList, DeviceError> {
        if !person.public_key().ct_eq(&self.person) {
            return Err(DeviceError::WrongPerson);
        }
        Ok(SignedDeviceList { list: self.clone(), signature: person.sign(&self.signed_bytes()) })
    }

    fn to_proto(&self) -> proto::DeviceList {
        proto::DeviceList {
            person: self.person.to_bytes().to_vec(),
            version: self.version,
            issued_at_ms: self.issued_at.as_millis(),
            devices: self
                .devices
                .iter()
                .map(|d| proto::Device {
                    key: d.key.to_bytes().to_vec(),
                    name: d.name.clone(),
                    added_at_ms: d.added_at.as_millis(),
                })
                .collect(),
        }
    }

    fn from_proto(message: proto::DeviceList) -> Result<Self, DeviceError> {
        let key = |bytes: &[u8]| IdentityKey::from_slice(bytes).map_err(|_| DeviceError::Malformed);
        let person = key(&message.person)?;
        if message.version == 0 {
            return Err(DeviceError::VersionOutOfRange);
        }
        if message.devices.len() > MAX_DEVICES {
            return Err(DeviceError::TooManyDevices);
        }
        let devices = message
            .devices
            .into_iter()
            .map(|d| Ok(Device { key: key(&d.key)?, name: d.name, added_at: Timestamp(d.added_at_ms) }))
            .collect::<Result<Vec<_>, DeviceError>>()?;
        Self::from_parts(person, message.version, Timestamp(message.issued_at_ms), devices)
    }
}

/// A device list with the person key's signature over its [`DeviceList::signed_bytes`].
///
/// A value of this type always carries a signature that verifies under its own person key;
/// whether that is the person the reader expects is [`SignedDeviceList::verify_for`]'s question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedDeviceList {
    list: DeviceList,
    signature: Signature,
}

impl SignedDeviceList {
    /// The list.
    #[must_use]
    pub fn list(&self) -> &DeviceList {
        &self.list
    }

    /// The person key's signature over the list's signed bytes.
    #[must_use]
    pub fn signature(&self) -> Signature {
        self.signature
    }

    /// The bytes to send or store: `DEVICE_LIST_FORMAT_VERSION ‖ protobuf SignedDeviceList`.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let message = proto::SignedDeviceList {
            list: Some(self.list.to_proto()),
            signature: self.signature.to_bytes().to_vec(),
        };
        let mut out = Vec::with_capacity(1 + message.encoded_len());
        out.push(DEVICE_LIST_FORMAT_VERSION);
        out.extend_from_slice(&message.encode_to_vec());
        out
    }

    /// Reads a signed list, in this order: the length limit, the version byte, the protobuf
    /// decode and its canonical form, the signature's length, every field of the list (the person
    /// key, the version, the count, the device keys, the names, the order, the primary present),
    /// then the signature under the list's own person key.
    ///
    /// # Errors
    /// [`DeviceError::TooLarge`], [`DeviceError::UnsupportedVersion`], [`DeviceError::Malformed`],
    /// [`DeviceError::NonCanonical`], [`DeviceError::VersionOutOfRange`],
    /// [`DeviceError::TooManyDevices`], [`DeviceError::NameTooLong`], [`DeviceError::InvalidName`],
    /// [`DeviceError::DuplicateDevice`], [`DeviceError::Unsorted`], [`DeviceError::PrimaryMissing`]
    /// or [`DeviceError::BadSignature`], the first rule broken.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DeviceError> {
        if bytes.len() > MAX_DEVICE_LIST_LEN {
            return Err(DeviceError::TooLarge);
        }
        let (&version, body) = bytes.split_first().ok_or(DeviceError::Malformed)?;
        if version != DEVICE_LIST_FORMAT_VERSION {
            return Err(DeviceError::UnsupportedVersion(version));
        }
        let message = proto::SignedDeviceList::decode(body).map_err(|_| DeviceError::Malformed)?;
        if message.encode_to_vec() != body {
            return Err(DeviceError::NonCanonical);
        }
        let signature = Signature::from_slice(&message.signature).map_err(|_| DeviceError::Malformed)?;
        let list = DeviceList::from_proto(message.list.ok_or(DeviceError::Malformed)?)?;
        if !list.person.verify(&list.signed_bytes(), &signature) {
            return Err(DeviceError::BadSignature);
        }
        Ok(Self { list, signature })
    }

    /// Reads a signed list ([`SignedDeviceList::from_bytes`]) that must be `person`'s.
    ///
    /// # Errors
    /// Those of [`SignedDeviceList::from_bytes`], then [`DeviceError::WrongPerson`] if the list
    /// is another person's.
    pub fn verify_for(bytes: &[u8], person: &IdentityKey) -> Result<Self, DeviceError> {
        let signed = Self::from_bytes(bytes)?;
        if !signed.list.person.ct_eq(person) {
            return Err(DeviceError::WrongPerson);
        }
        Ok(signed)
    }
}
