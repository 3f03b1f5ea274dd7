"""clocks: two clocks per item, pauses in the item's own unit

Revision ID: 0015_clocks
Revises: 0014_security
Create Date: 2026-12-12

行政许可法 Art. 42 counts a department's limit from its 受理; the agent's
preparation before it is the zone's own service time. Every item task now
carries a service clock (release → submission, the zone's service limit:
``released_on``, ``service_due_on``, ``service_paused_days``,
``service_extension_days``, ``submitted_on``) and a statutory clock (受理 →
decision, the legal limit: ``accepted_on``, ``statutory_due_on``,
``statutory_paused_days`` — formerly ``paused_working_days`` — ,
``extension_days``, ``decided_on``). ``clock`` names the one ``due_on`` (the
indexed "current due" every list sorts by) follows. New states: ``accepted``
(the department's 受理 recorded) and ``on_hold`` (its clock stopped for an
expert review, hearing or test, Art. 45). A pause records its clock and kind
and counts in the unit of that clock's limit (``pause.days``, formerly
``working_days``). Reminders are keyed per clock; the figures count each.

How existing tasks are split (the rule, applied to every released task; the
old ``accepted_on`` was the day of release):

1. ``released_on`` := the old ``accepted_on``: the service clock starts there.
2. The task is *with the department* when it is submitted, approved or done
   (or suspended or terminated from there) and its last ``task.submit`` event
   has no ``task.department_return`` after it. Then ``submitted_on`` := the
   zone day of that last submission (the release day when the audit trail
   has none: rows loaded around the engine keep their old clock), the
   statutory clock counts from it (Art. 32(4): a department that did not ask
   for 补正 within five days accepted on receipt), ``accepted_on`` := the
   submission day for decided items (approved, done) and stays empty for
   items waiting for their 受理 to be recorded, ``decided_on`` := the day of
   the last ``task.approve`` event (or the closing day), and ``clock`` :=
   statutory.
3. Otherwise the task is *with the agent*: ``clock`` := service, the
   statutory clock has not started, ``accepted_on`` is empty.
4. Each pause belongs to the clock that ran when it began (before the
   submission: service; from it: statutory) and its length is recounted in
   that clock's unit (calendar days for a calendar-day limit); each clock's
   paused days are the sum of its pauses. Extensions stay on the statutory
   clock.
5. An open item with the agent keeps the due date it was working to: where
   the zone's service limit would end before the old due date, the
   difference is recorded as an extension of its service clock
   (``service_extension_days``), so no item turns red, and no escalation is
   sent, because of the upgrade. Closed items are counted as they happened.
6. Due dates are recomputed from these (each clock: start + limit + pauses
   + extensions, in its unit); the due date on the old clock moves only
   later for items with the department (their clock now starts at the
   submission).

Existing reminders get the task's clock (so a due date that did not move
does not warn twice); the open-item figures are refreshed by the next sweep,
and the done-item figures are recounted by the next ``daiban init`` (the
recount marker is removed). The split reads every released task once, in
batches, with the definition version its project runs under.

Downgrade: the two clocks fold back into one counted from the release
(``accepted_on`` := ``released_on``, paused days added), ``accepted`` and
``on_hold`` tasks become ``submitted``, and the service-clock reminders are
dropped.
"""

import os
from datetime import UTC, date, datetime
from math import ceil
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = '0015_clocks'
down_revision = '0014_security'
branch_labels = None
depends_on = None

ZONE_TZ = ZoneInfo("Asia/Shanghai")

OLD_STATES = ('blocked', 'ready', 'assigned', 'in_progress', 'awaiting_enterprise', 'submitted',
              'returned', 'approved', 'done', 'covered', 'suspended', 'terminated')
STATES = ('blocked', 'ready', 'assigned', 'in_progress', 'awaiting_enterprise', 'submitted',
          'accepted', 'on_hold', 'returned', 'approved', 'done', 'covered', 'suspended',
          'terminated')
OLD_INBOX = ('assigned', 'in_progress', 'awaiting_enterprise', 'submitted', 'returned',
             'approved', 'suspended')
INBOX = ('assigned', 'in_progress', 'awaiting_enterprise', 'submitted', 'accepted', 'on_hold',
         'returned', 'approved', 'suspended')
OLD_CLOCK = ('ready', 'assigned', 'in_progress', 'submitted', 'returned', 'approved')
CLOCK = ('ready', 'assigned', 'in_progress', 'submitted', 'accepted', 'returned')
PAUSE_KINDS = ('materials', 'expert_review', 'hearing', 'testing', 'suspension', 'department',
               'other')
# The partial indexes whose states change: name -> (columns, which list).
INDEXES = {
    'ix_item_task_inbox_due': (['assignee_id', 'due_on', 'id'], 'inbox'),
    'ix_item_task_inbox_item': (['assignee_id', 'item_code', 'due_on', 'id'], 'inbox'),
    'ix_item_task_inbox_state': (['assignee_id', 'state', 'due_on', 'id'], 'inbox'),
    'ix_item_task_open_due': (['group_id', 'due_on', 'id'], 'desk'),
    'ix_item_task_clock_due': (['due_on', 'id'], 'clock'),
    'ix_item_task_clock_department': (['department', 'due_on', 'id'], 'clock'),
    'ix_item_task_clock_item': (['item_code', 'due_on', 'id'], 'clock'),
    'ix_item_task_clock_warn': (['warn_on'], 'clock'),
}
AGENT_STATES = ('ready', 'assigned', 'in_progress', 'awaiting_enterprise', 'returned')
DEPARTMENT_STATES = ('submitted', 'approved', 'done')
DECIDED_STATES = ('approved', 'done')
BATCH = 2000


def _in(values) -> str:
    return f"state IN ({', '.join(repr(v) for v in values)})"


def _lists(old: bool) -> dict[str, tuple[str, ...]]:
    inbox = OLD_INBOX if old else INBOX
    return {'inbox': inbox, 'desk': ('ready',) + inbox, 'clock': OLD_CLOCK if old else CLOCK}


def _create_indexes(old: bool) -> None:
    lists = _lists(old)
    for name, (columns, which) in INDEXES.items():
        where = sa.text(_in(lists[which]))
        op.create_index(name, 'item_task', columns, unique=False, postgresql_where=where,
                        sqlite_where=where)


def _drop_indexes() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name='item_task')


def _quietly():
    """SQLite's batch mode copies the tables, reflecting those their foreign
    keys name; it warns that it skips their expression indexes, which it
    neither needs nor touches."""
    import warnings

    context = warnings.catch_warnings()
    context.__enter__()
    warnings.filterwarnings("ignore", "Skipped unsupported reflection", sa.exc.SAWarning)
    return context


def upgrade() -> None:
    context = _quietly()
    try:
        _drop_indexes()
        with op.batch_alter_table('item_task', schema=None) as batch_op:
            batch_op.drop_constraint(op.f('ck_item_task_state_known'), type_='check')
            batch_op.drop_constraint(op.f('ck_item_task_pause_nonnegative'), type_='check')
            batch_op.alter_column('paused_working_days', new_column_name='statutory_paused_days',
                                  existing_type=sa.Integer(), existing_nullable=False)
            batch_op.add_column(sa.Column('released_on', sa.Date(), nullable=True))
            batch_op.add_column(sa.Column('service_due_on', sa.Date(), nullable=True))
            batch_op.add_column(sa.Column('service_paused_days', sa.Integer(),
                                          server_default='0', nullable=False))
            batch_op.add_column(sa.Column('service_extension_days', sa.Integer(),
                                          server_default='0', nullable=False))
            batch_op.add_column(sa.Column('submitted_on', sa.Date(), nullable=True))
            batch_op.add_column(sa.Column('statutory_due_on', sa.Date(), nullable=True))
            batch_op.add_column(sa.Column('decided_on', sa.Date(), nullable=True))
            batch_op.add_column(sa.Column('clock', sa.String(length=16), nullable=True))
            batch_op.create_check_constraint('state_known', _in(STATES))
            batch_op.create_check_constraint('pause_nonnegative', 'statutory_paused_days >= 0')
            batch_op.create_check_constraint('service_pause_nonnegative',
                                             'service_paused_days >= 0')
            batch_op.create_check_constraint('service_extension_nonnegative',
                                             'service_extension_days >= 0')
            batch_op.create_check_constraint(
                'clock_known', "clock IS NULL OR clock IN ('service', 'statutory')")
        with op.batch_alter_table('pause', schema=None) as batch_op:
            batch_op.alter_column('working_days', new_column_name='days',
                                  existing_type=sa.Integer(), existing_nullable=True)
            batch_op.add_column(sa.Column('clock', sa.String(length=16), nullable=True))
            batch_op.add_column(sa.Column('kind', sa.String(length=32), nullable=True))
            batch_op.create_check_constraint(
                'clock_known', "clock IS NULL OR clock IN ('service', 'statutory')")
            batch_op.create_check_constraint(
                'kind_known', "kind IS NULL OR kind IN ("
                + ", ".join(repr(k) for k in PAUSE_KINDS) + ")")
        with op.batch_alter_table('reminder', schema=None) as batch_op:
            batch_op.add_column(sa.Column('clock', sa.String(length=16), nullable=True))
        with op.batch_alter_table('figure_open', schema=None) as batch_op:
            batch_op.add_column(sa.Column('clock', sa.String(length=16),
                                          server_default='statutory', nullable=False))
        for table, big in (('figure_closed_day', False), ('figure_closed_total', True)):
            kind = sa.BigInteger() if big else sa.Integer()
            with op.batch_alter_table(table, schema=None) as batch_op:
                for name in ('service_with_due', 'service_on_time'):
                    batch_op.add_column(sa.Column(name, kind, server_default='0', nullable=False))
                batch_op.add_column(sa.Column('service_days_sum', sa.BigInteger(),
                                              server_default='0', nullable=False))
                batch_op.add_column(sa.Column('service_days_n', kind, server_default='0',
                                              nullable=False))
        _split(op.get_bind())
        op.execute("UPDATE reminder SET clock = (SELECT item_task.clock FROM item_task "
                   "WHERE item_task.id = reminder.task_id) "
                   "WHERE level <> 'materials_deadline'")
        op.execute("UPDATE reminder SET clock = 'statutory' "
                   "WHERE level <> 'materials_deadline' AND clock IS NULL")
        op.execute("UPDATE reminder SET subject_key = subject_key || ':' || clock "
                   "WHERE level <> 'materials_deadline'")
        # The done-item figures gain the service clock: the next ``daiban init`` recounts.
        op.execute("DELETE FROM rollup_state WHERE name = 'closed_rebuilt'")
        _create_indexes(old=False)
    finally:
        context.__exit__(None, None, None)


def downgrade() -> None:
    context = _quietly()
    try:
        _drop_indexes()
        op.execute("DELETE FROM reminder WHERE clock = 'service'")
        op.execute("UPDATE reminder SET subject_key = 'task:' || task_id "
                   "WHERE level <> 'materials_deadline'")
        op.execute("UPDATE item_task SET state = 'submitted' WHERE state IN ('accepted', 'on_hold')")
        op.execute("UPDATE item_task SET suspended_from = 'submitted' "
                   "WHERE suspended_from IN ('accepted', 'on_hold')")
        op.execute("UPDATE item_task SET accepted_on = released_on, "
                   "statutory_paused_days = statutory_paused_days + service_paused_days")
        for table in ('figure_closed_day', 'figure_closed_total'):
            with op.batch_alter_table(table, schema=None) as batch_op:
                for name in ('service_with_due', 'service_on_time', 'service_days_sum',
                             'service_days_n'):
                    batch_op.drop_column(name)
        with op.batch_alter_table('figure_open', schema=None) as batch_op:
            batch_op.drop_column('clock')
        with op.batch_alter_table('reminder', schema=None) as batch_op:
            batch_op.drop_column('clock')
        with op.batch_alter_table('pause', schema=None) as batch_op:
            batch_op.drop_constraint(op.f('ck_pause_kind_known'), type_='check')
            batch_op.drop_constraint(op.f('ck_pause_clock_known'), type_='check')
            batch_op.drop_column('kind')
            batch_op.drop_column('clock')
            batch_op.alter_column('days', new_column_name='working_days',
                                  existing_type=sa.Integer(), existing_nullable=True)
        with op.batch_alter_table('item_task', schema=None) as batch_op:
            for name in ('clock_known', 'service_extension_nonnegative',
                         'service_pause_nonnegative', 'pause_nonnegative', 'state_known'):
                batch_op.drop_constraint(op.f(f'ck_item_task_{name}'), type_='check')
            for name in ('clock', 'decided_on', 'statutory_due_on', 'submitted_on',
                         'service_extension_days', 'service_paused_days', 'service_due_on',
                         'released_on'):
                batch_op.drop_column(name)
            batch_op.alter_column('statutory_paused_days', new_column_name='paused_working_days',
                                  existing_type=sa.Integer(), existing_nullable=False)
            batch_op.create_check_constraint('state_known', _in(OLD_STATES))
            batch_op.create_check_constraint('pause_nonnegative', 'paused_working_days >= 0')
        _create_indexes(old=True)
    finally:
        context.__exit__(None, None, None)


# -- the split of existing tasks (rule in the module docstring) ------------------------------------

def _split(bind) -> None:
    from definitions import load_definition_from_source  # the stored versions, as data
    from workflow.kernel import clock as calendar

    meta = sa.MetaData()
    task = sa.Table('item_task', meta, autoload_with=bind)
    pause = sa.Table('pause', meta, autoload_with=bind)
    event = sa.Table('audit_event', meta, autoload_with=bind)
    project = sa.Table('project', meta, autoload_with=bind)
    version = sa.Table('definition_version', meta, autoload_with=bind)
    definitions = {row.id: load_definition_from_source(row.source)
                   for row in bind.execute(sa.select(version.c.id, version.c.source))}
    task_update = (sa.update(task).where(task.c.id == sa.bindparam('_id'))
                   .values({name: sa.bindparam(name) for name in _TASK_COLUMNS}))
    pause_update = (sa.update(pause).where(pause.c.id == sa.bindparam('_id'))
                    .values(clock=sa.bindparam('clock'), days=sa.bindparam('days'),
                            kind=sa.bindparam('kind')))
    last_id = 0
    while True:
        rows = bind.execute(
            sa.select(task, project.c.definition_version_id)
            .join(project, project.c.id == task.c.project_id)
            .where(task.c.id > last_id, task.c.accepted_on.is_not(None))
            .order_by(task.c.id).limit(BATCH)).all()
        if not rows:
            break
        last_id = rows[-1].id
        ids = [r.id for r in rows]
        events: dict[int, list] = {}
        for e in bind.execute(sa.select(event.c.task_id, event.c.action, event.c.at)
                              .where(event.c.task_id.in_(ids), event.c.action.in_(
                                  ('task.submit', 'task.department_return', 'task.approve')))
                              .order_by(event.c.task_id, event.c.seq)):
            events.setdefault(e.task_id, []).append((e.action, _zone_day(e.at)))
        pauses: dict[int, list] = {}
        for p in bind.execute(sa.select(pause).where(pause.c.task_id.in_(ids))
                              .order_by(pause.c.task_id, pause.c.id)):
            pauses.setdefault(p.task_id, []).append(p)
        task_rows, pause_rows = [], []
        for row in rows:
            item = definitions[row.definition_version_id].items.get(row.item_code)
            if item is None:
                continue
            values, pause_values = _split_one(row, item, events.get(row.id, []),
                                              pauses.get(row.id, []), calendar)
            task_rows.append({'_id': row.id, **values})
            pause_rows.extend(pause_values)
        if task_rows:
            bind.execute(task_update, task_rows)
        if pause_rows:
            bind.execute(pause_update, pause_rows)


_TASK_COLUMNS = ('released_on', 'submitted_on', 'accepted_on', 'decided_on', 'clock',
                 'service_paused_days', 'statutory_paused_days', 'service_extension_days',
                 'service_due_on', 'statutory_due_on', 'due_on', 'due_provisional', 'warn_on')


def _zone_day(at: datetime) -> date:
    if at.tzinfo is None:  # SQLite hands timestamps back naive (stored in UTC)
        at = at.replace(tzinfo=UTC)
    return at.astimezone(ZONE_TZ).date()


def _split_one(row, item, events, pauses, calendar):
    """The new columns of one released task, and its pauses' clock and days."""
    released = row.accepted_on
    state = row.suspended_from if row.state in ('suspended', 'terminated') and row.suspended_from \
        else row.state
    submitted = None
    for action, day in events:
        if action == 'task.submit':
            submitted = day
        elif action == 'task.department_return':
            submitted = None
    with_department = state in DEPARTMENT_STATES or (
        state not in AGENT_STATES and submitted is not None)
    if with_department and submitted is None:
        submitted = released  # no trail: the old clock becomes the statutory one
    decided = None
    if with_department and state in DECIDED_STATES:
        approvals = [day for action, day in events if action == 'task.approve']
        decided = approvals[-1] if approvals else row.closed_on
    clock = 'statutory' if with_department else 'service'
    paused = {'service': 0, 'statutory': 0}
    pause_values = []
    for p in pauses:
        which = 'statutory' if with_department and p.started_on >= submitted else 'service'
        limit = item.service_limit if which == 'service' else item.limit
        days = None
        if p.ended_on is not None:
            days = _length(p.started_on, p.ended_on, limit, calendar)
            paused[which] += days
        kind = ('materials' if p.reason.startswith('materials') else
                'suspension' if p.reason.startswith('project suspended') else 'other')
        pause_values.append({'_id': p.id, 'clock': which, 'days': days, 'kind': kind})
    extension = 0
    if not with_department and row.state not in ('done', 'covered', 'terminated') \
            and row.due_on is not None:
        # Rule 5: keep the due date it was working to.
        limit = item.service_limit
        if limit.calendar_days:
            room = (row.due_on - released).days
        else:
            room = calendar.working_days_between(released, row.due_on).days
        extension = max(room - limit.amount - paused['service'], 0)
    values = {'released_on': released, 'submitted_on': submitted if with_department else None,
              'accepted_on': submitted if with_department and state in DECIDED_STATES else None,
              'decided_on': decided, 'clock': clock,
              'service_paused_days': paused['service'],
              'statutory_paused_days': paused['statutory'],
              'service_extension_days': extension}
    service_due = calendar.due_date(released, item.service_limit.amount + paused['service']
                                    + extension, calendar_days=item.service_limit.calendar_days)
    statutory_due = None
    if with_department:
        start = values['accepted_on'] or submitted
        statutory_due = calendar.due_date(
            start, item.limit.amount + paused['statutory'] + (row.extension_days or 0),
            calendar_days=item.limit.calendar_days)
    current = statutory_due if with_department else service_due
    start = (values['accepted_on'] or submitted) if with_department else released
    values.update(service_due_on=service_due.date,
                  statutory_due_on=statutory_due.date if statutory_due else None,
                  due_on=current.date, due_provisional=current.provisional,
                  warn_on=_first_yellow_day(start, current.date, calendar))
    return values, pause_values


def _length(since: date, until: date, limit, calendar) -> int:
    if limit.calendar_days:
        return max((until - since).days, 0)
    return max(calendar.working_days_between(since, until).days, 0)


def _first_yellow_day(start: date, due: date, calendar) -> date:
    """The first yellow day, as ``workflow.core.lights.first_yellow_day``
    computes it at this revision (thresholds from the same settings)."""
    days_left = int(os.environ.get("DAIBAN_YELLOW_DAYS_LEFT", "2"))
    fraction = float(os.environ.get("DAIBAN_YELLOW_USED_FRACTION", "0.8"))
    by_days_left = calendar.working_day_before(due, days_left)
    total = calendar.working_days_between(start, due).days
    if total <= 0:
        return min(by_days_left, due)
    return min(by_days_left, calendar.add_working_days(start, ceil(fraction * total)).date)

