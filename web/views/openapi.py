"""The OpenAPI 3.1 document of ``/api/v1``.

The request bodies and parameters are generated from the models that parse
them (``web.support.actions.INPUTS``, ``web.views.api.QUERIES``): one
declaration, no hand-written copy. The responses are described here. A test
checks that every ``/api/v1`` route Flask knows is described here and that
every path described here exists, and that the action enum and the body
schemas match ``web.support.actions.ACTIONS``: the document cannot drift unnoticed.
"""

from __future__ import annotations

import copy
from typing import Any

from web.support.actions import ACTIONS, INPUTS
from web.support.inputs import INT_MAX, Input
from workflow.models import TASK_STATES
from workflow.reforms.requests.models import (
    COMPLEXITIES,
    ESCALATION_STEPS,
    REQUEST_KINDS,
    REQUEST_RATINGS,
    REQUEST_SOURCES,
    REQUEST_STATES,
)

ERROR_CODES = ("invalid_input", "invalid_transition", "conflict", "not_permitted", "not_found",
               "no_eligible_agent", "csrf", "unauthorized", "forbidden", "bad_request",
               "method_not_allowed", "request_entity_too_large")

_DATE = {"type": "string", "format": "date"}


def _schemas_of(model: type[Input]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A model's JSON schema and the schemas it refers to, with references
    into the document's components."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    return schema, schema.pop("$defs", {})


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional parameter's schema: absent rather than null."""
    options = [o for o in schema.get("anyOf", []) if o.get("type") != "null"]
    if len(options) == 1:
        schema = {k: v for k, v in schema.items() if k != "anyOf"} | options[0]
    return {k: v for k, v in schema.items()
            if k not in ("title", "description") and not (k == "default" and v is None)}


def parameters(model: type[Input], where: str = "query") -> list[dict[str, Any]]:
    """The parameters a route reads, from the model that parses them."""
    schema, _defs = _schemas_of(model)
    required = set(schema.get("required", ()))
    out = []
    for name, prop in schema["properties"].items():
        parameter = {"name": name, "in": where, "required": where == "path" or name in required,
                     "schema": _not_null(prop)}
        if prop.get("description"):
            parameter["description"] = prop["description"]
        out.append(parameter)
    return out


# The JSON body each task action reads, by action name: the models of
# web.support.actions.INPUTS, which parse the bodies (and the pages' forms).
ACTION_BODIES: dict[str, dict[str, Any]] = {}
_DEFS: dict[str, Any] = {}
for _name, _model in INPUTS.items():
    ACTION_BODIES[_name], _more = _schemas_of(_model)
    _DEFS.update(_more)


def body_schema_name(action: str) -> str:
    """``request_materials`` → ``RequestMaterialsBody``."""
    return "".join(part.title() for part in action.split("_")) + "Body"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _error(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": _ref("Error")}}}


def _ok(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


_STRING_OR_NULL = {"type": ["string", "null"]}
_CURSOR = {"type": ["string", "null"], "description": "Pass as `cursor` to read the next "
           "(or previous) page; null at the end (or the start) of the list."}


def _page_of(schema: str, key: str = "tasks") -> dict[str, Any]:
    """One page of a list (its rows under ``key``): keyset pagination, so
    pages stay stable and cost the same however far one reads."""
    return {"type": "object", "required": [key, "count", "today", "limit", "next", "prev"],
            "properties": {key: {"type": "array", "items": _ref(schema)},
                           "count": {"type": "integer", "description": "Rows on this page."},
                           "today": _DATE, "limit": {"type": "integer"},
                           "next": _CURSOR, "prev": _CURSOR}}


_NAMED = {"type": "object", "required": ["code", "name_zh", "name_en"],
          "properties": {"code": {"type": "string"}, "name_zh": {"type": "string"},
                         "name_en": {"type": "string"}}}
_MOMENT_OR_NULL = {"type": ["string", "null"], "format": "date-time",
                   "description": "In the zone's time (+08:00); null until it happens."}
_DATE_OR_NULL = {"type": ["string", "null"], "format": "date"}
_LIGHT = {"type": ["string", "null"], "enum": ["green", "yellow", "red", "paused", None],
          "description": "green on track, yellow close to the limit, red overdue, paused "
                         "(clock stopped); null for blocked and closed tasks."}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object", "required": ["error", "message"],
        "properties": {
            "error": {"type": "string", "description": "A stable code, e.g. "
                      + ", ".join(f"`{c}`" for c in ERROR_CODES) + "."},
            "message": {"type": "string", "description": "A sentence saying why."},
            "details": {"type": "object", "additionalProperties": True,
                        "description": "Structured context: for `invalid_transition` the "
                                       "task's `state` and the events `allowed` now; for "
                                       "`conflict` the `expected` and `actual` versions."},
        },
    },
    "Named": _NAMED,
    "Task": {
        "type": "object",
        "required": ["id", "version", "project", "item", "state", "group", "department",
                     "assignee", "due_on", "due_provisional", "light", "working_days_left",
                     "actions"],
        "properties": {
            "id": {"type": "integer"},
            "version": {"type": "integer", "description": "Send it back as `version`."},
            "project": {"type": "object", "properties": {
                "code": {"type": "string"}, "name": {"type": "string"},
                "enterprise": {"type": "string"}}},
            "item": _ref("Named"),
            "state": {"type": "string", "enum": list(TASK_STATES)},
            "group": _ref("Named"),
            "department": _ref("Named"),
            "assignee": _STRING_OR_NULL | {"description": "Username of the assignee."},
            "accepted_on": _STRING_OR_NULL | {"format": "date", "description":
                                               "The department's 受理 (its statutory clock's "
                                               "start), once recorded."},
            "due_on": _STRING_OR_NULL | {"format": "date", "description":
                                         "The due date of the clock that runs now (`clock`)."},
            "clock": {"type": ["string", "null"], "enum": ["service", "statutory", None],
                      "description": "`service`: the agent prepares (the zone's promise, "
                                     "代办); `statutory`: the department decides (the legal "
                                     "limit from its 受理, 部门)."},
            "whose_time": {"type": ["string", "null"],
                           "enum": ["agent", "department", "enterprise", None],
                           "description": "Whose time runs now (none: paused or stopped)."},
            "clocks": {"type": "object", "description": "Both clocks of the item.",
                       "properties": {name: _ref("Clock") for name in ("service", "statutory")}},
            "due_provisional": {"type": "boolean", "description":
                                "The due date falls in a year whose holiday schedule is not "
                                "published yet (weekends only); it will be recomputed."},
            "light": _LIGHT,
            "working_days_left": {"type": ["integer", "null"],
                                  "description": "Negative when overdue."},
            "closed_on": _STRING_OR_NULL | {"format": "date"},
            "actions": {"type": "array", "items": _ref("ActionName"),
                        "description": "What the caller may do now."},
        },
    },
    "OverdueTask": {"allOf": [_ref("Task"), {
        "type": "object", "required": ["days_late"],
        "properties": {"days_late": {"type": "integer", "minimum": 0,
                                     "description": "Working days past the due date."}}}]},
    "TaskList": _page_of("Task"),
    "OverdueList": _page_of("OverdueTask"),
    "Project": {
        "type": "object",
        "required": ["code", "name", "enterprise", "industry", "group", "lead", "stage",
                     "definition_version", "light", "tasks"],
        "properties": {
            "code": {"type": "string", "description": "项目代码"},
            "name": {"type": "string"}, "enterprise": {"type": "string"},
            "industry": {"type": "string"}, "group": _ref("Named"),
            "lead": _STRING_OR_NULL | {"description": "Username of the lead handler (领办人)."},
            "stage": {"type": "string"}, "definition_version": {"type": "string"},
            "light": {"type": "string", "enum": ["green", "yellow", "red", "paused"],
                      "description": "The worst light of the project's tasks."},
            "version": {"type": "integer"},
            "tasks": {"type": "array", "items": _ref("Task")},
            "prediction": _ref("Prediction"),
        },
    },
    "Prediction": {
        "type": "object",
        "required": ["code", "as_of", "stale", "stale_reason", "provisional", "critical_item",
                     "milestones", "items"],
        "properties": {
            "code": {"type": "string", "description": "项目代码"},
            "as_of": _STRING_OR_NULL | {"format": "date-time", "description": (
                "When the prediction was made; null for a project that no longer moves "
                "(not predicted).")},
            "stale": {"type": "boolean", "description": (
                "The project changed since (or the day passed): the scheduler's sweep will "
                "redo it.")},
            "stale_reason": {"type": ["string", "null"], "enum": ["changed", "day", None],
                             "description": (
                "Why it is stale: the project changed since it was made (changed), or some of "
                "its dates held only until a day now gone (day: e.g. an overdue item expected "
                "that day); null when it is current.")},
            "provisional": {"type": "boolean", "description": (
                "Some date runs through a year whose holiday schedule is not published yet.")},
            "critical_item": _STRING_OR_NULL | {"description": (
                "The item code that holds the project up now (the critical path's first open "
                "item).")},
            "milestones": {"type": "object", "description": (
                "By milestone: ready_to_start, started, completed, producing, at_capacity."),
                "additionalProperties": _ref("PredictedMilestone")},
            "items": {"type": "array", "items": _ref("PredictedItem"),
                      "description": "Each open item, in the definition's order."},
        },
    },
    "PredictedMilestone": {
        "type": "object", "required": ["planned_on", "predicted_on", "reached"],
        "properties": {
            "planned_on": _STRING_OR_NULL | {"format": "date", "description": (
                "The promotion plan's date (包联), else the investment agreement's.")},
            "planned_source": {"type": ["string", "null"],
                               "enum": ["agreement", "default", "lead", None]},
            "predicted_on": _STRING_OR_NULL | {"format": "date", "description": (
                "Predicted; the actual date once reached.")},
            "reached": {"type": "boolean"},
        },
    },
    "PredictedItem": {
        "type": "object",
        "required": ["item", "predicted_start", "predicted_end", "released", "critical",
                     "provisional", "basis"],
        "properties": {
            "item": {"type": "string", "description": "Item code."},
            "predicted_start": {**_DATE, "description": "Expected opening (the actual "
                                                         "release once released)."},
            "predicted_end": {**_DATE, "description": "Expected closing."},
            "released": {"type": "boolean"}, "critical": {"type": "boolean"},
            "provisional": {"type": "boolean"},
            "basis": {"type": "string", "enum": ["history", "limit"], "description": (
                "`history`: the zone's median handling times; `limit`: the legal limits.")},
        },
    },
    "ServiceRequest": {
        "type": "object",
        "description": "An enterprise request (企业诉求) handled on the 13710 rhythm: "
                       "arranged the same working day, feedback within 3 working days, "
                       "solved within 7 (ordinary) or a month (complex).",
        "required": ["id", "version", "title", "kind", "source", "status", "complexity",
                     "enterprise", "department", "submitted_at", "submitted_on",
                     "arrange_due_on", "feedback_due_on", "solve_due_on", "due_on",
                     "overdue_steps", "rating"],
        "properties": {
            "id": {"type": "integer", "description": "The request's number (编号)."},
            "version": {"type": "integer"},
            "title": {"type": "string"}, "text": {"type": "string"},
            "kind": {"type": "string", "enum": list(REQUEST_KINDS)},
            "source": {"type": "string", "enum": list(REQUEST_SOURCES)},
            "status": {"type": "string", "enum": list(REQUEST_STATES)},
            "complexity": {"type": "string", "enum": list(COMPLEXITIES)},
            "enterprise": {"type": "object", "required": ["id", "name", "credit_code"],
                           "properties": {"id": {"type": "integer"}, "name": {"type": "string"},
                                          "credit_code": _STRING_OR_NULL}},
            "department": {"anyOf": [_ref("Named"), {"type": "null"}],
                           "description": "The responsible department (责任部门); null "
                                          "until the request is arranged."},
            "submitted_at": {"type": "string", "format": "date-time",
                             "description": "In the zone's time (+08:00)."},
            "submitted_on": {**_DATE, "description": "The zone's date of `submitted_at`."},
            "arrange_due_on": _DATE, "feedback_due_on": _DATE,
            "solve_due_on": _DATE,
            "due_on": _DATE_OR_NULL | {"description": "The current step's due date; null "
                                                      "once solved."},
            "overdue_steps": {"type": "array",
                              "items": {"type": "string", "enum": list(ESCALATION_STEPS)},
                              "description": "The 13710 steps overdue today (`today` of "
                                             "the list), as the escalation counts them."},
            "arranged_at": _MOMENT_OR_NULL, "arrangement": {"type": "string"},
            "feedback_at": _MOMENT_OR_NULL, "feedback": {"type": "string"},
            "solved_at": _MOMENT_OR_NULL, "solution": {"type": "string"},
            "reopened_times": {"type": "integer", "minimum": 0},
            "rating": {"type": ["string", "null"], "enum": [*REQUEST_RATINGS, None],
                       "description": "The enterprise's rating of the outcome, once rated."},
            "rating_comment": {"type": "string"},
            "rated_at": _MOMENT_OR_NULL, "closed_at": _MOMENT_OR_NULL,
        },
    },
    "ServiceRequestList": _page_of("ServiceRequest", key="requests"),
    "ActionName": {"type": "string", "enum": sorted(ACTIONS)},
    "Clock": {
        "type": "object",
        "properties": {
            "started_on": _STRING_OR_NULL | {"format": "date", "description": (
                "The first (uncounted) day: the release (service); the 受理, or the "
                "submission while it is not recorded (statutory).")},
            "due_on": _STRING_OR_NULL | {"format": "date"},
            "stopped_on": _STRING_OR_NULL | {"format": "date", "description": (
                "The submission (service); the decision (statutory).")},
            "paused_days": {"type": "integer", "description": "In the limit's own unit."},
            "extension_days": {"type": "integer", "description": "In the limit's own unit."},
        },
    },
    "ActionResult": {
        "type": "object", "required": ["task"],
        "properties": {
            "task": _ref("Task"),
            "request_id": {"type": "integer", "description": "The materials or extension "
                           "request created or decided (request_materials, "
                           "request_extension, decide_extension)."},
            "comment_id": {"type": "integer", "description": "The comment created (comment)."},
        },
    },
} | {body_schema_name(name): body for name, body in ACTION_BODIES.items()} | _DEFS


_UNAUTHORIZED = _error("Not logged in, or the bearer token is unknown or revoked.")


def _paths() -> dict[str, Any]:
    from web.views.api import PATHS, QUERIES  # the API renders this document: import late

    bodies = ", ".join(f"`{a}` → `{body_schema_name(a)}`" for a in sorted(ACTION_BODIES))
    return {
        "/api/v1/openapi.json": {"get": {
            "operationId": "openapi", "summary": "This document.", "security": [],
            "tags": ["meta"],
            "responses": {"200": {"description": "The OpenAPI document.",
                                  "content": {"application/json": {"schema": {"type": "object"}}}}},
        }},
        "/api/v1/inbox": {"get": {
            "operationId": "inbox", "tags": ["agents"],
            "summary": "My open tasks and my groups' unclaimed queue, earliest due first.",
            "description": "Agents and lead handlers (as the inbox page), a page at a time.",
            "parameters": parameters(QUERIES["inbox"]),
            "responses": {"200": _ok("A page of the inbox.", "TaskList"),
                          "400": _error("`limit` out of range, or a `cursor` of another "
                                        "list."), "401": _UNAUTHORIZED,
                          "403": _error("Not an agent or a lead handler.")},
        }},
        "/api/v1/projects/{code}": {"get": {
            "operationId": "project", "tags": ["projects"],
            "summary": "A project with all its tasks (一项目一档).",
            "parameters": parameters(PATHS["project"], "path"),
            "responses": {"200": _ok("The project.", "Project"), "401": _UNAUTHORIZED,
                          "400": _error("The code is longer than a project code or holds "
                                        "characters that cannot be typed."),
                          "404": _error("No such project, or one the caller may not see "
                                        "(an enterprise sees only its own).")},
        }},
        "/api/v1/projects/{code}/prediction": {"get": {
            "operationId": "projectPrediction", "tags": ["projects"],
            "summary": "A project's predicted dates: each milestone (planned and predicted) "
                       "and each open item, with the critical item and the as-of time.",
            "parameters": parameters(PATHS["project"], "path"),
            "responses": {"200": _ok("The prediction.", "Prediction"), "401": _UNAUTHORIZED,
                          "400": _error("The code is longer than a project code or holds "
                                        "characters that cannot be typed."),
                          "404": _error("No such project, or one the caller may not see "
                                        "(an enterprise sees only its own).")},
        }},
        "/api/v1/tasks/{task_id}/{action}": {"post": {
            "operationId": "taskAction", "tags": ["agents"],
            "summary": "Run one task action, as the task page's buttons do.",
            "description": "With a session cookie send the CSRF token in `X-CSRFToken`; "
                           "bearer calls need none. The body is a JSON object (an empty "
                           "body counts as `{}`). Body per action: " + bodies + ".",
            "parameters": [
                {"name": "task_id", "in": "path", "required": True,
                 "schema": {"type": "integer", "minimum": 1, "maximum": INT_MAX}},
                {"name": "action", "in": "path", "required": True, "schema": _ref("ActionName")},
            ],
            "requestBody": {"required": False, "content": {"application/json": {"schema": {
                "anyOf": [_ref(body_schema_name(a)) for a in sorted(ACTION_BODIES)]}}}},
            "responses": {
                "200": _ok("Done: the task as it is now.", "ActionResult"),
                "400": _error("The body is not a JSON object, a field is invalid "
                              "(`invalid_input`), or the CSRF token is missing (`csrf`)."),
                "401": _UNAUTHORIZED,
                "403": _error("The caller may see the task but not do this to it "
                              "(`not_permitted`; e.g. a supervisor, or an agent of "
                              "another group)."),
                "404": _error("No such task or action, or a task the caller may not see."),
                "409": _error("Not allowed in the task's current state (`invalid_transition`, "
                              "with `details.state` and `details.allowed`), or the task "
                              "changed since `version` (`conflict`)."),
            },
        }},
        "/api/v1/requests": {"get": {
            "operationId": "requests", "tags": ["requests"],
            "summary": "Enterprise requests (企业诉求), newest first, a page at a time.",
            "description": "The staff's list (`/requests`) with the same filters: "
                           "supervisors, admins and lead handlers see every request, an "
                           "agent their department's and the ones they recorded; an "
                           "enterprise sees its own.",
            "parameters": parameters(QUERIES["requests"]),
            "responses": {"200": _ok("A page of the requests.", "ServiceRequestList"),
                          "400": _error("A filter value is invalid, `limit` is out of "
                                        "range, or a `cursor` of another list."),
                          "401": _UNAUTHORIZED},
        }},
        "/api/v1/requests/{request_id}": {"get": {
            "operationId": "request", "tags": ["requests"],
            "summary": "One enterprise request with its 13710 steps.",
            "parameters": parameters(PATHS["request"], "path"),
            "responses": {"200": _ok("The request.", "ServiceRequest"), "401": _UNAUTHORIZED,
                          "404": _error("No such request, or one the caller may not see "
                                        "(an enterprise sees only its own; an agent "
                                        "their department's).")},
        }},
        "/api/v1/supervision/overdue": {"get": {
            "operationId": "overdue", "tags": ["supervision"],
            "summary": "Every overdue task (督查), most overdue first, a page at a time.",
            "description": "Supervisors and admins see every group; a lead handler sees "
                           "their own groups.",
            "parameters": parameters(QUERIES["overdue"]),
            "responses": {"200": _ok("A page of the overdue tasks.", "OverdueList"),
                          "400": _error("A filter value is invalid."), "401": _UNAUTHORIZED,
                          "403": _error("Not a supervisor, admin or lead handler.")},
        }},
    }


def document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document (a fresh dict each call)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Daiban (代办) API",
            "version": "1",
            "description": "Investment-project approvals of the zone: the same operations "
                           "and permission rules as the web pages. Errors are JSON "
                           "`{error, message, details}`.",
        },
        "security": [{"bearerToken": []}, {"session": []}],
        "paths": _paths(),
        "components": {
            "securitySchemes": {
                "bearerToken": {"type": "http", "scheme": "bearer",
                                "description": "Issued by `daiban token create USERNAME`; "
                                               "revoked by `daiban token revoke ID`."},
                "session": {"type": "apiKey", "in": "cookie", "name": "daiban_session",
                            "description": "The web login session; state-changing calls "
                                           "also need the CSRF token in `X-CSRFToken`."},
            },
            "schemas": copy.deepcopy(SCHEMAS),
        },
    }
