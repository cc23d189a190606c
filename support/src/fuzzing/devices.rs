//! Fuzz properties of the device list and of device linking: any bytes as a signed device list,
//! as a link code, as a link request to a primary device and as a link response to a new device.

use std::sync::OnceLock;

use super::{setup, Violation};
use crate::rng::DeterministicRng;
use confidant::consts::MAX_DEVICES;
use confidant::devices::{
    Device, DeviceList, LinkCode, LinkOffer, LinkRequest, LinkResponse, SignedDeviceList,
};
use confidant::keys::{IdentityKey, IdentityKeyPair};
use confidant::Timestamp;

const MADE_AT: Timestamp = Timestamp(1_772_463_600_000);

/// A primary device's offer and the genuine messages of one linking.
struct LinkFixture {
    person: IdentityKey,
    new_device: IdentityKey,
    code: String,
    request: Vec<u8>,
    response: Vec<u8>,
    list: Vec<u8>,
}

/// The offer of the fixture: the same secret every time, from a fixed seed.
fn offer(person: IdentityKey) -> LinkOffer {
    LinkOffer::new(&mut DeterministicRng::new(b"confidant fuzz device offer"), person, MADE_AT)
}

fn link_fixture() -> Result<&'static LinkFixture, Violation> {
    static FIXTURE: OnceLock<Result<LinkFixture, Violation>> = OnceLock::new();
    FIXTURE
        .get_or_init(|| {
            let mut rng = DeterministicRng::new(b"confidant fuzz device fixture");
            let person = IdentityKeyPair::generate(&mut rng);
            let new_device = IdentityKeyPair::generate(&mut rng);
            let mut offer = offer(person.public_key());
            let code = offer.code().to_string();
            let parsed = setup("code", LinkCode::parse(&code))?;
            let request = setup("request", LinkRequest::new(&parsed, &new_device, "laptop", MADE_AT))?;
            let linked = setup("accept", offer.accept(&request, MADE_AT))?;
            let device = Device { key: linked.key, name: linked.name, added_at: MADE_AT };
            let list = setup("list", DeviceList::first(person.public_key(), "phone", MADE_AT))?;
            let signed = setup("sign", setup("add", list.with_device(device, MADE_AT))?.sign(&person))?;
            let response = setup("respond", offer.respond(&signed))?;
            Ok(LinkFixture {
                person: person.public_key(),
                new_device: new_device.public_key(),
                code,
                request,
                response,
                list: signed.to_bytes(),
            })
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Any bytes: as a signed list, what decodes is canonical and keeps every rule; as a link code,
/// what parses writes back to itself; as a request, only the genuine one is accepted; as a
/// response, only the genuine one opens, to the genuine list.
pub(super) fn device_decode(data: &[u8]) -> Result<(), Violation> {
    let fixture = link_fixture()?;
    if let Ok(signed) = SignedDeviceList::from_bytes(data) {
        if signed.to_bytes() != data {
            return Err(Violation::new("device list: decoded bytes do not re-encode to themselves"));
        }
        let list = signed.list();
        let devices = list.devices();
        if devices.is_empty() || devices.len() > MAX_DEVICES || !list.contains(&list.person()) {
            return Err(Violation::new("device list: a list breaking the count or primary rule decoded"));
        }
        if devices
            .windows(2)
            .any(|w| w.first().map(|d| d.key.to_bytes()) >= w.get(1).map(|d| d.key.to_bytes()))
        {
            return Err(Violation::new("device list: an unsorted or duplicate list decoded"));
        }
        if !list.person().verify(&list.signed_bytes(), &signed.signature()) {
            return Err(Violation::new("device list: decoded with a signature that does not verify"));
        }
    }
    if let Ok(code) = LinkCode::parse(&String::from_utf8_lossy(data)) {
        match LinkCode::parse(&code.text()) {
            Ok(again) if again == code => {}
            _ => return Err(Violation::new("link code: the written code does not read back to itself")),
        }
    }
    let code = setup("code", LinkCode::parse(&fixture.code))?;
    match LinkResponse::open(&code, &fixture.new_device, data) {
        Ok(signed) if data == fixture.response && signed.to_bytes() == fixture.list => {}
        Ok(_) => return Err(Violation::new("link response: opened bytes that were never sent")),
        Err(_) if data == fixture.response => {
            return Err(Violation::new("link response: the genuine response does not open"))
        }
        Err(_) => {}
    }
    let mut offer = offer(fixture.person);
    match offer.accept(data, MADE_AT) {
        Ok(linked) if data == fixture.request && linked.key == fixture.new_device => {}
        Ok(_) => return Err(Violation::new("link request: accepted bytes that were never sent")),
        Err(_) if data == fixture.request => {
            return Err(Violation::new("link request: the genuine request is refused"))
        }
        Err(_) => {}
    }
    Ok(())
}

/// The genuine list, request, response and code, and a few near-misses.
pub(super) fn device_seeds() -> Result<Vec<Vec<u8>>, Violation> {
    let fixture = link_fixture()?;
    let mut seeds =
        vec![Vec::new(), vec![1], fixture.list.clone(), fixture.request.clone(), fixture.response.clone()];
    seeds.push(fixture.code.clone().into_bytes());
    seeds.push(fixture.code.to_lowercase().replace('-', " ").into_bytes());
    let mut flipped = fixture.response.clone();
    if let Some(last) = flipped.last_mut() {
        *last ^= 1;
    }
    seeds.push(flipped);
    Ok(seeds)
}
