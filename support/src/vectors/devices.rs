//! Device-list cases (the `device_lists` section): generated through the library for valid
//! lists, written by hand from PROTOCOL.md section 16 for lists the library never builds, and
//! verified both against an encoder of our own and against the library.

use confidant::consts::{self, DEVICE_LIST_FORMAT_VERSION, DEVICE_LIST_LABEL};
use confidant::devices::{Device, DeviceError, DeviceList, SignedDeviceList};
use confidant::keys::{IdentityKey, IdentityKeyPair};
use confidant::Timestamp;
use rand::RngExt;
use rand_chacha::ChaCha20Rng;
use serde_json::Value;

use super::json::{hexj, s, same, Fields, J};

/// One device as a case lists it.
#[derive(Clone)]
struct Entry {
    key: [u8; 32],
    name: String,
    added_at: u64,
}

/// The fields of a case's list, in wire order.
struct ListFields {
    person: [u8; 32],
    version: u64,
    issued_at: u64,
    devices: Vec<Entry>,
}

/// `DEVICE_LIST_LABEL ‖ person ‖ u64be(version) ‖ u64be(issued_at) ‖ u8(count) ‖ per device
/// key ‖ u64be(added_at) ‖ u8(name length) ‖ name`, written from the specification.
fn signed_bytes(list: &ListFields) -> Vec<u8> {
    let mut out = DEVICE_LIST_LABEL.to_vec();
    out.extend_from_slice(&list.person);
    out.extend_from_slice(&list.version.to_be_bytes());
    out.extend_from_slice(&list.issued_at.to_be_bytes());
    out.push(u8::try_from(list.devices.len()).unwrap_or(u8::MAX));
    for d in &list.devices {
        out.extend_from_slice(&d.key);
        out.extend_from_slice(&d.added_at.to_be_bytes());
        out.push(u8::try_from(d.name.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(d.name.as_bytes());
    }
    out
}

fn varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// A length-delimited protobuf field.
fn bytes_field(field: u8, value: &[u8], out: &mut Vec<u8>) {
    out.push(field << 3 | 2);
    varint(value.len() as u64, out);
    out.extend_from_slice(value);
}

/// A varint protobuf field, left out when zero (proto3).
fn varint_field(field: u8, value: u64, out: &mut Vec<u8>) {
    if value != 0 {
        out.push(field << 3);
        varint(value, out);
    }
}

/// `DEVICE_LIST_FORMAT_VERSION ‖ SignedDeviceList`, the protobuf written by hand the way
/// `proto/devices.proto` defines it: fields in number order, defaults left out.
fn wire(list: &ListFields, signature: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    bytes_field(1, &list.person, &mut body);
    varint_field(2, list.version, &mut body);
    varint_field(3, list.issued_at, &mut body);
    for d in &list.devices {
        let mut device = Vec::new();
        bytes_field(1, &d.key, &mut device);
        if !d.name.is_empty() {
            bytes_field(2, d.name.as_bytes(), &mut device);
        }
        varint_field(3, d.added_at, &mut device);
        bytes_field(4, &device, &mut body);
    }
    let mut out = vec![DEVICE_LIST_FORMAT_VERSION];
    bytes_field(1, &body, &mut out);
    bytes_field(2, signature, &mut out);
    out
}

/// The name a case gives to a refusal.
fn refusal(e: DeviceError) -> &'static str {
    match e {
        DeviceError::TooLarge => "too_large",
        DeviceError::UnsupportedVersion(_) => "unsupported_version",
        DeviceError::Malformed => "malformed",
        DeviceError::NonCanonical => "non_canonical",
        DeviceError::BadSignature => "bad_signature",
        DeviceError::WrongPerson => "wrong_person",
        DeviceError::TooManyDevices => "too_many_devices",
        DeviceError::DuplicateDevice => "duplicate_device",
        DeviceError::Unsorted => "unsorted",
        DeviceError::PrimaryMissing => "primary_missing",
        DeviceError::NameTooLong => "name_too_long",
        DeviceError::InvalidName => "invalid_name",
        DeviceError::VersionOutOfRange => "version_out_of_range",
        _ => "other",
    }
}

/// The `device_parameters` block: the section's constants.
pub(crate) fn parameters() -> J {
    J::Obj(vec![
        ("device_list_label", hexj(DEVICE_LIST_LABEL)),
        ("device_list_format_version", J::Num(u64::from(DEVICE_LIST_FORMAT_VERSION))),
        ("max_devices", J::Num(consts::MAX_DEVICES as u64)),
        ("max_device_name_len", J::Num(consts::MAX_DEVICE_NAME_LEN as u64)),
        ("max_device_list_len", J::Num(consts::MAX_DEVICE_LIST_LEN as u64)),
        (
            "signed_bytes",
            s("label || person(32) || u64be(version) || u64be(issued_at_ms) || u8(count) || per device: key(32) || u64be(added_at_ms) || u8(name_len) || name"),
        ),
    ])
}

/// Refuses `device_parameters` that differ from the library's.
pub(crate) fn check_parameters(p: Fields<'_>) -> Result<(), String> {
    if p.bytes("device_list_label")? != DEVICE_LIST_LABEL {
        return Err("device_parameters.device_list_label differs".into());
    }
    for (key, value) in [
        ("device_list_format_version", u64::from(DEVICE_LIST_FORMAT_VERSION)),
        ("max_devices", consts::MAX_DEVICES as u64),
        ("max_device_name_len", consts::MAX_DEVICE_NAME_LEN as u64),
        ("max_device_list_len", consts::MAX_DEVICE_LIST_LEN as u64),
    ] {
        if p.u64(key)? != value {
            return Err(format!("device_parameters.{key} is not {value}"));
        }
    }
    Ok(())
}

/// A case to write: its list, who signs, and how it is read.
struct Spec {
    name: &'static str,
    description: &'static str,
    expect: &'static str,
    person_seed: [u8; 32],
    signer_seed: Option<[u8; 32]>,
    expected_person: Option<[u8; 32]>,
    tamper: Option<&'static str>,
    list: ListFields,
}

fn write(spec: &Spec) -> J {
    let signer = IdentityKeyPair::from_seed(&spec.signer_seed.unwrap_or(spec.person_seed));
    let signed = signed_bytes(&spec.list);
    let mut signature = signer.sign(&signed).to_bytes();
    if spec.tamper.is_some() {
        signature[0] ^= 0x01;
    }
    let mut fields: Vec<(&'static str, J)> = vec![
        ("name", s(spec.name)),
        ("description", s(spec.description)),
        ("expect", s(spec.expect)),
        ("person_seed", hexj(&spec.person_seed)),
        ("person_public", hexj(&spec.list.person)),
    ];
    if let Some(seed) = spec.signer_seed {
        fields.push(("signer_seed", hexj(&seed)));
    }
    if let Some(key) = spec.expected_person {
        fields.push(("expected_person", hexj(&key)));
    }
    if let Some(tamper) = spec.tamper {
        fields.push(("tamper", s(tamper)));
    }
    let devices = spec
        .list
        .devices
        .iter()
        .map(|d| {
            J::Obj(vec![("key", hexj(&d.key)), ("name", s(&d.name)), ("added_at_ms", J::Num(d.added_at))])
        })
        .collect();
    fields.extend([
        ("version", J::Num(spec.list.version)),
        ("issued_at_ms", J::Num(spec.list.issued_at)),
        ("devices", J::Arr(devices)),
        ("signed_bytes", hexj(&signed)),
        ("signature", hexj(&signature)),
        ("wire", hexj(&wire(&spec.list, &signature))),
    ]);
    J::Obj(fields)
}

fn entries(list: &DeviceList) -> ListFields {
    ListFields {
        person: list.person().to_bytes(),
        version: list.version(),
        issued_at: list.issued_at().as_millis(),
        devices: list
            .devices()
            .iter()
            .map(|d| Entry { key: d.key.to_bytes(), name: d.name.clone(), added_at: d.added_at.as_millis() })
            .collect(),
    }
}

/// The cases of the section, drawn from `rng`.
pub(crate) fn generate(rng: &mut ChaCha20Rng) -> Result<Vec<J>, String> {
    let person_seed: [u8; 32] = rng.random();
    let person = IdentityKeyPair::from_seed(&person_seed);
    let p = person.public_key();
    let others: Vec<IdentityKey> =
        (0..consts::MAX_DEVICES).map(|_| IdentityKeyPair::from_seed(&rng.random()).public_key()).collect();
    let t0: u64 = 1_772_463_600_000 + rng.random_range(0..86_400_000u64);
    let err = |e: DeviceError| format!("library: {e}");
    let at = |ms: u64| Timestamp(t0 + ms);
    let add = |list: &DeviceList, key: IdentityKey, name: &str, ms: u64| {
        list.with_device(Device { key, name: name.into(), added_at: at(ms) }, at(ms)).map_err(err)
    };

    let one = DeviceList::first(p, "phone", at(0)).map_err(err)?;
    let mut three = add(&one, others[0], "laptop", 1000)?;
    three = add(&three, others[1], "tablet", 2000)?;
    three = add(&three, others[2], "old phone", 3000)?;
    three = three.without_device(&others[2], at(4000)).map_err(err)?;
    let long_name = "Praxis-Tablet Zürich, Empfang — 2. Stock".to_owned() + &"·".repeat(10);
    let long_name = long_name.chars().scan(0, |len, c| {
        *len += c.len_utf8();
        (*len <= consts::MAX_DEVICE_NAME_LEN).then_some(c)
    });
    let long_name: String = long_name.collect();
    let mut full = DeviceList::first(p, &long_name, at(0)).map_err(err)?;
    for (i, key) in others.iter().take(consts::MAX_DEVICES - 1).enumerate() {
        full = add(&full, *key, &format!("device {i}"), 100 * i as u64)?;
    }
    let stranger_seed: [u8; 32] = rng.random();
    let stranger = IdentityKeyPair::from_seed(&stranger_seed).public_key().to_bytes();

    let sorted = |mut devices: Vec<Entry>| {
        devices.sort_by_key(|d| d.key);
        devices
    };
    let entry =
        |key: &IdentityKey, name: &str| Entry { key: key.to_bytes(), name: name.into(), added_at: t0 };
    let raw = |devices: Vec<Entry>| ListFields { person: p.to_bytes(), version: 2, issued_at: t0, devices };
    let valid = |name, description, list: &DeviceList| Spec {
        name,
        description,
        expect: "valid",
        person_seed,
        signer_seed: None,
        expected_person: None,
        tamper: None,
        list: entries(list),
    };
    let refused = |name, description, expect, list: ListFields| Spec {
        name,
        description,
        expect,
        person_seed,
        signer_seed: None,
        expected_person: None,
        tamper: None,
        list,
    };

    let mut unsorted = sorted(vec![entry(&p, "phone"), entry(&others[0], "laptop")]);
    unsorted.reverse();
    let mut duplicate = sorted(vec![entry(&p, "phone"), entry(&others[0], "laptop")]);
    duplicate.push(entry(&others[0], "laptop"));
    let duplicate = sorted(duplicate);
    let nine =
        sorted(std::iter::once(entry(&p, "phone")).chain(others.iter().map(|k| entry(k, "d"))).collect());
    let long =
        sorted(vec![entry(&p, &"n".repeat(consts::MAX_DEVICE_NAME_LEN + 1)), entry(&others[0], "laptop")]);

    let specs = vec![
        valid("one-device", "a person's first list: the primary alone, version 1", &one),
        valid("three-devices", "devices added and one removed: version 5, sorted by key", &three),
        valid(
            "max-devices",
            "MAX_DEVICES devices, the primary's name MAX_DEVICE_NAME_LEN bytes of UTF-8",
            &full,
        ),
        Spec {
            tamper: Some("signature-bitflip"),
            ..refused(
                "bad-signature-bitflip",
                "byte 0 of the signature XOR 0x01",
                "bad_signature",
                entries(&three),
            )
        },
        Spec {
            signer_seed: Some(stranger_seed),
            ..refused(
                "bad-signature-other-signer",
                "the list names the person; another key signed it",
                "bad_signature",
                entries(&three),
            )
        },
        Spec {
            expected_person: Some(stranger),
            ..refused(
                "wrong-person",
                "a valid list, read as expected_person's",
                "wrong_person",
                entries(&three),
            )
        },
        refused(
            "unsorted",
            "two devices in descending key order, signed by the person",
            "unsorted",
            raw(unsorted),
        ),
        refused(
            "duplicate",
            "a device listed twice, signed by the person",
            "duplicate_device",
            raw(duplicate),
        ),
        refused(
            "primary-missing",
            "the person key is not among the devices, signed by the person",
            "primary_missing",
            raw(sorted(vec![entry(&others[0], "laptop"), entry(&others[1], "tablet")])),
        ),
        refused(
            "too-many-devices",
            "MAX_DEVICES + 1 devices, signed by the person",
            "too_many_devices",
            raw(nine),
        ),
        refused(
            "name-too-long",
            "a name of MAX_DEVICE_NAME_LEN + 1 bytes, signed by the person",
            "name_too_long",
            raw(long),
        ),
    ];
    Ok(specs.iter().map(write).collect())
}

/// Verifies one case: the person key, the signed bytes and wire bytes against our own encoder,
/// the signature (unless tampered), then the library's reading.
pub(crate) fn verify_case(case: &Value) -> Result<(), String> {
    let f = Fields::of(case, "case")?;
    let expect = f.str("expect")?;
    let person_seed = f.array::<32>("person_seed")?;
    let person = IdentityKeyPair::from_seed(&person_seed);
    same("person_public", &f.array::<32>("person_public")?, person.public_key().as_bytes())?;
    let devices = f
        .arr("devices")?
        .iter()
        .map(|d| {
            let d = Fields::of(d, "device")?;
            Ok(Entry {
                key: d.array::<32>("key")?,
                name: d.str("name")?.to_owned(),
                added_at: d.u64("added_at_ms")?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let list = ListFields {
        person: person.public_key().to_bytes(),
        version: f.u64("version")?,
        issued_at: f.u64("issued_at_ms")?,
        devices,
    };
    let signed = f.bytes("signed_bytes")?;
    same("signed_bytes", &signed, &signed_bytes(&list))?;
    let signature = f.array::<64>("signature")?;
    let wire_bytes = f.bytes("wire")?;
    same("wire", &wire_bytes, &wire(&list, &signature))?;
    let tampered = f.opt_str("tamper")?.is_some();
    if !tampered {
        let signer = match f.opt_str("signer_seed")? {
            Some(_) => IdentityKeyPair::from_seed(&f.array::<32>("signer_seed")?),
            None => IdentityKeyPair::from_seed(&person_seed),
        };
        same("signature", &signature, &signer.sign(&signed).to_bytes())?;
    } else if expect == "valid" {
        return Err("a tampered case cannot be valid".into());
    }
    let read = match f.opt_str("expected_person")? {
        Some(_) => {
            let expected = IdentityKey::from_bytes(&f.array::<32>("expected_person")?)
                .map_err(|e| format!("expected_person: {e}"))?;
            SignedDeviceList::verify_for(&wire_bytes, &expected)
        }
        None => SignedDeviceList::from_bytes(&wire_bytes),
    };
    match (expect, read) {
        ("valid", Ok(read)) => {
            same("library signed_bytes", &signed, &read.list().signed_bytes())?;
            same("library wire", &wire_bytes, &read.to_bytes())?;
            let again = read.list().sign(&person).map_err(|e| format!("library cannot sign: {e}"))?;
            same("library signature", &signature, &again.signature().to_bytes())?;
            Ok(())
        }
        ("valid", Err(e)) => Err(format!("library refuses a valid list: {e}")),
        (refused, Ok(_)) => Err(format!("library accepts a list that must be refused ({refused})")),
        (refused, Err(e)) if refusal(e) == refused => Ok(()),
        (refused, Err(e)) => Err(format!("library refuses with {} ({e}), not {refused}", refusal(e))),
    }
}
