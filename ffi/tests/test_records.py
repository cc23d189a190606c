"""An exported conversation is a valid FHIR R4 Bundle of Communication resources, as the
fhir.resources models (FHIR 4.0.1) read it, with the project's code system and links; the
client's transcript holds the conversation and nothing else."""

import json

import pytest
from fhir.resources import __fhir_version__ as FHIR_VERSION
from fhir.resources.bundle import Bundle

import confidant
from conftest import deliver, draft

C = confidant
CATEGORY_SYSTEM = "urn:confidant:fhir:message-category"


def conversation(clinician, client):
    """The client asks, the clinician answers in reply; returns both message ids."""
    asked = deliver(client, "dr-lee", clinician, "sam", C.Category.APPOINTMENT_RESCHEDULE, "Can we move <it>?")
    sent = clinician.send("sam", draft(C.Category.APPOINTMENT_CONFIRM, "Yes: Friday at 10.", asked.id))
    assert client.receive("dr-lee", sent.envelope).received.message.reply_to == asked.id
    return asked.id, sent.message_id


def test_the_models_are_fhir_r4():
    assert FHIR_VERSION == "4.0.1"


def test_the_clinicians_export_is_a_valid_r4_bundle(pair):
    clinician, client = pair
    asked, answered = conversation(clinician, client)
    exported = clinician.export_record("sam", None)
    bundle = Bundle.parse_raw(exported)
    assert bundle.type == "collection"
    resources = [entry.resource for entry in bundle.entry]
    assert [r.resource_type for r in resources] == ["Communication", "Communication"]
    assert [r.id for r in resources] == [asked.hex(), answered.hex()]
    first, second = resources
    assert first.status == "completed"
    assert first.category[0].coding[0].system == CATEGORY_SYSTEM
    assert first.category[0].coding[0].code == "appointment-reschedule"
    assert first.sender.type == "Patient" and first.sender.identifier.value == "sam"
    assert first.recipient[0].type == "Practitioner" and first.recipient[0].identifier.value == "dr-lee"
    assert first.payload[0].contentString == "Can we move <it>?"
    assert first.sent is not None and first.received is not None
    assert first.extension[0].url == "urn:confidant:fhir:agreement-version"
    assert first.extension[0].valueUnsignedInt == 1
    # The reply points to its original's entry in the same bundle.
    assert second.inResponseTo[0].reference == bundle.entry[0].fullUrl
    # The export is recorded in the audit trail (with the agreement signed before it).
    assert clinician.audit_log_len() == 2


def test_the_clients_copy_validates_and_a_selection_keeps_only_its_messages(pair):
    clinician, client = pair
    asked, answered = conversation(clinician, client)
    bundle = Bundle.parse_raw(client.export_record("dr-lee", [answered]))
    assert [entry.resource.id for entry in bundle.entry] == [answered.hex()]
    assert bundle.entry[0].resource.inResponseTo[0].identifier.value == asked.hex()
    with pytest.raises(C.ConfidantError.UnknownMessage):
        client.export_record("dr-lee", [bytes(16)])


def test_a_bundle_that_breaks_the_model_is_refused(pair):
    """The check can fail: the same export with a required element removed, or an element FHIR
    does not define, does not validate."""
    clinician, client = pair
    conversation(clinician, client)
    exported = json.loads(clinician.export_record("sam", None))
    del exported["entry"][0]["resource"]["status"]
    with pytest.raises(Exception):
        Bundle.parse_obj(exported)
    exported = json.loads(clinician.export_record("sam", None))
    exported["entry"][0]["resource"]["text_of_message"] = "not a FHIR element"
    with pytest.raises(Exception):
        Bundle.parse_obj(exported)


def test_the_transcript_holds_the_conversation_and_nothing_else(pair):
    clinician, client = pair
    asked, answered = conversation(clinician, client)
    text = client.export_transcript("dr-lee", None, False)
    assert "Can we move <it>?" in text and "Yes: Friday at 10." in text
    assert asked.hex() not in text and answered.hex() not in text
    html = client.export_transcript("dr-lee", None, True)
    assert "Can we move &lt;it&gt;?" in html and "<it>" not in html and "<script" not in html
