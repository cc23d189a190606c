"""Several devices per person through Python: a clinician's phone (primary) links a desktop in
person, the client takes the new signed device list, every message reaches every other device
exactly once, removing the desktop stops delivery, and a forged list is refused."""

import os

import pytest

import confidant
from conftest import CLINICIAN_PASS, agree, draft, open_client, open_clinician, terms

C = confidant


def open_desktop(directory):
    # A linked device is opened with its person's role and local id.
    return C.Endpoint.open(os.path.join(directory, "desktop.db"), CLINICIAN_PASS, C.Role.CLINICIAN, "dr-lee")


def link(primary, new, name):
    code = primary.offer_link()
    request = new.request_link(code, name)
    accepted = primary.accept_link(request)
    assert accepted.device == new.identity_key()
    new.complete_link(accepted.response)
    return accepted.devices


@pytest.fixture
def clinic(tmp_path):
    """Phone and desktop of the clinician, the client's phone, every session started, no
    agreement yet."""
    directory = str(tmp_path)
    phone, client, desktop = open_clinician(directory), open_client(directory), open_desktop(directory)
    devices = link(phone, desktop, "desktop")
    assert not desktop.is_primary() and phone.is_primary()
    assert desktop.person_key() == phone.identity_key()
    change = client.update_devices("dr-lee", devices)
    assert change.added == [desktop.identity_key()] and change.version == 2
    phone.start_session("sam", client.prekey_bundle())
    client.start_session("dr-lee", desktop.prekey_bundle())
    desktop.start_session("sam", client.prekey_bundle())
    desktop.start_session("dr-lee", phone.prekey_bundle())
    phone.start_session("dr-lee", desktop.prekey_bundle())
    return phone, desktop, client


def deliver_outbox(sender, sender_person, devices):
    """Hands every envelope in `sender`'s outbox to its device; returns what each received."""
    received = []
    for delivery in sender.take_outbox():
        target = devices[bytes(delivery.device)]
        received.append((target, target.receive_from(sender_person, sender.identity_key(), delivery.envelope).received))
    return received


def conversation(device, peer):
    return [(entry.direction, entry.text) for entry in device.history(peer) if entry.text.startswith("from")]


def test_every_message_reaches_every_other_device_once_and_histories_agree(clinic):
    phone, desktop, client = clinic
    devices = {bytes(d.identity_key()): d for d in (phone, desktop, client)}
    # The agreement: proposed on the phone (a copy goes to the desktop), accepted by the client
    # (its acceptance goes to both clinician devices).
    proposal = phone.propose_agreement("sam", terms())
    synced = deliver_outbox(phone, "dr-lee", devices)
    assert [type(r) for _, r in synced] == [C.Received.SYNCED]
    proposed = client.receive("dr-lee", proposal).received
    acceptance = client.accept_agreement("dr-lee", proposed.id)
    assert isinstance(phone.receive("sam", acceptance).received, C.Received.AGREEMENT_ACCEPTED)
    on_desktop = deliver_outbox(client, "sam", devices)
    assert [(t is desktop, type(r)) for t, r in on_desktop] == [(True, C.Received.AGREEMENT_ACCEPTED)]

    sent = phone.send("sam", draft(C.Category.APPOINTMENT_REMINDER, "from the phone"))
    assert isinstance(client.receive("dr-lee", sent.envelope).received, C.Received.MESSAGE)
    assert [type(r) for _, r in deliver_outbox(phone, "dr-lee", devices)] == [C.Received.SYNCED]

    sent = desktop.send("sam", draft(C.Category.APPOINTMENT_REMINDER, "from the desktop"))
    received = client.receive_from("dr-lee", desktop.identity_key(), sent.envelope).received
    assert isinstance(received, C.Received.MESSAGE)
    copies = deliver_outbox(desktop, "dr-lee", devices)
    assert [(t is phone, type(r)) for t, r in copies] == [(True, C.Received.SYNCED)]

    sent = client.send("dr-lee", draft(C.Category.APPOINTMENT_CONFIRM, "from the client"))
    assert isinstance(phone.receive("sam", sent.envelope).received, C.Received.MESSAGE)
    others = deliver_outbox(client, "sam", devices)
    assert [(t is desktop, type(r)) for t, r in others] == [(True, C.Received.MESSAGE)]

    expected = [
        (C.Direction.OUTBOUND, "from the phone"),
        (C.Direction.OUTBOUND, "from the desktop"),
        (C.Direction.INBOUND, "from the client"),
    ]
    assert conversation(phone, "sam") == expected
    assert conversation(desktop, "sam") == expected
    flipped = {C.Direction.INBOUND: C.Direction.OUTBOUND, C.Direction.OUTBOUND: C.Direction.INBOUND}
    assert [(flipped[d], t) for d, t in conversation(client, "dr-lee")] == expected
    assert phone.take_outbox() == [] and desktop.take_outbox() == [] and client.take_outbox() == []


def test_removing_a_device_stops_delivery_and_its_messages_are_refused(clinic):
    phone, desktop, client = clinic
    agree(phone, client, terms())
    phone.take_outbox()
    client.take_outbox()
    devices = phone.remove_device(desktop.identity_key())
    change = client.update_devices("dr-lee", devices)
    assert change.removed == [desktop.identity_key()]
    client.send("dr-lee", draft(C.Category.APPOINTMENT_CONFIRM, "only to the phone"))
    assert client.take_outbox() == []
    with pytest.raises(C.ConfidantError.UnknownDevice):
        client.receive_from("dr-lee", desktop.identity_key(), b"anything")


def test_a_forged_or_replayed_list_is_refused(clinic):
    phone, desktop, client = clinic
    genuine = phone.own_devices()
    forged = bytearray(genuine)
    forged[-1] ^= 1
    with pytest.raises(C.ConfidantError.DeviceRefused):
        client.update_devices("dr-lee", bytes(forged))
    with pytest.raises(C.ConfidantError.DeviceRefused):
        client.update_devices("dr-lee", genuine)  # already stored: not newer
    assert len(client.devices("dr-lee")) == 2
    with pytest.raises(C.ConfidantError.NotPrimary):
        desktop.offer_link()


def test_the_readme_example_a_device_linked_after_the_agreement_gets_it_from_the_primary(tmp_path):
    """The README's linking example: the agreement is signed while the clinician has one device,
    and the desktop linked afterwards enforces it only once the primary has copied it."""
    directory = str(tmp_path)
    clinician, client = open_clinician(directory), open_client(directory)
    agree(clinician, client, terms())
    desktop = open_desktop(directory)
    request = desktop.request_link(clinician.offer_link(), "desktop")
    accepted = clinician.accept_link(request)
    desktop.complete_link(accepted.response)
    client.update_devices("dr-lee", accepted.devices)
    client.start_session("dr-lee", desktop.prekey_bundle())
    clinician.start_session("dr-lee", desktop.prekey_bundle())

    # Before the copy, the desktop has no agreement and refuses the client's message.
    client.send("dr-lee", draft(C.Category.APPOINTMENT_CONFIRM, "before the copy"))
    [early] = client.take_outbox()
    refused = desktop.receive_from("sam", client.identity_key(), early.envelope).received
    assert isinstance(refused, C.Received.REFUSED)

    with pytest.raises(C.ConfidantError.NotPrimary):
        desktop.sync_agreements(clinician.identity_key())
    with pytest.raises(C.ConfidantError.UnknownDevice):
        clinician.sync_agreements(client.identity_key())
    assert clinician.sync_agreements(desktop.identity_key()) == 1
    [copy] = clinician.take_outbox()
    assert copy.to == "dr-lee" and copy.device == desktop.identity_key()
    synced = desktop.receive_from("dr-lee", clinician.identity_key(), copy.envelope).received
    assert isinstance(synced, C.Received.AGREEMENT_SYNCED)
    assert (synced.peer, synced.version) == ("sam", 1)
    assert desktop.safety_number("sam").digits == clinician.safety_number("sam").digits
    with pytest.raises(C.ConfidantError):
        desktop.receive_from("dr-lee", clinician.identity_key(), copy.envelope)  # a replay

    sent = client.send("dr-lee", draft(C.Category.APPOINTMENT_CONFIRM, "Thursday is fine"))
    assert clinician.receive("sam", sent.envelope).received.message.text == "Thursday is fine"
    [delivery] = client.take_outbox()
    assert delivery.to == "dr-lee" and delivery.device == desktop.identity_key()
    received = desktop.receive_from("sam", client.identity_key(), delivery.envelope).received
    assert isinstance(received, C.Received.MESSAGE) and received.message.text == "Thursday is fine"


def test_each_link_step_forged_out_of_turn_or_repeated_is_refused_and_changes_nothing(tmp_path):
    directory = str(tmp_path)
    phone, desktop = open_clinician(directory), open_desktop(directory)
    with pytest.raises(C.ConfidantError.DeviceRefused):
        desktop.complete_link(b"\x01" * 64)  # no link requested
    with pytest.raises(C.ConfidantError.DeviceRefused):
        phone.accept_link(b"\x01" * 64)  # no offer open
    code = phone.offer_link()
    with pytest.raises(C.ConfidantError.DeviceRefused):
        desktop.request_link("not a link code", "desktop")
    with pytest.raises(C.ConfidantError.DeviceRefused):
        desktop.request_link(code, "")  # an empty name
    request = desktop.request_link(code, "desktop")
    tampered = bytearray(request)
    tampered[-1] ^= 1
    with pytest.raises(C.ConfidantError.DeviceRefused):
        phone.accept_link(bytes(tampered))
    assert phone.devices("dr-lee") == [phone.identity_key()]
    accepted = phone.accept_link(request)  # the refusal left the offer open
    with pytest.raises(C.ConfidantError.DeviceRefused):
        phone.accept_link(request)  # the offer is used
    answer = bytearray(accepted.response)
    answer[-1] ^= 1
    with pytest.raises(C.ConfidantError.DeviceRefused):
        desktop.complete_link(bytes(answer))
    assert desktop.is_primary()
    desktop.complete_link(accepted.response)
    assert not desktop.is_primary() and desktop.person_key() == phone.identity_key()
    assert sorted(desktop.devices("dr-lee")) == sorted([phone.identity_key(), desktop.identity_key()])

    # A linked device cannot be linked again; only the primary removes; keys are 32 bytes.
    with pytest.raises(C.ConfidantError.DeviceRefused):
        desktop.request_link(phone.offer_link(), "desktop")
    with pytest.raises(C.ConfidantError.NotPrimary):
        desktop.remove_device(desktop.identity_key())
    with pytest.raises(C.ConfidantError.DeviceRefused):
        phone.remove_device(phone.identity_key())  # the primary itself
    with pytest.raises(C.ConfidantError.InvalidInput):
        phone.remove_device(b"\x02" * 31)
    assert len(phone.devices("dr-lee")) == 2


def test_a_linked_device_takes_its_persons_newer_lists(clinic, tmp_path):
    phone, desktop, client = clinic
    laptop = C.Endpoint.open(str(tmp_path / "laptop.db"), CLINICIAN_PASS, C.Role.CLINICIAN, "dr-lee")
    added = link(phone, laptop, "laptop")
    change = desktop.update_own_devices(added)
    assert (change.version, change.added, change.removed) == (3, [laptop.identity_key()], [])
    assert laptop.identity_key() in desktop.devices("dr-lee")
    with pytest.raises(C.ConfidantError.DeviceRefused):
        desktop.update_own_devices(added)  # not newer
    removed = phone.remove_device(laptop.identity_key())
    forged = bytearray(removed)
    forged[-1] ^= 1
    with pytest.raises(C.ConfidantError.DeviceRefused):
        desktop.update_own_devices(bytes(forged))
    change = desktop.update_own_devices(removed)
    assert (change.version, change.added, change.removed) == (4, [], [laptop.identity_key()])
    assert laptop.identity_key() not in desktop.devices("dr-lee")


def test_a_batch_from_a_linked_device_receives_each_envelope_once(clinic):
    phone, desktop, client = clinic
    devices = {bytes(d.identity_key()): d for d in (phone, desktop, client)}
    proposal = phone.propose_agreement("sam", terms())
    deliver_outbox(phone, "dr-lee", devices)
    proposed = client.receive("dr-lee", proposal).received
    phone.receive("sam", client.accept_agreement("dr-lee", proposed.id))
    deliver_outbox(client, "sam", devices)

    envelopes = [desktop.send("sam", draft(C.Category.APPOINTMENT_REMINDER, t)).envelope for t in "abc"]
    tampered = bytearray(envelopes[1])
    tampered[-1] ^= 1
    batch = [envelopes[0], bytes(tampered), envelopes[1], envelopes[2]]
    with pytest.raises(C.ConfidantError.UnknownDevice):
        client.receive_batch_from("dr-lee", client.identity_key(), batch)
    items = client.receive_batch_from("dr-lee", desktop.identity_key(), batch)
    assert [type(item) for item in items] == [
        C.BatchItem.RECEIVED,
        C.BatchItem.FAILED,
        C.BatchItem.RECEIVED,
        C.BatchItem.RECEIVED,
    ]
    assert [i.incoming.received.message.text for i in items if isinstance(i, C.BatchItem.RECEIVED)] == list("abc")
    texts = [entry.text for entry in client.history("dr-lee")]
    assert [texts.count(t) for t in "abc"] == [1, 1, 1]
