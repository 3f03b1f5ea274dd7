"""Settings of the deadline machinery and its delivery channels, read from the
environment once by whoever starts a process (the scheduler, the CLI, the web
app factory) and handed to the engine as an argument; nothing inside the
engine's operations reads the environment.

=============================  ==========================================  =========
variable                       meaning                                     default
=============================  ==========================================  =========
DAIBAN_SMTP_HOST               SMTP server; email is off when unset        (off)
DAIBAN_SMTP_PORT               its port                                    25
DAIBAN_SMTP_SENDER             From: address                               daiban@localhost
DAIBAN_SMTP_USER / _PASSWORD   login, when the server wants one            (none)
DAIBAN_SMTP_STARTTLS           1/true: STARTTLS before login               false
DAIBAN_WEBHOOK_URL             JSON POST target (SMS/chat gateway)         (off)
DAIBAN_WEBHOOK_TIMEOUT         seconds                                     10
DAIBAN_WEBHOOK_SECRET          the endpoint's HMAC-SHA256 signing secret   (required
                               (at least 16 characters; docs/webhooks.md)   with a URL)
DAIBAN_BASE_URL                the site's address, for links in messages   http://localhost:5000
DAIBAN_MAIL_DOMAIN             the domain of each email's Message-ID       the base URL's host
DAIBAN_SWEEP_MINUTES           minutes between deadline sweeps             5
DAIBAN_DIGEST_TIME             daily digest time, Asia/Shanghai, HH:MM     08:30
DAIBAN_OUTBOX_SECONDS          seconds between outbox deliveries           30
DAIBAN_OUTBOX_MAX_ATTEMPTS     attempts before a message is failed         6
DAIBAN_ESCALATE_LEAD_DAYS      red for N working days → lead's 督办        3
DAIBAN_ESCALATE_SUPERVISOR_DAYS  red for N working days → supervisors      7
DAIBAN_ESCALATE_LEADERSHIP_MONTHS  red for N months → leadership          1
DAIBAN_MATERIALS_REMIND_DAYS   working days before a materials deadline    2
=============================  ==========================================  =========
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from urllib.parse import urlsplit

MIN_SECRET = 16
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


@dataclass(frozen=True)
class DeadlinePolicy:
    """The 13710 escalation rhythm and the enterprise's materials reminder."""

    lead_after_working_days: int = 3
    supervisor_after_working_days: int = 7
    leadership_after_months: int = 1
    materials_remind_working_days: int = 2

    def __post_init__(self) -> None:
        values = (self.lead_after_working_days, self.supervisor_after_working_days,
                  self.leadership_after_months, self.materials_remind_working_days)
        if any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in values):
            raise ValueError("deadline thresholds are whole numbers of days or months, >= 0")
        if self.lead_after_working_days < 1 or self.leadership_after_months < 1:
            raise ValueError("escalations start at least one working day / one month after red")


@dataclass(frozen=True)
class Channels:
    """Which delivery channels besides in-app notifications are switched on."""

    email: bool = False
    webhook: bool = False


@dataclass(frozen=True)
class Config:
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_sender: str = "daiban@localhost"
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_starttls: bool = False
    webhook_url: str | None = None
    webhook_timeout: float = 10.0
    webhook_secret: str | None = field(default=None, repr=False)
    base_url: str = "http://localhost:5000"
    mail_domain: str | None = None
    sweep_minutes: int = 5
    # How long each sweep may spend predicting, in batches (a quiet day's
    # recomputation after midnight spreads over the first sweeps); never more
    # than half the sweep interval (``prediction_budget``).
    prediction_seconds: int = 120
    digest_time: time = time(8, 30)
    outbox_seconds: int = 30
    outbox_max_attempts: int = 6
    deadlines: DeadlinePolicy = field(default_factory=DeadlinePolicy)

    def __post_init__(self) -> None:
        if self.sweep_minutes < 1:
            raise ValueError("DAIBAN_SWEEP_MINUTES must be at least 1")
        if not 0 <= self.prediction_seconds <= 3600:
            raise ValueError("DAIBAN_PREDICTION_SECONDS must be between 0 and 3600")
        if self.outbox_seconds < 1:
            raise ValueError("DAIBAN_OUTBOX_SECONDS must be at least 1")
        if self.outbox_max_attempts < 1:
            raise ValueError("DAIBAN_OUTBOX_MAX_ATTEMPTS must be at least 1")
        if self.webhook_url and not self.webhook_url.startswith(("http://", "https://")):
            raise ValueError("DAIBAN_WEBHOOK_URL must be an http:// or https:// URL")
        if self.webhook_url and len(self.webhook_secret or "") < MIN_SECRET:
            # Every call is signed: the payload carries names, emails and phones.
            raise ValueError(f"DAIBAN_WEBHOOK_SECRET (at least {MIN_SECRET} characters) must be "
                             "set with DAIBAN_WEBHOOK_URL")
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("DAIBAN_BASE_URL must be an http:// or https:// URL with a host")

    @property
    def prediction_budget(self) -> float:
        """Seconds a sweep spends predicting: the setting, at most half the interval."""
        return min(self.prediction_seconds, self.sweep_minutes * 30)

    @property
    def message_domain(self) -> str:
        """The domain of Message-IDs: the setting, else the base URL's host."""
        return self.mail_domain or urlsplit(self.base_url).hostname or "localhost"

    @property
    def site(self) -> str:
        """The base URL without a trailing slash, for links in messages."""
        return self.base_url.rstrip("/")

    @property
    def channels(self) -> Channels:
        return Channels(email=bool(self.smtp_host), webhook=bool(self.webhook_url))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        """Read the settings above; a malformed value raises ValueError naming it."""
        env = os.environ if env is None else env
        return cls(
            smtp_host=env.get("DAIBAN_SMTP_HOST") or None,
            smtp_port=_int(env, "DAIBAN_SMTP_PORT", 25),
            smtp_sender=env.get("DAIBAN_SMTP_SENDER") or "daiban@localhost",
            smtp_user=env.get("DAIBAN_SMTP_USER") or None,
            smtp_password=env.get("DAIBAN_SMTP_PASSWORD") or None,
            smtp_starttls=_bool(env, "DAIBAN_SMTP_STARTTLS"),
            webhook_url=env.get("DAIBAN_WEBHOOK_URL") or None,
            webhook_timeout=_float(env, "DAIBAN_WEBHOOK_TIMEOUT", 10.0),
            webhook_secret=env.get("DAIBAN_WEBHOOK_SECRET") or None,
            base_url=env.get("DAIBAN_BASE_URL") or "http://localhost:5000",
            mail_domain=env.get("DAIBAN_MAIL_DOMAIN") or None,
            sweep_minutes=_int(env, "DAIBAN_SWEEP_MINUTES", 5),
            prediction_seconds=_int(env, "DAIBAN_PREDICTION_SECONDS", 120),
            digest_time=_time(env, "DAIBAN_DIGEST_TIME", time(8, 30)),
            outbox_seconds=_int(env, "DAIBAN_OUTBOX_SECONDS", 30),
            outbox_max_attempts=_int(env, "DAIBAN_OUTBOX_MAX_ATTEMPTS", 6),
            deadlines=DeadlinePolicy(
                lead_after_working_days=_int(env, "DAIBAN_ESCALATE_LEAD_DAYS", 3),
                supervisor_after_working_days=_int(env, "DAIBAN_ESCALATE_SUPERVISOR_DAYS", 7),
                leadership_after_months=_int(env, "DAIBAN_ESCALATE_LEADERSHIP_MONTHS", 1),
                materials_remind_working_days=_int(env, "DAIBAN_MATERIALS_REMIND_DAYS", 2),
            ),
        )


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {raw!r}") from None


def _bool(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ValueError(f"{name} must be true or false, not {raw!r}")


def _time(env: Mapping[str, str], name: str, default: time) -> time:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return time.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{name} must be a time as HH:MM, not {raw!r}") from None
