"""Regression campaign: hostile input on every route, as every audience, never
answers 5xx (issue 10, finding 1). The walk is ``tests.web.fuzzing``; a
failure lists each route, audience and value that answered 5xx or raised."""

from __future__ import annotations

import os
import time

import pytest
from sqlalchemy import select

from tests.web import fuzzing
from tests.web.conftest import app_on, csrf_token
from web.support.actions import ACTIONS
from web.views.cases import LIFECYCLE
from web.views.chemicals import TARGETS
from web.views.land import CHECK_NAMES
from workflow.models import ItemTask

CHOICES = {
    "inbox.act": {"action": sorted(ACTIONS)},
    "api.act": {"action": sorted(ACTIONS)},
    "cases.lifecycle": {"action": sorted(LIFECYCLE)},
    "land.check": {"kind": sorted(CHECK_NAMES)},
    "chemicals.export": {"target": sorted(TARGETS)},
    "auth.set_language": {"code": ["en", "zh_CN"]},
}


def _walk(app, world, as_user, db) -> fuzzing.Walk:
    app.request_class = fuzzing.RecordingRequest
    clients = {"anonymous": (app.test_client(), None)}
    anonymous, _ = clients["anonymous"]
    clients["anonymous"] = (anonymous, csrf_token(anonymous))
    for name in fuzzing.ROLES[1:]:
        clients[name] = as_user(name)
    project = world["project"]
    task_id = db.scalar(select(ItemTask.id).where(ItemTask.project_id == project.id)
                        .order_by(ItemTask.id))
    path_values = {"code": project.code, "task_id": task_id,
                   "user_id": world["users"]["bob"].id}
    db.rollback()  # SQLite transactions begin IMMEDIATE: hold no lock over the walk
    log = os.environ.get("DAIBAN_FUZZ_LOG")
    return fuzzing.Walk(app=app, clients=clients, path_values=path_values, choices=CHOICES,
                        log=open(log, "w") if log else None)  # noqa: SIM115 - the walk's


# On PostgreSQL (which refuses NUL bytes in text and integers beyond a column's
# range where SQLite's driver or SQLite itself differ), the routes that read
# text and numbers most: the API, the intentions, supervision and task actions.
PG_SUBSET = ("/api/", "/intentions", "/supervision", "/tasks/", "/projects/<code>/comments",
             "/portal/projects/<code>/comments")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def app(request, sqlite_template, tmp_path, clock):
    yield from app_on(request.param, sqlite_template, tmp_path, clock, "fuzz")


def test_no_route_answers_5xx_to_hostile_input(app, world, as_user, db):
    walk = _walk(app, world, as_user, db)
    started = time.monotonic()
    rules = sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint))
    if app.config["DATABASE_URL"].startswith("postgresql"):
        rules = [r for r in rules if r.rule.startswith(PG_SUBSET)]
    try:
        fuzzing.run(walk, rules)
    finally:
        if walk.log:
            walk.log.close()
    took = time.monotonic() - started
    print(f"{walk.requests} hostile requests in {took:.0f} s, {len(walk.findings)} answered 5xx")
    report = "\n".join(str(f) for f in walk.findings)
    assert not walk.findings, (f"{len(walk.findings)} of {walk.requests} hostile requests "
                               f"answered 5xx ({took:.0f} s):\n{report}")
