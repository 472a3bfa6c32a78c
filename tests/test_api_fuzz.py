"""A schemathesis run against the OpenAPI document: generated requests never get a 500."""
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from .helpers import make_lodging

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_generated_requests_never_get_a_server_error(app, operator, offices):
    from plugins.push_api.tokens import create_token

    token = create_token(make_lodging(operator), "Fuzzer", operator)
    app.config["API_RATE_LIMIT"] = "100000 per minute"
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 7  # validateStay included
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def call(case):
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            assert response.status_code < 500, (case.method, case.path, case.body, response.text[:500])

        call()


def test_generated_requests_get_only_the_answers_the_document_describes(app, operator, offices):
    """Every schemathesis check on each operation's answers (status codes, content types, bodies,
    headers, Allow, auth), derandomized and bounded: the same examples on every run. Left out,
    with their reasons in docs/api.md: positive_data_acceptance (dates whose order the schema
    cannot state are refused with 422) and negative_data_rejection (the server is lenient where
    the schema is strict: lower-case or spaced document numbers, any script's letters in names)."""
    from schemathesis.core.failures import FailureGroup
    from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

    from plugins.push_api.tokens import create_token

    token = create_token(make_lodging(operator), "Fuzzer", operator)
    app.config["API_RATE_LIMIT"] = "100000 per minute"
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures = []
    for operation in [result.ok() for result in schema.get_all_operations()]:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck), database=None)
        def call(case):
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            try:
                case.validate_response(response, headers={"Authorization": f"Bearer {token}"},
                                       excluded_checks=[positive_data_acceptance, negative_data_rejection])
            except FailureGroup as failure:  # all of one answer's failures; collected so every operation is run
                failures.append(f"{case.method} {case.formatted_path}: {failure}"[:800])

        call()
    assert not failures, "\n".join(failures[:5])


def test_sequences_along_the_documents_links_get_only_described_answers(app, operator, offices):
    """Schemathesis' stateful run: it follows the document's links (a stay written by PUT is read,
    checked out and voided through its own external id) and runs every check on each answer.
    A PUT carries a valid stay made from its generated external id, so that sequences go past the
    first step (random bodies are the stateless tests' job, above); every later step's body and
    parameters are generated."""
    import hashlib
    from datetime import datetime, timezone

    from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

    from plugins.push_api.tokens import create_token

    from .test_api import stay_body

    app.config["API_RATE_LIMIT"] = "100000 per minute"
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    transitions, check_outs = [], []

    class Scenario(schema.as_state_machine()):
        def setup(self):
            # A fresh lodging per scenario: hypothesis replays a scenario to shrink it, and must
            # meet the same answers (a stay left by an earlier scenario would turn 201 into 200).
            token = create_token(make_lodging(operator), "Fuzzer", operator)
            self.headers = {"Authorization": f"Bearer {token}"}
            self.written = set()  # external ids this scenario's PUTs created
            check_outs.clear()  # the same scenario, replayed, must meet the same answers

        def before_call(self, case):
            if case.operation.definition.raw.get("operationId") == "putStay":
                # One document per external id: two ids never claim the same passport (409).
                digest = hashlib.sha256(case.path_parameters["external_id"].encode()).hexdigest()[:7].upper()
                case.body = stay_body(document__number=f"X{int(digest, 16) % 10**8:08d}")
            elif case.operation.definition.raw.get("operationId") == "checkOut":
                # The first check-out of a stay this scenario wrote (the link's target) at a time
                # after its check-in, so that one is accepted whatever hypothesis generates; every
                # other check-out keeps its generated body.
                external_id = case.path_parameters["external_id"]
                if external_id in self.written and external_id not in check_outs:
                    check_outs.append(external_id)
                    case.body = {"checked_out_at": datetime.now(timezone.utc).isoformat()}

        def after_call(self, response, case):
            super().after_call(response, case)
            transitions.append((case.operation.definition.raw.get("operationId"), response.status_code))
            if transitions[-1] == ("putStay", 201):
                self.written.add(case.path_parameters["external_id"])

        def get_call_kwargs(self, case):
            return {"headers": self.headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, headers=self.headers,
                                   excluded_checks=[positive_data_acceptance, negative_data_rejection])

    # Every answer of every round is checked. Which links a round happens to follow depends on
    # hypothesis' draws, and a draw changes with anything that shifts them (a dependency's version,
    # one more operation): one fixed run went from following all three links to missing getStay
    # with no change to the API. So the first round is the reproducible one (derandomized) and, if
    # it did not reach all three, up to three random rounds go on until they are reached.
    wanted = {("getStay", 200), ("checkOut", 200), ("voidStay", 200)}
    for round_number in range(4):
        Scenario.run(settings=settings(max_examples=80, stateful_step_count=6, deadline=None, derandomize=round_number == 0,
                                       suppress_health_check=list(HealthCheck), database=None))
        if wanted <= set(transitions):
            break
    assert wanted <= set(transitions), Counter(transitions)
