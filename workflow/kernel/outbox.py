"""Delivery of the outbox: email over SMTP and webhooks (JSON POST), after the
commit, with retries and backoff.

``deliver_pending`` works in three short steps so that no database transaction
is open while a slow server is talked to:

1. claim: in one transaction, take up to ``batch`` due rows (``pending`` with
   ``next_attempt_at <= now``, or ``sending`` rows whose lease ran out because
   their sender died), with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so that
   two senders never take the same row; mark them ``sending`` with a lease
   (``locked_until``) and commit;
2. send each one, outside any transaction;
3. record the outcome, one short transaction per message, only if the row is
   still ours (same lease): ``sent``; or ``attempts + 1`` and the next attempt
   after a backoff of 1, 2, 4, 8 … minutes (at most an hour); after
   ``max_attempts`` (or an error the server calls permanent: SMTP 5xx, HTTP
   4xx) the row is ``failed`` for good and listed by ``failed_deliveries``.

A row is marked ``sent`` only after its send returned, so a crash between
sending and recording can repeat one message (at-least-once); the dedupe key
travels with it (``Message-ID``, ``Idempotency-Key``) so receivers can drop the
repeat. A ``sent`` row is never claimed again.

A receiver that stores the message but answers after the timeout must not get
it twice: when the whole message went out and no answer came back, the
attempt is *in doubt* and the row ends ``failed`` with ``in_doubt`` set, not
retried on its own (mail systems do not reliably drop a repeated Message-ID,
and an SMS costs money and attention). Nothing is lost meanwhile: every
message also has its in-app copy, and the admin's deliveries page lists the
row, saying it may have arrived, with a button to send it again. A refusal
or a timeout *before* the message was complete is retried as usual.

Each channel claims and sends its own batch, concurrently, so one stuck
channel cannot block the others.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import smtplib
import ssl
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from html import escape
from typing import Any, Protocol
from urllib.parse import urlsplit

from sqlalchemy import and_, func, literal_column, or_, select
from sqlalchemy.orm import Session, sessionmaker

from workflow.kernel import paging
from workflow.kernel.config import Config
from workflow.kernel.db import transaction
from workflow.kernel.errors import NotFound, ValidationError
from workflow.kernel.models import OUTBOX_CHANNELS, OutboxMessage
from workflow.kernel.moments import aware, utc

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
BASE_DELAY = timedelta(minutes=1)
MAX_DELAY = timedelta(hours=1)
LEASE = timedelta(minutes=5)


def backoff(attempts: int) -> timedelta:
    """Wait after the ``attempts``-th failed attempt: 1 min × 2^(attempts-1), at most 1 h."""
    return min(BASE_DELAY * 2 ** max(attempts - 1, 0), MAX_DELAY)


# -- transports -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Envelope:
    """What a transport needs of one outbox row (a plain copy, no session).
    ``payload`` is the webhook's JSON; for an email, the paths of its links
    (``link``: the task or portal page, ``unsubscribe``: the digest's
    one-click unsubscribe), made absolute with the base URL when sent."""

    id: int
    channel: str
    recipient: str
    subject: str
    body: str
    payload: dict[str, Any] | None
    dedupe_key: str


class PermanentFailure(Exception):
    """The receiver refused the message for good: retrying cannot help."""


class InDoubt(Exception):
    """The whole message went out but no answer came back (a timeout or a
    dropped connection after the last byte): the receiver may have stored it.
    Not retried on its own, so that a slow receiver never gets it twice."""


class Transport(Protocol):
    def send(self, envelope: Envelope) -> None: ...


def _wall_clock() -> datetime:
    return datetime.now(UTC)


class _TrackingSMTP(smtplib.SMTP):
    """``smtplib.SMTP`` that notes when the message's final ``CRLF.CRLF`` went
    out: a failure after it leaves the outcome in doubt."""

    payload_sent = False

    def send(self, s):  # noqa: D102 - smtplib's own method
        super().send(s)
        if isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            self.payload_sent = True


@dataclass(frozen=True)
class SmtpTransport:
    """Plain SMTP (optionally STARTTLS and login) with the standard library.

    Each message carries the headers mail systems expect of automatic mail:
    ``Date``, a ``Message-ID`` on ``domain`` (the same on every attempt),
    ``Auto-Submitted: auto-generated`` (RFC 3834), and for digests
    ``List-Unsubscribe`` with ``List-Unsubscribe-Post`` (RFC 8058); the body
    as text and as HTML (multipart/alternative), with a link to the page."""

    host: str
    port: int = 25
    sender: str = "daiban@localhost"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    timeout: float = 30.0
    domain: str = "localhost"
    site: str = "http://localhost:5000"
    clock: Callable[[], datetime] = _wall_clock

    def message(self, envelope: Envelope) -> EmailMessage:
        """The email for ``envelope``, as it is sent."""
        links = envelope.payload or {}
        link = f"{self.site}{links['link']}" if links.get("link") else None
        unsubscribe = f"{self.site}{links['unsubscribe']}" if links.get("unsubscribe") else None
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = envelope.recipient
        message["Subject"] = envelope.subject
        message["Date"] = format_datetime(self.clock().astimezone(UTC))
        # The same id on every attempt lets a mail system drop a repeat.
        digest = hashlib.sha256(envelope.dedupe_key.encode()).hexdigest()[:32]
        message["Message-ID"] = f"<{digest}@{self.domain}>"
        message["Auto-Submitted"] = "auto-generated"
        if unsubscribe:
            message["List-Unsubscribe"] = f"<{unsubscribe}>"
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        text = envelope.body + (f"\n\n查看详情 / Details: {link}" if link else "")
        if unsubscribe:
            text += f"\n退订 / Unsubscribe: {unsubscribe}"
        message.set_content(text)
        message.add_alternative(_html(envelope.subject, envelope.body, link, unsubscribe),
                                subtype="html")
        return message

    def send(self, envelope: Envelope) -> None:
        message = self.message(envelope)
        smtp = _TrackingSMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if codes and all(code >= 500 for code in codes):
                raise PermanentFailure(f"SMTP refused the recipient: {exc.recipients}") from exc
            raise
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code >= 500:
                raise PermanentFailure(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
            raise  # the server answered: it did not keep the message
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            if smtp.payload_sent:
                raise InDoubt(f"no answer after the message was sent: {exc}") from exc
            raise
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()


def _html(subject: str, body: str, link: str | None, unsubscribe: str | None) -> str:
    paragraphs = "".join(f"<p>{escape(part).replace(chr(10), '<br>')}</p>"
                         for part in body.split("\n\n"))
    more = f'<p><a href="{escape(link)}">查看详情 / Details</a></p>' if link else ""
    if unsubscribe:
        more += (f'<p style="font-size:small"><a href="{escape(unsubscribe)}">'
                 "退订邮件 / Unsubscribe</a></p>")
    return (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
            f"<title>{escape(subject)}</title></head><body>{paragraphs}{more}</body></html>")


SIGNATURE_VERSION = "v1"
REPLAY_WINDOW = timedelta(minutes=5)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``X-Daiban-Signature``: ``v1=`` and the hex HMAC-SHA256, keyed with the
    endpoint's secret, of ``"<timestamp>." + body`` (docs/webhooks.md)."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body,
                   hashlib.sha256)
    return f"{SIGNATURE_VERSION}={mac.hexdigest()}"


@dataclass(frozen=True)
class WebhookTransport:
    """Signed JSON POST with the standard library, for an SMS or chat gateway.

    Headers: ``X-Daiban-Timestamp`` (Unix seconds when sent),
    ``X-Daiban-Signature: v1=<hex>`` (see ``sign``), ``Idempotency-Key`` (the
    same on every attempt). A receiver checks the signature and refuses a
    timestamp more than ``REPLAY_WINDOW`` away from its clock."""

    url: str
    timeout: float = 10.0
    secret: str = field(default="", repr=False)
    clock: Callable[[], datetime] = _wall_clock

    def send(self, envelope: Envelope) -> None:
        if not self.secret:
            raise PermanentFailure("no webhook secret is configured: calls are never unsigned")
        payload = envelope.payload or {"title": envelope.subject, "body": envelope.body}
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        timestamp = int(self.clock().timestamp())
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "Idempotency-Key": envelope.dedupe_key, "User-Agent": "daiban-outbox",
                   "X-Daiban-Timestamp": str(timestamp),
                   "X-Daiban-Signature": sign(self.secret, timestamp, body)}
        parts = urlsplit(self.url)
        kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        connection = kind(parts.hostname, parts.port, timeout=self.timeout)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request("POST", target, body=body, headers=headers)  # refused: retried
            try:
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as exc:
                raise InDoubt(f"no answer after the call was sent: {exc}") from exc
        finally:
            connection.close()
        if 400 <= response.status < 500 and response.status not in (408, 425, 429):
            raise PermanentFailure(f"webhook answered HTTP {response.status} {response.reason}")
        if response.status >= 300:
            raise RuntimeError(f"webhook answered HTTP {response.status} {response.reason}")


def secret_hint(secret: str | None) -> str | None:
    """What a page may show of a signing secret: its last four characters."""
    return f"…{secret[-4:]}" if secret else None


def transports_from_config(config: Config) -> dict[str, Transport]:
    """The transports the configuration switches on (email, webhook)."""
    transports: dict[str, Transport] = {}
    if config.smtp_host:
        transports["email"] = SmtpTransport(
            host=config.smtp_host, port=config.smtp_port, sender=config.smtp_sender,
            username=config.smtp_user, password=config.smtp_password,
            starttls=config.smtp_starttls, domain=config.message_domain, site=config.site)
    if config.webhook_url:
        transports["webhook"] = WebhookTransport(config.webhook_url, timeout=config.webhook_timeout,
                                                 secret=config.webhook_secret or "")
    return transports


# -- delivery ---------------------------------------------------------------------------------

@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    in_doubt: list[int] = field(default_factory=list)

    def add(self, other: DeliveryReport) -> None:
        for name in ("sent", "retrying", "failed", "in_doubt"):
            getattr(self, name).extend(getattr(other, name))


def deliver_pending(session_factory: sessionmaker[Session], *, now: datetime,
                    transports: Mapping[str, Transport], batch: int = 50,
                    max_attempts: int = MAX_ATTEMPTS, lease: timedelta = LEASE,
                    channels: Sequence[str] | None = None) -> DeliveryReport:
    """Claim the due outbox rows, send them outside any transaction and record
    each outcome (see the module's docstring). Each channel claims and sends
    its own batch in its own thread, so a stuck webhook never holds up email
    (and the scheduler runs a job per channel). Returns the ids sent,
    scheduled for a retry, failed for good and in doubt."""
    channels = tuple(channels) if channels is not None else OUTBOX_CHANNELS
    if len(channels) == 1:
        return _deliver_channel(session_factory, channels[0], utc(now), transports, batch,
                                max_attempts, lease)
    report = DeliveryReport()
    with ThreadPoolExecutor(max_workers=len(channels), thread_name_prefix="outbox") as pool:
        futures = [pool.submit(_deliver_channel, session_factory, channel, utc(now), transports,
                               batch, max_attempts, lease) for channel in channels]
        for future in futures:
            report.add(future.result())
    return report


def _deliver_channel(factory: sessionmaker[Session], channel: str, now: datetime,
                     transports: Mapping[str, Transport], batch: int, max_attempts: int,
                     lease: timedelta) -> DeliveryReport:
    report = DeliveryReport()
    transport = transports.get(channel)
    for envelope, token in _claim(factory, now, batch, lease, channel):
        error, outcome_kind = None, "retry"
        try:
            if transport is None:
                raise RuntimeError(f"no {envelope.channel} transport is configured")
            transport.send(envelope)
        except PermanentFailure as exc:
            error, outcome_kind = str(exc), "permanent"
        except InDoubt as exc:
            error, outcome_kind = str(exc), "in_doubt"
        except Exception as exc:  # noqa: BLE001 - every failure is recorded on the row
            error = f"{type(exc).__name__}: {exc}"
        outcome = _record(factory, envelope.id, token, now, error, outcome_kind, max_attempts)
        if outcome is not None:
            getattr(report, outcome).append(envelope.id)
        if error:
            log.warning("outbox %s %s to %s: %s (%s)", envelope.channel, envelope.id,
                        envelope.recipient, error, outcome)
    return report


def _claim(factory: sessionmaker[Session], now: datetime, batch: int,
           lease: timedelta, channel: str | None = None) -> list[tuple[Envelope, datetime]]:
    now = utc(now)  # SQLite keeps no offset: store and compare UTC only
    with transaction(factory) as session:
        query = (select(OutboxMessage)
                 .where(or_(and_(OutboxMessage.status == "pending",
                                 OutboxMessage.next_attempt_at <= now),
                            and_(OutboxMessage.status == "sending",
                                 OutboxMessage.locked_until < now)))
                 .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(batch))
        if channel is not None:
            query = query.where(OutboxMessage.channel == channel)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        token = now + lease
        claimed = []
        for row in session.scalars(query):
            row.status, row.locked_until = "sending", token
            claimed.append((Envelope(row.id, row.channel, row.recipient, row.subject, row.body,
                                     row.payload, row.dedupe_key), token))
    return claimed


def _record(factory: sessionmaker[Session], message_id: int, token: datetime, now: datetime,
            error: str | None, kind: str | bool, max_attempts: int) -> str | None:
    """Record one attempt's outcome; ``kind`` is ``retry``, ``permanent`` or
    ``in_doubt`` (a bool is read as permanent or not)."""
    if isinstance(kind, bool):
        kind = "permanent" if kind else "retry"
    now, token = utc(now), utc(token)
    with transaction(factory) as session:
        row = session.get(OutboxMessage, message_id, with_for_update=True)
        if row is None or row.status != "sending" or aware(row.locked_until) != token:
            return None  # the lease ran out and another sender took the row over
        row.locked_until, row.last_attempt_at = None, now
        if error is None:
            row.status, row.sent_at, row.last_error, row.in_doubt = "sent", now, None, False
            return "sent"
        row.attempts += 1
        row.last_error = error[:2000]
        if kind == "in_doubt":
            # Perhaps delivered: an admin decides whether to send it again.
            row.status, row.in_doubt = "failed", True
            return "in_doubt"
        if kind == "permanent" or row.attempts >= max_attempts:
            row.status = "failed"
            return "failed"
        row.status, row.next_attempt_at = "pending", now + backoff(row.attempts)
        return "retrying"


# -- for the admin page ----------------------------------------------------------------------

# The status as a literal, so that SQLite sees ``ix_outbox_message_failed`` applies.
FAILED = OutboxMessage.status == literal_column("'failed'")
FAILED_ORDER = paging.Order.by("failed-deliveries",
                               paging.Key(OutboxMessage.created_at, datetime, descending=True),
                               paging.Key(OutboxMessage.id, int, descending=True))


def failed_deliveries(session: Session, *, cursor: str | None = None,
                      limit: int | None = None) -> paging.Page[OutboxMessage]:
    """A page of the messages that failed for good, newest first
    (``ix_outbox_message_failed``)."""
    return paging.fetch(session, select(OutboxMessage).where(FAILED), FAILED_ORDER,
                        cursor=cursor, limit=limit)


def failed_query():
    """Messages that failed for good (the admin's badge counts them)."""
    return select(OutboxMessage.id).where(FAILED)


def failed_count(session: Session) -> paging.Count:
    """How many messages failed for good (the deliveries page), up to the cap."""
    return paging.count_upto(session, failed_query())


def pending_count(session: Session) -> dict[str, int]:
    """How many messages wait to be sent or are being retried, per status."""
    rows = session.execute(select(OutboxMessage.status, func.count()).where(
        OutboxMessage.status.in_(("pending", "sending"))).group_by(OutboxMessage.status))
    return {status: n for status, n in rows}


def retry_delivery(session: Session, message_id: int, now: datetime) -> OutboxMessage:
    """An admin sends a failed message again (from attempt one, at once)."""
    row = session.get(OutboxMessage, message_id, with_for_update=True)
    if row is None:
        raise NotFound("Outbox message {message_id} does not exist.", message_id=message_id)
    if row.status != "failed":
        raise ValidationError("Outbox message {message_id} is {status}, not failed.",
                              message_id=message_id, status=row.status)
    row.status, row.attempts, row.next_attempt_at = "pending", 0, utc(now)
    row.in_doubt = False
    session.flush()
    return row
