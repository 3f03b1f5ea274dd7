"""The demo's mobile numbers for the SMS gateway: every lead handler and agent,
and the first enterprise accounts, have their own mobile number; an admin
verified most of them (on the day the people were added), one agent's and
one enterprise's are waiting for it, so the admin's user page shows both
states and the webhook's ``recipient.phone`` is null for those two."""

from __future__ import annotations

from datetime import datetime, time

from workflow.core import operations as ops

# Usernames whose number an admin has not verified yet.
UNVERIFIED = ("agent21", "ent02")


def add_mobiles(seeder) -> None:
    """Give the staff and ent01–ent03 a deterministic mobile number (the
    138 0000 xxxx block, reserved-looking, reaching nobody)."""
    verified_at = datetime.combine(seeder.day(20), time(9, 0), tzinfo=ops.ZONE_TZ)
    for n, (username, user) in enumerate(sorted(seeder.users.items()), start=1):
        if user.role not in ("lead", "agent") and username not in ("ent01", "ent02", "ent03"):
            continue
        user.mobile = f"1380000{n:04d}"
        user.mobile_verified_at = None if username in UNVERIFIED else ops.utc(verified_at)
