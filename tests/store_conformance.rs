//! One conformance suite, generic over [`Store`], run against every implementation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use confidant_support::store as store_common;

use confidant::keys::{IdentityKeyPair, KemPrekey, OneTimePrekey, PrekeyId, SignedPrekey};
use confidant::store::{
    MemoryStore, MessageId, Owner, PageEntry, PeerRecord, Store, StoreError, StoredAgreement, Verification,
    WriteBatch,
};
use confidant::{Role, Timestamp};
use store_common::{create, db_path, message, peer, rng, session_version};

type Check = fn(&dyn Store);

const CHECKS: &[(&str, Check)] = &[
    ("empty", empty),
    ("owner", owner),
    ("local_identity", local_identity),
    ("prekeys", prekeys),
    ("receive_batch", receive_batch),
    ("failed_batch_changes_nothing", failed_batch_changes_nothing),
    ("trust", trust),
    ("messages", messages),
    ("mark_read", mark_read),
    ("purge", purge),
    ("sessions_and_agreements", sessions_and_agreements),
    ("session_writes_compare_and_swap", session_writes_compare_and_swap),
    ("bad_input", bad_input),
    ("pages", pages),
    ("replace_message_and_conversation", replace_message_and_conversation),
];

/// Runs every check against a fresh store from `make`.
fn conformance<S: Store + 'static>(mut make: impl FnMut() -> S) {
    for (name, check) in CHECKS {
        eprintln!("conformance: {name}");
        let store = make();
        check(&store);
    }
}

#[test]
fn memory_store_conforms() {
    conformance(MemoryStore::new);
}

#[test]
fn sqlite_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let mut n = 0;
    conformance(|| {
        n += 1;
        create(&dir.path().join(format!("{n}.db")))
    });
    // The trait object is usable across threads and behind Arc.
    let store: std::sync::Arc<dyn Store> = std::sync::Arc::new(create(&db_path(&dir)));
    assert!(store.peers().unwrap().is_empty());
}

fn empty(store: &dyn Store) {
    let p = peer("nobody");
    assert!(store.owner().unwrap().is_none());
    assert!(store.local_identity().unwrap().is_none());
    assert!(store.signed_prekey(PrekeyId(1)).unwrap().is_none());
    assert!(store.one_time_prekey(PrekeyId(1)).unwrap().is_none());
    assert!(store.kem_prekey(PrekeyId(1)).unwrap().is_none());
    assert_eq!(store.one_time_prekey_count().unwrap(), 0);
    assert!(store.peer(&p).unwrap().is_none());
    assert!(store.peers().unwrap().is_empty());
    assert!(store.session(&p).unwrap().is_none());
    assert!(store.message(&MessageId([0; 16])).unwrap().is_none());
    assert!(store.messages(&p).unwrap().is_empty());
    assert!(store.agreement(&p).unwrap().is_none());
    assert_eq!(store.purge_expired(Timestamp(u64::MAX)).unwrap(), 0);
    store.apply(WriteBatch::new()).unwrap();
}

fn owner(store: &dyn Store) {
    let dr_lee = Owner::new(Role::Clinician, "dr-lee").unwrap();
    store.set_owner(&dr_lee).unwrap();
    store.set_owner(&dr_lee).unwrap();
    assert_eq!(store.owner().unwrap(), Some(dr_lee.clone()));
    assert_eq!(store.owner().unwrap().unwrap().role(), Role::Clinician);
    assert_eq!(store.owner().unwrap().unwrap().local_id(), "dr-lee");

    // Another role, or a local id that differs in any byte, is refused; the owner stays.
    let others = [
        Owner::new(Role::Client, "dr-lee").unwrap(),
        Owner::new(Role::Clinician, "DR-LEE").unwrap(),
        Owner::new(Role::Clinician, "Dr-lee").unwrap(),
        Owner::new(Role::Clinician, "dr-lee ").unwrap(),
        Owner::new(Role::Clinician, "dr-le").unwrap(),
        Owner::new(Role::Client, "sam").unwrap(),
    ];
    for other in &others {
        assert_eq!(store.set_owner(other), Err(StoreError::OwnerMismatch), "{other:?}");
        assert_eq!(store.owner().unwrap(), Some(dr_lee.clone()));
    }
    // The owner is independent of the rest of the store.
    let mut r = rng(11);
    store.set_local_identity(&IdentityKeyPair::generate(&mut r)).unwrap();
    let mut batch = WriteBatch::new();
    batch.put_session(&peer("sam"), None, b"state").unwrap();
    store.apply(batch).unwrap();
    assert_eq!(store.owner().unwrap(), Some(dr_lee.clone()));
    store.set_owner(&dr_lee).unwrap();

    // Ids are not normalized: the composed and decomposed forms of "é" are different owners.
    assert_eq!(Owner::new(Role::Client, "\u{e9}"), Owner::new(Role::Client, "\u{e9}"));
    assert_ne!(Owner::new(Role::Client, "\u{e9}"), Owner::new(Role::Client, "e\u{301}"));

    // Local ids follow the rules of peer ids.
    assert_eq!(Owner::new(Role::Client, "").err(), Some(StoreError::InvalidInput("local id")));
    assert_eq!(Owner::new(Role::Client, "x".repeat(257)).err(), Some(StoreError::InvalidInput("local id")));
    assert!(Owner::new(Role::Client, "x".repeat(256)).is_ok());
    // Debug output names the role only.
    assert!(!format!("{dr_lee:?}").contains("dr-lee"));
}

fn local_identity(store: &dyn Store) {
    let mut r = rng(1);
    let me = IdentityKeyPair::generate(&mut r);
    store.set_local_identity(&me).unwrap();
    store.set_local_identity(&me).unwrap();
    let loaded = store.local_identity().unwrap().unwrap();
    assert_eq!(loaded.public_key(), me.public_key());
    assert_eq!(*loaded.to_seed(), *me.to_seed());
    let other = IdentityKeyPair::generate(&mut r);
    assert_eq!(store.set_local_identity(&other), Err(StoreError::LocalIdentityExists));
    assert_eq!(store.local_identity().unwrap().unwrap().public_key(), me.public_key());
}

fn prekeys(store: &dyn Store) {
    let mut r = rng(2);
    let me = IdentityKeyPair::generate(&mut r);
    let signed = SignedPrekey::generate(&mut r, PrekeyId(1), &me);
    let kem = KemPrekey::generate(&mut r, PrekeyId(2), &me);
    let one_time: Vec<_> = (10..13).map(|i| OneTimePrekey::generate(&mut r, PrekeyId(i))).collect();
    let mut batch = WriteBatch::new();
    batch.put_signed_prekey(&signed).put_kem_prekey(&kem);
    one_time.iter().for_each(|k| {
        batch.put_one_time_prekey(k);
    });
    store.apply(batch).unwrap();

    assert_eq!(*store.signed_prekey(PrekeyId(1)).unwrap().unwrap().to_bytes(), *signed.to_bytes());
    assert_eq!(*store.kem_prekey(PrekeyId(2)).unwrap().unwrap().to_bytes(), *kem.to_bytes());
    assert_eq!(*store.one_time_prekey(PrekeyId(11)).unwrap().unwrap().to_bytes(), *one_time[1].to_bytes());
    assert!(store.signed_prekey(PrekeyId(2)).unwrap().is_none(), "kinds are kept apart");
    assert_eq!(store.one_time_prekey_count().unwrap(), 3);

    let mut consume = WriteBatch::new();
    consume.consume_one_time_prekey(PrekeyId(11)).consume_kem_prekey(PrekeyId(2));
    store.apply(consume).unwrap();
    assert!(store.one_time_prekey(PrekeyId(11)).unwrap().is_none());
    assert!(store.kem_prekey(PrekeyId(2)).unwrap().is_none());
    assert_eq!(store.one_time_prekey_count().unwrap(), 2);

    // Consuming a prekey twice fails, and the rest of that batch is not applied.
    let p = peer("replayer");
    let mut again = WriteBatch::new();
    again.put_session(&p, None, b"state").unwrap().consume_one_time_prekey(PrekeyId(11));
    assert_eq!(store.apply(again), Err(StoreError::UnknownPrekey));
    assert!(store.session(&p).unwrap().is_none());

    let mut remove = WriteBatch::new();
    remove.remove_signed_prekey(PrekeyId(1)).remove_signed_prekey(PrekeyId(1)).remove_kem_prekey(PrekeyId(9));
    store.apply(remove).unwrap();
    assert!(store.signed_prekey(PrekeyId(1)).unwrap().is_none());
}

fn receive_batch(store: &dyn Store) {
    let mut r = rng(3);
    let alice = peer("alice");
    let alice_key = IdentityKeyPair::generate(&mut r).public_key();
    let mut setup = WriteBatch::new();
    setup.put_one_time_prekey(&OneTimePrekey::generate(&mut r, PrekeyId(5)));
    store.apply(setup).unwrap();

    // A first message: peer identity, consumed prekey, session state and message together.
    let mut batch = WriteBatch::new();
    batch
        .put_peer_identity(&alice, &alice_key)
        .consume_one_time_prekey(PrekeyId(5))
        .put_session(&alice, None, b"session after message 1")
        .unwrap()
        .put_message(message(1, &alice, 100, None, b"hello"))
        .unwrap();
    store.apply(batch).unwrap();
    assert_eq!(store.session(&alice).unwrap().unwrap().state.as_slice(), b"session after message 1");
    assert_eq!(store.message(&MessageId([1; 16])).unwrap().unwrap(), message(1, &alice, 100, None, b"hello"));
    assert_eq!(store.peer(&alice).unwrap().unwrap().identity, alice_key);
    assert_eq!(store.one_time_prekey_count().unwrap(), 0);

    // A queue of envelopes from two peers in one batch; the last session state wins. Each
    // session write names the version read before the batch.
    let bob = peer("bob");
    let mut queue = WriteBatch::new();
    for (i, who) in [(2u8, &alice), (3, &bob), (4, &alice)] {
        queue
            .put_session(who, session_version(store, who), &[i; 1000])
            .unwrap()
            .put_message(message(i, who, u64::from(i) * 100, None, &[i]))
            .unwrap();
    }
    store.apply(queue).unwrap();
    assert_eq!(store.session(&alice).unwrap().unwrap().state.as_slice(), &[4; 1000][..]);
    assert_eq!(store.session(&bob).unwrap().unwrap().state.as_slice(), &[3; 1000][..]);
    assert_eq!(store.messages(&alice).unwrap().len(), 3);
}

fn failed_batch_changes_nothing(store: &dyn Store) {
    let p = peer("carol");
    let mut first = WriteBatch::new();
    first.put_session(&p, None, b"v1").unwrap().put_message(message(1, &p, 1, None, b"one")).unwrap();
    store.apply(first).unwrap();

    let mut dup = WriteBatch::new();
    dup.put_session(&p, session_version(store, &p), b"v2")
        .unwrap()
        .put_message(message(2, &p, 2, None, b"two"))
        .unwrap()
        .delete_message(MessageId([1; 16]))
        .put_message(message(2, &p, 3, None, b"two again"))
        .unwrap();
    assert_eq!(store.apply(dup), Err(StoreError::MessageExists));
    assert_eq!(store.session(&p).unwrap().unwrap().state.as_slice(), b"v1");
    assert!(store.message(&MessageId([2; 16])).unwrap().is_none());
    assert!(store.message(&MessageId([1; 16])).unwrap().is_some());
}

fn trust(store: &dyn Store) {
    let mut r = rng(4);
    let p = peer("dana");
    let first = IdentityKeyPair::generate(&mut r).public_key();
    let second = IdentityKeyPair::generate(&mut r).public_key();
    assert_eq!(store.mark_verified(&p, &first, Timestamp(1)), Err(StoreError::UnknownPeer));

    let mut contact = WriteBatch::new();
    contact.put_peer_identity(&p, &first);
    store.apply(contact).unwrap();
    let unverified = PeerRecord { peer: p.clone(), identity: first, verification: Verification::Unverified };
    assert_eq!(store.peer(&p).unwrap(), Some(unverified.clone()));

    assert_eq!(store.mark_verified(&p, &second, Timestamp(5)), Err(StoreError::IdentityChanged));
    store.mark_verified(&p, &first, Timestamp(5)).unwrap();
    let verified = PeerRecord { verification: Verification::Verified { at: Timestamp(5) }, ..unverified };
    assert_eq!(store.peer(&p).unwrap(), Some(verified.clone()));

    // The same key again keeps the verification; a different key refuses the whole batch.
    let mut same = WriteBatch::new();
    same.put_peer_identity(&p, &first);
    store.apply(same).unwrap();
    let mut changed = WriteBatch::new();
    changed.put_session(&p, None, b"from the new key").unwrap().put_peer_identity(&p, &second);
    assert_eq!(store.apply(changed), Err(StoreError::IdentityChanged));
    assert!(store.session(&p).unwrap().is_none());
    assert_eq!(store.peer(&p).unwrap(), Some(verified.clone()));

    // Accepting the stored key changes nothing; accepting the new one resets verification.
    store.accept_identity(&p, &first).unwrap();
    assert_eq!(store.peer(&p).unwrap(), Some(verified));
    store.accept_identity(&p, &second).unwrap();
    let accepted = store.peer(&p).unwrap().unwrap();
    assert_eq!((accepted.identity, accepted.verification), (second, Verification::Unverified));
    let mut now_ok = WriteBatch::new();
    now_ok.put_peer_identity(&p, &second);
    store.apply(now_ok).unwrap();

    let q = peer("eve");
    store.accept_identity(&q, &first).unwrap();
    let names: Vec<_> = store.peers().unwrap().into_iter().map(|r| r.peer).collect();
    assert_eq!(names, vec![p, q]);
}

fn messages(store: &dyn Store) {
    let (a, b) = (peer("a"), peer("b"));
    let mut batch = WriteBatch::new();
    for (id, who, at) in [(5u8, &a, 30), (3, &a, 10), (4, &a, 10), (9, &b, 20)] {
        batch.put_message(message(id, who, at, None, &[id; 300])).unwrap();
    }
    store.apply(batch).unwrap();
    let ids: Vec<u8> = store.messages(&a).unwrap().iter().map(|m| m.id.0[0]).collect();
    assert_eq!(ids, vec![3, 4, 5], "ordered by time, then id");
    assert_eq!(store.messages(&b).unwrap(), vec![message(9, &b, 20, None, &[9; 300])]);

    let mut delete = WriteBatch::new();
    delete.delete_message(MessageId([4; 16])).delete_message(MessageId([77; 16]));
    store.apply(delete).unwrap();
    assert!(store.message(&MessageId([4; 16])).unwrap().is_none());
    assert_eq!(store.messages(&a).unwrap().len(), 2);
}

fn mark_read(store: &dyn Store) {
    let p = peer("reader");
    let mut batch = WriteBatch::new();
    batch.put_message(message(1, &p, 10, Some(1000), b"x")).unwrap();
    store.apply(batch).unwrap();
    let id = MessageId([1; 16]);

    store.mark_read(&id, Timestamp(20), None).unwrap();
    let m = store.message(&id).unwrap().unwrap();
    assert_eq!((m.read_at, m.expires_at), (Some(Timestamp(20)), Some(Timestamp(1000))));
    store.mark_read(&id, Timestamp(30), Some(Timestamp(90))).unwrap();
    let m = store.message(&id).unwrap().unwrap();
    assert_eq!((m.read_at, m.expires_at), (Some(Timestamp(30)), Some(Timestamp(90))));
    assert_eq!(store.purge_expired(Timestamp(89)).unwrap(), 0);
    assert_eq!(store.purge_expired(Timestamp(90)).unwrap(), 1);
    assert_eq!(store.mark_read(&id, Timestamp(40), None), Err(StoreError::UnknownMessage));
}

fn purge(store: &dyn Store) {
    let p = peer("purge");
    let mut batch = WriteBatch::new();
    for (id, expiry) in [(1u8, Some(10)), (2, Some(20)), (3, None), (4, Some(30)), (5, Some(10))] {
        batch.put_message(message(id, &p, 1, expiry, b"m")).unwrap();
    }
    store.apply(batch).unwrap();
    assert_eq!(store.purge_expired(Timestamp(9)).unwrap(), 0);
    assert_eq!(store.purge_expired(Timestamp(20)).unwrap(), 3);
    let left: Vec<u8> = store.messages(&p).unwrap().iter().map(|m| m.id.0[0]).collect();
    assert_eq!(left, vec![3, 4]);
    assert_eq!(store.purge_expired(Timestamp(u64::MAX)).unwrap(), 1);
    assert_eq!(store.messages(&p).unwrap().len(), 1);
}

fn sessions_and_agreements(store: &dyn Store) {
    let p = peer("frank");
    let mut batch = WriteBatch::new();
    batch
        .put_session(&p, None, b"one")
        .unwrap()
        .put_session(&p, None, b"two")
        .unwrap()
        .put_agreement(&p, StoredAgreement { version: 1, bytes: b"terms v1".to_vec().into() })
        .unwrap();
    store.apply(batch).unwrap();
    assert_eq!(store.session(&p).unwrap().unwrap().state.as_slice(), b"two");
    let agreement = store.agreement(&p).unwrap().unwrap();
    assert_eq!((agreement.version, agreement.bytes.as_slice()), (1, &b"terms v1"[..]));

    let mut next = WriteBatch::new();
    next.put_agreement(&p, StoredAgreement { version: 2, bytes: Vec::new().into() })
        .unwrap()
        .delete_session(&p);
    store.apply(next).unwrap();
    assert!(store.session(&p).unwrap().is_none());
    assert_eq!(store.agreement(&p).unwrap().unwrap().version, 2);
}

/// A session write names the version it replaces; a stale one fails and writes nothing.
fn session_writes_compare_and_swap(store: &dyn Store) {
    let p = peer("grace");
    let mut r = rng(12);
    let prekey = OneTimePrekey::generate(&mut r, PrekeyId(40));
    let mut setup = WriteBatch::new();
    setup.put_one_time_prekey(&prekey);
    store.apply(setup).unwrap();
    // What a stale batch carries besides its session write: none of it may be written.
    let stale_batch = |replaces, state: &[u8]| {
        let mut batch = WriteBatch::new();
        batch
            .put_message(message(90, &p, 1, None, b"from a stale state"))
            .unwrap()
            .consume_one_time_prekey(PrekeyId(40))
            .put_session(&p, replaces, state)
            .unwrap()
            .put_agreement(&p, StoredAgreement { version: 9, bytes: b"stale".to_vec().into() })
            .unwrap();
        batch
    };
    let unchanged = |expected: &Option<confidant::store::StoredSession>| {
        assert_eq!(&store.session(&p).unwrap(), expected);
        assert!(store.message(&MessageId([90; 16])).unwrap().is_none());
        assert_eq!(store.one_time_prekey_count().unwrap(), 1);
        assert!(store.agreement(&p).unwrap().is_none());
    };

    // A new session: `None` while there is none.
    let mut first = WriteBatch::new();
    first.put_session(&p, None, b"state 1").unwrap();
    store.apply(first).unwrap();
    let v1 = store.session(&p).unwrap().unwrap();
    assert_eq!(v1.state.as_slice(), b"state 1");
    // `None` once there is one: a conflict.
    assert_eq!(store.apply(stale_batch(None, b"another first state")), Err(StoreError::Conflict));
    unchanged(&Some(v1.clone()));

    // The next state names the version read; every write gives a new version, even of the same
    // bytes, so a writer that read state 1 cannot write after state 1 was written again.
    let mut next = WriteBatch::new();
    next.put_session(&p, Some(v1.version), b"state 1").unwrap();
    store.apply(next).unwrap();
    let v2 = store.session(&p).unwrap().unwrap();
    assert_eq!(v2.state, v1.state);
    assert_ne!(v2.version, v1.version);
    assert_eq!(
        store.apply(stale_batch(Some(v1.version), b"state 2 from state 1")),
        Err(StoreError::Conflict)
    );
    unchanged(&Some(v2.clone()));

    // Reading does not change the version; other writes do not either.
    assert_eq!(store.session(&p).unwrap().unwrap().version, v2.version);
    let mut other = WriteBatch::new();
    other
        .put_message(message(91, &p, 2, None, b"unrelated"))
        .unwrap()
        .put_session(&peer("heidi"), None, b"h")
        .unwrap();
    store.apply(other).unwrap();
    store.accept_identity(&p, &IdentityKeyPair::generate(&mut r).public_key()).unwrap();
    assert_eq!(store.session(&p).unwrap().unwrap().version, v2.version);

    // Two writes of one session in one batch both name the version read before the batch.
    let mut twice = WriteBatch::new();
    twice.put_session(&p, Some(v2.version), b"state 3").unwrap();
    let mut appended = WriteBatch::new();
    appended.put_session(&p, Some(v2.version), b"state 4").unwrap();
    twice.append(appended);
    store.apply(twice).unwrap();
    let v4 = store.session(&p).unwrap().unwrap();
    assert_eq!(v4.state.as_slice(), b"state 4");

    // A deleted session: a writer that read it conflicts; a new session names `None`.
    let mut delete = WriteBatch::new();
    delete.delete_session(&p);
    store.apply(delete).unwrap();
    assert_eq!(store.apply(stale_batch(Some(v4.version), b"state 5")), Err(StoreError::Conflict));
    unchanged(&None);
    let mut fresh = WriteBatch::new();
    fresh.put_session(&p, None, b"a new session").unwrap();
    store.apply(fresh).unwrap();
    assert_eq!(store.session(&p).unwrap().unwrap().state.as_slice(), b"a new session");
    // A version from another peer's session names nothing here.
    let heidi = store.session(&peer("heidi")).unwrap().unwrap().version;
    assert_eq!(store.apply(stale_batch(Some(heidi), b"x")).err(), Some(StoreError::Conflict));
    // And the debug output of a stored session shows no state.
    let debug = format!("{v4:?}");
    assert!(!debug.contains("115, 116, 97, 116, 101") && !debug.contains("state 4"), "{debug}");
}

fn bad_input(store: &dyn Store) {
    let p = peer("limits");
    let mut batch = WriteBatch::new();
    let huge = vec![0u8; confidant::store::consts::MAX_SESSION_LEN + 1];
    assert_eq!(batch.put_session(&p, None, &huge).err(), Some(StoreError::InvalidInput("session state")));
    let mut late = message(1, &p, 1, None, b"");
    late.at = Timestamp(u64::MAX);
    assert_eq!(batch.put_message(late).err(), Some(StoreError::InvalidInput("timestamp")));
    assert!(batch.is_empty());
    assert_eq!(confidant::store::PeerId::new("").err(), Some(StoreError::InvalidInput("peer id")));
    assert!(confidant::store::PeerId::new("x".repeat(257)).is_err());

    let mut ok = WriteBatch::new();
    ok.put_message(message(1, &p, 1, None, b"")).unwrap();
    store.apply(ok).unwrap();
    let id = MessageId([1; 16]);
    assert_eq!(store.mark_read(&id, Timestamp(u64::MAX), None), Err(StoreError::InvalidInput("timestamp")));
    assert_eq!(store.message(&id).unwrap().unwrap().read_at, None);
}

/// The ids of a page, in the order returned.
fn page_ids(page: &confidant::store::MessagePage) -> Vec<u8> {
    page.entries
        .iter()
        .map(|entry| match entry {
            PageEntry::Message(m) => m.id.0[0],
            PageEntry::Damaged(d) => panic!("no damaged record expected: {d:?}"),
        })
        .collect()
}

fn pages(store: &dyn Store) {
    let p = peer("paged");
    let other = peer("other");
    let mut batch = WriteBatch::new();
    // Ids 1..=9 at times 10, 20, ...; ids 10 and 11 share time 50 with id 5; one message of
    // another peer in between.
    for id in 1..=9u8 {
        batch.put_message(message(id, &p, u64::from(id) * 10, None, b"m")).unwrap();
    }
    batch.put_message(message(10, &p, 50, None, b"m")).unwrap();
    batch.put_message(message(11, &p, 50, None, b"m")).unwrap();
    batch.put_message(message(12, &other, 45, None, b"m")).unwrap();
    store.apply(batch).unwrap();

    // The newest page first, oldest first within it.
    let first = store.messages_page(&p, None, 3).unwrap();
    assert_eq!(page_ids(&first), vec![7, 8, 9]);
    assert_eq!(first.next, Some(Timestamp(70)));
    // A page never splits a timestamp: asking for 2 before 70 gives all three rows at 50 too.
    let second = store.messages_page(&p, first.next, 2).unwrap();
    assert_eq!(page_ids(&second), vec![5, 10, 11, 6]);
    assert_eq!(second.next, Some(Timestamp(50)));
    let third = store.messages_page(&p, second.next, 10).unwrap();
    assert_eq!(page_ids(&third), vec![1, 2, 3, 4]);
    assert_eq!(third.next, None, "a short page is the last one");
    // All pages together are the conversation, each message once, and nothing of another peer.
    let mut all: Vec<u8> = [third, second, first].iter().flat_map(page_ids).collect();
    all.sort_unstable();
    assert_eq!(all, (1..=11).collect::<Vec<u8>>());
    assert_eq!(page_ids(&store.messages_page(&other, None, 5).unwrap()), vec![12]);
    assert!(store.messages_page(&peer("nobody"), None, 5).unwrap().entries.is_empty());
    // Limits are checked.
    let max = confidant::store::consts::MAX_PAGE_LEN;
    assert!(matches!(store.messages_page(&p, None, 0), Err(StoreError::InvalidInput(_))));
    assert!(matches!(store.messages_page(&p, None, max + 1), Err(StoreError::InvalidInput(_))));
    assert!(matches!(
        store.messages_page(&p, Some(Timestamp(u64::MAX)), 1),
        Err(StoreError::InvalidInput(_))
    ));
    // Purged messages leave the pages.
    let mut expiring = WriteBatch::new();
    expiring.put_message(message(13, &p, 95, Some(100), b"m")).unwrap();
    store.apply(expiring).unwrap();
    assert_eq!(page_ids(&store.messages_page(&p, None, 1).unwrap()), vec![13]);
    store.purge_expired(Timestamp(100)).unwrap();
    assert_eq!(page_ids(&store.messages_page(&p, None, 1).unwrap()), vec![9]);
}

fn replace_message_and_conversation(store: &dyn Store) {
    let p = peer("replaced");
    let mut batch = WriteBatch::new();
    batch.put_message(message(1, &p, 10, None, b"before")).unwrap();
    store.apply(batch).unwrap();
    let mut replace = WriteBatch::new();
    replace
        .replace_message(message(1, &p, 20, Some(30), b"after"))
        .unwrap()
        .put_conversation(&p, b"state")
        .unwrap();
    store.apply(replace).unwrap();
    let stored = store.message(&MessageId([1; 16])).unwrap().unwrap();
    assert_eq!((&stored.body[..], stored.at), (&b"after"[..], Timestamp(20)));
    assert_eq!(store.conversation(&p).unwrap().as_deref().map(|v| v.as_slice()), Some(&b"state"[..]));
    assert_eq!(page_ids(&store.messages_page(&p, None, 5).unwrap()), vec![1]);
    // Replacing a message that is not stored, or under another peer, fails and writes nothing.
    let mut missing = WriteBatch::new();
    missing
        .put_conversation(&p, b"other state")
        .unwrap()
        .replace_message(message(2, &p, 1, None, b"x"))
        .unwrap();
    assert_eq!(store.apply(missing), Err(StoreError::UnknownMessage));
    let mut moved = WriteBatch::new();
    moved.replace_message(message(1, &peer("someone else"), 1, None, b"x")).unwrap();
    assert_eq!(store.apply(moved), Err(StoreError::UnknownMessage));
    assert_eq!(store.conversation(&p).unwrap().as_deref().map(|v| v.as_slice()), Some(&b"state"[..]));
    assert_eq!(store.conversation(&peer("nobody")).unwrap(), None);
    let too_long = vec![0u8; confidant::store::consts::MAX_CONVERSATION_LEN + 1];
    assert!(matches!(WriteBatch::new().put_conversation(&p, &too_long), Err(StoreError::InvalidInput(_))));
}
