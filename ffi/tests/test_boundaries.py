"""Boundaries through the Python package: crisis support as a signed term, with its safe default,
and the clinician's own words shown with a refused crisis draft."""

from conftest import C, agree, deliver, draft, open_client, open_clinician, terms

STATEMENT = "I don't monitor messages for emergencies."


def test_a_crisis_draft_is_refused_with_the_clinicians_statement_and_the_resources(tmp_path):
    clinician, client = open_clinician(str(tmp_path)), open_client(str(tmp_path))
    agreed = terms()
    agreed.crisis_statement = STATEMENT
    proposed = agree(clinician, client, agreed)
    assert proposed.terms.crisis_support == C.CrisisSupport.NONE
    assert proposed.terms.crisis_statement == STATEMENT

    refused = client.send("dr-lee", draft(C.Category.CRISIS, "I am not safe tonight"))
    assert refused.envelope is None and refused.message_id is None
    assert isinstance(refused.decision, C.Decision.CRISIS_NOT_SENT)
    assert refused.decision.statement == STATEMENT
    assert refused.decision.crisis_resources == ["Call or text 988 (Suicide & Crisis Lifeline)"]
    # Nothing else is held back: appointment matters still go through.
    assert deliver(client, "dr-lee", clinician, "sam", C.Category.APPOINTMENT_CONFIRM, "See you").text == "See you"


def test_crisis_support_in_office_hours_is_a_term_both_sign(tmp_path):
    clinician, client = open_clinician(str(tmp_path)), open_client(str(tmp_path))
    agreed = terms()
    agreed.crisis_support = C.CrisisSupport.OFFICE_HOURS
    agreed.client_messages_per_day = 5
    proposed = agree(clinician, client, agreed)
    assert proposed.terms.crisis_support == C.CrisisSupport.OFFICE_HOURS
    assert proposed.terms.client_messages_per_day == 5
    # The office hours of these terms are all day, every day.
    message = deliver(client, "dr-lee", clinician, "sam", C.Category.CRISIS, "I am not safe tonight")
    assert message.category == C.Category.CRISIS
    assert isinstance(message.decision, C.Decision.CRISIS)
