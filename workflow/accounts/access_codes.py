"""Access codes (查询码) for the public status lookup without an account.

A project's lead side issues a short, human-typeable code (one is issued with
the mandate and printed on it, ``workflow.core.access_code``; a new one may be
issued later and told by phone); anyone holding the project code (项目代码) and the
access code may see the project's stage and each item's state. Only an argon2id
hash of the code is stored (it is a short secret, so the hash must be slow),
issuing a new code replaces the old one, and failed lookups are counted in the
database per address and per project code so the limit holds across workers.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.accounts.passwords import hash_password, verify_password
from workflow.core import permissions
from workflow.core.access_code import ALPHABET, LENGTH, display, renew
from workflow.core.models import Project
from workflow.core.operations import lock_project, utc
from workflow.kernel.models import LoginAttempt, User

__all__ = ["ALPHABET", "LENGTH", "check_access_code", "display", "failed_lookups",
           "issue_access_code", "normalize", "record_lookup", "well_formed"]

# Failed lookups are stored as login attempts under their own keys, so they
# neither use up nor can be spoofed into the login limits (a login's ``ip`` is
# a bare address, never ``lookup:…``).
IP_KEY = "lookup:{ip}"
CODE_KEY = "lookup:{code}"

_dummy_hash: str | None = None


def normalize(access_code: str | None) -> str:
    """What the user typed, without spaces or dashes, in capitals."""
    text = (access_code or "").upper()
    return "".join(ch for ch in text if not ch.isspace() and ch not in "-_")


def well_formed(code: str) -> bool:
    return len(code) == LENGTH and all(ch in ALPHABET for ch in code)


def issue_access_code(session: Session, project_id: int, *, actor: User | None,
                      now: datetime) -> str:
    """Generate a new access code for the project and store only its hash; the
    plain code is returned once (formatted ``ABCD-EFGH``) and never again. The
    project's lead side or an admin may do it (``None``: the system). A new
    code replaces the previous one; the audit event records that a code was
    issued, never the code itself."""
    project = lock_project(session, project_id)
    permissions.require_project(actor, project)
    return renew(session, project, actor=actor, now=now)


def check_access_code(session: Session, code_text: str | None,
                      access_code: str | None) -> Project | None:
    """The project whose code is ``code_text`` and whose access code is
    ``access_code``, or None when either is wrong (or no code was issued).
    One slow hash is verified whatever the input, so the time taken does not
    tell an unknown project from a wrong code."""
    code_text = (code_text or "").strip()
    candidate = normalize(access_code)
    project = None
    if code_text and len(code_text) <= 40:
        project = session.scalar(select(Project).where(Project.code == code_text)
                                 .execution_options(populate_existing=True))
    stored = project.access_code_hash if project is not None else None
    usable = stored is not None and well_formed(candidate)
    ok = verify_password(stored if usable else _dummy(), candidate if usable else "x" * LENGTH)
    return project if ok and usable else None


def _dummy() -> str:
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = hash_password(secrets.token_hex(16))
    return _dummy_hash


# -- rate limiting ----------------------------------------------------------------------

def failed_lookups(session: Session, *, ip: str, project_code: str,
                   since: datetime) -> tuple[int, int]:
    """Failed lookups since ``since``: (from this address, for this project code)."""
    failures = select(func.count(LoginAttempt.id)).where(
        LoginAttempt.success.is_(False), LoginAttempt.at >= utc(since))
    by_ip = session.scalar(failures.where(LoginAttempt.ip == _ip_key(ip))) or 0
    by_code = session.scalar(failures.where(
        LoginAttempt.username == _code_key(project_code))) or 0
    return by_ip, by_code


def record_lookup(session: Session, *, ip: str, project_code: str, success: bool,
                  now: datetime) -> None:
    """Count one lookup (the caller commits, also after a failure)."""
    session.add(LoginAttempt(username=_code_key(project_code), ip=_ip_key(ip), at=utc(now),
                             success=success))


def _ip_key(ip: str) -> str:
    return IP_KEY.format(ip=ip)[:64]


def _code_key(code: str) -> str:
    return CODE_KEY.format(code=code.strip())[:80]
