//! Linking: the round trip, and every change a relay could make to it.

use super::*;

/// A person with one device, an offer shown on it, the new device and its code.
struct Linking {
    person: IdentityKeyPair,
    list: DeviceList,
    offer: LinkOffer,
    code: LinkCode,
    new_device: IdentityKeyPair,
}

fn linking(seed: u64) -> Linking {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let person = IdentityKeyPair::generate(&mut rng);
    let new_device = IdentityKeyPair::generate(&mut rng);
    let list = DeviceList::first(person.public_key(), "phone", T0).unwrap();
    let offer = LinkOffer::new(&mut rng, person.public_key(), T0);
    let code = LinkCode::parse(&offer.code()).unwrap();
    Linking { person, list, offer, code, new_device }
}

impl Linking {
    fn request(&self) -> Vec<u8> {
        LinkRequest::new(&self.code, &self.new_device, "laptop", T0.plus_millis(5)).unwrap()
    }

    /// The primary accepts the request, signs the new list and answers.
    fn accept_and_respond(&mut self) -> (SignedDeviceList, Vec<u8>) {
        let linked = self.offer.accept(&self.request(), T0.plus_millis(1000)).unwrap();
        let device = Device { key: linked.key, name: linked.name, added_at: T0.plus_millis(1000) };
        let signed = self.list.with_device(device, T0.plus_millis(1000)).unwrap().sign(&self.person).unwrap();
        let response = self.offer.respond(&signed).unwrap();
        (signed, response)
    }
}

#[test]
fn a_new_device_is_linked() {
    let mut l = linking(1);
    let request = l.request();
    let linked = l.offer.accept(&request, T0.plus_millis(1000)).unwrap();
    assert_eq!(
        linked,
        LinkedDevice {
            key: l.new_device.public_key(),
            name: "laptop".into(),
            requested_at: T0.plus_millis(5)
        }
    );
    let device = Device { key: linked.key, name: linked.name, added_at: T0.plus_millis(1000) };
    let signed = l.list.with_device(device, T0.plus_millis(1000)).unwrap().sign(&l.person).unwrap();
    let response = l.offer.respond(&signed).unwrap();
    let opened = LinkResponse::open(&l.code, &l.new_device.public_key(), &response).unwrap();
    assert_eq!(opened, signed);
    assert_eq!(opened.list().person(), l.person.public_key());
}

#[test]
fn the_code_reads_back_in_any_case_and_spacing() {
    let l = linking(2);
    let text = l.offer.code();
    assert_eq!(text.len(), 53 + 13);
    assert!(text.split('-').take(13).all(|g| g.len() == 4));
    assert!(l.code.is_for(&l.person.public_key()));
    assert!(!l.code.is_for(&l.new_device.public_key()));
    assert_eq!(l.code.text(), text);
    let loose = text.to_lowercase().replace('-', " ").replace('0', "o").replace('1', "l");
    assert_eq!(LinkCode::parse(&loose).unwrap(), l.code);
    assert_eq!(LinkCode::parse(&text.replace('-', "")).unwrap(), l.code);
}

#[test]
fn malformed_codes_are_refused() {
    let l = linking(3);
    let text = l.offer.code().replace('-', "");
    for bad in [
        String::new(),
        text[..52].to_owned(),
        format!("{text}0"),
        format!("{}U", &text[..52]),
        format!("{}*", &text[..52]),
        // The last symbol carries one bit of data and four padding bits, which must be zero.
        format!("{}1", &text[..52]),
        // Version 2 in the first byte: 0x02 starts with the symbols "0" and "8" or above.
        format!("08{}", &text[2..]),
    ] {
        assert_eq!(LinkCode::parse(&bad), Err(DeviceError::BadLinkCode), "{bad:?}");
    }
    assert_eq!(person_fingerprint(&l.person.public_key()), *l.code.fingerprint());
}

#[test]
fn debug_prints_no_secret() {
    let l = linking(4);
    let text = l.offer.code().replace('-', "");
    let secret_hex: String = l.code.secret().iter().map(|b| format!("{b:02x}")).collect();
    for shown in [format!("{:?}", l.offer), format!("{:?}", l.code), format!("{:#?}", l.offer)] {
        assert!(!shown.contains(&text[20..]), "{shown}");
        assert!(!shown.contains(&secret_hex), "{shown}");
        assert!(!shown.contains(&format!("{:?}", l.code.secret())), "{shown}");
    }
}

#[test]
fn an_offer_links_one_device_once() {
    let mut l = linking(5);
    let request = l.request();
    l.offer.accept(&request, T0).unwrap();
    assert_eq!(l.offer.accept(&request, T0), Err(DeviceError::LinkUsed));
    let other = keys(8, 1).remove(0);
    let second = LinkRequest::new(&l.code, &other, "tablet", T0).unwrap();
    assert_eq!(l.offer.accept(&second, T0), Err(DeviceError::LinkUsed));
}

#[test]
fn an_offer_expires() {
    let mut l = linking(6);
    let request = l.request();
    assert_eq!(
        l.offer.accept(&request, T0.plus_millis(LINK_OFFER_LIFETIME_MS + 1)),
        Err(DeviceError::LinkExpired)
    );
    // The refusal did not use the offer up: within its lifetime it still accepts.
    assert!(l.offer.accept(&request, T0.plus_millis(LINK_OFFER_LIFETIME_MS)).is_ok());
}

#[test]
fn a_request_made_with_another_code_is_refused() {
    let mut l = linking(7);
    let other = linking(8);
    let request = LinkRequest::new(&other.code, &l.new_device, "laptop", T0).unwrap();
    assert_eq!(l.offer.accept(&request, T0), Err(DeviceError::BadLinkProof));
    // A failed request leaves the offer usable.
    assert!(l.offer.accept(&l.request(), T0).is_ok());
}

#[test]
fn every_flipped_bit_of_a_request_is_refused() {
    let mut l = linking(9);
    let request = l.request();
    for i in 0..request.len() * 8 {
        let mut flipped = request.clone();
        flipped[i / 8] ^= 1 << (i % 8);
        assert!(l.offer.accept(&flipped, T0).is_err(), "bit {i} flipped was accepted");
    }
    assert!(l.offer.accept(&request, T0).is_ok());
}

#[test]
fn a_relay_cannot_substitute_its_own_device() {
    let mut l = linking(10);
    let request = l.request();
    let mut message = proto::LinkRequest::decode(&request[1..]).unwrap();
    let relay = keys(11, 1).remove(0);
    // The relay's key with the genuine MAC, then with its own signature too: neither passes.
    message.device = relay.public_key().to_bytes().to_vec();
    let mut forged = vec![1];
    forged.extend(message.encode_to_vec());
    assert_eq!(l.offer.accept(&forged, T0), Err(DeviceError::BadLinkProof));
    let mut fake_code = LinkCode::parse(&l.offer.code()).unwrap();
    fake_code = LinkCode::new(*fake_code.fingerprint(), [0; 16]);
    let guessed = LinkRequest::new(&fake_code, &relay, "laptop", T0).unwrap();
    assert_eq!(l.offer.accept(&guessed, T0), Err(DeviceError::BadLinkProof));
    // A request whose MAC is right but whose signature is not the device's.
    let mut unsigned = proto::LinkRequest::decode(&request[1..]).unwrap();
    unsigned.signature = relay.sign(b"anything").to_bytes().to_vec();
    let mut bytes = vec![1];
    bytes.extend(unsigned.encode_to_vec());
    assert_eq!(l.offer.accept(&bytes, T0), Err(DeviceError::BadLinkProof));
}

#[test]
fn the_person_key_cannot_link_as_a_new_device() {
    let mut l = linking(12);
    let request = LinkRequest::new(&l.code, &l.person, "again", T0).unwrap();
    assert_eq!(l.offer.accept(&request, T0), Err(DeviceError::DuplicateDevice));
}

#[test]
fn request_names_are_checked_by_both_sides() {
    let mut l = linking(13);
    assert_eq!(LinkRequest::new(&l.code, &l.new_device, "", T0), Err(DeviceError::InvalidName));
    assert_eq!(LinkRequest::new(&l.code, &l.new_device, &"n".repeat(65), T0), Err(DeviceError::NameTooLong));
    // A modified new device sends a long name anyway, with a valid MAC and signature.
    let name = "n".repeat(65);
    let key = l.new_device.public_key();
    let transcript = {
        let mut t = LINK_REQUEST_LABEL.to_vec();
        t.extend_from_slice(l.code.fingerprint());
        t.extend_from_slice(key.as_bytes());
        t.extend_from_slice(&0u64.to_be_bytes());
        t.push(65);
        t.extend_from_slice(name.as_bytes());
        t
    };
    let mac_key =
        crate::primitives::hkdf_sha256::<32>(l.code.fingerprint(), l.code.secret(), LINK_REQUEST_INFO);
    let message = proto::LinkRequest {
        device: key.to_bytes().to_vec(),
        name,
        requested_at_ms: 0,
        signature: l.new_device.sign(&transcript).to_bytes().to_vec(),
        mac: crate::primitives::hmac_sha256(&mac_key, &[&transcript]).as_bytes().to_vec(),
    };
    let mut bytes = vec![1];
    bytes.extend(message.encode_to_vec());
    assert_eq!(l.offer.accept(&bytes, T0), Err(DeviceError::NameTooLong));
    // The transcript written from the specification is the one the library uses.
    let genuine = LinkRequest::new(&l.code, &l.new_device, "laptop", T0).unwrap();
    let genuine = proto::LinkRequest::decode(&genuine[1..]).unwrap();
    let mut t = LINK_REQUEST_LABEL.to_vec();
    t.extend_from_slice(l.code.fingerprint());
    t.extend_from_slice(key.as_bytes());
    t.extend_from_slice(&T0.0.to_be_bytes());
    t.push(6);
    t.extend_from_slice(b"laptop");
    assert_eq!(genuine.mac, crate::primitives::hmac_sha256(&mac_key, &[&t]).as_bytes().to_vec());
    assert!(key.verify(&t, &crate::keys::Signature::from_slice(&genuine.signature).unwrap()));
}

#[test]
fn respond_needs_an_accepted_device_in_the_persons_list() {
    let mut l = linking(14);
    let signed = l.list.sign(&l.person).unwrap();
    assert_eq!(l.offer.respond(&signed), Err(DeviceError::LinkNotAccepted));
    l.offer.accept(&l.request(), T0).unwrap();
    // A list without the accepted device.
    assert_eq!(l.offer.respond(&signed), Err(DeviceError::NotAMember));
    // Another person's list holding the device.
    let other = keys(15, 1).remove(0);
    let foreign = DeviceList::first(other.public_key(), "x", T0)
        .unwrap()
        .with_device(device(l.new_device.public_key(), "laptop", 0), T0)
        .unwrap()
        .sign(&other)
        .unwrap();
    assert_eq!(l.offer.respond(&foreign), Err(DeviceError::WrongPerson));
}

#[test]
fn every_flipped_bit_of_a_response_is_refused() {
    let mut l = linking(16);
    let (_, response) = l.accept_and_respond();
    let key = l.new_device.public_key();
    for i in 0..response.len() * 8 {
        let mut flipped = response.clone();
        flipped[i / 8] ^= 1 << (i % 8);
        assert!(LinkResponse::open(&l.code, &key, &flipped).is_err(), "bit {i} flipped was accepted");
    }
    assert!(LinkResponse::open(&l.code, &key, &response).is_ok());
}

#[test]
fn a_response_opens_only_with_its_code_and_device() {
    let mut l = linking(17);
    let (_, response) = l.accept_and_respond();
    let other = linking(18);
    assert_eq!(
        LinkResponse::open(&other.code, &l.new_device.public_key(), &response),
        Err(DeviceError::BadLinkProof)
    );
    assert_eq!(
        LinkResponse::open(&l.code, &other.new_device.public_key(), &response),
        Err(DeviceError::BadLinkProof)
    );
    assert_eq!(LinkResponse::open(&l.code, &l.new_device.public_key(), &[]), Err(DeviceError::Malformed));
    assert_eq!(
        LinkResponse::open(&l.code, &l.new_device.public_key(), &[2]),
        Err(DeviceError::UnsupportedVersion(2))
    );
}

/// A response built by a modified primary: any list, with a genuine MAC under the code.
fn respond_raw(code: &LinkCode, device: &IdentityKey, device_list: Vec<u8>) -> Vec<u8> {
    let mut t = LINK_RESPONSE_LABEL.to_vec();
    t.extend_from_slice(code.fingerprint());
    t.extend_from_slice(device.as_bytes());
    t.extend_from_slice(&device_list);
    let key = crate::primitives::hkdf_sha256::<32>(code.fingerprint(), code.secret(), LINK_RESPONSE_INFO);
    let mac = crate::primitives::hmac_sha256(&key, &[&t]).as_bytes().to_vec();
    let mut out = vec![1];
    out.extend(proto::LinkResponse { device_list, mac }.encode_to_vec());
    out
}

#[test]
fn the_new_device_checks_the_list_itself() {
    let mut l = linking(19);
    let (signed, response) = l.accept_and_respond();
    let key = l.new_device.public_key();
    // The genuine response is exactly what the specification's MAC gives.
    assert_eq!(respond_raw(&l.code, &key, signed.to_bytes()), response);
    // A list that does not hold the new device.
    let without = l.list.sign(&l.person).unwrap().to_bytes();
    assert_eq!(
        LinkResponse::open(&l.code, &key, &respond_raw(&l.code, &key, without)),
        Err(DeviceError::NotAMember)
    );
    // A list of another person (signed by that person), holding the device.
    let other = keys(20, 1).remove(0);
    let foreign = DeviceList::first(other.public_key(), "x", T0)
        .unwrap()
        .with_device(device(key, "laptop", 0), T0)
        .unwrap()
        .sign(&other)
        .unwrap()
        .to_bytes();
    assert_eq!(
        LinkResponse::open(&l.code, &key, &respond_raw(&l.code, &key, foreign)),
        Err(DeviceError::WrongPerson)
    );
    // A list naming the person but signed by another key.
    let p = l.person.public_key();
    let mut devices = vec![(p, "phone", 0), (key, "laptop", 0)];
    devices.sort_by_key(|d| d.0.to_bytes());
    let forged = raw_wire(&other, &p, 2, &devices);
    assert_eq!(
        LinkResponse::open(&l.code, &key, &respond_raw(&l.code, &key, forged)),
        Err(DeviceError::BadSignature)
    );
}
