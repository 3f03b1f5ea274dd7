"""The outbox delivers real mail to a local SMTP server and real webhooks to a
local HTTP server, both started by the test; failures are retried with
backoff and end, after the last attempt, where admins see them. Time is
injected: ``now`` is passed to every delivery run, nothing waits for a timer.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import shutil
import socket
import threading
from datetime import UTC, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from definitions import load_definition
from tests import factories as f
from tests.conftest import drop_pg_database, fresh_pg_engine
from tests.factories import at
from workflow.core import notify
from workflow.core import operations as ops
from workflow.kernel import outbox
from workflow.kernel.config import Channels, Config
from workflow.kernel.db import make_engine, make_session_factory, transaction
from workflow.kernel.registry import DEFAULT_DIR
from workflow.models import OutboxMessage, User

T0 = at("2026-03-02", 10)
SURVEY = load_definition(DEFAULT_DIR).items["u01_survey"].name_zh  # 地形图测绘…
ACCEPTED_SUBJECT = f"【部门已受理】{SURVEY}"
SECRET = "whsec-test-0123456789abcdef"


# -- servers ---------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    """An aiosmtpd handler that keeps what it receives, or answers ``answer``."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], email.message.EmailMessage]] = []
        self.attempts = 0
        self.answer: str | None = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.attempts += 1
        if self.answer:
            return self.answer
        message = email.message_from_bytes(envelope.original_content or envelope.content,
                                           policy=email.policy.default)
        self.received.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.mailbox = Mailbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def transport(self) -> outbox.SmtpTransport:
        return outbox.SmtpTransport("127.0.0.1", self.port, sender="daiban@zone.example", timeout=5)


@pytest.fixture
def smtp():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


class Hook(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's hook name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.calls.append((dict(self.headers), json.loads(body.decode("utf-8"))))
        self.send_response(self.server.status)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    server.calls, server.status = [], 200
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}/notify"
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


# -- databases and messages ------------------------------------------------------------------

@pytest.fixture(params=["sqlite", "postgresql"])
def factory(request, tmp_path):
    name = None
    if request.param == "sqlite":
        path = tmp_path / "outbox.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        engine = make_engine(f"sqlite:///{path}")
    else:
        name = f"daiban_outbox_{os.getpid()}"  # per run: concurrent runs never collide
        engine = fresh_pg_engine(name)
    yield make_session_factory(engine)
    engine.dispose()
    if name:
        drop_pg_database(name)


def accept_an_item(factory, channels: Channels) -> str:
    """The department accepts (受理) an item the agent submitted; the
    enterprise, which has an email address, is told. Returns the enterprise's
    address."""
    with transaction(factory) as session:
        lead = f.user(session, "lead", "lead", groups=("equipment",))
        alice = f.user(session, "alice", "agent", groups=("equipment",))
        company = f.enterprise(session, "左云县示范食品有限公司")
        project = f.project(session, T0, company=company, lead=lead)
        task_id = f.task(project, "u01_survey").id
        ops.claim_task(session, task_id, actor=alice, now=T0)
        ops.start_task(session, task_id, actor=alice, now=T0)
        ent = f.user(session, "ent", "enterprise", company=company)
        ent.email = "zhang.wei@qiye.example"
    with transaction(factory, info=notify.session_info(channels)) as session:
        alice = session.scalar(select(User).where(User.username == "alice"))
        ops.submit_task(session, task_id, actor=alice, now=T0)
        ops.accept_task(session, task_id, actor=alice, now=T0)
    return "zhang.wei@qiye.example"


def rows(factory, channel: str | None = None) -> list[OutboxMessage]:
    with factory() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if channel:
            query = query.where(OutboxMessage.channel == channel)
        return list(session.scalars(query))


def aware(value):
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


def deliver(factory, now, transports, **kw):
    return outbox.deliver_pending(factory, now=now, transports=transports, **kw)


# -- email -------------------------------------------------------------------------------------

def test_real_mail_reaches_the_smtp_server_once(factory, smtp):
    address = accept_an_item(factory, Channels(email=True))
    [row] = rows(factory)
    assert (row.channel, row.recipient, row.status) == ("email", address, "pending")
    report = deliver(factory, T0, {"email": smtp.transport()})
    assert report.sent == [row.id]
    [(rcpt_tos, message)] = smtp.mailbox.received
    assert rcpt_tos == [address] and message["To"] == address
    assert message["From"] == "daiban@zone.example"
    assert message["Subject"] == ACCEPTED_SUBJECT
    body = message.get_body(("plain",)).get_content()
    assert "由办理部门受理" in body and "法定办理时限至 2026-03-23（部门计时）" in body
    [sent] = rows(factory)
    assert sent.status == "sent" and aware(sent.sent_at) == T0 and sent.attempts == 0
    # Delivered messages are never sent again, however often the sender runs.
    for later in (T0, T0 + timedelta(minutes=1), T0 + timedelta(days=1)):
        assert deliver(factory, later, {"email": smtp.transport()}).sent == []
    assert len(smtp.mailbox.received) == 1 and smtp.mailbox.attempts == 1


def test_a_failing_smtp_server_is_retried_with_backoff_then_failed_for_admins(factory, smtp):
    accept_an_item(factory, Channels(email=True))
    smtp.mailbox.answer = "451 4.3.0 Try again later"
    transports = {"email": smtp.transport()}
    now = T0
    for attempt, wait in enumerate([1, 2, 4, 8, 16], start=1):
        report = deliver(factory, now, transports)
        [row] = rows(factory)
        assert report.retrying == [row.id]
        assert (row.status, row.attempts) == ("pending", attempt)
        assert aware(row.next_attempt_at) == now + timedelta(minutes=wait)
        assert "451" in row.last_error
        # Not due yet: a run just before the next attempt leaves it alone.
        assert deliver(factory, aware(row.next_attempt_at) - timedelta(seconds=1), transports).retrying == []
        assert smtp.mailbox.attempts == attempt
        now = aware(row.next_attempt_at)
    report = deliver(factory, now, transports)  # the 6th attempt, the last by default
    [row] = rows(factory)
    assert report.failed == [row.id]
    assert (row.status, row.attempts) == ("failed", 6)
    with factory() as session:
        assert [m.id for m in outbox.failed_deliveries(session)] == [row.id]
    assert deliver(factory, now + timedelta(days=1), transports).failed == []
    assert smtp.mailbox.attempts == 6 and smtp.mailbox.received == []
    # An admin sends it again once the server is fixed.
    smtp.mailbox.answer = None
    with transaction(factory) as session:
        outbox.retry_delivery(session, row.id, now + timedelta(days=1))
    assert deliver(factory, now + timedelta(days=1), transports).sent == [row.id]
    assert len(smtp.mailbox.received) == 1


def test_a_transient_failure_then_success_marks_the_message_sent(factory, smtp):
    accept_an_item(factory, Channels(email=True))
    transports = {"email": smtp.transport()}
    smtp.stop()  # the server is down: connection refused
    assert len(deliver(factory, T0, transports).retrying) == 1
    [row] = rows(factory)
    assert row.attempts == 1 and "Connection" in row.last_error
    smtp.start()
    smtp.mailbox.answer = "421 4.7.0 Too busy"  # back, but busy
    assert len(deliver(factory, T0 + timedelta(minutes=1), transports).retrying) == 1
    smtp.mailbox.answer = None
    retry_at = T0 + timedelta(minutes=1) + timedelta(minutes=2)
    assert deliver(factory, retry_at, transports).sent == [row.id]
    [row] = rows(factory)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)
    assert aware(row.sent_at) == retry_at
    assert len(smtp.mailbox.received) == 1
    assert deliver(factory, retry_at + timedelta(hours=2), transports).sent == []
    assert len(smtp.mailbox.received) == 1


def test_a_permanent_refusal_fails_at_once(factory, smtp):
    accept_an_item(factory, Channels(email=True))
    smtp.mailbox.answer = "550 5.1.1 No such user"
    report = deliver(factory, T0, {"email": smtp.transport()})
    [row] = rows(factory)
    assert report.failed == [row.id] and (row.status, row.attempts) == ("failed", 1)


def test_a_message_whose_sender_died_is_sent_after_its_lease(factory, smtp):
    accept_an_item(factory, Channels(email=True))
    transports = {"email": smtp.transport()}
    [(envelope, token)] = outbox._claim(factory, T0, 50, outbox.LEASE)  # then the sender dies
    assert deliver(factory, T0 + timedelta(minutes=1), transports).sent == []  # still leased
    later = T0 + outbox.LEASE + timedelta(seconds=1)
    assert deliver(factory, later, transports).sent == [envelope.id]
    # The dead sender's late report cannot overwrite the new outcome.
    assert outbox._record(factory, envelope.id, token, later, "boom", False, 6) is None
    [row] = rows(factory)
    assert row.status == "sent" and len(smtp.mailbox.received) == 1


# -- webhook -------------------------------------------------------------------------------------

def test_a_webhook_receives_the_json(factory, webhook):
    accept_an_item(factory, Channels(webhook=True))
    [row] = rows(factory)
    assert row.channel == "webhook"
    transports = outbox.transports_from_config(Config(webhook_url=webhook.url, webhook_secret=SECRET))
    assert deliver(factory, T0, transports).sent == [row.id]
    [(headers, payload)] = webhook.calls
    assert headers["Content-Type"].startswith("application/json")
    assert headers["Idempotency-Key"] == row.dedupe_key
    assert payload["kind"] == "item_accepted"
    assert payload["title"] == ACCEPTED_SUBJECT
    assert payload["recipient"]["username"] == "ent"
    assert payload["recipient"]["email"] == "zhang.wei@qiye.example"
    assert payload["task"]["item"] == "u01_survey" and payload["project"]["code"]
    assert deliver(factory, T0 + timedelta(hours=1), transports).sent == []
    assert len(webhook.calls) == 1


@pytest.mark.parametrize(("status", "outcome"), [(503, "retrying"), (400, "failed")])
def test_a_failing_webhook_is_retried_or_failed(factory, webhook, status, outcome):
    accept_an_item(factory, Channels(webhook=True))
    webhook.status = status
    report = deliver(factory, T0, {"webhook": outbox.WebhookTransport(webhook.url, timeout=5,
                                                                      secret=SECRET)})
    assert len(getattr(report, outcome)) == 1
    [row] = rows(factory)
    assert f"HTTP {status}" in row.last_error or str(status) in row.last_error


def test_backoff_doubles_from_a_minute_up_to_an_hour():
    assert [outbox.backoff(n) for n in range(1, 9)] == [
        timedelta(minutes=m) for m in (1, 2, 4, 8, 16, 32, 60, 60)]


# -- two senders at once (PostgreSQL: FOR UPDATE SKIP LOCKED) ------------------------------------

@pytest.mark.postgres
def test_two_senders_at_once_share_the_work_and_send_each_message_once():
    name = f"daiban_outbox_race_{os.getpid()}"
    engine = fresh_pg_engine(name)
    factory = make_session_factory(engine)
    try:
        with transaction(factory, info=notify.session_info(Channels(webhook=True))) as session:
            users = [f.user(session, f"user{n}", "agent") for n in range(10)]
            notify.tell(session, users, notify.Message("test", "标题", "正文"), now=T0, key="race")
        both_sending = threading.Barrier(2)
        sent: list[int] = []
        lock = threading.Lock()

        class Recorder:
            def send(self, envelope):
                with lock:
                    first = envelope.id not in sent
                    sent.append(envelope.id)
                if first and len(sent) <= 2:
                    both_sending.wait(timeout=10)  # each sender holds its own claimed batch

        reports = []

        def run():
            reports.append(deliver(factory, T0, {"webhook": Recorder()}, batch=5))

        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(sent) == sorted({row.id for row in rows(factory)})  # each once
        assert sorted(len(r.sent) for r in reports) == [5, 5]
        assert {row.status for row in rows(factory)} == {"sent"}
    finally:
        engine.dispose()
        drop_pg_database(name)
