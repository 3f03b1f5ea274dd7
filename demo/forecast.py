"""The demo's predicted dates: every open project predicted as of the seed's
moment (``workflow.core.predict``), so that the pages built on them have
rows before the scheduler's first sweep. The history they read is the one
the seeded completions counted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from workflow.core import predict


def add_predictions(session: Session, *, now: datetime) -> dict[str, int]:
    """Predict every open project of the demo zone as of ``now``."""
    session.flush()
    return predict.refresh(session, now=now, limit=1_000_000)
