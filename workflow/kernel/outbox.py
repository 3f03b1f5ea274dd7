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
"""

from __future__ import annotations

import hashlib
import json
import logging
import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, Protocol

from sqlalchemy import and_, func, literal_column, or_, select
from sqlalchemy.orm import Session, sessionmaker

from workflow.kernel import paging
from workflow.kernel.config import Config
from workflow.kernel.db import transaction
from workflow.kernel.errors import NotFound, ValidationError
from workflow.kernel.models import OutboxMessage
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
    """What a transport needs of one outbox row (a plain copy, no session)."""

    id: int
    channel: str
    recipient: str
    subject: str
    body: str
    payload: dict[str, Any] | None
    dedupe_key: str


class PermanentFailure(Exception):
    """The receiver refused the message for good: retrying cannot help."""


class Transport(Protocol):
    def send(self, envelope: Envelope) -> None: ...


@dataclass(frozen=True)
class SmtpTransport:
    """Plain SMTP (optionally STARTTLS and login) with the standard library."""

    host: str
    port: int = 25
    sender: str = "daiban@localhost"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    timeout: float = 30.0

    def send(self, envelope: Envelope) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = envelope.recipient
        message["Subject"] = envelope.subject
        # The same id on every attempt lets a mail system drop a repeat.
        digest = hashlib.sha256(envelope.dedupe_key.encode()).hexdigest()[:32]
        message["Message-ID"] = f"<{digest}@daiban>"
        message.set_content(envelope.body)
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
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
            raise
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()


@dataclass(frozen=True)
class WebhookTransport:
    """JSON POST with urllib (no extra HTTP dependency), for an SMS or chat gateway."""

    url: str
    timeout: float = 10.0

    def send(self, envelope: Envelope) -> None:
        payload = envelope.payload or {"title": envelope.subject, "body": envelope.body}
        request = urllib.request.Request(
            self.url, method="POST",
            data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
            headers={"Content-Type": "application/json; charset=utf-8",
                     "Idempotency-Key": envelope.dedupe_key, "User-Agent": "daiban-outbox"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            if 400 <= exc.code < 500 and exc.code not in (408, 425, 429):
                raise PermanentFailure(f"webhook answered HTTP {exc.code} {exc.reason}") from exc
            raise


def transports_from_config(config: Config) -> dict[str, Transport]:
    """The transports the configuration switches on (email, webhook)."""
    transports: dict[str, Transport] = {}
    if config.smtp_host:
        transports["email"] = SmtpTransport(
            host=config.smtp_host, port=config.smtp_port, sender=config.smtp_sender,
            username=config.smtp_user, password=config.smtp_password,
            starttls=config.smtp_starttls)
    if config.webhook_url:
        transports["webhook"] = WebhookTransport(config.webhook_url, timeout=config.webhook_timeout)
    return transports


# -- delivery ---------------------------------------------------------------------------------

@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def deliver_pending(session_factory: sessionmaker[Session], *, now: datetime,
                    transports: Mapping[str, Transport], batch: int = 50,
                    max_attempts: int = MAX_ATTEMPTS, lease: timedelta = LEASE) -> DeliveryReport:
    """Claim the due outbox rows, send them outside any transaction and record
    each outcome (see the module's docstring). Returns the ids sent, scheduled
    for a retry and failed for good."""
    now = utc(now)
    report = DeliveryReport()
    for envelope, token in _claim(session_factory, now, batch, lease):
        transport = transports.get(envelope.channel)
        error, permanent = None, False
        try:
            if transport is None:
                raise RuntimeError(f"no {envelope.channel} transport is configured")
            transport.send(envelope)
        except PermanentFailure as exc:
            error, permanent = str(exc), True
        except Exception as exc:  # noqa: BLE001 - every failure is recorded on the row
            error = f"{type(exc).__name__}: {exc}"
        outcome = _record(session_factory, envelope.id, token, now, error, permanent, max_attempts)
        if outcome is not None:
            getattr(report, outcome).append(envelope.id)
        if error:
            log.warning("outbox %s %s to %s: %s (%s)", envelope.channel, envelope.id,
                        envelope.recipient, error, outcome)
    return report


def _claim(factory: sessionmaker[Session], now: datetime, batch: int,
           lease: timedelta) -> list[tuple[Envelope, datetime]]:
    now = utc(now)  # SQLite keeps no offset: store and compare UTC only
    with transaction(factory) as session:
        query = (select(OutboxMessage)
                 .where(or_(and_(OutboxMessage.status == "pending",
                                 OutboxMessage.next_attempt_at <= now),
                            and_(OutboxMessage.status == "sending",
                                 OutboxMessage.locked_until < now)))
                 .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(batch))
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
            error: str | None, permanent: bool, max_attempts: int) -> str | None:
    now, token = utc(now), utc(token)
    with transaction(factory) as session:
        row = session.get(OutboxMessage, message_id, with_for_update=True)
        if row is None or row.status != "sending" or aware(row.locked_until) != token:
            return None  # the lease ran out and another sender took the row over
        row.locked_until = None
        if error is None:
            row.status, row.sent_at, row.last_error = "sent", now, None
            return "sent"
        row.attempts += 1
        row.last_error = error[:2000]
        if permanent or row.attempts >= max_attempts:
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
        raise NotFound(f"Outbox message {message_id} does not exist.")
    if row.status != "failed":
        raise ValidationError(f"Outbox message {message_id} is {row.status}, not failed.")
    row.status, row.attempts, row.next_attempt_at = "pending", 0, utc(now)
    session.flush()
    return row
