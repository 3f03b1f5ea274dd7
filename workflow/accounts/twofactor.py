"""Second factors for the zone's staff: an authenticator app (TOTP, RFC 6238,
30-second steps, 6 digits) and ten one-time recovery codes.

- **Who must have one** (``Policy``): admins, supervisors and lead handlers;
  agents when the deployment says so (``TOTP_REQUIRED_FOR_AGENTS`` in the web
  app's config: one deployment serves one zone, and the zone's security policy
  is its operator's, not part of the process definition). Enterprises never.
  A deployment may switch the requirement off (the local demo, the tests); a
  factor once enrolled is asked for at every login regardless.
- **The secret** is sealed (Fernet: AES-128-CBC with HMAC-SHA256) with a key
  derived from the app's secret key, so a copy of the database alone does not
  yield it; changing the secret key makes every factor unreadable, and each
  user must then be reset and enrol again. It is shown only while enrolling.
- **Replay**: the last accepted time step is kept; a code of that step or an
  earlier one is refused, so a code seen over a shoulder is worth nothing once used.
- **Recovery codes** are random (50 bits each) and kept as HMAC-SHA256 under a
  second derived key (a pepper): each works once, instead of a code.

Every operation takes the session, the user and the time, and only flushes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import pyotp
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from workflow.accounts import security_log
from workflow.accounts.security_log import NOBODY, Client
from workflow.accounts.users import AdminChange, _load_user, _recorded, _require_admin
from workflow.kernel.errors import ValidationError
from workflow.kernel.models import LoginSession, RecoveryCode, SecondFactor, User

ISSUER = "Daiban"
PERIOD = 30
DIGITS = 6
DRIFT = 1  # steps either side of now a code may come from (clocks drift)
RECOVERY_CODES = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/i/l
REQUIRED_ROLES = ("admin", "supervisor", "lead")


@dataclass(frozen=True)
class Policy:
    """Which accounts must have a second factor before they may work."""

    enforced: bool = True
    agents: bool = False

    def requires(self, user: User) -> bool:
        if not self.enforced:
            return False
        return user.role in REQUIRED_ROLES or (self.agents and user.role == "agent")


class Keys:
    """The keys derived from the app's secret: one seals TOTP secrets, one
    peppers the recovery codes' hashes."""

    def __init__(self, app_secret: str | bytes) -> None:
        raw = app_secret.encode() if isinstance(app_secret, str) else app_secret
        if not raw:
            raise ValueError("The second factors need the app's secret key.")
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(raw, b"daiban/totp-secret/v1")))
        self.pepper = _derive(raw, b"daiban/recovery-code/v1")

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def unseal(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise ValidationError("This second factor was sealed with another secret key; an "
                                  "admin must reset it.", field="code") from None


def _derive(secret: bytes, label: bytes) -> bytes:
    return hmac.new(secret, label, hashlib.sha256).digest()


class WrongCode(ValidationError):
    """The code typed does not match (a guess counts toward the login limit)."""


@dataclass(frozen=True)
class Enrolment:
    """What the enrolment page shows: the secret and the URI its QR code carries."""

    secret: str
    uri: str


# -- reading ---------------------------------------------------------------------------------

def factor_of(session: Session, user: User, *, lock: bool = False) -> SecondFactor | None:
    return session.get(SecondFactor, user.id, with_for_update=lock, populate_existing=lock)


def is_enrolled(session: Session, user: User) -> bool:
    factor = factor_of(session, user)
    return factor is not None and factor.confirmed_at is not None


def recovery_codes_left(session: Session, user: User) -> int:
    return session.scalar(select(func.count(RecoveryCode.id)).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))) or 0


def step_at(now: datetime) -> int:
    return int(now.timestamp()) // PERIOD


def code_at(secret: str, now: datetime) -> str:
    """The code an authenticator shows at ``now`` (tests and the demo use it)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD).at(now)


# -- enrolment -------------------------------------------------------------------------------

def begin_enrolment(session: Session, user: User, *, keys: Keys, now: datetime) -> Enrolment:
    """The secret to enrol: the one begun earlier and not yet confirmed (a
    reloaded page shows the same QR code), else a new one. Refused once a
    factor is active: it is reset by an admin, never replaced silently."""
    factor = factor_of(session, user, lock=True)
    if factor is not None and factor.confirmed_at is not None:
        raise ValidationError("A second factor is already active for this account.",
                              field="code")
    if factor is None:
        secret = pyotp.random_base32()
        session.add(SecondFactor(user_id=user.id, secret=keys.seal(secret),
                                 created_at=now.astimezone(UTC)))
        session.flush()
    else:
        try:
            secret = keys.unseal(factor.secret)
        except ValidationError:  # begun under another secret key: begin again
            secret = pyotp.random_base32()
            factor.secret, factor.created_at = keys.seal(secret), now.astimezone(UTC)
            session.flush()
    uri = pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD).provisioning_uri(
        name=user.username, issuer_name=ISSUER)
    return Enrolment(secret, uri)


def confirm_enrolment(session: Session, user: User, code: str, *, keys: Keys, now: datetime,
                      client: Client = NOBODY) -> list[str]:
    """Activate the factor begun with ``begin_enrolment`` when ``code`` is
    current; return the ten recovery codes (shown once, kept only hashed)."""
    factor = factor_of(session, user, lock=True)
    if factor is None or factor.confirmed_at is not None:
        raise ValidationError("There is no enrolment to confirm; start again.", field="code")
    step = _matching_step(keys.unseal(factor.secret), code, now, after=None)
    if step is None:
        raise WrongCode("The code does not match; check the phone's time and try "
                        "the current code.", field="code")
    factor.confirmed_at, factor.last_step = now.astimezone(UTC), step
    codes = _new_recovery_codes(session, user, keys=keys, now=now)
    security_log.record(session, "factor_enrolled", now=now, user=user, client=client)
    session.flush()
    return codes


def regenerate_recovery_codes(session: Session, user: User, *, keys: Keys, now: datetime,
                              client: Client = NOBODY) -> list[str]:
    """Ten new recovery codes for an enrolled user; the old ones stop working."""
    if not is_enrolled(session, user):
        raise ValidationError("Enrol a second factor first.", field="code")
    codes = _new_recovery_codes(session, user, keys=keys, now=now)
    security_log.record(session, "recovery_regenerated", now=now, user=user, client=client)
    session.flush()
    return codes


def _new_recovery_codes(session: Session, user: User, *, keys: Keys, now: datetime) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [_recovery_code() for _ in range(RECOVERY_CODES)]
    for code in codes:
        session.add(RecoveryCode(user_id=user.id, code_hash=_code_hash(keys, code),
                                 created_at=now.astimezone(UTC)))
    return codes


def _recovery_code() -> str:
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(10))
    return f"{chars[:5]}-{chars[5:]}"


def _normal(code: str) -> str:
    return "".join(ch for ch in (code or "").lower() if ch.isalnum())


def _code_hash(keys: Keys, code: str) -> str:
    return hmac.new(keys.pepper, _normal(code).encode(), hashlib.sha256).hexdigest()


# -- the second step of a login ---------------------------------------------------------------

def verify(session: Session, user: User, code: str, *, keys: Keys, now: datetime,
           client: Client = NOBODY) -> str | None:
    """Check the second step of ``user``'s login: ``"totp"`` for a current code
    not used before, ``"recovery"`` for an unused recovery code (now spent),
    ``None`` otherwise. The factor's row is locked, so two requests carrying
    the same code cannot both pass."""
    factor = factor_of(session, user, lock=True)
    if factor is None or factor.confirmed_at is None:
        return None
    digits = "".join((code or "").split())
    if digits.isdigit() and len(digits) == DIGITS:
        step = _matching_step(keys.unseal(factor.secret), digits, now, after=factor.last_step)
        if step is None:
            return None
        factor.last_step = step
        session.flush()
        return "totp"
    if len(_normal(code)) != 10:
        return None
    spent = session.execute(update(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _code_hash(keys, code),
        RecoveryCode.used_at.is_(None)).values(used_at=now.astimezone(UTC))
        .execution_options(synchronize_session=False)).rowcount
    if not spent:
        return None
    security_log.record(session, "recovery_used", now=now, user=user, client=client,
                        detail=f"left={recovery_codes_left(session, user)}")
    session.flush()
    return "recovery"


def _matching_step(secret: str, code: str, now: datetime, *, after: int | None) -> int | None:
    """The time step within ``DRIFT`` of now whose code is ``code`` and that
    comes after ``after`` (the last one accepted)."""
    code = "".join((code or "").split())
    if not (code.isdigit() and len(code) == DIGITS):
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD)
    current = step_at(now)
    for step in range(current - DRIFT, current + DRIFT + 1):
        if after is not None and step <= after:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


# -- the admin's reset ---------------------------------------------------------------------------

def end_sessions(session: Session, user: User, now: datetime) -> int:
    """End ``user``'s login sessions (not their API tokens: a lost phone
    does not reveal those)."""
    return session.execute(update(LoginSession).where(
        LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=now.astimezone(UTC))
        .execution_options(synchronize_session=False)).rowcount or 0


def reset_factor(session: Session, user_id: int, *, actor: User | None, now: datetime,
                 client: Client = NOBODY) -> AdminChange:
    """Remove a user's second factor and recovery codes (a lost phone): their
    sessions end and they enrol again at their next login. Written to the
    zone's change log and the security log in this transaction. ``actor``
    None is the operator at the server (``daiban user reset-factor``), for
    the admin who lost both phone and recovery codes."""
    if actor is not None:
        _require_admin(actor)
    user = _load_user(session, user_id)
    factor = factor_of(session, user, lock=True)
    if factor is None:
        raise ValidationError("{user} has no second factor to reset.",
                              field="factor", user=user.display_name)
    was_active = factor.confirmed_at is not None
    session.delete(factor)
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    ended = end_sessions(session, user, now)
    security_log.record(session, "factor_reset", now=now, user=user, actor=actor, client=client)
    session.flush()
    return _recorded(session, actor, now, AdminChange(
        user, "user.factor_reset", {"was_active": was_active, "sessions_ended": ended}))
