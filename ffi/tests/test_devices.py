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
