"""``python -m bench pages``: the pages people use, served by the real app.

Loads (or reuses) a zone of N projects with ``bench.pagesdata``, serves
``web:create_app()`` with gunicorn on PostgreSQL, logs in over HTTP like a
browser as the users who see the most rows, and measures every list page,
API list and export: latency (p50/p95), bytes, rows and the gunicorn workers'
RSS. Each page call alternates (ABBA) with a hand-written SQL baseline that
returns the same first page (``bench.pagesql``). Then the HTTP write path
(claim → start) at a fixed concurrency against the engine called directly at
the same concurrency, in alternating blocks.

The harness talks HTTP and SQL only: it parses rows out of the HTML
(``data-task="…"`` and the like) or the JSON (``tasks``), so it measures
today's pages (every row) and paginated ones (the first 50, with a cursor)
alike.
"""

from __future__ import annotations

import gc
import http.client
import io
import json
import multiprocessing
import os
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import make_url, select, text
from sqlalchemy.orm import Session, selectinload

from bench import pagesql
from bench.timing import ratio, summary
from workflow.core import audit
from workflow.models import GroupMembership, ItemTask, Project, User

ROOT = Path(__file__).resolve().parent.parent
PAGE_TARGET = 10.0  # page p95 / first-page SQL p95, at most (at 100 k projects)
BYTES_TARGET = 300_000
RSS_TARGET_MB = 300
WRITE_TARGET = 0.5  # HTTP write rate / direct engine rate, at least

TASK_IDS = r'data-task="(\d+)"'
PROJECT_IDS = r'data-project="([^"]+)"'
# The search box: one code (a handful of matches) and a fragment in one code of
# ten or so at every size (thousands of matches to page through by code).
SEARCH_NARROW = "BENCH-0004242"
SEARCH_BROAD = "0042"


@dataclass(frozen=True)
class Page:
    name: str
    user: str  # role key of the measured user: agent, lead, supervisor, admin, enterprise
    path: str
    ids: str | None  # regex of the row identifiers in HTML, "json" for the API, None: figures
    baseline: str | None  # PageBaselines method
    order: str = "exact"  # "exact": same first rows in the same order; "contained": same rows
    bearer: bool = False
    note: str = ""
    args: tuple = ()  # (name, value) pairs the baseline takes beyond the user


def page_list(context: dict) -> list[Page]:
    code = context["long_history_project"]
    timeline = context.get("timeline_project") or "BENCH-0000002"
    return [
        Page("agent.inbox_mine", "agent", "/inbox?tab=mine", TASK_IDS, "inbox_mine"),
        Page("agent.inbox_queue", "agent", "/inbox?tab=queue", TASK_IDS, "inbox_queue"),
        Page("agent.inbox_archive", "agent", "/inbox?tab=archive", TASK_IDS, "inbox_archive",
             order="contained",
             note="today's archive shows the 200 newest closed tasks re-sorted by due date, so "
                  "only 'the baseline's newest 50 are on the page' is compared"),
        Page("agent.inbox_mine_item", "agent", "/inbox?tab=mine&sort=item", TASK_IDS,
             "inbox_mine_sorted", args=(("sort", "item"),)),
        Page("agent.search", "agent", f"/search?q={SEARCH_BROAD}", PROJECT_IDS, "search",
             args=(("text", SEARCH_BROAD),)),
        Page("agent.notifications", "agent", "/notifications", r'data-notification="(\d+)"',
             "notifications"),
        Page("agent.api_inbox", "agent", "/api/v1/inbox?limit=50", "json", "api_inbox"),
        Page("agent.api_inbox_bearer", "agent", "/api/v1/inbox?limit=50", "json", "api_inbox",
             bearer=True),
        Page("lead.desk", "lead", "/desk", TASK_IDS, "desk"),
        Page("lead.desk_item", "lead", "/desk?sort=item", TASK_IDS, "desk_sorted",
             args=(("sort", "item"),)),
        Page("lead.desk_state_desc", "lead", "/desk?sort=state&dir=desc", TASK_IDS, "desk_sorted",
             args=(("sort", "state"), ("descending", True))),
        Page("lead.inbox_queue", "lead", "/inbox?tab=queue", TASK_IDS, "inbox_queue"),
        Page("lead.intentions", "lead", "/intentions", PROJECT_IDS, "intentions"),
        Page("lead.pipeline", "lead", "/pipeline", PROJECT_IDS, "pipeline"),
        Page("lead.land_parcels", "lead", "/land/parcels", r'data-parcel="([^"]+)"', "land_parcels"),
        Page("lead.land_checkpoints", "lead", "/land/checkpoints",
             r'data-checkpoint="([^"]+)" data-project="([^"]+)"', "land_checkpoints"),
        Page("lead.land_figures", "lead", "/land/figures", PROJECT_IDS, "land_figures"),
        Page("supervisor.supervision", "supervisor", "/supervision", TASK_IDS, "supervision"),
        Page("supervisor.search_narrow", "supervisor", f"/search?q={SEARCH_NARROW}", PROJECT_IDS,
             "search", args=(("text", SEARCH_NARROW),)),
        Page("supervisor.search_broad", "supervisor", f"/search?q={SEARCH_BROAD}", PROJECT_IDS,
             "search", args=(("text", SEARCH_BROAD),)),
        Page("supervisor.figures", "supervisor", "/supervision/figures", None, "supervision_figures"),
        Page("supervisor.notices", "supervisor", "/supervision/notices", r'data-notice="(\d+)"',
             "supervision_notices"),
        Page("supervisor.pipeline", "supervisor", "/pipeline", PROJECT_IDS, "pipeline"),
        Page("supervisor.land_figures", "supervisor", "/land/figures", PROJECT_IDS, "land_figures"),
        Page("supervisor.api_overdue", "supervisor", "/api/v1/supervision/overdue?limit=50", "json",
             "api_overdue"),
        Page("admin.users", "admin", "/admin/users", r'data-user="([^"]+)"', "admin_users"),
        Page("admin.deliveries", "admin", "/admin/deliveries", r'data-delivery="(\d+)"',
             "admin_deliveries"),
        Page("admin.chemicals", "admin", "/chemicals/rules", r'data-chemical="([^"]+)"', "chemicals"),
        Page("admin.credit", "admin", "/admin/credit", r'data-credit="(\d+)"', "admin_credit"),
        Page("admin.definitions", "admin", "/admin/definitions", None, "admin_definitions"),
        Page("admin.audit", "admin", f"/projects/{code}/audit", r'data-seq="(\d+)"', "audit"),
        Page("enterprise.portal", "enterprise", "/portal", PROJECT_IDS, "portal"),
        # The predictions (issue 13): the project's timeline, the agreement misses, the workload.
        Page("lead.project_timeline", "lead", f"/projects/{timeline}", TASK_IDS, "project_timeline",
             order="contained", args=(("code", timeline),),
             note="the staff project page with its timeline: the project's tasks and stored "
                  "prediction"),
        Page("lead.api_prediction", "lead", f"/api/v1/projects/{timeline}/prediction", None,
             "api_prediction", args=(("code", timeline),)),
        Page("supervisor.agreement_misses", "supervisor", "/supervision/agreement-misses",
             PROJECT_IDS, "agreement_misses"),
        Page("admin.workload", "admin", "/admin/workload", None, "workload"),
    ]


EXPORTS = (
    ("export.overdue_xlsx", "supervisor", "/supervision/overdue.xlsx"),
    ("export.ledger_xlsx", "supervisor", "/supervision/ledger.xlsx"),
    ("export.intentions_xlsx", "supervisor", "/intentions.xlsx"),
    ("export.land_figures_xlsx", "supervisor", "/land/figures.xlsx"),
    ("export.catalogue_csv", "admin", "/chemicals/export/catalogue.csv"),
)


# -- HTTP ------------------------------------------------------------------------------------

@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    seconds: float

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Browser:
    """One user's HTTP session: the login cookie and the form's CSRF token.

    gunicorn's sync workers close every connection after one response, so each
    request opens a new one (as the app would be served behind a proxy). The
    cookie is taken once, after logging in; later Set-Cookie headers (the
    refreshed session, flashed messages) are not kept, so the cookie does not
    grow with flashes that nobody reads."""

    def __init__(self, port: int, timeout: float) -> None:
        self.port, self.timeout = port, timeout
        self.cookies: dict[str, str] = {}
        self.csrf = ""
        self.bearer: str | None = None

    def request(self, method: str, path: str, *, form: dict | None = None, bearer: bool = False,
                keep_cookies: bool = False) -> Response:
        headers = {"Accept": "text/html,application/json"}
        if bearer:
            headers["Authorization"] = f"Bearer {self.bearer}"
        elif self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            answer = conn.getresponse()
            data = answer.read()
            seconds = time.perf_counter() - started
            headers_ = answer.getheaders()
        finally:
            conn.close()
        if keep_cookies:
            for name, value in headers_:
                if name.lower() == "set-cookie":
                    key, _, rest = value.partition("=")
                    self.cookies[key.strip()] = rest.split(";", 1)[0]
        return Response(answer.status, headers_, data, seconds)

    def login(self, username: str, password: str) -> None:
        page = self.request("GET", "/login", keep_cookies=True)
        token = _csrf(page.text)
        answer = self.request("POST", "/login", form={"username": username, "password": password,
                                                      "csrf_token": token}, keep_cookies=True)
        if answer.status != 302:
            raise RuntimeError(f"login of {username} answered {answer.status}")
        # The login starts a new session (no fixation): take a token of that one.
        self.csrf = _csrf(self.request("GET", "/login", keep_cookies=True).text)

    def post_form(self, path: str, fields: dict | None = None) -> Response:
        return self.request("POST", path, form={"csrf_token": self.csrf, **(fields or {})})


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    if not found:
        raise RuntimeError("no csrf_token on the page")
    return found.group(1)


# -- the server ----------------------------------------------------------------------------------

def free_port(low: int = 18100, high: int = 18199) -> int:
    for port in range(low, high + 1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free TCP port in {low}–{high}")


class Server:
    """``gunicorn -w N 'web:create_app()'`` on this worktree's code."""

    def __init__(self, database_url: str, *, workers: int, timeout: float, log_path: Path,
                 memory_mb: int) -> None:
        self.port = free_port()
        self.instance = Path(tempfile.mkdtemp(prefix="bench_pages_instance_"))
        env = dict(os.environ, DATABASE_URL=database_url, SECRET_KEY="bench-pages-secret",
                   DAIBAN_INSECURE_COOKIES="1", DAIBAN_INSTANCE=str(self.instance),
                   # The bench's staff log in with a password: it measures the pages.
                   DAIBAN_REQUIRE_TOTP="0",
                   PYTHONPATH=str(ROOT))
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log = log_path.open("ab")
        limit = memory_mb * 1024 * 1024

        def limit_memory():  # inherited by every worker: a runaway page fails, not the machine
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{self.port}",
             "--timeout", str(int(timeout) + 5), "--graceful-timeout", "5", "--chdir", str(ROOT),
             "web:create_app()"],
            env=env, stdout=self.log, stderr=self.log, preexec_fn=limit_memory)
        self.workers = workers
        self._wait_ready()

    def _wait_ready(self, seconds: float = 60) -> None:
        deadline = time.time() + seconds
        probe = Browser(self.port, 5)
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}")
            try:
                if probe.request("GET", "/login").status == 200 and \
                        len(self.worker_pids()) >= self.workers:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer within a minute")

    def worker_pids(self) -> list[int]:
        master = self.process.pid
        pids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                    pids.append(int(entry))
        return sorted(pids)

    def rss_mb(self) -> dict[int, float]:
        found = {}
        for pid in self.worker_pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        found[pid] = round(int(line.split()[1]) / 1024, 1)
            except OSError:
                pass
        return found

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        shutil.rmtree(self.instance, ignore_errors=True)


# -- measuring pages ------------------------------------------------------------------------------

def extract_ids(page: Page, response: Response) -> tuple[list[str] | None, dict]:
    """The row identifiers a page shows, in order, and what the answer looks like."""
    shape: dict = {}
    if page.ids is None:
        return None, shape
    if page.ids == "json":
        try:
            body = json.loads(response.body)
        except ValueError:
            return [], {"json": False}
        tasks = body.get("tasks") if isinstance(body, dict) else None
        shape = {"keys": sorted(body) if isinstance(body, dict) else None,
                 "next": body.get("next") is not None if isinstance(body, dict) else None}
        return [str(t.get("id")) for t in tasks or []], shape
    return ["|".join(m) if isinstance(m, tuple) else m
            for m in re.findall(page.ids, response.text)], shape


def _norm(ids) -> list[str] | None:
    if ids is None:
        return None
    return ["|".join(map(str, i)) if isinstance(i, tuple) else str(i) for i in ids]


def compare(page: Page, page_ids: list[str] | None, base_ids: list[str] | None,
            status: int = 200) -> dict:
    if status != 200:
        return {"compared": 0, "match": None, "note": f"the page answered {status}"}
    if page_ids is None or base_ids is None:
        return {"compared": 0, "match": None, "note": "a page of figures: no rows to compare"}
    k = min(pagesql.LIMIT, len(base_ids), len(page_ids))
    exact = page_ids[:k] == base_ids[:k] and (len(page_ids) > 0 or not base_ids)
    contained = set(base_ids[:k]) <= set(page_ids) and (len(page_ids) > 0 or not base_ids)
    result = {"compared": k, "same_order": exact, "contained": contained,
              "match": contained if page.order == "contained" else exact}
    if not result["match"]:
        result["page_first"] = page_ids[:5]
        result["sql_first"] = base_ids[:5]
    return result


def measure_page(page: Page, browser: Browser, baseline, server: Server, calls: int, log) -> dict:
    fn = getattr(baseline, page.baseline) if page.baseline else None
    kwargs = {"code": page.path.split("/")[2]} if page.baseline == "audit" else {}
    kwargs.update(page.args)
    result: dict = {"name": page.name, "user": page.user, "url": page.path}
    if page.bearer:
        result["auth"] = "bearer token"
    if page.note:
        result["note"] = page.note
    rss: list[float] = []
    statuses: Counter = Counter()
    sizes: list[int] = []

    def page_call():
        response = browser.request("GET", page.path, bearer=page.bearer)
        statuses[response.status] += 1
        sizes.append(len(response.body))
        return response

    def sql_call():
        return fn(page.user, **kwargs)

    # Warm-up (untimed): one call each, which also gives the rows to compare.
    try:
        first = page_call()
    except TimeoutError:
        log(f"  {page.name}: timed out after {browser.timeout:.0f}s")
        result.update(status="timeout", timeout_s=browser.timeout, rss_mb=server.rss_mb())
        return result
    rss.append(max(server.rss_mb().values(), default=0))
    page_ids, shape = extract_ids(page, first)
    base = sql_call() if fn else (None, [])
    samples: dict[str, list[float]] = {"page": [], "sql": []}
    timeouts = 0
    for n in range(calls):
        order = (("page", page_call), ("sql", sql_call))
        for side, call in (order if n % 2 == 0 else order[::-1]):
            if side == "sql" and fn is None:
                continue
            gc.collect(1)
            started = time.perf_counter()
            try:
                call()
            except TimeoutError:
                timeouts += 1
                break
            samples[side].append(time.perf_counter() - started)
            if side == "page":
                rss.append(max(server.rss_mb().values(), default=0))
        if timeouts:
            break
    result.update(
        status=dict(statuses), bytes=max(sizes), rows=len(page_ids) if page_ids is not None else None,
        calls=len(samples["page"]), rss_mb_max=max(rss, default=None))
    if shape:
        result["json"] = shape
    if timeouts:
        result["timeouts"] = timeouts
        result["timeout_s"] = browser.timeout
    if samples["page"]:
        result["page"] = summary(samples["page"])
    if samples["sql"]:
        result["sql"] = summary(samples["sql"])
        result["sql_rows"] = len(base[1])
    if samples["page"] and samples["sql"]:
        result["p95_ratio"] = ratio(result["page"]["p95_ms"], result["sql"]["p95_ms"])
        result["p50_ratio"] = ratio(result["page"]["p50_ms"], result["sql"]["p50_ms"])
    result["first_rows"] = compare(page, page_ids, _norm(base[0]), first.status)
    result["targets"] = {
        f"p95_ratio<={PAGE_TARGET:g}": (result["p95_ratio"] <= PAGE_TARGET
                                        if "p95_ratio" in result else None),
        f"bytes<={BYTES_TARGET}": result["bytes"] <= BYTES_TARGET,
        f"rss_mb<={RSS_TARGET_MB}": (result["rss_mb_max"] or 0) <= RSS_TARGET_MB}
    log(f"  {page.name}: {dict(statuses)} page p95 {result.get('page', {}).get('p95_ms')} ms, "
        f"sql p95 {result.get('sql', {}).get('p95_ms')} ms, {result['bytes']:,} bytes, "
        f"{result['rows']} rows, match {result['first_rows'].get('match')}, "
        f"rss {result['rss_mb_max']} MB")
    return result


def measure_export(name: str, path: str, browser: Browser, server: Server, calls: int, log) -> dict:
    result: dict = {"name": name, "url": path}
    samples, statuses, sizes = [], Counter(), []
    body = b""
    for _ in range(calls):
        gc.collect(1)
        try:
            response = browser.request("GET", path)
        except TimeoutError:
            result.update(status="timeout", timeout_s=browser.timeout)
            break
        samples.append(response.seconds)
        statuses[response.status] += 1
        sizes.append(len(response.body))
        body = response.body
        result["content_type"] = response.header("Content-Type")
    result["rss_mb_after"] = server.rss_mb()
    if samples:
        result.update(status=dict(statuses), bytes=max(sizes), time=summary(samples),
                      rows=_export_rows(path, body) if statuses.get(200) else None)
    result["completed"] = bool(statuses.get(200)) and statuses.get(200) == len(samples)
    log(f"  {name}: {result.get('status')} {result.get('time', {}).get('p50_ms')} ms, "
        f"{result.get('bytes', 0):,} bytes, {result.get('rows')} rows, rss {result['rss_mb_after']}")
    return result


def _export_rows(path: str, body: bytes) -> int | None:
    try:
        if path.endswith(".csv"):
            return max(body.decode("utf-8-sig").count("\n") - 1, 0)
        from openpyxl import load_workbook

        sheet = load_workbook(io.BytesIO(body), read_only=True).active
        return max((sheet.max_row or 1) - 1, 0)
    except Exception:  # noqa: BLE001 - a count we could not make is reported as unknown
        return None


# -- the write path -----------------------------------------------------------------------------

def _engine_worker(database_url: str, user_id: int, commands, results) -> None:
    """One process calling the engine directly: claim then start, one transaction each."""
    from workflow import zone  # noqa: F401 - plugs the reform areas (every task step runs their guards)
    from workflow.core import operations
    from workflow.kernel.db import make_engine, make_session_factory, transaction

    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    with Session(engine, expire_on_commit=False) as session:
        user = session.scalars(select(User).where(User.id == user_id)
                               .options(selectinload(User.memberships))).one()
    results.put("ready")
    while True:
        command = commands.get()
        if command is None:
            break
        tasks, start_at, deadline = command
        time.sleep(max(0.0, start_at - time.time()))
        done = errors = used = 0
        last_error = None
        for task_id in tasks:
            if used and time.time() >= deadline:  # the first task even if scheduled late
                break
            used += 1
            try:
                for operation in (operations.claim_task, operations.start_task):
                    with transaction(factory) as session:
                        operation(session, task_id, actor=user, now=datetime.now(UTC))
                    done += 1
            except Exception as exc:  # noqa: BLE001 - counted and reported
                errors += 1
                last_error = repr(exc)[:300]
        results.put((done, errors, used, time.time(), last_error))
    engine.dispose()


def _http_client(browser: Browser, tasks: list[int], start_at: float, deadline: float, out: list):
    time.sleep(max(0.0, start_at - time.time()))
    done = errors = used = 0
    last_error = None
    for task_id in tasks:
        if used and time.time() >= deadline:  # the first task even if scheduled late
            break
        used += 1
        for action in ("claim", "start"):
            try:
                answer = browser.post_form(f"/tasks/{task_id}/{action}")
            except OSError as exc:
                errors += 1
                last_error = repr(exc)
                break
            if answer.status in (302, 303) and (answer.header("Location") or "").endswith(
                    f"/tasks/{task_id}"):
                done += 1
            else:
                errors += 1
                last_error = f"{action} {task_id}: {answer.status} {answer.text[:200]}"
                break
    out.append((done, errors, used, time.time(), last_error))


def write_path(engine, database_url: str, port: int, server: Server, *, clients: int,
               seconds: float, blocks: int, timeout: float, log, seed: int = 11) -> dict:
    """HTTP claim → start (``clients`` threads) against the engine called
    directly from ``clients`` processes, in alternating blocks (ABBA)."""
    rng = random.Random(seed)
    with Session(engine) as session:
        agents = session.execute(
            select(User.id, User.username, GroupMembership.group_id)
            .join(GroupMembership, GroupMembership.user_id == User.id)
            .where(User.role == "agent", User.active.is_(True)).order_by(User.username)).all()
        ready = session.execute(select(ItemTask.id, ItemTask.group_id)
                                .where(ItemTask.state == "ready").order_by(ItemTask.id)).all()
    first_group: dict[int, tuple[str, int]] = {}
    for user_id, username, group_id in agents:
        first_group.setdefault(user_id, (username, group_id))
    by_group: dict[int, list[int]] = {}
    for user_id, (_, group_id) in sorted(first_group.items(), key=lambda kv: kv[1][0]):
        by_group.setdefault(group_id, []).append(user_id)
    chosen: list[int] = []
    while len(chosen) < clients and any(by_group.values()):
        for members in by_group.values():
            if members and len(chosen) < clients:
                chosen.append(members.pop(0))
    pools: dict[int, list[int]] = {}
    for task_id, group_id in ready:
        pools.setdefault(group_id, []).append(task_id)
    for pool in pools.values():
        rng.shuffle(pool)
    sharing = Counter(first_group[u][1] for u in chosen)
    seen: Counter = Counter()
    lists = {"http": {}, "engine": {}}
    for user_id in chosen:
        group_id = first_group[user_id][1]
        mine = pools.get(group_id, [])[seen[group_id]::sharing[group_id]]
        seen[group_id] += 1
        lists["http"][user_id], lists["engine"][user_id] = mine[0::2], mine[1::2]
    password = _password()
    browsers = {}
    for user_id in chosen:
        browsers[user_id] = Browser(port, timeout)
        browsers[user_id].login(first_group[user_id][0], password)
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no GIL shared, no fork of sockets
    commands = {u: context.Queue() for u in chosen}
    results = context.Queue()
    processes = [context.Process(target=_engine_worker, args=(database_url, u, commands[u], results),
                                 daemon=True) for u in chosen]
    for process in processes:
        process.start()
    for _ in processes:  # each has imported the app and loaded its agent
        if results.get(timeout=120) != "ready":
            raise RuntimeError("an engine worker did not start")
    order = ["http", "engine"] if blocks == 1 else (["http", "engine", "engine", "http"] * blocks)[
        :2 * blocks]
    totals = {side: {"actions": 0, "errors": 0, "seconds": 0.0, "blocks": 0, "last_error": None}
              for side in ("http", "engine")}
    claimed: dict[int, int] = {}
    try:
        for side in order:
            start_at = time.time() + 1.0
            deadline = start_at + seconds
            if side == "http":
                answers: list = []
                threads = [threading.Thread(target=_http_client, args=(
                    browsers[u], lists["http"][u], start_at, deadline, answers)) for u in chosen]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
            else:
                for u in chosen:
                    commands[u].put((lists["engine"][u], start_at, deadline))
                answers = [results.get(timeout=seconds + 120) for _ in chosen]
            finished = max(a[3] for a in answers)
            total = totals[side]
            total["actions"] += sum(a[0] for a in answers)
            total["errors"] += sum(a[1] for a in answers)
            total["seconds"] += finished - start_at
            total["blocks"] += 1
            total["last_error"] = next((a[4] for a in answers if a[4]), total["last_error"])
            # Every client took tasks from the front of its list: drop those taken.
            _trim_used(engine, lists[side], claimed, chosen)
            log(f"  write block {side}: {sum(a[0] for a in answers)} actions in "
                f"{finished - start_at:.1f}s, {sum(a[1] for a in answers)} errors")
    finally:
        for u in chosen:
            commands[u].put(None)
        for process in processes:
            process.join(30)
    rates = {side: (t["actions"] / t["seconds"] if t["seconds"] else 0.0) for side, t in totals.items()}
    checks = _check_writes(engine, claimed)
    result = {
        "what": "claim then start of a ready task of the client's group, each its own transaction: "
                f"HTTP form posts to gunicorn -w {server.workers} from {clients} client threads, "
                f"against operations.claim_task/start_task called directly from {clients} processes",
        "clients": clients, "gunicorn_workers": server.workers, "block_seconds": seconds,
        "order": order,
        "http": {"rate_per_s": round(rates["http"], 1), **totals["http"]},
        "engine": {"rate_per_s": round(rates["engine"], 1), **totals["engine"]},
        "ratio": ratio(rates["http"], rates["engine"]) if rates["engine"] else None,
        "target": f"ratio >= {WRITE_TARGET}",
        "rss_mb_after": server.rss_mb(),
        "checks": checks,
    }
    for side in ("http", "engine"):
        result[side]["seconds"] = round(result[side]["seconds"], 2)
    result["pass"] = (result["ratio"] or 0) >= WRITE_TARGET and not checks["problems"]
    return result


def _trim_used(engine, lists: dict[int, list[int]], claimed: dict[int, int], chosen) -> None:
    """Drop from each client's list the tasks it took (no longer ready)."""
    with Session(engine) as session:
        for user_id in chosen:
            pending = lists[user_id]
            if not pending:
                continue
            head = pending[:20_000]
            states = dict(session.execute(select(ItemTask.id, ItemTask.state)
                                          .where(ItemTask.id.in_(head))).all())
            keep = [t for t in head if states.get(t) == "ready"]
            for t in head:
                if states.get(t) != "ready":
                    claimed[t] = user_id
            lists[user_id] = keep + pending[20_000:]


def _check_writes(engine, claimed: dict[int, int]) -> dict:
    """Every task taken is in progress with its client's agent; every touched
    project's audit chain verifies."""
    if not claimed:
        return {"tasks": 0, "problems": ["no task was taken"]}
    with Session(engine) as session:
        rows = session.execute(select(ItemTask.id, ItemTask.state, ItemTask.assignee_id)
                               .where(ItemTask.id.in_(list(claimed)))).all()
        wrong = [r.id for r in rows if r.state != "in_progress" or r.assignee_id != claimed[r.id]]
        codes = session.scalars(select(Project.code).join(ItemTask, ItemTask.project_id == Project.id)
                                .where(ItemTask.id.in_(list(claimed))).distinct()).all()
        findings = audit.verify(session, codes)
    problems = []
    if wrong:
        problems.append(f"{len(wrong)} tasks not in progress with their agent (e.g. {wrong[:5]}): "
                        "a claim or start failed half-way")
    if findings:
        problems.append(f"{len(findings)} audit findings, e.g. {[str(f) for f in findings[:3]]}")
    return {"tasks": len(claimed), "not_in_progress_with_agent": len(wrong),
            "projects_verified": len(codes), "audit_findings": len(findings), "problems": problems}


def _password() -> str:
    from bench.pagesdata import PASSWORD

    return PASSWORD


# -- putting it together --------------------------------------------------------------------------

@dataclass
class Options:
    projects: int
    database_url: str
    reuse: bool
    calls: int
    export_calls: int
    web_workers: int
    write_workers: int
    write_clients: int
    write_seconds: float
    write_blocks: int
    only: list[str] | None
    timeout: float
    worker_memory_mb: int
    drop_indexes: bool
    output: Path | None
    log: object = print
    extra: dict = field(default_factory=dict)


def conninfo(url: str) -> str:
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def selected(name: str, only: list[str] | None) -> bool:
    """Whether ``--only`` asks for the page or export ``name`` (a name, a
    prefix, a fragment); ``load`` asks for none (load, then stop)."""
    return not only or any(o != "load" and (o == name or name.startswith(o.rstrip("*").rstrip(".")
                                                                         + ".") or o in name)
                           for o in only)


def user_info(engine, context: dict) -> dict:
    """Ids, groups and enterprise of each measured user (for the baselines)."""
    found = {}
    with Session(engine) as session:
        for role, username in context["users"].items():
            user = session.scalars(select(User).where(User.username == username)
                                   .options(selectinload(User.memberships))).one()
            found[role] = {"id": user.id, "username": username,
                           "groups": sorted(m.group_id for m in user.memberships),
                           "enterprise_id": user.enterprise_id,
                           "sees_all": user.role in ("supervisor", "admin")}
    return found


def bearer_token(engine, username: str, now: datetime) -> str:
    from workflow.accounts.tokens import issue_token
    from workflow.kernel.db import make_session_factory, transaction

    with transaction(make_session_factory(engine)) as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        return issue_token(session, user, name="bench pages", now=now)[1]


def run_pages(engine, options: Options, context: dict, now: datetime) -> dict:
    """Serve the app with ``web_workers`` workers and measure every page and export."""
    log = options.log
    url = options.database_url
    users = user_info(engine, context)
    baseline = pagesql.PageBaselines(conninfo(url), today=_today(now), users=users)
    server = Server(url, workers=options.web_workers, timeout=options.timeout,
                    log_path=_results() / f"pages-gunicorn-{options.projects}.log",
                    memory_mb=options.worker_memory_mb)
    pages, exports = [], []
    try:
        browsers = {}
        for role, info in users.items():
            browsers[role] = Browser(server.port, options.timeout)
            browsers[role].login(info["username"], _password())
        browsers["agent"].bearer = bearer_token(engine, users["agent"]["username"], now)
        log(f"gunicorn -w {options.web_workers} on port {server.port}; workers "
            f"{server.worker_pids()} at {server.rss_mb()} MB")
        for page in page_list(context):
            if selected(page.name, options.only):
                pages.append(measure_page(page, browsers[page.user], baseline, server,
                                          options.calls, log))
        for name, role, path in EXPORTS:
            if selected(name, options.only):
                exports.append(measure_export(name, path, browsers[role], server,
                                              options.export_calls, log))
        rss_idle = server.rss_mb()
    finally:
        baseline.close()
        server.stop()
    return {"pages": pages, "exports": exports, "rss_mb_at_end": rss_idle,
            "gunicorn_workers": options.web_workers}


def run_write(engine, options: Options) -> dict:
    server = Server(options.database_url, workers=options.write_workers, timeout=options.timeout,
                    log_path=_results() / f"pages-gunicorn-{options.projects}.log",
                    memory_mb=options.worker_memory_mb)
    try:
        return write_path(engine, options.database_url, server.port, server,
                          clients=options.write_clients, seconds=options.write_seconds,
                          blocks=options.write_blocks, timeout=options.timeout, log=options.log)
    finally:
        server.stop()


def _results() -> Path:
    return ROOT / "bench" / "results"


def _today(now: datetime):
    from workflow.core.operations import zone_today

    return zone_today(now)


def summarise(pages: list[dict], exports: list[dict], write: dict | None) -> dict:
    def worst(key):
        values = [(p.get(key), p["name"]) for p in pages if p.get(key) is not None]
        return max(values) if values else None
    return {
        "pages": len(pages),
        "pages_not_200": sorted(p["name"] for p in pages
                                if p.get("status") == "timeout" or set(p.get("status", {})) != {200}),
        "pages_over_ratio": sorted(p["name"] for p in pages if p.get("p95_ratio", 0) > PAGE_TARGET),
        "pages_over_bytes": sorted(p["name"] for p in pages if p.get("bytes", 0) > BYTES_TARGET),
        "first_rows_mismatch": sorted(p["name"] for p in pages
                                      if p.get("first_rows", {}).get("match") is False),
        "worst_p95_ratio": worst("p95_ratio"),
        "largest_bytes": worst("bytes"),
        "max_rss_mb": worst("rss_mb_max"),
        "exports_not_completed": sorted(e["name"] for e in exports if not e.get("completed")),
        "write_ratio": write.get("ratio") if write else None,
    }


def ensure_meta_table(conn) -> None:
    conn.execute(text("CREATE TABLE IF NOT EXISTS bench_pages_meta (key text PRIMARY KEY, "
                      "value text NOT NULL)"))


def read_meta(engine) -> dict:
    with engine.connect() as conn:
        exists = conn.scalar(text("SELECT to_regclass('bench_pages_meta')"))
        if not exists:
            return {}
        return {k: json.loads(v) for k, v in conn.execute(text("SELECT key, value FROM bench_pages_meta"))}


def write_meta(engine, values: dict) -> None:
    with engine.begin() as conn:
        ensure_meta_table(conn)
        for key, value in values.items():
            conn.execute(text("INSERT INTO bench_pages_meta (key, value) VALUES (:k, :v) "
                              "ON CONFLICT (key) DO UPDATE SET value = excluded.value"),
                         {"k": key, "v": json.dumps(value, default=str)})
