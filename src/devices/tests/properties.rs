//! Random lists round-trip through signing and the wire format.

use proptest::prelude::*;

use super::*;

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 éß漢]{1,16}".prop_filter("at most the name limit", |n| n.len() <= MAX_DEVICE_NAME_LEN)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn random_lists_round_trip(
        seed in any::<u64>(),
        extra in proptest::collection::vec((name(), any::<u64>()), 0..MAX_DEVICES),
        primary_name in name(),
        issued in any::<u64>(),
    ) {
        let all = keys(seed, extra.len() + 1);
        let person = &all[0];
        let mut list = DeviceList::first(person.public_key(), &primary_name, Timestamp(issued)).unwrap();
        for (pair, (name, added)) in all[1..].iter().zip(&extra) {
            list = list.with_device(device(pair.public_key(), name, *added), Timestamp(issued)).unwrap();
        }
        prop_assert_eq!(list.devices().len(), extra.len() + 1);
        prop_assert_eq!(list.version(), extra.len() as u64 + 1);
        prop_assert!(list.devices().windows(2).all(|w| w[0].key.as_bytes() < w[1].key.as_bytes()));
        let signed = list.sign(person).unwrap();
        let bytes = signed.to_bytes();
        prop_assert!(bytes.len() <= MAX_DEVICE_LIST_LEN);
        let read = SignedDeviceList::verify_for(&bytes, &person.public_key()).unwrap();
        prop_assert_eq!(read.to_bytes(), bytes);
        prop_assert_eq!(read, signed);
    }
}
