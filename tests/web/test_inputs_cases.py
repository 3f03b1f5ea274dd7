"""The edge on the project file, the task lists, supervision and commitments
(issue 10): every form field, file field and query argument of these pages is
parsed by a declared model, so a bad value (too long, a control character, the
wrong type, an id beyond INTEGER, a choice that is not offered) answers 400
naming the field and changes nothing, and good values still work."""

from __future__ import annotations

import html
import io
import re
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests import factories as f
from workflow.core import operations as ops
from workflow.models import (
    Attachment,
    AuditEvent,
    Comment,
    CommitmentLetter,
    CreditRecord,
    GapAcceptance,
    ItemTask,
    Project,
)
from workflow.reforms import commitments as cm

HUGE = "99999999999999999999"
PDF = b"%PDF-1.4 x"


@pytest.fixture
def scene(world, db, clock):
    """On top of ``world``: the filing of P-ACME-1 signed by commitment (letter
    ``signed``, checkable), its EIA claimed by alice and accepted with a gap
    (``gap``, open), an unsigned letter on the rival's filing (``issued``), and
    a minor credit record of acme (``record``, which bars nothing)."""
    users, now = world["users"], clock.moment
    project, rival = world["project"], world["rival"]
    signed = cm.offer_commitment(db, f.task(project, "project_filing").id, actor=users["lead"],
                                 now=now)
    cm.sign_commitment(db, signed.id, actor=users["acme"], now=now, signatory="张三",
                       consent=True)
    eia = f.task(project, "eia_approval")
    ops.claim_task(db, eia.id, actor=users["alice"], now=now)
    gap = cm.accept_with_gaps(db, eia.id, ["authorisation"], deadline=date(2026, 3, 20),
                              actor=users["alice"], now=now)
    issued = cm.offer_commitment(db, f.task(rival, "project_filing").id, actor=users["lead"],
                                 now=now)
    record = CreditRecord(enterprise_id=project.enterprise_id, project_id=project.id,
                          severity="minor", source="commitment_broken", reason="迟报",
                          created_at=now)
    db.add(record)
    db.flush()
    ids = {"code": project.code, "task": f.task(project, "u01_survey").id, "eia": eia.id,
           "rival_task": f.task(rival, "u01_survey").id, "signed": signed.id,
           "issued": issued.id, "gap": gap.id, "record": record.id,
           "enterprise": project.enterprise_id,
           "credit_code": project.enterprise.credit_code}
    db.commit()  # and read nothing more: SQLite's BEGIN IMMEDIATE would block the app
    return ids


def snapshot(db, app) -> tuple:
    """Everything the routes below could change, and the stored files."""
    db.rollback()
    rows = (
        db.scalar(select(func.count(AuditEvent.id))),
        db.scalar(select(func.count(Comment.id))),
        db.scalar(select(func.count(Attachment.id))),
        db.execute(select(ItemTask.id, ItemTask.version).order_by(ItemTask.id)).all(),
        db.execute(select(Project.id, Project.stage, Project.version).order_by(Project.id)).all(),
        db.execute(select(CommitmentLetter.id, CommitmentLetter.status)
                   .order_by(CommitmentLetter.id)).all(),
        db.execute(select(GapAcceptance.id, GapAcceptance.status, GapAcceptance.promised_at)
                   .order_by(GapAcceptance.id)).all(),
        db.execute(select(CreditRecord.id, CreditRecord.cleared_at).order_by(CreditRecord.id)).all(),
    )
    db.rollback()  # SQLite begins IMMEDIATE: hold no lock while the app answers
    folder = Path(app.config["UPLOAD_FOLDER"])
    return rows, sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def send(clients, as_user, role, method, url, data):
    if role not in clients:
        clients[role] = as_user(role)
    client, token = clients[role]
    if method == "GET":
        return client.get(url)
    if isinstance(data, str):  # a JSON body
        return client.post(url, data=data, content_type="application/json",
                           headers={"X-CSRFToken": token})
    multipart = any(isinstance(v, tuple) for v in data.values())
    return client.post(url, data=dict(data, csrf_token=token),
                       content_type="multipart/form-data" if multipart else None)


def named(response) -> str | None:
    """The field a 400 names: the JSON error's, or the one quoted on the page."""
    if response.is_json:
        return (response.get_json().get("details") or {}).get("field")
    found = re.search(r"[：:] ?'([^'\s]+)'", html.unescape(response.get_data(as_text=True)))
    return found.group(1) if found else None


def file(name="a.pdf", content=PDF):
    return (io.BytesIO(content), name)


LONG = "长" * 2001
# (audience, method, URL, form / JSON body, the field named). {code}, {task} …
# are filled from the scene; a JSON body is a string.
BAD = [
    # -- the project file: the audit page, lifecycle steps, comments, files
    ("lead", "GET", "/projects/{code}/audit?task=" + HUGE, None, "task"),
    ("lead", "GET", "/projects/{code}/audit?task=-1", None, "task"),
    ("lead", "GET", "/projects/{code}/audit?task=0", None, "task"),
    ("lead", "GET", "/projects/{code}/audit?task=1e3", None, "task"),
    ("lead", "GET", "/projects/{code}/audit?task=%EF%BC%91%EF%BC%92", None, "task"),
    # A task of another project: the engine's refusal, in its own sentence.
    ("lead", "GET", "/projects/{code}/audit?task={rival_task}", None, None),
    ("lead", "GET", "/projects/{code}/audit?order=sideways", None, "order"),
    ("lead", "GET", "/projects/{code}/audit?verify=yes", None, "verify"),
    ("lead", "POST", "/projects/{code}/lifecycle/suspend", {}, "reason"),
    ("lead", "POST", "/projects/{code}/lifecycle/suspend", {"reason": "  "}, "reason"),
    ("lead", "POST", "/projects/{code}/lifecycle/suspend", {"reason": LONG}, "reason"),
    ("lead", "POST", "/projects/{code}/lifecycle/terminate", {"reason": "a\x1bb"}, "reason"),
    ("alice", "POST", "/projects/{code}/comments", {"body": ""}, "body"),
    ("alice", "POST", "/projects/{code}/comments", {"body": "长" * 5001}, "body"),
    ("alice", "POST", "/projects/{code}/comments", {"body": "a\x00b"}, "body"),
    ("alice", "POST", "/projects/{code}/comments", {"body": "x", "public": "maybe"}, "public"),
    ("alice", "POST", "/projects/{code}/files", {"file": file(), "task_id": HUGE}, "task_id"),
    ("alice", "POST", "/projects/{code}/files", {"file": file(), "task_id": "abc"}, "task_id"),
    ("alice", "POST", "/projects/{code}/files", {"file": file(), "task_id": "0"}, "task_id"),
    ("alice", "POST", "/projects/{code}/files", {"file": file(), "next": "/" + "a" * 2000},
     "next"),
    ("alice", "POST", "/projects/{code}/files", {"task_id": "{task}"}, "file"),
    ("alice", "POST", "/projects/{code}/files", {"file": "not a file", "task_id": "{task}"},
     "file"),
    ("alice", "POST", "/projects/{code}/files", {"file": file(""), "task_id": "{task}"}, "file"),
    # -- the inbox: its tab, sort and filters; the action form's return page
    ("alice", "GET", "/inbox?tab=everything", None, "tab"),
    ("alice", "GET", "/inbox?sort=nonsense", None, "sort"),
    ("alice", "GET", "/inbox?tab=archive&state=nope", None, "state"),
    ("alice", "GET", "/inbox?light=blue", None, "light"),
    ("alice", "GET", "/inbox?item=" + "x" * 65, None, "item"),
    ("alice", "GET", "/inbox?tab=queue&project=" + "x" * 101, None, "project"),
    ("alice", "POST", "/tasks/{task}/claim", {"next": "/" + "a" * 2000}, "next"),
    ("alice", "POST", "/tasks/{task}/comment", {"body": "x", "public": "2"}, "public"),
    # -- the desk's filters
    ("lead", "GET", "/desk?group=" + "g" * 65, None, "group"),
    ("lead", "GET", "/desk?agent=" + "a" * 81, None, "agent"),
    ("lead", "GET", "/desk?light=blue", None, "light"),
    ("lead", "GET", "/desk?state=nope", None, "state"),
    ("lead", "GET", "/desk?project=" + "p" * 101, None, "project"),
    # -- supervision: the watch list and its export, the notices, the API's overdue list
    ("sup", "GET", "/supervision?light=green", None, "light"),
    ("sup", "GET", "/supervision?late=-1", None, "late"),
    ("sup", "GET", "/supervision?group=" + "g" * 65, None, "group"),
    ("sup", "GET", "/supervision?agent=" + "a" * 81, None, "agent"),
    ("sup", "GET", "/supervision?item=" + "i" * 65, None, "item"),
    ("sup", "GET", "/supervision/overdue.xlsx?light=purple", None, "light"),
    ("sup", "GET", "/supervision/overdue.xlsx?late=" + HUGE, None, "late"),
    ("sup", "GET", "/supervision/notices?status=bogus", None, "status"),
    ("sup", "GET", "/api/v1/supervision/overdue?group=" + "g" * 65, None, "group"),
    ("sup", "GET", "/api/v1/supervision/overdue?min_days_late=-1", None, "min_days_late"),
    # -- commitments: letters, signatures, checks, gaps, promises, credit records
    ("lead", "POST", "/commitments/{issued}/withdraw", {"reason": ""}, "reason"),
    ("lead", "POST", "/commitments/{issued}/withdraw", {"reason": LONG}, "reason"),
    ("other", "POST", "/commitments/{issued}/sign",
     {"signatory": "李四", "consent": "maybe"}, "consent"),
    ("other", "POST", "/commitments/{issued}/sign",
     {"signatory": "李" * 201, "consent": "1"}, "signatory"),
    ("other", "POST", "/commitments/{issued}/sign",
     {"signatory": "李四", "consent": "1", "sha256": "not-a-digest"}, "sha256"),
    ("other", "POST", "/commitments/{issued}/sign",
     {"signatory": "李四", "consent": "1", "sha256": "A" * 64}, "sha256"),
    ("alice", "POST", "/commitments/{signed}/check", {"outcome": "great"}, "outcome"),
    ("alice", "POST", "/commitments/{signed}/check", {"note": "x"}, "outcome"),
    ("alice", "POST", "/commitments/{signed}/check",
     {"outcome": "rectify", "note": "x", "rectify_by": "soon"}, "rectify_by"),
    ("alice", "POST", "/commitments/{signed}/check",
     {"outcome": "rectify", "note": "x", "rectify_by": "2026-02-30"}, "rectify_by"),
    ("alice", "POST", "/commitments/{signed}/check", {"outcome": "broken", "note": LONG},
     "note"),
    ("lead", "POST", "/tasks/{task}/gap", {"missing": "m" * 65, "deadline": "2026-03-20"},
     "missing.0"),
    ("lead", "POST", "/tasks/{task}/gap",
     {"missing": ["authorisation"] * 101, "deadline": "2026-03-20"}, "missing"),
    ("lead", "POST", "/tasks/{task}/gap", {"missing": "authorisation"}, "deadline"),
    ("lead", "POST", "/tasks/{task}/gap",
     {"missing": "authorisation", "deadline": "20.3.2026"}, "deadline"),
    ("acme", "POST", "/gaps/{gap}/promise", {"signatory": "张三", "consent": "perhaps"},
     "consent"),
    ("acme", "POST", "/gaps/{gap}/promise", {"signatory": "张" * 201, "consent": "1"},
     "signatory"),
    ("acme", "POST", "/gaps/{gap}/fulfil", {"note": LONG}, "note"),
    ("admin", "GET", "/admin/credit?enterprise=" + HUGE, None, "enterprise"),
    ("admin", "GET", "/admin/credit?enterprise=x1", None, "enterprise"),
    ("admin", "GET", "/admin/credit?enterprise=-1", None, "enterprise"),
    ("admin", "GET", "/admin/credit?enterprise=%EF%BC%91%EF%BC%92", None, "enterprise"),
    ("admin", "GET", "/admin/credit?code=91140226", None, "code"),
    ("admin", "GET", "/admin/credit?code=91140226MA0000000%00", None, "code"),
    ("admin", "GET", "/admin/credit?severity=grave", None, "severity"),
    ("admin", "GET", "/admin/credit?cleared=maybe", None, "cleared"),
    ("admin", "POST", "/admin/credit/{record}/clear", {"note": ""}, "note"),
    ("admin", "POST", "/admin/credit/{record}/clear", {"note": LONG}, "note"),
    ("admin", "POST", "/admin/credit/{record}/clear", {"note": "修复", "next": "/" + "a" * 2000},
     "next"),
]


def _fill(value, scene):
    if isinstance(value, str):
        return value.format(**scene) if "{" in value else value
    if isinstance(value, list):
        return [_fill(v, scene) for v in value]
    return value


def test_bad_values_answer_400_naming_the_field_and_change_nothing(app, scene, as_user, db):
    clients, wrong = {}, []
    before = snapshot(db, app)
    for role, method, url, data, field in BAD:
        url = url.format(**scene)
        data = {k: _fill(v, scene) for k, v in (data or {}).items()}
        try:
            response = send(clients, as_user, role, method, url, data)
        except Exception as exc:  # noqa: BLE001 - the test app propagates a crash: list it
            wrong.append(f"raised {exc!r:.80}: {role} {method} {url[:80]}")
            continue
        said = named(response) if response.status_code == 400 else None
        if response.status_code != 400 or said != field:
            wrong.append(f"{response.status_code} {said!r} (want {field!r}): "
                         f"{role} {method} {url[:80]} {str(data)[:80]}")
    assert not wrong, "\n".join(wrong)
    assert snapshot(db, app) == before


def test_a_refusal_names_the_field_in_the_users_language(app, scene, as_user):
    client, token = as_user("lead")
    page = html.unescape(client.get("/desk?light=blue").get_data(as_text=True))
    assert "'light': 不是可选的值" in page
    client.post("/lang/en", data={"csrf_token": token})
    url = f"/projects/{scene['code']}/files"
    upload = client.post(url, data={"csrf_token": token, "file": file("")},  # none chosen
                         content_type="multipart/form-data")
    assert upload.status_code == 400
    assert "'file': choose a file to upload" in html.unescape(upload.get_data(as_text=True))
    upload = client.post(url, data={"csrf_token": token}, content_type="multipart/form-data")
    assert "'file': required" in html.unescape(upload.get_data(as_text=True))


# -- good values still work --------------------------------------------------------------------

def test_the_audit_page_takes_a_task_an_order_and_the_whole_check(scene, as_user):
    client, _ = as_user("lead")
    for query in (f"task={scene['eia']}", "order=oldest", "order=newest", "verify=all",
                  "task=&order=&verify="):
        response = client.get(f"/projects/{scene['code']}/audit?{query}")
        assert response.status_code == 200, query


def test_a_lifecycle_step_takes_its_reason_and_an_unknown_step_is_404(app, scene, as_user, db):
    client, token = as_user("lead")
    assert client.post(f"/projects/{scene['code']}/lifecycle/pause",
                       data={"csrf_token": token}).status_code == 404
    response = client.post(f"/projects/{scene['code']}/lifecycle/suspend",
                           data={"csrf_token": token, "reason": "  企业暂缓投资\n待定  "})
    assert response.status_code == 302
    stage = db.scalar(select(Project.stage).where(Project.code == scene["code"]))
    data = db.scalar(select(AuditEvent.data).where(AuditEvent.action == "project.suspend"))
    db.rollback()
    assert stage == "suspended" and data["reason"] == "企业暂缓投资\n待定"


@pytest.mark.parametrize(("public", "shown"), [("1", True), ("true", True), ("", False),
                                               (None, False)])
def test_a_comment_on_the_project_page_is_public_when_ticked(scene, as_user, db, public, shown):
    client, token = as_user("alice")
    data = {"csrf_token": token, "body": "已电话联系企业"}
    if public is not None:
        data["public"] = public
    assert client.post(f"/projects/{scene['code']}/comments", data=data).status_code == 302
    public = db.scalar(select(Comment.public).where(Comment.body == "已电话联系企业"))
    db.rollback()
    assert public is shown


def test_an_upload_keeps_its_task_and_returns_to_a_page_of_this_site(app, scene, as_user, db):
    client, token = as_user("alice")
    url = f"/projects/{scene['code']}/files"
    response = client.post(url, data={"csrf_token": token, "file": file("测绘.pdf"),
                                      "task_id": str(scene["task"]),
                                      "next": f"/tasks/{scene['task']}"},
                           content_type="multipart/form-data")
    assert response.status_code == 302 and response.headers["Location"] == f"/tasks/{scene['task']}"
    row = db.execute(select(Attachment.task_id, Attachment.original_name,
                            Attachment.storage_name)).one()
    db.rollback()
    assert (row.task_id, row.original_name) == (scene["task"], "测绘.pdf")
    assert (Path(app.config["UPLOAD_FOLDER"]) / row.storage_name).read_bytes() == PDF
    away = client.post(url, data={"csrf_token": token, "file": file(), "next": "//evil.example/"},
                       content_type="multipart/form-data")
    assert away.status_code == 302 and away.headers["Location"] == f"/projects/{scene['code']}"
    # A task of another project is the engine's refusal (404), and leaves no file.
    files = snapshot(db, app)[1]
    other = client.post(url, data={"csrf_token": token, "file": file(),
                                   "task_id": str(scene["rival_task"])},
                        content_type="multipart/form-data")
    assert other.status_code == 404 and snapshot(db, app)[1] == files


def test_the_inbox_takes_its_tabs_sorts_and_filters(scene, as_user):
    client, _ = as_user("alice")
    for query in ("", "tab=mine", "tab=queue&sort=light", "tab=archive&state=done",
                  "tab=queue&light=green&item=u01_survey&project=ACME", "tab=&sort=&state="):
        assert client.get(f"/inbox?{query}").status_code == 200, query


def test_a_task_action_returns_to_a_page_of_this_site_only(scene, as_user, db):
    client, token = as_user("alice")
    claimed = client.post(f"/tasks/{scene['task']}/claim",
                          data={"csrf_token": token, "next": "/inbox?tab=queue"})
    assert claimed.status_code == 302 and claimed.headers["Location"] == "/inbox?tab=queue"
    state = db.scalar(select(ItemTask.state).where(ItemTask.id == scene["task"]))
    db.rollback()
    assert state == "assigned"
    away = client.post(f"/tasks/{scene['task']}/start",
                       data={"csrf_token": token, "next": "https://evil.example/"})
    assert away.status_code == 302 and away.headers["Location"] == f"/tasks/{scene['task']}"


def test_the_desk_keeps_its_lenient_group_and_agent_filters(scene, as_user):
    """A group or agent that is not the lead's is an empty list, not an error."""
    client, _ = as_user("lead")
    for query in ("group=equipment", "group=nosuch", "agent=-", "agent=alice", "agent=nobody",
                  "light=red&state=ready&item=u01_survey&project=P-ACME"):
        assert client.get(f"/desk?{query}").status_code == 200, query
    queue = client.get("/desk?agent=-").get_data(as_text=True)
    assert f'data-task="{scene["task"]}"' in queue
    assert f'data-task="{scene["eia"]}"' not in queue  # alice holds it
    assert f'data-task="{scene["task"]}"' not in client.get("/desk?group=nosuch").get_data(
        as_text=True)


def test_supervision_takes_its_filters_and_statuses(scene, as_user):
    client, _ = as_user("sup")
    for url in ("/supervision?light=red", "/supervision?light=yellow&late=0",
                "/supervision?group=nosuch&agent=nobody&department=x&item=y",
                "/supervision/overdue.xlsx?light=", "/supervision/notices?status=open",
                "/supervision/notices?status=", "/api/v1/supervision/overdue?group=equipment"):
        assert client.get(url).status_code == 200, url


def test_the_compliance_check_takes_an_outcome_and_a_deadline(scene, as_user, db):
    client, token = as_user("alice")
    response = client.post(f"/commitments/{scene['signed']}/check", data={
        "csrf_token": token, "outcome": "rectify", "note": "未报送开工信息",
        "rectify_by": "2026-04-10"})
    assert response.status_code == 302
    letter = db.execute(select(CommitmentLetter.status, CommitmentLetter.rectify_by)
                        .where(CommitmentLetter.id == scene["signed"])).one()
    db.rollback()
    assert tuple(letter) == ("rectifying", date(2026, 4, 10))


def test_a_signature_with_another_letters_digest_is_a_conflict(scene, as_user, db):
    """A well-formed digest of another text passes the edge and the engine
    refuses it (the letter changed since it was shown)."""
    client, token = as_user("other")
    response = client.post(f"/commitments/{scene['issued']}/sign", data={
        "csrf_token": token, "signatory": "李四", "consent": "on", "sha256": "0" * 64})
    assert response.status_code == 409
    status = db.scalar(select(CommitmentLetter.status).where(CommitmentLetter.id == scene["issued"]))
    db.rollback()
    assert status == "issued"


def test_the_credit_list_reads_its_filters(scene, as_user):
    client, _ = as_user("admin")
    acme = f"/admin/credit?enterprise={scene['enterprise']}"
    assert "data-credit=" in client.get(acme + "&severity=minor&cleared=no").get_data(as_text=True)
    assert "data-credit=" not in client.get(acme + "&cleared=yes").get_data(as_text=True)
    assert "data-credit=" not in client.get(acme + "&severity=serious").get_data(as_text=True)
    # The credit code as people type it: lower case is the same code.
    code = scene["credit_code"].lower()
    assert "data-credit=" in client.get(f"/admin/credit?code={code}").get_data(as_text=True)
    assert client.get("/admin/credit?enterprise=&code=&severity=&cleared=").status_code == 200


def test_an_admin_clears_a_record_and_returns_to_the_list_only(scene, as_user, db):
    client, token = as_user("admin")
    response = client.post(f"/admin/credit/{scene['record']}/clear", data={
        "csrf_token": token, "note": "已完成信用修复", "next": "//evil.example/"})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/credit"
    cleared = db.scalar(select(CreditRecord.cleared_at).where(CreditRecord.id == scene["record"]))
    db.rollback()
    assert cleared is not None
