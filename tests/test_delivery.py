"""What a gateway and a mail server receive (issue 15): signed webhooks checked
with the verification code of docs/webhooks.md, the standard email headers on
a real local SMTP server (aiosmtpd), a slow receiver that gets a message once,
a stuck webhook that does not hold up email, and the verified mobile number in
the webhook's payload. Real servers on localhost, started by each test.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import email.utils
import re
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from tests import factories as f
from tests import test_outbox
from tests.test_outbox import SECRET, T0, accept_an_item, deliver, free_port, rows
from workflow.accounts import users as accounts
from workflow.core import notify
from workflow.kernel import outbox
from workflow.kernel.config import Channels, Config
from workflow.kernel.db import transaction
from workflow.models import OutboxMessage, User

factory = test_outbox.factory  # the outbox tests' databases: SQLite and PostgreSQL
DOC = Path(__file__).resolve().parents[1] / "docs" / "webhooks.md"
SITE = "https://daiban.zuoyun.example"


def documented_verify():
    """The ``verify`` function exactly as docs/webhooks.md prints it."""
    code = re.search(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S).group(1)
    scope: dict = {}
    exec(compile(code, str(DOC), "exec"), scope)  # noqa: S102 - our own documentation
    return scope["verify"]


# -- a webhook recorder that keeps the raw bytes, and can be slow -----------------------------

class Recorder(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's hook name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        server = self.server
        with server.lock:
            server.calls.append((dict(self.headers), body))
        server.entered.set()
        if server.hold is not None:
            server.hold.wait(timeout=60)  # answers only once the test lets it
        try:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"{}")
        except OSError:
            pass  # the sender gave up waiting

    def log_message(self, *args):
        pass


@pytest.fixture
def recorder():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.calls, server.lock, server.hold = [], threading.Lock(), None
    server.entered = threading.Event()
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}/sms"
    yield server
    if server.hold is not None:
        server.hold.set()
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


# -- an SMTP server that keeps each message, and can answer late -----------------------------

class Mailbox:
    def __init__(self) -> None:
        self.received: list[email.message.EmailMessage] = []
        self.stored = threading.Event()
        self.release: asyncio.Event | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.received.append(email.message_from_bytes(envelope.original_content or envelope.content,
                                                       policy=email.policy.default))
        self.stored.set()
        if self.release is not None:
            await self.release.wait()  # stored, but the answer comes late
        return "250 Message accepted for delivery"


@pytest.fixture
def mailbox():
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    box.port, box.loop = port, controller.loop
    yield box
    if box.release is not None:
        box.loop.call_soon_threadsafe(box.release.set)
    controller.stop()


def wait_until(condition, rounds: int = 600) -> bool:
    """Wait for a condition another thread brings about (no timer is tested)."""
    for _ in range(rounds):
        if condition():
            return True
        threading.Event().wait(0.05)
    return False


def slow(box: Mailbox) -> None:
    box.release = asyncio.Event()


def answer_late(box: Mailbox) -> None:
    box.loop.call_soon_threadsafe(box.release.set)


def smtp_config(box: Mailbox, **kw) -> Config:
    return Config(smtp_host="127.0.0.1", smtp_port=box.port, smtp_sender="daiban@zuoyun.example",
                  base_url=SITE, **kw)


# -- 1. signed webhooks ----------------------------------------------------------------------

def test_a_real_webhook_call_verifies_with_the_documented_code(factory, recorder):
    accept_an_item(factory, Channels(webhook=True))
    transports = outbox.transports_from_config(
        Config(webhook_url=recorder.url, webhook_secret=SECRET))
    [row] = rows(factory)
    assert deliver(factory, T0, transports).sent == [row.id]
    [(headers, body)] = recorder.calls
    assert headers["X-Daiban-Signature"].startswith("v1=")
    assert headers["Idempotency-Key"] == row.dedupe_key
    verify = documented_verify()
    sent_at = int(headers["X-Daiban-Timestamp"])
    assert verify(SECRET, headers, body)  # against the receiver's clock: now
    assert verify(SECRET, headers, body, now=sent_at + 299)
    # A replay after the window, a changed body, another secret or timestamp: refused.
    assert not verify(SECRET, headers, body, now=sent_at + 301)
    assert not verify(SECRET, headers, body.replace(b"ent", b"enx", 1))
    assert not verify("another-secret-0123456789", headers, body)
    assert not verify(SECRET, {**headers, "X-Daiban-Timestamp": str(sent_at + 1)}, body)
    assert not verify(SECRET, {**headers, "X-Daiban-Signature": "v0=" + "0" * 64}, body)


def test_a_webhook_without_a_secret_is_refused_at_start():
    with pytest.raises(ValueError, match="DAIBAN_WEBHOOK_SECRET"):
        Config.from_env({"DAIBAN_WEBHOOK_URL": "https://gateway.example/sms"})
    with pytest.raises(ValueError, match="at least 16"):
        Config.from_env({"DAIBAN_WEBHOOK_URL": "https://gateway.example/sms",
                         "DAIBAN_WEBHOOK_SECRET": "short"})
    config = Config.from_env({"DAIBAN_WEBHOOK_URL": "https://gateway.example/sms",
                              "DAIBAN_WEBHOOK_SECRET": SECRET})
    assert SECRET not in repr(config)
    assert outbox.secret_hint(config.webhook_secret) == "…cdef"


# -- 2. the email's headers, on a real SMTP server -------------------------------------------

def test_an_email_carries_the_standard_headers_a_link_and_an_html_part(factory, mailbox):
    address = accept_an_item(factory, Channels(email=True))
    config = smtp_config(mailbox)
    assert config.message_domain == "daiban.zuoyun.example"  # from the base URL
    before = datetime.now(UTC).replace(microsecond=0)
    assert len(deliver(factory, T0, outbox.transports_from_config(config)).sent) == 1
    [message] = mailbox.received
    assert message["To"] == address
    assert before <= email.utils.parsedate_to_datetime(message["Date"]) <= datetime.now(UTC)
    assert re.fullmatch(r"<[0-9a-f]{32}@daiban\.zuoyun\.example>", message["Message-ID"])
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["List-Unsubscribe"] is None  # not a digest
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    with factory() as session:
        code = session.scalar(select(OutboxMessage.payload))["link"].rsplit("/", 1)[1]
    link = f"{SITE}/portal/projects/{code}"  # the enterprise's page of its project
    assert link in text and f'href="{link}"' in html
    assert "由办理部门受理" in text and "由办理部门受理" in html
    assert message["Subject"].startswith("【部门已受理】")


def test_a_configured_mail_domain_wins_and_a_digest_offers_one_click_unsubscribe(factory, mailbox):
    with transaction(factory, info=notify.session_info(Channels(email=True))) as session:
        agent = f.user(session, "digest_reader", "agent")
        agent.email, agent.notify_email = "reader@zone.example", "digest"
        notify.tell(session, [agent], notify.Message("red", "【红灯超期】测绘", "已超期"),
                    now=datetime(2026, 3, 2, 1, 0, tzinfo=UTC), key="t1")
        # Tuesday 08:30 in Shanghai: the bundle of Monday's notices.
        assert notify.send_bundles(session, now=datetime(2026, 3, 3, 0, 30, tzinfo=UTC),
                                   at_time=Config().digest_time) == ["digest_reader"]
        token = agent.unsubscribe_token
    config = smtp_config(mailbox, mail_domain="mail.zuoyun.gov.example")
    deliver(factory, datetime(2026, 3, 3, 0, 31, tzinfo=UTC), outbox.transports_from_config(config))
    [message] = mailbox.received
    assert message["Message-ID"].endswith("@mail.zuoyun.gov.example>")
    assert message["List-Unsubscribe"] == f"<{SITE}/unsubscribe/{token}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f"{SITE}/unsubscribe/{token}" in message.get_body(("html",)).get_content()
    assert f"{SITE}/notifications" in message.get_body(("plain",)).get_content()


# -- 3. a slow receiver gets a message once; a stuck channel blocks no other ------------------

def test_a_slow_mail_server_that_stores_the_message_gets_it_once(factory, mailbox):
    accept_an_item(factory, Channels(email=True))
    slow(mailbox)  # it stores the message, then answers after the sender's timeout
    transport = outbox.SmtpTransport("127.0.0.1", mailbox.port, timeout=1, domain="zone.example")
    report = deliver(factory, T0, {"email": transport})
    [row] = rows(factory)
    assert report.in_doubt == [row.id] and report.retrying == []
    assert (row.status, row.in_doubt, row.attempts) == ("failed", True, 1)
    answer_late(mailbox)
    # Not retried on its own, however often and however much later the sender runs.
    for later in (T0 + timedelta(minutes=1), T0 + timedelta(hours=2), T0 + timedelta(days=1)):
        assert deliver(factory, later, {"email": transport}).sent == []
    assert len(mailbox.received) == 1
    # The admin sees it (may have arrived) and may send it again: the same Message-ID.
    with factory() as session:
        assert [m.id for m in outbox.failed_deliveries(session)] == [row.id]


def test_a_slow_webhook_that_stores_the_call_gets_it_once(factory, recorder):
    accept_an_item(factory, Channels(webhook=True))
    recorder.hold = threading.Event()
    transport = outbox.WebhookTransport(recorder.url, timeout=1, secret=SECRET)
    report = deliver(factory, T0, {"webhook": transport})
    [row] = rows(factory)
    assert report.in_doubt == [row.id]
    assert (row.status, row.in_doubt) == ("failed", True)
    recorder.hold.set()
    for later in (T0 + timedelta(minutes=1), T0 + timedelta(days=1)):
        assert deliver(factory, later, {"webhook": transport}).sent == []
    assert len(recorder.calls) == 1


def test_a_refused_connection_is_still_retried(factory):
    accept_an_item(factory, Channels(webhook=True))
    dead = outbox.WebhookTransport(f"http://127.0.0.1:{free_port()}/sms", timeout=1, secret=SECRET)
    report = deliver(factory, T0, {"webhook": dead})
    [row] = rows(factory)
    assert report.retrying == [row.id] and not row.in_doubt and row.status == "pending"


def test_a_stuck_webhook_does_not_hold_up_email(factory, mailbox, recorder):
    accept_an_item(factory, Channels(email=True, webhook=True))
    recorder.hold = threading.Event()  # the gateway takes the call and hangs
    transports = {
        "email": outbox.SmtpTransport("127.0.0.1", mailbox.port, timeout=30),
        "webhook": outbox.WebhookTransport(recorder.url, timeout=60, secret=SECRET)}
    reports = []
    sender = threading.Thread(target=lambda: reports.append(deliver(factory, T0, transports)))
    sender.start()
    try:
        assert recorder.entered.wait(timeout=30)
        # The email arrives while the webhook call still hangs.
        assert mailbox.stored.wait(timeout=30)
        # ... and is recorded sent, while the webhook's call still hangs.
        assert wait_until(lambda: [r.status for r in rows(factory) if r.channel == "email"]
                          == ["sent"])
        assert not recorder.hold.is_set() and sender.is_alive()
        assert [r.status for r in rows(factory) if r.channel == "webhook"] == ["sending"]
    finally:
        recorder.hold.set()
        sender.join(timeout=60)
    [report] = reports
    assert len(report.sent) == 2


# -- 6. the verified mobile number in the webhook's payload -----------------------------------

def test_the_webhook_carries_the_persons_verified_mobile_never_the_landline(factory):
    with transaction(factory, info=notify.session_info(Channels(webhook=True))) as session:
        admin = f.user(session, "admin_m", "admin")
        company = f.enterprise(session, "左云县示范食品有限公司")
        company.contact_phone = "0352-1234567"
        ent = f.user(session, "ent_m", "enterprise", company=company)
        agent = f.user(session, "agent_m", "agent")
        accounts.set_mobile(session, agent.id, mobile="+86 138-0013-8000", verified=True,
                            actor=admin, now=T0)
        accounts.set_mobile(session, ent.id, mobile="13900139000", verified=False,
                            actor=admin, now=T0)
        notify.tell(session, [agent, ent], notify.Message("test", "标题", "正文"), now=T0,
                    key="m1")
    phones = {r.recipient: r.payload["recipient"]["phone"] for r in rows(factory, "webhook")}
    assert phones == {"agent_m": "13800138000", "ent_m": None}  # unverified: not sent
    with transaction(factory, info=notify.session_info(Channels(webhook=True))) as session:
        admin = session.scalar(select(User).where(User.username == "admin_m"))
        ent = session.scalar(select(User).where(User.username == "ent_m"))
        accounts.set_mobile(session, ent.id, mobile="13900139000", verified=True, actor=admin,
                            now=T0)
        assert ent.mobile_verified_at is not None
        # Another number is unverified again until the admin confirms it.
        accounts.set_mobile(session, ent.id, mobile="13700137000", verified=False, actor=admin,
                            now=T0)
        assert ent.mobile_verified_at is None
        with pytest.raises(Exception, match="11 digits"):
            accounts.set_mobile(session, ent.id, mobile="0352-1234567", verified=True,
                                actor=admin, now=T0)
