"""Expiry on the system clock: the bindings take no clock, so these tests agree the shortest
lifespan the library allows (one minute, `confidant::consts::MIN_LIFESPAN_MS`) and wait for it."""

import time

import pytest

from conftest import C, agree, draft, open_client, open_clinician, terms

MIN_LIFESPAN_MS = 60_000


def test_messages_expire_and_purging_deletes_them(tmp_path):
    clinician, client = open_clinician(str(tmp_path)), open_client(str(tmp_path))
    short = terms(client_may_send=[C.Category.CHECK_IN, C.Category.APPOINTMENT_CONFIRM])
    short.lifespans = [C.CategoryLifespan(category=C.Category.CHECK_IN, duration_ms=MIN_LIFESPAN_MS, from_read=False)]
    proposed = agree(clinician, client, short)
    assert proposed.terms.lifespans == short.lifespans

    # A check-in lives one minute; an appointment confirmation the default 30 days.
    delivered = client.send("dr-lee", draft(C.Category.CHECK_IN, "Checking in"))
    held_back = client.send("dr-lee", draft(C.Category.CHECK_IN, "Delayed in transit"))
    lasting = client.send("dr-lee", draft(C.Category.APPOINTMENT_CONFIRM, "Confirmed"))
    sent_at = time.time()
    message = clinician.receive("sam", delivered.envelope).received.message
    assert message.expires_at_ms is not None and message.expires_at_ms - message.received_at_ms <= MIN_LIFESPAN_MS
    clinician.receive("sam", lasting.envelope)
    assert {e.text for e in clinician.history("sam")} >= {"Checking in", "Confirmed"}
    assert clinician.purge_expired() == 0

    time.sleep(max(0.0, sent_at + MIN_LIFESPAN_MS / 1000 + 1.5 - time.time()))

    # Gone from the history at once, purge or not; the envelope still in transit arrives expired.
    assert "Checking in" not in {e.text for e in clinician.history("sam")}
    assert not {"Checking in", "Delayed in transit"} & {e.text for e in client.history("dr-lee")}
    late = clinician.receive("sam", held_back.envelope).received
    assert isinstance(late, C.Received.EXPIRED) and late.id == held_back.message_id
    with pytest.raises(C.ConfidantError.MessageExpired):
        clinician.mark_read("sam", message.id)

    # Purging deletes them from both stores; what has not expired stays.
    assert clinician.purge_expired() == 1
    assert client.purge_expired() == 2
    assert clinician.purge_expired() == 0
    assert [e.text for e in clinician.history("sam") if e.category != C.Category.AGREEMENT] == ["Confirmed"]
    with pytest.raises(C.ConfidantError.UnknownMessage):
        clinician.mark_read("sam", message.id)
