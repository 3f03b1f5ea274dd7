"""The pages figure's baselines: for each page, hand-written SQL on a raw
psycopg connection that returns the page's FIRST page — the first 50 rows of
its main list with the columns the page shows, in the page's order — or, for
a page of figures, the GROUP BY that answers it.

Each baseline is written as a good engineer would with the indexes the schema
has, plus the ideal indexes below where no existing index serves the first
page. Every ideal index carries a predicate that is true of every row
(``version > 0`` — versions start at 1 — or ``id > 0``) which only the
baseline's query repeats, so the planner cannot pick it for the application's
own queries: the pages keep running on the indexes the schema declares.

Each method returns ``(ids, rows)``: the identifiers the page shows, in the
page's order (task ids, project codes, usernames, …; ``None`` for a page of
figures), and the rows themselves.
"""

from __future__ import annotations

from datetime import date, timedelta

import psycopg

from bench.handwritten import IDEAL_INDEXES as ENGINE_FIGURE_INDEXES
from workflow.core.workload import horizon
from workflow.kernel import clock
from workflow.models import CLOCK_STATES, INBOX_STATES, OPEN_STATES, PAUSED_STATES
from workflow.reforms.intentions import PIPELINE


def _in(states) -> str:
    return ", ".join(f"'{s}'" for s in states)


CLOSED = ("done", "covered", "terminated")
DESK_STATES = ("ready",) + INBOX_STATES
LEVEL_ORDER = ("CASE level WHEN 'prohibited' THEN 0 WHEN 'restricted' THEN 1 "
               "WHEN 'controlled' THEN 2 ELSE 9 END")

IDEAL_INDEXES = ENGINE_FIGURE_INDEXES + (
    f"CREATE INDEX bench_ideal_archive ON item_task (assignee_id, closed_on DESC, id DESC) "
    f"WHERE state IN ({_in(CLOSED)}) AND version > 0",
    f"CREATE INDEX bench_ideal_desk ON item_task (group_id, due_on, id) "
    f"WHERE state IN ({_in(DESK_STATES)}) AND version > 0",
    "CREATE INDEX bench_ideal_notification ON notification (user_id, created_at DESC, id DESC) "
    "WHERE id > 0",
    "CREATE INDEX bench_ideal_project_step ON project (stage, (coalesce(investment_wan, 0)) DESC, "
    "code COLLATE \"C\") WHERE version > 0",
    "CREATE INDEX bench_ideal_project_enterprise ON project (enterprise_id, created_at DESC, id DESC) "
    "WHERE version > 0",
    "CREATE INDEX bench_ideal_notice_issued ON supervision_notice (issued_at DESC, id DESC) "
    "WHERE id > 0",
    "CREATE INDEX bench_ideal_user_role ON user_account (role, username) WHERE id > 0",
    "CREATE INDEX bench_ideal_outbox_failed ON outbox_message (created_at DESC, id DESC) "
    "WHERE status = 'failed' AND id > 0",
    "CREATE INDEX bench_ideal_credit ON credit_record (created_at DESC, id DESC) WHERE id > 0",
    f"CREATE INDEX bench_ideal_chemical ON hazardous_chemical (({LEVEL_ORDER}), name COLLATE \"C\") "
    "WHERE id > 0",
)

TASK_COLS = ("t.id, t.item_code, t.state, t.department, t.due_on, t.due_provisional, t.released_on, "
             "t.warn_on, t.version, p.code, p.name, e.name")
TASK_JOINS = ("JOIN item_task t ON t.id = w.id JOIN project p ON p.id = t.project_id "
              "JOIN enterprise e ON e.id = p.enterprise_id")
LIMIT = 50


def create_ideal_indexes(conninfo: str, log=print) -> list[str]:
    """The ideal indexes and the working-day calendar (if missing); their names."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        existing = {r[0] for r in conn.execute(
            "SELECT indexname FROM pg_indexes WHERE indexname LIKE 'bench_ideal_%'")}
        names = []
        for ddl in IDEAL_INDEXES:
            name = ddl.split()[2]
            names.append(name)
            if name not in existing:
                conn.execute("SET maintenance_work_mem = '512MB'")
                conn.execute(ddl)
                log(f"baseline index {name} created")
        _workday_calendar(conn)
        conn.execute("ANALYZE")
    return names


def _workday_calendar(conn) -> None:
    """``bench_ideal_workday(day, ordinal)``: working days counted from a fixed
    start, so that ``working_days_between(a, b)`` is ``ordinal(b) - ordinal(a)``
    in SQL (the same calendar as ``workflow.kernel.clock``)."""
    if conn.execute("SELECT to_regclass('bench_ideal_workday')").fetchone()[0]:
        return
    first, last = conn.execute(
        "SELECT least(min(released_on), min(closed_on)), greatest(max(closed_on), max(due_on)) "
        "FROM item_task").fetchone()
    first = (first or date.today()) - timedelta(days=10)
    last = max(last or date.today(), date.today()) + timedelta(days=400)
    conn.execute("CREATE TABLE bench_ideal_workday (day date PRIMARY KEY, ordinal integer NOT NULL)")
    with conn.cursor().copy("COPY bench_ideal_workday (day, ordinal) FROM STDIN") as copy:
        n, day = 0, first
        while day <= last:
            n += clock.is_working_day(day)
            copy.write_row((day, n))
            day += timedelta(days=1)


class PageBaselines:
    """The baselines, on one raw psycopg connection in autocommit mode (each
    call is its own short read transaction, as a request's would be)."""

    def __init__(self, conninfo: str, *, today: date, users: dict[str, dict]) -> None:
        self.conn = psycopg.connect(conninfo, autocommit=True)
        self.today = today
        self.users = users  # role -> {"id", "groups", "enterprise_id"}

    def close(self) -> None:
        self.conn.close()

    def _rows(self, sql: str, params=None) -> list[tuple]:
        return self.conn.execute(sql, params or {}).fetchall()

    def _user(self, who: str) -> dict:
        return self.users[who]

    # -- agent -------------------------------------------------------------------------

    def inbox_mine(self, who: str = "agent"):
        rows = self._rows(
            f"WITH w AS (SELECT id, due_on FROM item_task WHERE assignee_id = %(u)s "
            f"AND state IN ({_in(INBOX_STATES)}) ORDER BY due_on, id LIMIT {LIMIT}) "
            f"SELECT {TASK_COLS} FROM w {TASK_JOINS} ORDER BY w.due_on, w.id",
            {"u": self._user(who)["id"]})
        return [r[0] for r in rows], rows

    def inbox_queue(self, who: str = "agent"):
        rows = self._rows(
            f"WITH w AS (SELECT q.id, q.due_on FROM unnest(%(g)s::int[]) AS g(id) CROSS JOIN LATERAL "
            f"(SELECT id, due_on FROM item_task WHERE group_id = g.id AND state = 'ready' "
            f"ORDER BY due_on, id LIMIT {LIMIT}) q ORDER BY q.due_on, q.id LIMIT {LIMIT}) "
            f"SELECT {TASK_COLS} FROM w {TASK_JOINS} ORDER BY w.due_on, w.id",
            {"g": self._user(who)["groups"]})
        return [r[0] for r in rows], rows

    def inbox_archive(self, who: str = "agent"):
        """The newest closed tasks last assigned to the agent (closed_on, id descending)."""
        rows = self._rows(
            f"WITH w AS (SELECT id, closed_on FROM item_task WHERE assignee_id = %(u)s "
            f"AND state IN ({_in(CLOSED)}) AND version > 0 ORDER BY closed_on DESC, id DESC "
            f"LIMIT {LIMIT}) SELECT {TASK_COLS}, t.closed_on FROM w {TASK_JOINS} "
            f"ORDER BY w.closed_on DESC, w.id DESC", {"u": self._user(who)["id"]})
        return [r[0] for r in rows], rows

    def _sorted_tasks(self, where: str, params: dict, sort: str, descending: bool,
                      branches: str = "", extra_cols: str = "", extra_joins: str = ""):
        """The first page of tasks matching ``where`` by (``sort``, due date, id):
        dated tasks then undated ones by id, the whole order flipped for
        ``descending`` (undated first). ``branches``: a ``g.id`` lateral scan per
        group, merged, as the engine reads one index per group."""
        way = " DESC" if descending else ""
        dated = f"{sort}{way}, due_on{way}, id{way}"
        undated = f"id{way}"
        parts = [("due_on IS NOT NULL", dated, f"{sort}, due_on"),
                 ("due_on IS NULL", undated, "due_on")]
        if descending:
            parts.reverse()
        rows: list[tuple] = []
        for cond, order, cols in parts:
            inner = (f"SELECT id, {cols} FROM item_task WHERE {where} AND {cond} "
                     f"ORDER BY {order} LIMIT %(n)s")
            if branches:
                inner = (f"SELECT q.* FROM unnest(%(g)s::int[]) AS g(gid) CROSS JOIN LATERAL "
                         f"({inner.replace('WHERE ', 'WHERE group_id = g.gid AND ', 1)}) q "
                         f"ORDER BY {order} LIMIT %(n)s")
            outer_order = ", ".join(f"w.{c.strip()}" for c in order.split(","))
            rows += self._rows(
                f"WITH w AS ({inner}) SELECT {TASK_COLS}{extra_cols} FROM w {TASK_JOINS} "
                f"{extra_joins} ORDER BY {outer_order}", {**params, "n": LIMIT - len(rows)})
            if len(rows) >= LIMIT:
                break
        return [r[0] for r in rows], rows

    def inbox_mine_sorted(self, who: str = "agent", sort: str = "item", descending: bool = False):
        return self._sorted_tasks(
            f"assignee_id = %(u)s AND state IN ({_in(INBOX_STATES)})",
            {"u": self._user(who)["id"]}, {"item": "item_code"}.get(sort, sort), descending)

    def search(self, who: str = "supervisor", text: str = ""):
        """Projects whose code, name or enterprise's name contains ``text``
        (the three trigram indexes, united), among those ``who`` may see, by code."""
        user = self._user(who)
        scope = "" if user.get("sees_all") else (
            "AND (p.group_id = ANY(%(g)s) OR EXISTS (SELECT 1 FROM item_task t "
            "WHERE t.project_id = p.id AND t.assignee_id = %(u)s))")
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self._rows(
            f"SELECT p.code, p.name, e.name, p.stage FROM project p "
            f"JOIN enterprise e ON e.id = p.enterprise_id WHERE p.id IN ("
            f"SELECT id FROM project WHERE code ILIKE %(q)s UNION "
            f"SELECT id FROM project WHERE name ILIKE %(q)s UNION "
            f"SELECT x.id FROM project x JOIN enterprise y ON y.id = x.enterprise_id "
            f"WHERE y.name ILIKE %(q)s) {scope} ORDER BY p.code COLLATE \"C\", p.id LIMIT {LIMIT}",
            {"q": pattern, "g": user.get("groups") or [], "u": user["id"]})
        return [r[0] for r in rows], rows

    def notifications(self, who: str = "agent"):
        rows = self._rows(
            f"SELECT id, created_at, title, body, read_at, task_id FROM notification "
            f"WHERE user_id = %(u)s AND id > 0 ORDER BY created_at DESC, id DESC LIMIT {LIMIT}",
            {"u": self._user(who)["id"]})
        return [r[0] for r in rows], rows

    def api_inbox(self, who: str = "agent"):
        """``queries.inbox``'s 50 tasks with what the API's ``task_json`` shows."""
        rows = self._rows(
            f"WITH w AS ((SELECT id, due_on FROM item_task WHERE assignee_id = %(u)s "
            f" AND state IN ({_in(INBOX_STATES)}) ORDER BY due_on, id LIMIT {LIMIT})"
            f" UNION ALL (SELECT q.id, q.due_on FROM unnest(%(g)s::int[]) AS g(id) CROSS JOIN LATERAL"
            f"  (SELECT id, due_on FROM item_task WHERE group_id = g.id AND state = 'ready'"
            f"   ORDER BY due_on, id LIMIT {LIMIT}) q) ORDER BY due_on, id LIMIT {LIMIT}) "
            f"SELECT {TASK_COLS}, t.closed_on, gr.code, gr.name_zh, a.username FROM w {TASK_JOINS} "
            f"JOIN industry_group gr ON gr.id = t.group_id "
            f"LEFT JOIN user_account a ON a.id = t.assignee_id ORDER BY w.due_on, w.id",
            {"u": self._user(who)["id"], "g": self._user(who)["groups"]})
        return [r[0] for r in rows], rows

    # -- lead --------------------------------------------------------------------------

    def desk(self, who: str = "lead"):
        """The groups' open tasks, red first, then yellow, green, paused; by due date.
        The segments are read one after the other until 50 rows are found (at
        any size the red ones alone fill the first page), each from an index
        in due order."""
        clock_ = f"state IN ({_in(CLOCK_STATES)})"
        segments = (f"{clock_} AND due_on < %(today)s",
                    f"{clock_} AND due_on >= %(today)s AND warn_on <= %(today)s",
                    f"{clock_} AND due_on >= %(today)s AND (warn_on > %(today)s OR warn_on IS NULL)",
                    f"state IN ({_in(PAUSED_STATES)})")
        rows: list[tuple] = []
        for where in segments:
            rows += self._rows(
                f"WITH w AS (SELECT id, due_on FROM item_task WHERE group_id = ANY(%(g)s) "
                f"AND version > 0 AND {where} ORDER BY due_on, id LIMIT %(n)s) "
                f"SELECT {TASK_COLS}, a.display_name, gr.name_zh FROM w {TASK_JOINS} "
                f"JOIN industry_group gr ON gr.id = t.group_id "
                f"LEFT JOIN user_account a ON a.id = t.assignee_id ORDER BY w.due_on, w.id",
                {"g": self._user(who)["groups"], "today": self.today, "n": LIMIT - len(rows)})
            if len(rows) >= LIMIT:
                break
        return [r[0] for r in rows], rows

    def desk_sorted(self, who: str = "lead", sort: str = "item", descending: bool = False):
        """The desk's table by item or by state (then due date), one index scan per group."""
        return self._sorted_tasks(
            f"version > 0 AND state IN ({_in(DESK_STATES)})", {"g": self._user(who)["groups"]},
            {"item": "item_code"}.get(sort, sort), descending, branches="yes",
            extra_cols=", a.display_name, gr.name_zh",
            extra_joins="JOIN industry_group gr ON gr.id = t.group_id "
                        "LEFT JOIN user_account a ON a.id = t.assignee_id")

    def intentions(self, who: str = "lead"):
        user = self._user(who)
        scope = ("" if user.get("sees_all") else
                 "AND (p.group_id = ANY(%(g)s) OR p.lead_id = %(u)s)")
        rows = self._rows(
            f"SELECT p.code, p.name, e.name, p.industry, p.investment_wan, l.display_name, "
            f"p.hesitation, p.asks, f.n, f.last FROM project p "
            f"JOIN enterprise e ON e.id = p.enterprise_id LEFT JOIN user_account l ON l.id = p.lead_id "
            f"LEFT JOIN LATERAL (SELECT count(*) AS n, max(contacted_on) AS last FROM follow_up "
            f"WHERE project_id = p.id) f ON true "
            f"WHERE p.stage = 'intention' AND p.version > 0 {scope} "
            f"ORDER BY coalesce(p.investment_wan, 0) DESC, p.code COLLATE \"C\" LIMIT {LIMIT}",
            {"g": user["groups"], "u": user["id"]})
        return [r[0] for r in rows], rows

    def pipeline(self, who: str = "lead"):
        """Counts and investment per step, per group and per leader (GROUP BY),
        and the first 50 projects of each step, largest first."""
        figures = self._rows(
            "SELECT step, group_id, lead_id, count(*), sum(inv) FROM ("
            " SELECT CASE WHEN stage = 'suspended' THEN suspended_from ELSE stage END AS step,"
            " group_id, lead_id, coalesce(investment_wan, 0) AS inv FROM project"
            " WHERE stage <> 'terminated') s"
            " GROUP BY GROUPING SETS ((step), (step, group_id), (step, lead_id))")
        branches = []
        for number, (_, stages) in enumerate(PIPELINE):
            for stage in stages:
                for where in (f"stage = '{stage}'",
                              f"stage = 'suspended' AND suspended_from = '{stage}'"):
                    branches.append(
                        f"(SELECT {number} AS step, id, coalesce(investment_wan, 0) AS inv, code "
                        f"FROM project WHERE {where} AND version > 0 "
                        f"ORDER BY coalesce(investment_wan, 0) DESC, code COLLATE \"C\" LIMIT {LIMIT})")
        rows = self._rows(
            f"WITH b AS ({' UNION ALL '.join(branches)}), r AS (SELECT b.*, row_number() OVER "
            f"(PARTITION BY step ORDER BY inv DESC, code COLLATE \"C\") AS n FROM b) "
            f"SELECT p.code, r.step, p.name, e.name, p.stage, p.investment_wan, l.display_name, "
            f"g.name_zh FROM r JOIN project p ON p.id = r.id JOIN enterprise e ON e.id = p.enterprise_id "
            f"JOIN industry_group g ON g.id = p.group_id LEFT JOIN user_account l ON l.id = p.lead_id "
            f"WHERE r.n <= {LIMIT} ORDER BY r.step, r.n")
        return [r[0] for r in rows][:LIMIT], figures + rows

    def land_parcels(self, who: str = "lead"):
        rows = self._rows(
            f"SELECT pa.code, pa.name, pa.area_mu, pa.park, pa.location, pa.servicing, "
            f"pa.transferred_on, pa.land_price_wan, i.list, ev.list, pr.list "
            f"FROM (SELECT * FROM parcel ORDER BY code LIMIT {LIMIT}) pa "
            f"LEFT JOIN LATERAL (SELECT string_agg(name || ' ' || bound || ' ' || value, '；' "
            f"ORDER BY id) AS list FROM parcel_indicator WHERE parcel_id = pa.id) i ON true "
            f"LEFT JOIN LATERAL (SELECT string_agg(r.reference, '、' ORDER BY r.id) AS list "
            f"FROM parcel_evaluation pe JOIN regional_evaluation r ON r.id = pe.evaluation_id "
            f"WHERE pe.parcel_id = pa.id) ev ON true "
            f"LEFT JOIN LATERAL (SELECT string_agg(p.name, '、' ORDER BY p.code) AS list "
            f"FROM project p WHERE p.parcel_id = pa.id) pr ON true ORDER BY pa.code")
        return [r[0] for r in rows], rows

    def land_checkpoints(self, who: str = "lead"):
        user = self._user(who)
        scope = ("" if user.get("sees_all") else
                 "AND (p.group_id = ANY(%(g)s) OR p.lead_id = %(u)s)")
        rows = self._rows(
            f"SELECT c.kind, p.code, p.name, e.name, c.due_on, c.rectify_by, c.status, p.stage, "
            f"c.idle_warned_on, c.recovery_warned_on FROM checkpoint c "
            f"JOIN project p ON p.id = c.project_id JOIN enterprise e ON e.id = p.enterprise_id "
            f"WHERE c.status IN ('open', 'rectifying') AND p.stage <> 'terminated' {scope} "
            f"ORDER BY c.due_on, c.id LIMIT {LIMIT}", {"g": user["groups"], "u": user["id"]})
        return [(r[0], r[1]) for r in rows], rows

    def land_figures(self, who: str = "lead"):
        figures = self._rows(
            "SELECT count(*), sum(area_mu), count(*) FILTER (WHERE transferred_on IS NOT NULL), "
            "sum(area_mu) FILTER (WHERE transferred_on IS NOT NULL) FROM parcel")
        figures += self._rows(
            "SELECT count(*), count(*) FILTER (WHERE c.status = 'passed' AND c.result IS NOT NULL), "
            "count(*) FILTER (WHERE c.status = 'rectifying' AND c.result IS NOT NULL), "
            "count(*) FILTER (WHERE c.status = 'breached' AND c.result IS NOT NULL) "
            "FROM investment_agreement a LEFT JOIN checkpoint c ON c.project_id = a.project_id "
            "AND c.kind = 'capacity'")
        rows = self._rows(
            f"SELECT p.code, p.name, e.name, pa.code, pa.area_mu, a.indicators, c.status, c.result, "
            f"c.rectify_by FROM investment_agreement a JOIN project p ON p.id = a.project_id "
            f"JOIN enterprise e ON e.id = p.enterprise_id JOIN parcel pa ON pa.id = a.parcel_id "
            f"LEFT JOIN checkpoint c ON c.project_id = p.id AND c.kind = 'capacity' "
            f"ORDER BY p.code LIMIT {LIMIT}")
        return [r[0] for r in rows], figures + rows

    # -- supervisor ----------------------------------------------------------------------

    def _watch(self, where: str, extra: str = ""):
        return self._rows(
            f"WITH w AS (SELECT id, due_on FROM item_task WHERE state IN ({_in(CLOCK_STATES)}) "
            f"AND {where} AND version > 0 ORDER BY due_on, id LIMIT {LIMIT}) "
            f"SELECT {TASK_COLS}, gr.code, gr.name_zh, a.display_name, a.username, l.display_name{extra} "
            f"FROM w {TASK_JOINS} JOIN industry_group gr ON gr.id = t.group_id "
            f"LEFT JOIN user_account a ON a.id = t.assignee_id "
            f"LEFT JOIN user_account l ON l.id = p.lead_id ORDER BY w.due_on, w.id",
            {"today": self.today})

    def supervision(self, who: str = "supervisor"):
        """Red and yellow items, most late first (= by due date), with open notices."""
        rows = self._watch("warn_on <= %(today)s",
                           ", (SELECT count(*) FROM supervision_notice n WHERE n.task_id = t.id "
                           "AND n.closed_at IS NULL)")
        return [r[0] for r in rows], rows

    def api_overdue(self, who: str = "supervisor"):
        rows = self._watch("due_on < %(today)s")
        return [r[0] for r in rows], rows

    def supervision_figures(self, who: str = "supervisor"):
        """Closed, on time, overdue and average working days used per group,
        agent, department and item (GROUPING SETS), with the working-day
        calendar table for ``working_days_between``."""
        rows = self._rows(
            f"SELECT grouping(t.group_id, t.assignee_id, t.department, t.item_code), t.group_id, "
            f"t.assignee_id, t.department, t.item_code, "
            f"count(*) FILTER (WHERE t.state = 'done'), "
            f"count(*) FILTER (WHERE t.state = 'done' AND t.due_on IS NOT NULL), "
            f"count(*) FILTER (WHERE t.state = 'done' AND t.due_on IS NOT NULL "
            f" AND NOT (t.closed_on > t.due_on)), "
            f"count(*) FILTER (WHERE t.due_on IS NOT NULL), "
            f"count(*) FILTER (WHERE (t.state = 'done' AND t.closed_on > t.due_on) OR "
            f" (t.state IN ({_in(CLOCK_STATES)}) AND t.due_on < %(today)s)), "
            f"avg(greatest(c.ordinal - a.ordinal - t.statutory_paused_days, 0)) "
            f" FILTER (WHERE t.state = 'done') "
            f"FROM item_task t LEFT JOIN bench_ideal_workday a "
            f" ON a.day = coalesce(t.accepted_on, t.submitted_on) "
            f"LEFT JOIN bench_ideal_workday c ON c.day = t.closed_on "
            f"WHERE t.state IN ({_in(OPEN_STATES + ('done',))}) "
            f"GROUP BY GROUPING SETS ((), (t.group_id), (t.assignee_id), (t.department), (t.item_code))",
            {"today": self.today})
        return None, rows

    def supervision_notices(self, who: str = "supervisor"):
        rows = self._rows(
            f"WITH w AS (SELECT id FROM supervision_notice WHERE id > 0 "
            f"ORDER BY issued_at DESC, id DESC LIMIT {LIMIT}) "
            f"SELECT n.id, n.issued_at, n.level, p.code, p.name, t.item_code, i.display_name, "
            f"a.display_name, n.reason, n.ack_due, n.acknowledged_at, n.report_due, n.reported_at, "
            f"n.closed_at, n.report FROM w JOIN supervision_notice n ON n.id = w.id "
            f"JOIN project p ON p.id = n.project_id JOIN item_task t ON t.id = n.task_id "
            f"JOIN user_account a ON a.id = n.addressee_id "
            f"LEFT JOIN user_account i ON i.id = n.issued_by_id ORDER BY n.issued_at DESC, n.id DESC")
        return [r[0] for r in rows], rows

    # -- admin ---------------------------------------------------------------------------

    def admin_users(self, who: str = "admin"):
        rows = self._rows(
            f"SELECT u.username, u.display_name, u.role, u.department, u.active, u.away, e.name, "
            f"s.display_name, m.groups FROM (SELECT * FROM user_account WHERE id > 0 "
            f"ORDER BY role, username LIMIT {LIMIT}) u LEFT JOIN enterprise e ON e.id = u.enterprise_id "
            f"LEFT JOIN user_account s ON s.id = u.substitute_id "
            f"LEFT JOIN LATERAL (SELECT string_agg(g.name_zh, '、' ORDER BY g.id) AS groups "
            f"FROM group_membership gm JOIN industry_group g ON g.id = gm.group_id "
            f"WHERE gm.user_id = u.id) m ON true ORDER BY u.role, u.username")
        return [r[0] for r in rows], rows

    def admin_deliveries(self, who: str = "admin"):
        rows = self._rows(
            f"SELECT id, channel, recipient, subject, attempts, last_error, created_at "
            f"FROM outbox_message WHERE status = 'failed' AND id > 0 "
            f"ORDER BY created_at DESC, id DESC LIMIT {LIMIT}")
        return [r[0] for r in rows], rows

    def chemicals(self, who: str = "admin"):
        rules = self._rows("SELECT code, kind, text, \"check\", params, verdict, active, source "
                           "FROM screening_rule")
        rows = self._rows(
            f"SELECT name, cas, level, note, example FROM hazardous_chemical WHERE id > 0 "
            f"ORDER BY {LEVEL_ORDER}, name COLLATE \"C\" LIMIT {LIMIT}")
        return [r[0] for r in rows], rules + rows

    def admin_credit(self, who: str = "admin"):
        rows = self._rows(
            f"SELECT c.id, e.name, e.credit_code, c.severity, c.source, c.reason, c.reference, "
            f"c.created_at, c.cleared_at, c.clear_note FROM (SELECT * FROM credit_record WHERE id > 0 "
            f"ORDER BY created_at DESC, id DESC LIMIT {LIMIT}) c "
            f"JOIN enterprise e ON e.id = c.enterprise_id ORDER BY c.created_at DESC, c.id DESC")
        return [r[0] for r in rows], rows

    def admin_definitions(self, who: str = "admin"):
        rows = self._rows(
            "SELECT v.id, v.version, v.loaded_at, v.is_current, count(p.id) FROM definition_version v "
            "LEFT JOIN project p ON p.definition_version_id = v.id GROUP BY v.id "
            "ORDER BY v.loaded_at DESC, v.id DESC")
        return None, rows

    def audit(self, who: str = "admin", code: str = ""):
        rows = self._rows(
            f"SELECT e.seq, e.at, a.display_name, e.action, e.task_id, e.from_state, e.to_state, "
            f"e.data, e.hash FROM audit_event e LEFT JOIN user_account a ON a.id = e.actor_id "
            f"WHERE e.project_id = (SELECT id FROM project WHERE code = %(code)s) "
            f"ORDER BY e.seq DESC LIMIT {LIMIT}", {"code": code})  # the page: newest first
        return [r[0] for r in rows], rows

    # -- predictions -------------------------------------------------------------------

    def project_timeline(self, who: str = "lead", code: str = ""):
        """The project's tasks beside their stored predictions, and the project's row."""
        rows = self._rows(
            "SELECT t.id, t.item_code, t.state, t.released_on, t.closed_on, t.due_on, "
            "ip.predicted_start, ip.predicted_end, ip.critical, ip.basis FROM item_task t "
            "LEFT JOIN item_prediction ip ON ip.project_id = t.project_id "
            "AND ip.item_code = t.item_code "
            "WHERE t.project_id = (SELECT id FROM project WHERE code = %(code)s) ORDER BY t.id",
            {"code": code})
        project = self._rows(
            "SELECT pp.* FROM project_prediction pp JOIN project p ON p.id = pp.project_id "
            "WHERE p.code = %(code)s", {"code": code})
        return [r[0] for r in rows], rows + project

    def api_prediction(self, who: str = "lead", code: str = ""):
        rows = self._rows(
            "SELECT pp.*, ip.item_code, ip.predicted_start, ip.predicted_end, ip.critical "
            "FROM project p JOIN project_prediction pp ON pp.project_id = p.id "
            "LEFT JOIN item_prediction ip ON ip.project_id = p.id WHERE p.code = %(code)s",
            {"code": code})
        return None, rows

    def agreement_misses(self, who: str = "supervisor"):
        rows = self._rows(
            f"SELECT p.code, m.days_late, pp.critical_item, pp.started_on, pp.completed_on, "
            f"pp.producing_on, a.start_by, a.complete_by, a.produce_by, e.name, g.name_zh, "
            f"u.display_name "
            f"FROM (SELECT * FROM agreement_miss ORDER BY days_late DESC, project_id DESC "
            f"LIMIT {LIMIT}) m JOIN project p ON p.id = m.project_id "
            f"JOIN project_prediction pp ON pp.project_id = m.project_id "
            f"JOIN investment_agreement a ON a.project_id = m.project_id "
            f"JOIN enterprise e ON e.id = p.enterprise_id JOIN industry_group g ON g.id = p.group_id "
            f"JOIN user_account u ON u.id = p.lead_id "
            f"ORDER BY m.days_late DESC, m.project_id DESC LIMIT {LIMIT}")
        return [r[0] for r in rows], rows

    def workload(self, who: str = "admin"):
        """The rollup's sums per scope and day over the horizon (the days
        before it in one bucket), as ``workflow.core.workload`` reads them."""
        days = horizon(self.today)
        rows = self._rows(
            "SELECT scope_kind, scope_key, CASE WHEN day < %(first)s THEN %(before)s ELSE day END "
            "AS d, sum(arrivals), sum(departures) FROM workload_day WHERE day <= %(last)s "
            "GROUP BY 1, 2, 3",
            {"first": days[0], "before": days[0] - timedelta(days=1), "last": days[-1]})
        return None, rows

    # -- enterprise ----------------------------------------------------------------------

    def portal(self, who: str = "enterprise"):
        rows = self._rows(
            f"SELECT p.code, p.name, p.stage, s.states, r.open FROM (SELECT * FROM project "
            f"WHERE enterprise_id = %(e)s AND version > 0 ORDER BY created_at DESC, id DESC "
            f"LIMIT {LIMIT}) p LEFT JOIN LATERAL (SELECT json_object_agg(state, n) AS states FROM "
            f"(SELECT state, count(*) AS n FROM item_task WHERE project_id = p.id GROUP BY state) x) s "
            f"ON true LEFT JOIN LATERAL (SELECT count(*) AS open FROM material_request m "
            f"JOIN item_task t ON t.id = m.task_id WHERE t.project_id = p.id "
            f"AND m.fulfilled_at IS NULL) r ON true ORDER BY p.created_at DESC, p.id DESC",
            {"e": self._user(who)["enterprise_id"]})
        return [r[0] for r in rows], rows
