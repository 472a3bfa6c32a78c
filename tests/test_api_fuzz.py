"""A schemathesis run against the OpenAPI document: generated requests never get a 500."""
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
    assert len(operations) == 6
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def call(case):
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            assert response.status_code < 500, (case.method, case.path, case.body, response.text[:500])

        call()
