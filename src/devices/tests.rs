//! Device lists and linking: round trips, every refusal, and what a relay can change.

use prost::Message;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::code::person_fingerprint;
use super::*;
use crate::clock::Timestamp;
use crate::consts::{LINK_OFFER_LIFETIME_MS, MAX_DEVICES, MAX_DEVICE_LIST_LEN, MAX_DEVICE_NAME_LEN};
use crate::keys::{IdentityKey, IdentityKeyPair};

const T0: Timestamp = Timestamp(1_772_463_600_000);

fn keys(seed: u64, n: usize) -> Vec<IdentityKeyPair> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    (0..n).map(|_| IdentityKeyPair::generate(&mut rng)).collect()
}

fn device(key: IdentityKey, name: &str, at: u64) -> Device {
    Device { key, name: name.into(), added_at: Timestamp(at) }
}

/// A person and a list of the primary and `extra` more devices.
fn list_with(extra: usize) -> (IdentityKeyPair, Vec<IdentityKeyPair>, DeviceList) {
    let person = keys(1, 1).remove(0);
    let others = keys(2, extra);
    let mut list = DeviceList::first(person.public_key(), "phone", T0).unwrap();
    for (i, other) in others.iter().enumerate() {
        list = list
            .with_device(device(other.public_key(), &format!("device {i}"), 10), T0.plus_millis(10))
            .unwrap();
    }
    (person, others, list)
}

/// Signed bytes written from the specification, not through `DeviceList`.
fn spec_signed_bytes(
    person: &IdentityKey,
    version: u64,
    issued: u64,
    devices: &[(IdentityKey, &str, u64)],
) -> Vec<u8> {
    let mut out = b"confidant-v1 device list".to_vec();
    out.extend_from_slice(person.as_bytes());
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(&issued.to_be_bytes());
    out.push(devices.len() as u8);
    for (key, name, added) in devices {
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(&added.to_be_bytes());
        out.push(name.len() as u8);
        out.extend_from_slice(name.as_bytes());
    }
    out
}

/// Wire bytes of any list, signed by `signer` over the specification's signed bytes: lists the
/// API would never build (unsorted, duplicates, too many).
fn raw_wire(
    signer: &IdentityKeyPair,
    person: &IdentityKey,
    version: u64,
    devices: &[(IdentityKey, &str, u64)],
) -> Vec<u8> {
    let signature = signer.sign(&spec_signed_bytes(person, version, 5, devices));
    let message = proto::SignedDeviceList {
        list: Some(proto::DeviceList {
            person: person.to_bytes().to_vec(),
            version,
            issued_at_ms: 5,
            devices: devices
                .iter()
                .map(|(k, n, a)| proto::Device {
                    key: k.to_bytes().to_vec(),
                    name: (*n).into(),
                    added_at_ms: *a,
                })
                .collect(),
        }),
        signature: signature.to_bytes().to_vec(),
    };
    let mut out = vec![1];
    out.extend(message.encode_to_vec());
    out
}

#[test]
fn first_list_holds_the_primary_only() {
    let person = keys(1, 1).remove(0);
    let list = DeviceList::first(person.public_key(), "phone", T0).unwrap();
    assert_eq!(list.version(), 1);
    assert_eq!(list.person(), person.public_key());
    assert_eq!(list.issued_at(), T0);
    assert_eq!(list.devices(), &[device(person.public_key(), "phone", T0.0)]);
    assert!(list.contains(&person.public_key()));
    assert!(!list.contains(&keys(2, 1)[0].public_key()));
}

#[test]
fn signed_bytes_follow_the_specification() {
    let (_, others, list) = list_with(2);
    let mut devices: Vec<(IdentityKey, &str, u64)> =
        list.devices().iter().map(|d| (d.key, d.name.as_str(), d.added_at.0)).collect();
    assert_eq!(list.signed_bytes(), spec_signed_bytes(&list.person(), 3, T0.0 + 10, &devices));
    // Sorted by key bytes, each key once.
    devices.sort_by_key(|(k, _, _)| k.to_bytes());
    assert_eq!(
        list.devices().iter().map(|d| d.key).collect::<Vec<_>>(),
        devices.iter().map(|d| d.0).collect::<Vec<_>>()
    );
    assert!(others.iter().all(|o| list.contains(&o.public_key())));
}

#[test]
fn signed_list_round_trips() {
    let (person, _, list) = list_with(3);
    let signed = list.sign(&person).unwrap();
    let bytes = signed.to_bytes();
    assert_eq!(bytes[0], 1);
    let read = SignedDeviceList::from_bytes(&bytes).unwrap();
    assert_eq!(read, signed);
    assert_eq!(read.to_bytes(), bytes);
    assert!(person.public_key().verify(&list.signed_bytes(), &read.signature()));
    assert_eq!(SignedDeviceList::verify_for(&bytes, &person.public_key()).unwrap(), signed);
}

#[test]
fn only_the_person_signs() {
    let (_, others, list) = list_with(1);
    assert_eq!(list.sign(&others[0]), Err(DeviceError::WrongPerson));
}

#[test]
fn a_list_for_another_person_is_refused() {
    let (person, _, list) = list_with(1);
    let bytes = list.sign(&person).unwrap().to_bytes();
    let stranger = keys(9, 1).remove(0);
    assert_eq!(SignedDeviceList::verify_for(&bytes, &stranger.public_key()), Err(DeviceError::WrongPerson));
}

#[test]
fn adding_and_removing_devices() {
    let (person, others, list) = list_with(1);
    assert_eq!(list.version(), 2);
    let extra = keys(3, 1).remove(0);
    let later = T0.plus_millis(99);
    let bigger = list.with_device(device(extra.public_key(), "laptop", 99), later).unwrap();
    assert_eq!((bigger.version(), bigger.issued_at(), bigger.devices().len()), (3, later, 3));
    let smaller = bigger.without_device(&others[0].public_key(), later).unwrap();
    assert_eq!(smaller.version(), 4);
    assert!(!smaller.contains(&others[0].public_key()) && smaller.contains(&extra.public_key()));
    assert_eq!(smaller.without_device(&others[0].public_key(), later), Err(DeviceError::NotAMember));
    assert_eq!(smaller.without_device(&person.public_key(), later), Err(DeviceError::CannotRemovePrimary));
    assert_eq!(
        smaller.with_device(device(extra.public_key(), "again", 1), later),
        Err(DeviceError::DuplicateDevice)
    );
    assert_eq!(
        smaller.with_device(device(person.public_key(), "again", 1), later),
        Err(DeviceError::DuplicateDevice)
    );
}

#[test]
fn at_most_max_devices() {
    let (_, _, full) = list_with(MAX_DEVICES - 1);
    assert_eq!(full.devices().len(), MAX_DEVICES);
    let one_more = keys(4, 1).remove(0);
    assert_eq!(
        full.with_device(device(one_more.public_key(), "ninth", 1), T0),
        Err(DeviceError::TooManyDevices)
    );
}

#[test]
fn the_largest_list_fits_the_length_limit() {
    let person = keys(1, 1).remove(0);
    let long = "é".repeat(MAX_DEVICE_NAME_LEN / 2);
    let mut list = DeviceList::first(person.public_key(), &long, Timestamp(u64::MAX)).unwrap();
    for other in keys(2, MAX_DEVICES - 1) {
        list = list.with_device(device(other.public_key(), &long, u64::MAX), Timestamp(u64::MAX)).unwrap();
    }
    let bytes = list.sign(&person).unwrap().to_bytes();
    assert!(bytes.len() <= MAX_DEVICE_LIST_LEN, "{} bytes", bytes.len());
    assert!(SignedDeviceList::from_bytes(&bytes).is_ok());
}

#[test]
fn names_are_checked() {
    let person = keys(1, 1).remove(0).public_key();
    let longest = "é".repeat(MAX_DEVICE_NAME_LEN / 2);
    assert!(DeviceList::first(person, &longest, T0).is_ok());
    assert_eq!(DeviceList::first(person, &format!("{longest}x"), T0), Err(DeviceError::NameTooLong));
    assert_eq!(DeviceList::first(person, "", T0), Err(DeviceError::InvalidName));
    assert_eq!(DeviceList::first(person, "a\nb", T0), Err(DeviceError::InvalidName));
    let list = DeviceList::first(person, "phone", T0).unwrap();
    let other = keys(2, 1).remove(0).public_key();
    assert_eq!(list.with_device(device(other, &"x".repeat(65), 1), T0), Err(DeviceError::NameTooLong));
}

#[test]
fn the_version_cannot_wrap() {
    let person = keys(1, 1).remove(0);
    let other = keys(2, 1).remove(0).public_key();
    let wire = raw_wire(&person, &person.public_key(), u64::MAX, &[(person.public_key(), "p", 1)]);
    let at_max = SignedDeviceList::from_bytes(&wire).unwrap().list().clone();
    assert_eq!(at_max.with_device(device(other, "o", 1), T0), Err(DeviceError::VersionOutOfRange));
    let wire = raw_wire(&person, &person.public_key(), 0, &[(person.public_key(), "p", 1)]);
    assert_eq!(SignedDeviceList::from_bytes(&wire), Err(DeviceError::VersionOutOfRange));
}

#[test]
fn canonical_order_refusals() {
    let person = keys(1, 1).remove(0);
    let p = person.public_key();
    let mut more: Vec<IdentityKey> = keys(2, MAX_DEVICES).iter().map(IdentityKeyPair::public_key).collect();
    more.push(p);
    more.sort_by_key(IdentityKey::to_bytes);
    let entries: Vec<(IdentityKey, &str, u64)> = more.iter().map(|k| (*k, "d", 1)).collect();
    let wire = |devices: &[(IdentityKey, &str, u64)]| raw_wire(&person, &p, 2, devices);

    // A sorted list of MAX_DEVICES with the primary is accepted; the same bytes built by hand
    // equal what the library writes.
    let ok: Vec<_> = entries
        .iter()
        .copied()
        .filter(|e| e.0 == p)
        .chain(entries.iter().copied().filter(|e| e.0 != p).take(2))
        .collect();
    let mut ok_sorted = ok.clone();
    ok_sorted.sort_by_key(|e| e.0.to_bytes());
    let read = SignedDeviceList::from_bytes(&wire(&ok_sorted)).unwrap();
    assert_eq!(read.to_bytes(), wire(&ok_sorted));

    let mut unsorted = ok_sorted.clone();
    unsorted.swap(0, 2);
    assert_eq!(SignedDeviceList::from_bytes(&wire(&unsorted)), Err(DeviceError::Unsorted));
    let mut duplicate = ok_sorted.clone();
    duplicate.insert(1, duplicate[1]);
    assert_eq!(SignedDeviceList::from_bytes(&wire(&duplicate)), Err(DeviceError::DuplicateDevice));
    let without_primary: Vec<_> = ok_sorted.iter().copied().filter(|e| e.0 != p).collect();
    assert_eq!(SignedDeviceList::from_bytes(&wire(&without_primary)), Err(DeviceError::PrimaryMissing));
    assert_eq!(SignedDeviceList::from_bytes(&wire(&[])), Err(DeviceError::PrimaryMissing));
    assert_eq!(entries.len(), MAX_DEVICES + 1);
    assert_eq!(SignedDeviceList::from_bytes(&wire(&entries)), Err(DeviceError::TooManyDevices));
    let long = "n".repeat(MAX_DEVICE_NAME_LEN + 1);
    let mut long_name = ok_sorted.clone();
    long_name[0].1 = &long;
    assert_eq!(SignedDeviceList::from_bytes(&wire(&long_name)), Err(DeviceError::NameTooLong));
    let mut empty_name = ok_sorted.clone();
    empty_name[1].1 = "";
    assert_eq!(SignedDeviceList::from_bytes(&wire(&empty_name)), Err(DeviceError::InvalidName));
}

#[test]
fn byte_level_refusals() {
    let (person, _, list) = list_with(2);
    let bytes = list.sign(&person).unwrap().to_bytes();
    assert_eq!(SignedDeviceList::from_bytes(&[]), Err(DeviceError::Malformed));
    assert_eq!(SignedDeviceList::from_bytes(&vec![1; MAX_DEVICE_LIST_LEN + 1]), Err(DeviceError::TooLarge));
    let mut other_version = bytes.clone();
    other_version[0] = 2;
    assert_eq!(SignedDeviceList::from_bytes(&other_version), Err(DeviceError::UnsupportedVersion(2)));
    assert_eq!(SignedDeviceList::from_bytes(&bytes[..bytes.len() - 1]), Err(DeviceError::Malformed));
    assert_eq!(SignedDeviceList::from_bytes(&[1]), Err(DeviceError::Malformed));
    // An unknown field after the message decodes but is not canonical.
    let mut extra = bytes.clone();
    extra.extend_from_slice(&[0x18, 0x01]);
    assert_eq!(SignedDeviceList::from_bytes(&extra), Err(DeviceError::NonCanonical));
    // A list signed by someone else than its person.
    let mallory = keys(9, 1).remove(0);
    let p = person.public_key();
    let forged = raw_wire(&mallory, &p, 2, &[(p, "p", 1)]);
    assert_eq!(SignedDeviceList::from_bytes(&forged), Err(DeviceError::BadSignature));
}

#[test]
fn every_flipped_bit_of_a_signed_list_is_refused() {
    let (person, _, list) = list_with(1);
    let bytes = list.sign(&person).unwrap().to_bytes();
    for i in 0..bytes.len() * 8 {
        let mut flipped = bytes.clone();
        flipped[i / 8] ^= 1 << (i % 8);
        assert!(SignedDeviceList::from_bytes(&flipped).is_err(), "bit {i} flipped was accepted");
    }
}

mod link;
mod properties;
