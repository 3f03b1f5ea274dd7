"""The workload forecast (工作量预测) for admins: for each group, department
and agent, the tasks in hand now and the tasks expected at once on each of
the next working days against capacity, as charts with the same figures in
tables; and each agent's own capacity, set here. The page reads the
``workload_day`` rollup and small tables only (``workflow.core.workload``)."""

from __future__ import annotations

from typing import Literal

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from web.support import charts, labels
from web.support.access import me, requires
from web.support.db import db
from web.support.inputs import Input, Maybe, Whole, form, query
from web.support.security import now
from workflow.core import permissions, workload
from workflow.core.operations import zone_today
from workflow.kernel.registry import current_version, definition_of

bp = Blueprint("workload", __name__)

# The page's tabs: the groups with every agent's figures and capacity (the
# default), the agents' charts, the departments' charts. One tab at a time
# keeps the answer small whatever the number of agents and departments.
SCOPES = ("group", "agent", "department")


class WorkloadArgs(Input):
    scope: Maybe(Literal[SCOPES]) = None  # type: ignore[valid-type]


class CapacityForm(Input):
    """An agent's own capacity in tasks at once; blank: the zone's default."""

    capacity: Maybe(Whole(1, workload.MAX_CAPACITY)) = None


def chart_of(series: workload.Series, title: str, *, width: int = 680, height: int = 150):
    return charts.load_chart([d.day for d in series.days], [d.load for d in series.days],
                             series.capacity, title=title, width=width, height=height)


@bp.route("/admin/workload")
@requires(permissions.can_administer)
def index():
    scope = query(WorkloadArgs).scope or "group"
    session = db()
    definition = definition_of(current_version(session))
    departments = {code: labels.name_of(d) for code, d in definition.departments.items()}
    found = workload.forecast(session, zone_today(now()), departments=departments,
                              default=definition.agent_capacity, label_of=labels.name_of)
    return render_template("workload/index.html", forecast=found, chart=chart_of, scope=scope,
                           scopes=SCOPES, max_capacity=workload.MAX_CAPACITY)


@bp.route("/admin/workload/capacity/<int:user_id>", methods=["POST"])
@requires(permissions.can_administer)
def set_capacity(user_id: int):
    capacity = form(CapacityForm).capacity
    agent = workload.set_capacity(db(), user_id, capacity, actor=me(), now=now())
    db().commit()
    flash(_("已保存 %(name)s 的同时在办上限", name=agent.display_name), "ok")
    return redirect(url_for("workload.index", _anchor=f"agent-{agent.id}"))  # the default tab
