"""Two conflicting operations on the same task, in two threads on PostgreSQL:
exactly one wins and the other gets a clean ``Conflict``.

SQLite serialises writers with BEGIN IMMEDIATE and ignores FOR UPDATE, so
these races are proven where they can really happen: on PostgreSQL with
several connections. Each test gets a freshly migrated database.
"""

from __future__ import annotations

import os
import threading

import pytest
from sqlalchemy import func, select

from tests import factories as f
from tests.conftest import drop_pg_database, fresh_pg_engine
from tests.factories import at
from workflow.core import operations as ops
from workflow.kernel.db import make_session_factory, transaction
from workflow.kernel.errors import Conflict
from workflow.models import AuditEvent, ItemTask

pytestmark = pytest.mark.postgres
NOW = at("2026-03-02")


@pytest.fixture
def race_db():
    name = f"daiban_race_{os.getpid()}"
    engine = fresh_pg_engine(name)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        lead = f.user(session, "lead", "lead", groups=("equipment",))
        f.user(session, "alice", "agent", groups=("equipment",), department="nature_resources")
        f.user(session, "bob", "agent", groups=("equipment",), department="nature_resources")
        project = f.project(session, NOW, lead=lead)
        task_id = f.task(project, "u01_survey").id
    yield factory, task_id
    engine.dispose()
    drop_pg_database(name)


def user(session, name):
    from workflow.models import User

    return session.scalar(select(User).where(User.username == name))


def race(factory, task_id, contenders):
    """Run each contender(session, task, version) in its own thread and
    transaction, all released at once after loading the same version."""
    barrier = threading.Barrier(len(contenders))
    results: list[object] = [None] * len(contenders)

    def run(index, contender):
        session = factory()
        try:
            task = session.get(ItemTask, task_id)
            version = task.version
            barrier.wait(timeout=10)
            contender(session, task_id, version)
            session.commit()
            results[index] = "won"
        except Conflict as exc:
            session.rollback()
            results[index] = exc
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            session.rollback()
            results[index] = exc
        finally:
            session.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def claim_by(name, *, with_version=True):
    def contender(session, task_id, version):
        ops.claim_task(session, task_id, actor=user(session, name), now=NOW,
                       expected_version=version if with_version else None)
    return contender


@pytest.mark.parametrize("with_version", [True, False], ids=["shown-version", "no-version"])
def test_two_agents_claiming_the_same_item_one_wins(race_db, with_version):
    factory, task_id = race_db
    results = race(factory, task_id, [claim_by("alice", with_version=with_version),
                                      claim_by("bob", with_version=with_version)])
    assert sorted(r == "won" for r in results) == [False, True], results
    loser = next(r for r in results if r != "won")
    assert isinstance(loser, Conflict), loser
    winner = ["alice", "bob"][results.index("won")]
    with factory() as session:
        task = session.get(ItemTask, task_id)
        assert task.state == "assigned" and task.assignee.username == winner
        claims = session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.task_id == task_id, AuditEvent.action == "task.claim"))
        assert claims == 1


def test_a_claim_racing_a_lead_assignment_one_wins(race_db):
    factory, task_id = race_db

    def lead_assigns(session, task_id, version):
        ops.assign_task(session, task_id, user(session, "bob"), actor=user(session, "lead"),
                        now=NOW, expected_version=version, reason="rebalance")

    results = race(factory, task_id, [claim_by("alice"), lead_assigns])
    assert sorted(r == "won" for r in results) == [False, True], results
    assert isinstance(next(r for r in results if r != "won"), Conflict)
    with factory() as session:
        task = session.get(ItemTask, task_id)
        expected = "alice" if results[0] == "won" else "bob"
        assert task.assignee.username == expected
        events = session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.task_id == task_id, AuditEvent.action.in_(("task.claim", "task.assign"))))
        assert events == 1


def test_the_audit_chain_stays_linear_under_concurrent_work_on_one_project(race_db):
    """Two agents working two different items of one project at once: both
    succeed (the project lock serialises them) and the chain has no fork."""
    from workflow.core import audit

    factory, task_id = race_db
    with transaction(factory) as session:
        project_id = session.get(ItemTask, task_id).project_id
        other_id = session.scalar(select(ItemTask.id).where(
            ItemTask.project_id == project_id, ItemTask.item_code == "project_filing"))

    barrier = threading.Barrier(2)
    outcomes = []

    def work(name, tid):
        with factory() as session:
            barrier.wait(timeout=10)
            ops.claim_task(session, tid, actor=user(session, name), now=NOW)
            session.commit()
            outcomes.append(name)

    threads = [threading.Thread(target=work, args=("alice", task_id)),
               threading.Thread(target=work, args=("bob", other_id))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["alice", "bob"]
    with factory() as session:
        assert audit.verify(session) == []
