"""No room for misreading, through the Python package: history pages in the senders' order with
gaps, an acknowledgement, a correction and a recall, on both devices."""

import pytest

from conftest import C, deliver


def reminder(text, **extra):
    return C.Draft(category=C.Category.APPOINTMENT_REMINDER, text=text, **extra)


def messages(page):
    return [item.entry for item in page.items if isinstance(item, C.HistoryItem.MESSAGE)]


def test_pages_gaps_acknowledgement_correction_and_recall(pair):
    clinician, client = pair
    first = clinician.send("sam", reminder("Monday at 10"))
    second = clinician.send("sam", reminder("Bring the form", request_acknowledgement=True))
    # The second arrives first: the client's history shows a gap until the first arrives.
    client.receive("dr-lee", second.envelope)
    gaps = [i for i in client.history_page("dr-lee", None, 10).items if isinstance(i, C.HistoryItem.GAP)]
    assert [(g.first, g.last) for g in gaps] == [(1, 1)]
    client.receive("dr-lee", first.envelope)
    page = client.history_page("dr-lee", None, 10)
    assert not [i for i in page.items if isinstance(i, C.HistoryItem.GAP)]
    numbered = [m for m in messages(page) if m.sequence > 0]
    assert [m.id for m in numbered] == [first.message_id, second.message_id]

    # The acknowledgement comes back, receipts off as they are.
    ack = client.acknowledge("dr-lee", second.message_id)
    receipt = clinician.receive("sam", ack).received
    assert isinstance(receipt, C.Received.RECEIPT) and receipt.kind == C.ReceiptKind.ACKNOWLEDGED
    mine = [m for m in clinician.history("sam") if m.id == second.message_id][0]
    assert mine.ack_requested and mine.acknowledged_at_ms is not None
    with pytest.raises(C.ConfidantError.InvalidInput):
        client.acknowledge("dr-lee", second.message_id)

    # A correction keeps both messages, linked.
    fixed = clinician.send("sam", reminder("Tuesday at 10", corrects=first.message_id))
    client.receive("dr-lee", fixed.envelope)
    shown = {m.id: m for m in client.history("dr-lee")}
    assert shown[first.message_id].text == "Monday at 10"
    assert shown[first.message_id].corrected_by == fixed.message_id
    assert shown[fixed.message_id].corrects == first.message_id

    # A recall of an unread message deletes it and says so.
    recall = clinician.recall("sam", fixed.message_id)
    incoming = client.receive("dr-lee", recall)
    assert fixed.message_id not in [m.id for m in client.history("dr-lee")]
    clinician.receive("sam", incoming.replies[0])
    recalled = [m for m in clinician.history("sam") if m.id == fixed.message_id][0]
    assert recalled.recall == "deleted_unread"
    with pytest.raises(C.ConfidantError.InvalidInput):
        client.recall("dr-lee", first.message_id)

    # Pages put together are the whole history.
    older = client.history_page("dr-lee", None, 1)
    assert older.before_ms is not None
    rest = client.history_page("dr-lee", older.before_ms, 1000)
    assert messages(rest) + messages(older) == messages(client.history_page("dr-lee", None, 1000))
