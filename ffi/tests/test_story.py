"""The whole story through the Python package, against real store files: bundle, session,
agreement, allowed and refused messages, out-of-order and batched delivery, replays, and closing
and reopening both stores."""

import gc

import pytest

from conftest import (
    C,
    CLIENT_PASS,
    agree,
    deliver,
    draft,
    open_client,
    open_clinician,
    terms,
)


def test_a_clinician_and_a_client_from_first_contact_to_reopening_their_stores(tmp_path):
    directory = str(tmp_path)
    clinician, client = open_clinician(directory), open_client(directory)
    assert clinician.role() == C.Role.CLINICIAN and client.role() == C.Role.CLIENT
    assert len(clinician.identity_key()) == 32 and clinician.identity_key() != client.identity_key()

    # The agreement: proposed by the clinician, read and accepted by the client.
    proposed = agree(clinician, client, terms())
    assert proposed.terms.time_zone == "America/New_York"
    assert proposed.terms.client_may_send == terms().client_may_send
    assert proposed.terms.crisis_resources == ["Call or text 988 (Suicide & Crisis Lifeline)"]
    assert len(proposed.id) == 16

    # Safety numbers: the same on both devices; each scans the other's.
    on_clinician, on_client = clinician.safety_number("sam"), client.safety_number("dr-lee")
    assert on_clinician.digits == on_client.digits and len(on_clinician.digits) == 60
    assert clinician.verify_peer("sam", on_client.scannable)
    assert client.verify_peer("dr-lee", on_clinician.scannable)
    assert not client.verify_peer("dr-lee", bytes(len(on_clinician.scannable)))

    # Within the agreement: sent, received, shown.
    sent = client.send("dr-lee", draft(C.Category.APPOINTMENT_CONFIRM, "See you Thursday at 3pm"))
    assert isinstance(sent.decision, C.Decision.ALLOWED)
    assert isinstance(sent.envelope, bytes) and len(sent.message_id) == 16
    incoming = clinician.receive("sam", sent.envelope)
    message = incoming.received.message
    assert message.text == "See you Thursday at 3pm"
    assert message.category == C.Category.APPOINTMENT_CONFIRM
    assert message.id == sent.message_id
    assert isinstance(message.decision, C.Decision.ALLOWED)
    assert incoming.preview is not None and "Thursday" not in incoming.preview

    # Outside it: refused on the client's device, with the reason and what is allowed instead.
    refused = client.send("dr-lee", draft(C.Category.CHECK_IN, "Can we talk tonight?"))
    assert refused.envelope is None and refused.message_id is None
    assert isinstance(refused.decision, C.Decision.OUT_OF_SCOPE)
    assert isinstance(refused.decision.reason, C.OutOfScopeReason.CATEGORY_NOT_AGREED)
    assert C.Category.APPOINTMENT_CONFIRM in refused.decision.allowed_categories
    assert refused.decision.crisis_resources == ["Call or text 988 (Suicide & Crisis Lifeline)"]
    too_long = client.send("dr-lee", draft(C.Category.APPOINTMENT_CONFIRM, "x" * 1001))
    assert isinstance(too_long.decision.reason, C.OutOfScopeReason.TOO_LONG)
    assert too_long.decision.reason.max_chars == 1000

    # These terms offer no crisis support by message: the draft is not sent, and the crisis
    # resources are shown at once with the clinician's statement (test_boundaries.py has more).
    crisis = client.send("dr-lee", draft(C.Category.CRISIS, "I am not safe tonight"))
    assert isinstance(crisis.decision, C.Decision.CRISIS_NOT_SENT) and crisis.envelope is None
    assert crisis.decision.crisis_resources == ["Call or text 988 (Suicide & Crisis Lifeline)"]

    # A reply that names the message it answers.
    reply = client.send("dr-lee", draft(C.Category.APPOINTMENT_RESCHEDULE, "Can we move it?", message.id))
    assert clinician.receive("sam", reply.envelope).received.message.reply_to == message.id

    # Out of order: three envelopes arrive last first; each decrypts once, with its own text.
    texts = ["Reminder: Thursday", "Reminder: bring the form", "Reminder: parking is free"]
    envelopes = [clinician.send("sam", draft(C.Category.APPOINTMENT_REMINDER, t)).envelope for t in texts]
    for index in (2, 0, 1):
        assert client.receive("dr-lee", envelopes[index]).received.message.text == texts[index]
    # A replay of any of them is refused, and changes nothing.
    with pytest.raises(C.ConfidantError.Duplicate):
        client.receive("dr-lee", envelopes[0])

    # A batch: each envelope gets its own result; the bad ones change nothing.
    first = clinician.send("sam", draft(C.Category.APPOINTMENT_DIRECTIONS, "Second floor")).envelope
    second = clinician.send("sam", draft(C.Category.ADMINISTRATIVE, "The invoice is ready")).envelope
    items = client.receive_batch("dr-lee", [second, b"\x01garbage", first, second])
    assert [type(item) for item in items] == [
        C.BatchItem.RECEIVED,
        C.BatchItem.FAILED,
        C.BatchItem.RECEIVED,
        C.BatchItem.FAILED,
    ]
    assert items[0].incoming.received.message.text == "The invoice is ready"
    assert items[2].incoming.received.message.text == "Second floor"
    assert isinstance(items[1].error, C.ConfidantError.Malformed)
    assert isinstance(items[3].error, C.ConfidantError.Duplicate)

    # Reading: no receipt under these terms; reading again changes nothing.
    assert client.mark_read("dr-lee", items[0].incoming.received.message.id) is None
    assert client.mark_read("dr-lee", items[0].incoming.received.message.id) is None

    history = client.history("dr-lee")
    read = [entry for entry in history if entry.read_at_ms is not None]
    assert [entry.text for entry in read] == ["The invoice is ready"]
    sent_texts = [entry.text for entry in history if entry.direction == C.Direction.OUTBOUND]
    assert "See you Thursday at 3pm" in sent_texts and "Can we talk tonight?" not in sent_texts
    before = {(entry.id, entry.text) for entry in clinician.history("sam")}

    # Close both stores (drop the last reference) and open them again with the same passphrases.
    del clinician, client, incoming, items
    gc.collect()
    with pytest.raises(C.ConfidantError.WrongPassphrase):
        C.Endpoint.open(str(tmp_path / "client.db"), "not " + CLIENT_PASS, C.Role.CLIENT, "sam")
    with pytest.raises(C.ConfidantError.OwnerMismatch):
        C.Endpoint.open(str(tmp_path / "client.db"), CLIENT_PASS, C.Role.CLINICIAN, "sam")
    clinician, client = open_clinician(directory), open_client(directory)
    assert {(entry.id, entry.text) for entry in clinician.history("sam")} == before
    assert clinician.safety_number("sam").digits == on_client.digits

    # The sessions and the agreement survived: the conversation goes on both ways.
    assert deliver(client, "dr-lee", clinician, "sam", C.Category.APPOINTMENT_CANCEL, "I must cancel").text == (
        "I must cancel"
    )
    assert deliver(clinician, "sam", client, "dr-lee", C.Category.APPOINTMENT_REMINDER, "Noted").text == "Noted"
    with pytest.raises(C.ConfidantError.Duplicate):
        client.receive("dr-lee", envelopes[2])
