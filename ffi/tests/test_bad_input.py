"""Bad input raises the documented exceptions, all subclasses of `confidant.ConfidantError`, and
changes nothing: wrong passphrase, garbage and tampered envelopes, replays, malformed bundles and
ids, operations out of turn, and random bytes at every entry point that takes bytes."""

import os
import random

import pytest

from conftest import C, agree, deliver, draft, open_client, open_clinician, terms


def test_a_wrong_passphrase_or_key_opens_nothing(tmp_path):
    path = str(tmp_path / "device.db")
    del_me = C.Endpoint.open(path, "right", C.Role.CLIENT, "sam")
    del del_me
    with pytest.raises(C.ConfidantError.WrongPassphrase):
        C.Endpoint.open(path, "wrong", C.Role.CLIENT, "sam")
    with pytest.raises(C.ConfidantError.WrongPassphrase):
        C.Endpoint.open_with_key(path, bytes(32), C.Role.CLIENT, "sam")
    with pytest.raises(C.ConfidantError.InvalidInput):
        C.Endpoint.open_with_key(str(tmp_path / "other.db"), bytes(31), C.Role.CLIENT, "sam")
    with pytest.raises(C.ConfidantError.InvalidInput):
        C.Endpoint.open(str(tmp_path / "third.db"), "right", C.Role.CLIENT, "")
    # A file that is not a store.
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database" * 100)
    with pytest.raises(C.ConfidantError.Store):
        C.Endpoint.open(str(junk), "right", C.Role.CLIENT, "sam")


def test_a_platform_key_opens_what_it_created(tmp_path):
    path, key = str(tmp_path / "keyed.db"), os.urandom(32)
    first = C.Endpoint.open_with_key(path, key, C.Role.CLINICIAN, "dr-lee")
    identity = first.identity_key()
    del first
    assert C.Endpoint.open_with_key(path, key, C.Role.CLINICIAN, "dr-lee").identity_key() == identity


def test_garbage_tampered_and_replayed_envelopes_change_nothing(pair):
    clinician, client = pair
    sent = client.send("dr-lee", draft(C.Category.APPOINTMENT_CONFIRM, "Confirmed"))
    envelope = sent.envelope
    with pytest.raises(C.ConfidantError.Malformed):
        clinician.receive("sam", b"garbage")
    with pytest.raises(C.ConfidantError.Malformed):
        clinician.receive("sam", b"")
    tampered = bytearray(envelope)
    tampered[-1] ^= 1
    with pytest.raises(C.ConfidantError.DecryptionFailed):
        clinician.receive("sam", bytes(tampered))
    # The genuine envelope still decrypts, once.
    assert clinician.receive("sam", envelope).received.message.text == "Confirmed"
    with pytest.raises(C.ConfidantError.Duplicate):
        clinician.receive("sam", envelope)
    # Another peer's name: there is no session with it.
    with pytest.raises(C.ConfidantError.NoSession):
        clinician.receive("alex", envelope)


def test_malformed_bundles_ids_and_peers_are_refused(pair):
    clinician, client = pair
    with pytest.raises(C.ConfidantError.Malformed):
        clinician.start_session("alex", b"\x01not a bundle")
    bundle = bytearray(client.prekey_bundle())
    bundle[len(bundle) // 2] ^= 0x40
    with pytest.raises((C.ConfidantError.Malformed, C.ConfidantError.HandshakeFailed)):
        clinician.start_session("alex", bytes(bundle))
    with pytest.raises(C.ConfidantError.InvalidInput):
        clinician.send("", draft(C.Category.APPOINTMENT_REMINDER, "x"))
    with pytest.raises(C.ConfidantError.InvalidInput):
        clinician.send("x" * 300, draft(C.Category.APPOINTMENT_REMINDER, "x"))
    with pytest.raises(C.ConfidantError.InvalidInput):
        client.mark_read("dr-lee", b"short")
    with pytest.raises(C.ConfidantError.UnknownMessage):
        client.mark_read("dr-lee", bytes(16))
    with pytest.raises(C.ConfidantError.InvalidInput):
        client.send("dr-lee", draft(C.Category.APPOINTMENT_CONFIRM, "x", reply_to=b"123"))
    with pytest.raises(C.ConfidantError.UnknownPeer):
        client.safety_number("alex")
    with pytest.raises(C.ConfidantError.UnknownPeer):
        client.verify_peer("alex", b"")


def test_operations_out_of_turn_are_refused(tmp_path):
    clinician, client = open_clinician(str(tmp_path)), open_client(str(tmp_path))
    with pytest.raises(C.ConfidantError.NoSession):
        clinician.send("sam", draft(C.Category.APPOINTMENT_REMINDER, "Hello"))
    with pytest.raises(C.ConfidantError.NoSession):
        clinician.propose_agreement("sam", terms())
    clinician.start_session("sam", client.prekey_bundle())
    with pytest.raises(C.ConfidantError.NoAgreement):
        clinician.send("sam", draft(C.Category.APPOINTMENT_REMINDER, "Hello"))
    with pytest.raises(C.ConfidantError.WrongRole):
        client.propose_agreement("dr-lee", terms())
    with pytest.raises(C.ConfidantError.ProposalNotOpen):
        client.accept_agreement("dr-lee", bytes(16))
    with pytest.raises(C.ConfidantError.WrongRole):
        clinician.accept_agreement("sam", bytes(16))
    bad_zone = terms()
    bad_zone.time_zone = "Mars/Olympus_Mons"
    with pytest.raises(C.ConfidantError.AgreementRefused):
        clinician.propose_agreement("sam", bad_zone)
    too_short = terms()
    too_short.lifespans = [C.CategoryLifespan(category=C.Category.CHECK_IN, duration_ms=1000, from_read=False)]
    with pytest.raises(C.ConfidantError.AgreementRefused):
        clinician.propose_agreement("sam", too_short)
    no_crisis_line = terms()
    no_crisis_line.crisis_resources = []
    with pytest.raises(C.ConfidantError.AgreementRefused):
        clinician.propose_agreement("sam", no_crisis_line)
    agree(clinician, client, terms())
    # Categories only the library sends are not drafts.
    with pytest.raises(C.ConfidantError.InvalidContent):
        client.send("dr-lee", draft(C.Category.RECEIPT, "forged receipt"))
    # After all that, the conversation works.
    assert deliver(client, "dr-lee", clinician, "sam", C.Category.APPOINTMENT_CONFIRM, "Still here").text == (
        "Still here"
    )


def test_random_bytes_at_every_entry_point_raise_confidant_errors_only(pair):
    clinician, client = pair
    generator = random.Random(20260302)
    genuine = client.send("dr-lee", draft(C.Category.APPOINTMENT_CONFIRM, "Genuine")).envelope
    for round_ in range(300):
        length = generator.choice([0, 1, 2, 16, 32, 64, 200, 1200, 5000])
        noise = bytes(generator.getrandbits(8) for _ in range(length))
        if round_ % 3 == 0 and genuine:
            # Genuine bytes with a few flipped, or cut short.
            mutated = bytearray(genuine)
            for _ in range(generator.randint(1, 4)):
                mutated[generator.randrange(len(mutated))] ^= 1 << generator.randrange(8)
            noise = bytes(mutated[: generator.randint(1, len(mutated))])
        calls = [
            lambda: clinician.receive("sam", noise),
            lambda: clinician.start_session("alex", noise),
            lambda: client.accept_agreement("dr-lee", noise),
            lambda: client.mark_read("dr-lee", noise),
            lambda: client.verify_peer("dr-lee", noise),
            lambda: client.send("dr-lee", draft(C.Category.APPOINTMENT_CONFIRM, "x", reply_to=noise)),
        ]
        for call in calls:
            try:
                call()
            except C.ConfidantError:
                pass
        items = clinician.receive_batch("sam", [noise, noise[::-1]])
        assert all(isinstance(item, (C.BatchItem.FAILED, C.BatchItem.RECEIVED)) for item in items)
    # The genuine envelope was never consumed by the noise: it decrypts now.
    assert clinician.receive("sam", genuine).received.message.text == "Genuine"
