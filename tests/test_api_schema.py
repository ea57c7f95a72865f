"""schemathesis against the OpenAPI document, in-process over ASGI: no 5xx, no answer that
breaks its documented schema, every status code documented. Bounded examples per operation."""

from __future__ import annotations

import atexit
import tempfile
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from api_kit import running_api

pytestmark = pytest.mark.slow

# One app for the module, started at import (schemathesis needs the app to build the cases;
# its lifespan is entered here and left at exit).
_dir = tempfile.TemporaryDirectory()
_running = running_api(Path(_dir.name) / "rofr.db")
_api = next(_running)
atexit.register(_dir.cleanup)
atexit.register(lambda: next(_running, None))
HEADERS = _api.headers["admin"]
# The two contract uploads are left out: generating schema-valid contract documents costs
# ~9 s per operation, and both are exercised by test_api_rights and test_api_flow.
schema = schemathesis.openapi.from_asgi("/openapi.json", _api.client.app).exclude(
    method="POST", path_regex=r"^/v1/contract"
)


@schema.parametrize()
@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_answers_match_the_schema(case: Any) -> None:
    case.call_and_validate(
        headers=HEADERS,
        checks=[not_a_server_error, response_schema_conformance, status_code_conformance],
    )
