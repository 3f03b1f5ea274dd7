"""Every route has one rule of ``workflow.core.permissions`` (or is public),
and each route lets in exactly the roles it let in before the rules moved
into the engine: a new route without a rule, or a rule that drifts, fails here.
The requests themselves (403, the login redirect, the API's JSON) are
exercised by the cross-role tests of each area."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from web.support.access import is_public
from workflow.core import permissions

ROLES = ("agent", "lead", "enterprise", "supervisor", "admin")
EVERYONE = frozenset(ROLES)
ADMIN = frozenset({"admin"})
STEERING = frozenset({"admin", "lead", "supervisor"})
LEADERSHIP = frozenset({"lead", "admin"})
ENTERPRISE = frozenset({"enterprise"})
STAFF = frozenset({"agent", "lead", "supervisor", "admin"})
HOLDERS = frozenset({"agent", "lead"})

PUBLIC = {"auth.root", "auth.login", "auth.login_code", "auth.set_language", "portal.lookup",
          "api.openapi",
          # The one-click unsubscribe of digest emails: the secret is in the URL.
          "account.unsubscribe_page", "account.unsubscribe"}

# Who each route let in when the pages listed roles themselves (roles_required,
# the admin blueprint's gate, the API's role check); anything else was any
# signed-in user, with the object's own check inside the view.
WHO = {
    "api.inbox": HOLDERS, "api.overdue": STEERING,
    "chemicals.rules": STEERING, "chemicals.export": STEERING, "chemicals.screening": STAFF,
    "chemicals.screen": LEADERSHIP, "chemicals.review": LEADERSHIP, "chemicals.mark": LEADERSHIP,
    **{f"chemicals.{name}": ADMIN for name in (
        "create_rule", "rule", "save_rule", "delete_rule", "create_chemical", "chemical",
        "save_chemical", "delete_chemical", "import_table", "create_class", "chemical_class",
        "save_class", "delete_class")},
    "auth.two_factor": STAFF, "auth.recovery_codes": STAFF,
    "commitments.sign": ENTERPRISE, "commitments.promise": ENTERPRISE,
    # The mandate: the enterprise answers it; a lead handler records a paper
    # signature (the engine narrows it to the project's lead handlers).
    "documents.sign": ENTERPRISE, "documents.decline": ENTERPRISE, "documents.paper": LEADERSHIP,
    "commitments.credit": ADMIN, "commitments.clear": ADMIN,
    "desk.index": LEADERSHIP,
    # Projects predicted to miss their agreement (issue 13, 2): the supervision pages' rule.
    "gantt.misses": STEERING, "gantt.export_misses": STEERING,
    # 包联: the leadership view; a plan's edits (the engine narrows them to the project's lead).
    "baolian.plans": STEERING,
    **{f"baolian.{name}": LEADERSHIP for name in ("start", "team", "add", "reschedule", "remove", "done")},
    "inbox.index": HOLDERS,
    # Lists (issue 12): bulk claim from the queue, bulk assign on the desk; saved
    # filters for the staff (each page's own rule is checked inside); search for all.
    "lists.bulk_claim": HOLDERS, "lists.bulk_assign": LEADERSHIP,
    "lists.save_filter": STAFF, "lists.delete_filter": STAFF,
    "intentions.ledger": STEERING, "intentions.export": STEERING, "intentions.pipeline": STEERING,
    **{f"intentions.{name}": LEADERSHIP for name in ("create", "follow_up", "update", "convert")},
    **{f"land.{name}": STEERING for name in (
        "parcels", "parcel", "checkpoints", "figures", "export_figures")},
    **{f"land.{name}": ADMIN for name in (
        "create_parcel", "update_parcel", "set_indicator", "remove_indicator",
        "attach_evaluation", "detach_evaluation", "save_evaluation")},
    **{f"portal.{name}": ENTERPRISE for name in ("index", "project", "upload", "supplied",
                                                  "comment", "request_item")},
    # Enterprise requests and visits (issue 14, 3): the enterprise's side in its
    # portal; the staff read them, those who meet enterprises record them, the
    # leadership arranges them, the steering reads the figures.
    **{f"requests.{name}": ENTERPRISE for name in (
        "portal_list", "portal_raise", "portal_detail", "portal_rate", "portal_withdraw")},
    **{f"requests.{name}": STAFF for name in ("index", "export", "detail", "visits", "visit")},
    **{f"requests.{name}": frozenset({"agent", "lead", "admin"}) for name in (
        "staff_raise", "feedback", "solve", "close", "record_visit", "visit_request")},
    "requests.arrange": LEADERSHIP, "requests.classify": LEADERSHIP,
    "requests.figures": STEERING,
    # The staff's own routes of a project or task (issue 10: an enterprise
    # posted an internal comment through them); the enterprise has its portal.
    **{name: STAFF for name in ("inbox.act", "cases.comment", "cases.upload", "cases.lifecycle",
                                "portal.issue_access_code")},
    # What the zone pays (issue 14): supervisors read, admins (and the finance
    # office, a flag on a staff account, tests/test_fees.py) change.
    **{f"fees.{name}": frozenset({"supervisor", "admin"}) for name in (
        "ledger", "projects", "parcels", "export", "contracts", "contract", "subsidies")},
    **{f"fees.{name}": ADMIN for name in (
        "set_budget", "set_finance", "create_contract", "update_contract", "add_invoice",
        "add_payment", "remove_payment", "propose_subsidy", "decide_subsidy")},
    # The workload forecast (issue 13): admins; leads see theirs on the desk.
    "workload.index": ADMIN, "workload.set_capacity": ADMIN,
}
WHOLE_BLUEPRINTS = {"admin": ADMIN, "supervision": STEERING}


def _rule_of(app, endpoint: str):
    view = app.view_functions[endpoint]
    blueprint = app.blueprints.get(endpoint.rpartition(".")[0])
    return getattr(view, "access_rule", None) or getattr(blueprint, "access_rule", None)


def _endpoints(app) -> list[str]:
    return sorted({r.endpoint for r in app.url_map.iter_rules() if r.endpoint != "static"})


def test_every_route_has_a_rule_of_the_engine_or_is_public(app):
    missing, foreign = [], []
    for endpoint in _endpoints(app):
        rule = _rule_of(app, endpoint)
        if is_public(app.view_functions[endpoint]):
            assert endpoint in PUBLIC, f"{endpoint} is public: add it to PUBLIC if it must be"
            assert rule is None, f"{endpoint} is both public and gated"
        elif rule is None:
            missing.append(endpoint)
        elif getattr(rule, "__module__", None) != permissions.__name__:
            foreign.append(endpoint)
    assert not missing, ("routes without a rule: gate them with web.support.access.requires("
                         f"permissions.can_…) or mark them public: {missing}")
    assert not foreign, f"routes gated by a rule outside workflow.core.permissions: {foreign}"
    assert PUBLIC <= set(_endpoints(app))


@pytest.mark.parametrize("role", ROLES)
def test_each_route_lets_in_the_roles_it_always_did(app, role):
    user = SimpleNamespace(role=role, active=True, id=1, enterprise_id=1, memberships=[],
                           finance_office=False)
    for endpoint in _endpoints(app):
        if endpoint in PUBLIC:
            continue
        expected = WHO.get(endpoint) or WHOLE_BLUEPRINTS.get(endpoint.partition(".")[0], EVERYONE)
        assert _rule_of(app, endpoint)(user) is (role in expected), (endpoint, role)


def test_no_rule_lets_in_an_inactive_account(app):
    for endpoint in _endpoints(app):
        if endpoint not in PUBLIC:
            for role in ROLES:
                user = SimpleNamespace(role=role, active=False, id=1, enterprise_id=1,
                                       memberships=[], finance_office=True)
                assert not _rule_of(app, endpoint)(user), (endpoint, role)


def test_a_refused_page_is_403_and_an_anonymous_one_goes_to_the_login(app, as_user):
    client, _token = as_user("alice")
    assert client.get("/desk").status_code == 403
    assert client.get("/admin/users").status_code == 403
    anonymous = app.test_client()
    response = anonymous.get("/desk")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    response = anonymous.get("/admin/users")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_api_refuses_in_its_json_shape(app, as_user):
    client, _token = as_user("acme")
    response = client.get("/api/v1/supervision/overdue")
    assert response.status_code == 403 and response.json["error"] == "forbidden"
    response = app.test_client().get("/api/v1/inbox")
    assert response.status_code == 401 and response.json["error"] == "unauthorized"
    assert app.test_client().get("/api/v1/openapi.json").status_code == 200
