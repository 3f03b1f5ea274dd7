"""Regression campaign: the API against its own OpenAPI document (issue 10).

Schemathesis reads ``/api/v1/openapi.json`` from the WSGI app and generates
requests from it (the request bodies and parameters are the pydantic models
that parse them), authenticated with a bearer token; every response must be
no server error and must match the document (status, content type, schema).
Bounded and deterministic: a fixed number of examples per operation, derandomized.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests import factories as f
from workflow.accounts import tokens
from workflow.reforms import requests as req

# Server errors and answers the document does not describe. Not "a schema-valid
# request is accepted": a cursor is opaque (a made-up one is rightly a 400) and
# a task action's refusal depends on the task's state, not on the schema.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]

EXAMPLES = 80  # per operation and audience; the whole run stays within a minute


def some_requests(db, world) -> None:
    """Enterprise requests for the request routes to answer with rows (the
    lists and, for the small ids generated, the requests themselves): one
    waiting, one arranged to alice's department, one solved and rated."""
    users = world["users"]
    rows = [req.raise_request(db, actor=users[who], now=f.at("2026-03-02", 8 + n), kind=kind,
                              title=f"诉求{n}")
            for n, (who, kind) in enumerate([("acme", "power"), ("other", "road"),
                                             ("acme", "land")])]
    for row in rows[1:]:
        req.arrange(db, row.id, actor=users["lead"], now=f.at("2026-03-02", 12),
                    department="nature_resources")
    req.solve(db, rows[2].id, actor=users["alice"], now=f.at("2026-03-02", 14), text="已解决")
    req.rate(db, rows[2].id, actor=users["acme"], now=f.at("2026-03-02", 15), rating="satisfied")


@pytest.mark.parametrize("username", ["lead", "alice"])
def test_the_api_answers_as_its_document_says(app, world, db, clock, username):
    some_requests(db, world)
    _row, token = tokens.issue_token(db, world["users"][username], name="schemathesis",
                                     now=clock.moment)
    db.commit()
    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 4
    assert {"GET /api/v1/requests", "GET /api/v1/requests/{request_id}"} <= {
        f"{o.method.upper()} {o.path}" for o in operations}
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def conforms(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        conforms()
