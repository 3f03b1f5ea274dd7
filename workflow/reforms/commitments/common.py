"""What the commitment, 容缺 and credit modules share: the item and its
department for a task, the audit entry and the message of a change, the
item's label in a message, the digest of a signed text, and the check that a user signs for the
project's enterprise."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from definitions import Item
from workflow.core import audit, notify, permissions
from workflow.core import operations as ops
from workflow.core.models import ItemTask, Project
from workflow.kernel.errors import NotPermitted
from workflow.kernel.models import User
from workflow.kernel.signatures import sha256_of  # noqa: F401 - the areas' digest of a signed text


def _item_and_department(project: Project, code: str) -> tuple[Item, str]:
    definition = ops.definition_for(project)
    item = definition.items[code]
    dept = definition.departments.get(item.department)
    return item, dept.name_zh if dept is not None else item.department


def _require_enterprise_user(actor: User, project: Project) -> None:
    if not permissions.can_sign_for_enterprise(actor, project):
        raise NotPermitted("Only a user of {name} may sign for it.",
                           project=project.code, name=project.enterprise.name)


def _record(session: Session, project: Project, action: str, *, actor: User | None,
            now: datetime, task: ItemTask | None = None, data: dict | None = None,
            public: bool = True):
    return audit.record(session, project, actor=actor, now=ops.utc(now), action=action,
                        task=task, data=data or {}, public=public)


def _tell(session: Session, users: Iterable[User | None], kind: str, title: str, body: str, *,
          now: datetime, key: str, project: Project, task: ItemTask | None = None) -> None:
    with session.no_autoflush:
        notify.tell(session, users, notify.Message(kind, title, body), now=now, key=key,
                    project=project, task=task)


def _item_label(project: Project, task: ItemTask) -> str:
    return f"「{project.name}」（{project.code}）的事项「{notify.item_name(project, task.item_code)}」"
