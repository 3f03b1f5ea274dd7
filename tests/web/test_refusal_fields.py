"""An engine refusal of one value a user typed names that value's form input
(``field=``), so the page that comes back shows the reason beside the input
(``web.support.echo``), not only at the top of the form; and every input an
engine refusal names exists on some page, so a misspelt name cannot quietly
send the reason back to the top."""

from __future__ import annotations

import ast
import re
from html.parser import HTMLParser
from pathlib import Path

from sqlalchemy import func, select

from tests.web.test_agent_pages import survey
from tests.web.test_chemicals import chem, now_in_db, screen  # noqa: F401 (a fixture)
from tests.web.test_commitments import eia, fresh  # noqa: F401 (a fixture)
from tests.web.test_intentions import follow_ups, project_named, register
from tests.web.test_land import parcel, read  # noqa: F401 (a fixture)
from workflow.models import GapAcceptance, ItemTask, Parcel, Screening

ROOT = Path(__file__).resolve().parents[2]


def beside(html: str, name: str) -> str:
    """The reason shown right after the input called ``name`` (after its end
    tag for a text area or a choice), which is marked invalid and points to it."""
    match = re.search(rf'<(input|textarea|select)\b[^>]*\bname="{name}"[^>]*>', html)
    assert match, f"no input {name}"
    tag, start = match.group(1), match.group(0)
    assert 'aria-invalid="true"' in start and f'aria-describedby="error-{name}"' in start, start
    end = match.end()
    if tag != "input":
        end = html.index(f"</{tag}>", end) + len(f"</{tag}>")
    reason = re.match(rf'<span class="field-error" id="error-{name}">([^<]+)</span>', html[end:])
    assert reason, f"no reason beside {name}: {html[end:end + 200]!r}"
    assert "输入有误，请修改标出的内容后重新提交" in html
    return reason.group(1)


# -- the forms ----------------------------------------------------------------------------

def test_a_follow_up_dated_tomorrow_is_refused_beside_its_date(as_user, db):
    client, token = as_user("lead")
    register(client, token)
    project = project_named(db, "年产5万台农机装备项目")
    page = f"http://localhost/projects/{project.code}"
    response = client.post(f"/projects/{project.code}/follow-ups", headers={"Referer": page}, data={
        "csrf_token": token, "contacted_on": "2026-03-03", "summary": "明天的事"})  # today: 2 March
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert beside(html, "contacted_on") == "接洽日期不能晚于今天。"
    assert "明天的事</textarea>" in html  # what was typed stays
    assert follow_ups(db, project) == []


def test_a_parcel_code_already_used_is_refused_beside_the_code(as_user, db, parcel):  # noqa: F811
    client, token = as_user("admin")
    response = client.post("/land/parcels", headers={"Referer": "http://localhost/land/parcels"},
                           data={"csrf_token": token, "code": "ZY2026-01", "name": "二号地",
                                 "area_mu": "20"})
    assert response.status_code == 400
    assert "ZY2026-01" in beside(response.get_data(as_text=True), "code")
    assert read(db, select(func.count(Parcel.id))) == 1


def test_a_gap_deadline_after_the_items_limit_is_refused_beside_the_deadline(eia, db):  # noqa: F811
    client, token, item = eia
    response = client.post(f"/tasks/{item.id}/gap",
                           headers={"Referer": "http://localhost/projects/P-ACME-1"},
                           data={"csrf_token": token, "missing": ["authorisation"],
                                 "deadline": "2026-04-02"})  # the item's limit: 1 April
    assert response.status_code == 400
    assert "2026-04-01" in beside(response.get_data(as_text=True), "deadline")
    assert fresh(db, GapAcceptance) == [] and fresh(db, ItemTask, id=item.id)[0].state == "assigned"


def test_an_expert_review_dated_tomorrow_is_refused_beside_its_date(as_user, chem, db):  # noqa: F811
    client, token = as_user("chemlead")
    screen(client, token, chem, total_investment_wan="8000")  # restricted: the experts review it
    [screening] = now_in_db(db, Screening, Screening.project_id == chem.id)
    page = f"http://localhost/projects/{chem.code}/screening"
    response = client.post(f"/projects/{chem.code}/screening/{screening.id}/review",
                           headers={"Referer": page}, data={
                               "csrf_token": token, "experts": "张工", "reviewed_on": "2026-03-03",
                               "conclusion": "approve"})
    assert response.status_code == 400
    assert beside(response.get_data(as_text=True), "reviewed_on")
    [screening] = now_in_db(db, Screening, Screening.project_id == chem.id)
    assert screening.review is None


def test_a_materials_deadline_of_today_is_refused_beside_the_deadline(as_user, world, db):
    client, token = as_user("alice")
    task = survey(db, world)
    for action in ("claim", "start"):
        client.post(f"/tasks/{task.id}/{action}", data={"csrf_token": token})
    response = client.post(f"/tasks/{task.id}/request_materials",
                           headers={"Referer": f"http://localhost/tasks/{task.id}"},
                           data={"csrf_token": token, "materials": "宗地界址图",
                                 "deadline": "2026-03-02"})  # today
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert beside(html, "deadline")
    assert "宗地界址图" in html  # the list typed stays
    assert survey(db, world).state == "in_progress"


# -- every input a refusal names is on some page -----------------------------------------

# Names a refusal carries that no page form posts, each for its reason. An
# entry no refusal uses any more fails too, so the list stays true.
NOT_PAGE_INPUTS = {
    "cursor": "a list's paging argument (a link, not an input)",
    "limit": "a list's paging argument (a link, not an input)",
    "order": "the audit page's order argument (a link)",
    "step": "the pipeline's step argument (a link)",
    "locked": "an admin's unlock button: the account's state is refused",
    "factor": "an admin's reset button: the account's state is refused",
    "enterprise_id": "the API's service request (the pages pass the enterprise otherwise)",
    "parcel code": "parcel_id_of serves two forms that call the parcel differently",
}


class _Inputs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.names: set[str] = set()

    def handle_starttag(self, tag, attrs):
        if tag in ("input", "select", "textarea"):
            self.names.update(v for k, v in attrs if k == "name" and v)


def page_inputs() -> set[str]:
    parser = _Inputs()
    for template in sorted((ROOT / "web" / "templates").rglob("*.html")):
        parser.feed(template.read_text(encoding="utf-8"))
    return parser.names


def named_fields() -> list[tuple[str, int, str]]:
    """``(path, line, name)`` of each input name a refusal in ``workflow/``
    carries as ``field=`` (a literal, or either literal of a conditional); a
    refusal whose sentence shows ``{field}`` carries a word, not a name."""
    found = []
    for path in sorted((ROOT / "workflow").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            first = node.args[0]
            template = first.value if isinstance(first, ast.Constant) else None
            if not isinstance(template, str) or "{field" in template:
                continue
            for keyword in node.keywords:
                if keyword.arg != "field":
                    continue
                value = keyword.value
                options = [value.body, value.orelse] if isinstance(value, ast.IfExp) else [value]
                found += [(str(path.relative_to(ROOT)), node.lineno, o.value) for o in options
                          if isinstance(o, ast.Constant) and isinstance(o.value, str)]
    return found


def test_every_input_a_refusal_names_is_on_a_page():
    inputs, fields = page_inputs(), named_fields()
    # The reading finds what it is for: the follow-up's date and a conditional's name.
    assert ("workflow/reforms/intentions/register.py", "contacted_on") in {
        (path, name) for path, _line, name in fields}
    assert "days" in {name for path, _line, name in fields if path.endswith("extensions.py")}
    assert {"contacted_on", "deadline", "reviewed_on", "code"} <= inputs
    unknown = [f"{path}:{line} field={name!r}" for path, line, name in fields
               if name not in inputs and name not in NOT_PAGE_INPUTS]
    assert not unknown, ("refusals naming an input no page has (a typo, or an input renamed): "
                         "the reason would not stand beside it:\n  " + "\n  ".join(unknown))
    stale = set(NOT_PAGE_INPUTS) - {name for _path, _line, name in fields}
    assert not stale, f"no refusal names these any more: {sorted(stale)}"
