"""What the Python tests share: two devices, each with its own store file in a temporary
directory, and the steps that take them from first contact to an agreement in force."""

import os

import pytest

import confidant

C = confidant
CLINICIAN_PASS = "the clinician's device passphrase"
CLIENT_PASS = "the client's device passphrase"
EVERY_DAY = [
    C.Weekday.MONDAY,
    C.Weekday.TUESDAY,
    C.Weekday.WEDNESDAY,
    C.Weekday.THURSDAY,
    C.Weekday.FRIDAY,
    C.Weekday.SATURDAY,
    C.Weekday.SUNDAY,
]


def open_clinician(directory):
    return C.Endpoint.open(os.path.join(directory, "clinician.db"), CLINICIAN_PASS, C.Role.CLINICIAN, "dr-lee")


def open_client(directory):
    return C.Endpoint.open(os.path.join(directory, "client.db"), CLIENT_PASS, C.Role.CLIENT, "sam")


def terms(client_may_send=None):
    """The usual terms, with office hours all day every day, so that the system clock never puts a
    message outside them."""
    if client_may_send is None:
        client_may_send = [
            C.Category.APPOINTMENT_CONFIRM,
            C.Category.APPOINTMENT_RESCHEDULE,
            C.Category.APPOINTMENT_CANCEL,
        ]
    return C.usual_terms(
        1,
        "America/New_York",
        EVERY_DAY,
        0,
        24 * 60,
        "I reply within one business day.",
        ["Call or text 988 (Suicide & Crisis Lifeline)"],
        client_may_send,
    )


def agree(clinician, client, agreed_terms):
    """Session from the client's bundle, then the agreement proposed, accepted and in force."""
    clinician.start_session("sam", client.prekey_bundle())
    proposal = clinician.propose_agreement("sam", agreed_terms)
    proposed = client.receive("dr-lee", proposal).received
    assert isinstance(proposed, C.Received.AGREEMENT_PROPOSED)
    acceptance = client.accept_agreement("dr-lee", proposed.id)
    accepted = clinician.receive("sam", acceptance).received
    assert isinstance(accepted, C.Received.AGREEMENT_ACCEPTED) and accepted.version == agreed_terms.version
    return proposed


def draft(category, text, reply_to=None):
    return C.Draft(category=category, text=text, reply_to=reply_to)


def deliver(sender, sender_peer, receiver, receiver_peer, category, text):
    """Sends `text` and receives it; returns the received message."""
    sent = sender.send(sender_peer, draft(category, text))
    assert sent.envelope is not None, sent.decision
    received = receiver.receive(receiver_peer, sent.envelope).received
    assert isinstance(received, C.Received.MESSAGE), received
    return received.message


@pytest.fixture
def pair(tmp_path):
    """A clinician and a client with the usual agreement in force, on files in `tmp_path`."""
    clinician, client = open_clinician(str(tmp_path)), open_client(str(tmp_path))
    agree(clinician, client, terms())
    return clinician, client
