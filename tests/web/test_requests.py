"""Enterprise requests and visits through Flask's test client: the portal's
side (raise, follow, rate, withdraw; another enterprise's answers 404), the
staff's side (arrange, feedback, solve; another department's agent does not
see it; a supervisor reads and changes nothing), the figures, the visits,
and bad input answering 400 with nothing changed."""

from __future__ import annotations

import re

from sqlalchemy import select

from workflow.models import ServiceRequest, Visit


def requests_now(db):
    rows = db.scalars(select(ServiceRequest).order_by(ServiceRequest.id)
                      .execution_options(populate_existing=True)).all()
    db.commit()
    return rows


def raise_in_portal(client, token, **changes):
    data = {"csrf_token": token, "kind": "power", "title": "厂区用电接入迟迟未办",
            "text": "变压器已到货，尚未排期接入。"}
    data.update(changes)
    return client.post("/portal/requests", data=data)


def test_an_enterprise_raises_a_request_and_follows_it_to_a_close(as_user, db, world):
    acme, token = as_user("acme")
    assert "提出诉求" in acme.get("/portal/requests").get_data(as_text=True)
    response = raise_in_portal(acme, token, project_id=str(world["project"].id))
    assert response.status_code == 302
    [row] = requests_now(db)
    assert row.project_id == world["project"].id and row.status == "submitted"
    page = acme.get(f"/portal/requests/{row.id}").get_data(as_text=True)
    assert "厂区用电接入迟迟未办" in page and "待安排" in page and "2026-03-02" in page

    lead, lead_token = as_user("lead")
    assert lead.post(f"/requests/{row.id}/arrange", data={
        "csrf_token": lead_token, "department": "nature_resources", "complexity": "ordinary",
        "note": "请自然资源局牵头", "version": str(row.version)}).status_code == 302
    alice, alice_token = as_user("alice")
    listed = alice.get("/requests").get_data(as_text=True)
    assert f'data-request="{row.id}"' in listed
    assert alice.post(f"/requests/{row.id}/feedback", data={
        "csrf_token": alice_token, "text": "已约供电公司现场勘查"}).status_code == 302
    assert alice.post(f"/requests/{row.id}/solve", data={
        "csrf_token": alice_token, "text": "已送电"}).status_code == 302
    page = acme.get(f"/portal/requests/{row.id}").get_data(as_text=True)
    assert "已约供电公司现场勘查" in page and "已送电" in page and 'data-form="rate"' in page

    before = requests_now(db)[0].status
    assert acme.post(f"/portal/requests/{row.id}/rate", data={
        "csrf_token": token, "rating": "unsatisfied", "comment": ""}).status_code == 400
    assert requests_now(db)[0].status == before == "solved"
    assert acme.post(f"/portal/requests/{row.id}/rate", data={
        "csrf_token": token, "rating": "satisfied"}).status_code == 302
    assert requests_now(db)[0].status == "closed"


def test_another_enterprise_and_other_staff_are_kept_out(as_user, db):
    acme, token = as_user("acme")
    raise_in_portal(acme, token)
    [row] = requests_now(db)
    other, other_token = as_user("other")
    assert other.get(f"/portal/requests/{row.id}").status_code == 404
    assert row.title not in other.get("/portal/requests").get_data(as_text=True)
    assert other.post(f"/portal/requests/{row.id}/withdraw",
                      data={"csrf_token": other_token}).status_code == 404
    assert acme.get(f"/requests/{row.id}").status_code == 403  # the staff's pages
    assert acme.get("/requests").status_code == 403
    assert acme.get("/visits").status_code == 403

    sup, sup_token = as_user("sup")
    assert sup.get(f"/requests/{row.id}").status_code == 200
    assert sup.post(f"/requests/{row.id}/arrange", data={
        "csrf_token": sup_token, "department": "planning"}).status_code == 403
    assert sup.get("/portal/requests").status_code == 403
    lead, lead_token = as_user("lead")
    lead.post(f"/requests/{row.id}/arrange", data={"csrf_token": lead_token,
                                                   "department": "nature_resources"})
    bob, bob_token = as_user("bob")  # planning, not the request's department
    assert bob.get(f"/requests/{row.id}").status_code == 404
    assert bob.post(f"/requests/{row.id}/feedback", data={
        "csrf_token": bob_token, "text": "x"}).status_code == 404
    assert requests_now(db)[0].status == "arranged"
    assert acme.post(f"/portal/requests/{row.id}/withdraw",
                     data={"csrf_token": token}).status_code == 302
    assert requests_now(db)[0].status == "withdrawn"


def test_bad_input_answers_400_and_records_nothing(as_user, db, world):
    acme, token = as_user("acme")
    for bad in ({"kind": "weather"}, {"title": ""}, {"title": "a" * 201},
                {"text": "nul\x00"}, {"project_id": "99999999999"}, {"project_id": "-1"}):
        response = raise_in_portal(acme, token, **bad)
        assert response.status_code == 400, bad
    # another enterprise's project
    response = raise_in_portal(acme, token, project_id=str(world["rival"].id))
    assert response.status_code == 400
    assert "该项目不属于该企业。" in response.get_data(as_text=True)
    assert requests_now(db) == []
    sup, _ = as_user("sup")
    assert sup.get("/requests?status=bogus").status_code == 400
    assert sup.get("/requests?cursor=notacursor").status_code == 400
    assert sup.get("/requests?kind=%00").status_code == 400
    assert sup.get("/requests/99999999999").status_code == 404


def test_the_supervisor_reads_open_requests_by_department_and_age(as_user, db, clock):
    from tests.factories import at

    acme, token = as_user("acme")
    raise_in_portal(acme, token, title="道路未通")
    raise_in_portal(acme, token, title="政策咨询", kind="policy")
    lead, lead_token = as_user("lead")
    first = requests_now(db)[0]
    lead.post(f"/requests/{first.id}/arrange", data={"csrf_token": lead_token,
                                                      "department": "nature_resources"})
    clock.moment = at("2026-03-10", 10)
    sup, _ = as_user("sup")
    page = sup.get("/requests/figures").get_data(as_text=True)
    row = re.search(r'<tr data-department="nature_resources">(.*?)</tr>', page, re.S).group(1)
    assert re.search(r'data-age="within_7">1<', row) and re.search(r"data-overdue>.*>1</a>", row)
    waiting = re.search(r'<tr data-department="">(.*?)</tr>', page, re.S).group(1)
    assert re.search(r"data-total>1<", waiting)
    listed = sup.get("/requests?overdue=1&department=nature_resources").get_data(as_text=True)
    assert f'data-request="{first.id}"' in listed and "超期" in listed


def test_the_list_marks_a_step_due_the_next_working_day(as_user, db, clock):
    from tests.factories import at

    acme, token = as_user("acme")
    raise_in_portal(acme, token)  # Monday 03-02: feedback due Thursday 03-05
    [row] = requests_now(db)
    lead, lead_token = as_user("lead")
    lead.post(f"/requests/{row.id}/arrange", data={"csrf_token": lead_token,
                                                    "department": "nature_resources"})

    def cell(day, lang=None):
        clock.moment = at(day, 10)  # logged in afresh: a day later the session is idle
        sup, token = as_user("sup")
        if lang:
            sup.post(f"/lang/{lang}", data={"csrf_token": token})
        page = sup.get("/requests").get_data(as_text=True)
        return re.search(rf'<tr data-request="{row.id}">(.*?)</tr>', page, re.S).group(1)

    assert "data-due-soon" not in cell("2026-03-03") and "即将到期" not in cell("2026-03-03")
    # The working day before the feedback's date: the department is warned.
    assert "data-due-soon" in cell("2026-03-04") and "2026-03-05 · 即将到期" in cell("2026-03-04")
    assert "2026-03-05 · Due soon" in cell("2026-03-04", "en")
    assert "即将到期" not in cell("2026-03-06") and "超期" in cell("2026-03-06")


def test_a_lead_records_a_visit_and_the_requests_raised_in_it(as_user, db):
    lead, token = as_user("lead")
    leader_id = re.search(r'<option value="(\d+)">lead<', lead.get("/visits").get_data(
        as_text=True)).group(1)
    response = lead.post("/visits", data={
        "csrf_token": token, "enterprise": "甲科技有限公司", "visited_on": "2026-02-27",
        "leader_id": leader_id, "companions": "发改局", "notes": "企业反映道路问题"})
    assert response.status_code == 302
    visit = db.scalar(select(Visit))
    db.commit()
    assert lead.post(f"/visits/{visit.id}/requests", data={
        "csrf_token": token, "kind": "road", "title": "东侧道路未修通"}).status_code == 302
    [row] = requests_now(db)
    assert row.visit_id == visit.id and row.source == "visit"
    page = lead.get(f"/visits/{visit.id}").get_data(as_text=True)
    assert "东侧道路未修通" in page and "企业反映道路问题" in page
    assert lead.post("/visits", data={
        "csrf_token": token, "enterprise": "甲科技有限公司", "visited_on": "2026-03-09",
        "leader_id": leader_id}).status_code == 400  # in the future
    assert lead.post("/visits", data={
        "csrf_token": token, "enterprise": "没有这家企业", "visited_on": "2026-03-01",
        "leader_id": leader_id}).status_code == 400
    acme, _ = as_user("acme")
    assert "东侧道路未修通" in acme.get("/portal/requests").get_data(as_text=True)


def test_the_pages_read_in_english(as_user, db):
    acme, token = as_user("acme")
    raise_in_portal(acme, token)
    [row] = requests_now(db)
    acme.post("/lang/en", data={"csrf_token": token})
    page = acme.get(f"/portal/requests/{row.id}").get_data(as_text=True)
    assert "Progress" in page and "To be arranged" in page and "Power connection" in page
    assert "Due 2026-03-02 (the same working day)" in page
    lead, lead_token = as_user("lead")
    lead.post("/lang/en", data={"csrf_token": lead_token})
    for path, words in ((f"/requests/{row.id}", "Assign a department"),
                        ("/requests", "Overdue only"), ("/requests/figures", "Within 3 working days"),
                        ("/visits", "Record a visit")):
        assert words in lead.get(path).get_data(as_text=True), path
