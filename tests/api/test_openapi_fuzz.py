"""Schemathesis drives the API from its own OpenAPI document: no 5xx, no status the document
does not list, no body that breaks its schema.

It runs programmatically (one hypothesis search per operation) rather than through its pytest
plugin, which does not support the pytest version pinned here.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from api.handler import serve
from localdev.apigw import ApiGateway
from tests.api.conftest import TOKEN, ApiFactory
from tests.scenarios.claude_scripts import draft

EXAMPLES_PER_OPERATION = 30


def test_api_never_fails_and_keeps_its_schema(make_api: ApiFactory) -> None:
    api = make_api(lambda _: draft("fuzzed"))
    gateway = ApiGateway(
        [("/", lambda event, ctx: serve(api.resolver, event, ctx))], lambda _: None
    )
    schema = schemathesis.openapi.from_wsgi("/openapi.json", gateway)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5

    for operation in operations:

        @given(operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case: Any) -> None:
            case.call_and_validate(
                headers={"Authorization": f"Bearer {TOKEN}"},
                checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
            )

        exercise()
