"""The desk's queue of dossiers: ``/staff/queue``, the ward's dossiers for staff and leaders.

Tabs by state (with a count each), filters (procedure, field, channel, reception mode, overdue or due soon), a
diacritic- and case-insensitive search by code, name or phone, sorted by due date, one page at a time. Everything
runs in the database, on the ward's rows only: a ward of 50,000 dossiers answers in tens of milliseconds
(bench/backoffice.py). The filters are read from the query string; a value the page did not offer is answered
422 with one Vietnamese message per field, never a 500.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from datetime import time
from datetime import timedelta

from flask import current_app
from flask import render_template
from flask import request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import and_
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict

from server.auth.access import roles_required
from server.calendar import service as calendar
from server.calendar.workdays import VN_TZ
from server.calendar.workdays import to_local
from server.dossiers.models import Channel
from server.dossiers.models import Dossier
from server.dossiers.models import ReceptionMode
from server.dossiers.search_text import search_needle
from server.dossiers.workflow import OPEN_STATES
from server.dossiers.workflow import State
from server.extensions import db
from server.interagency import units
from server.privacy.requests import due_requests as due_data_requests
from server.reference.fields import field_labels
from server.reference.models import Agency
from server.reference.models import Procedure
from server.reference.models import ProcedureVersion
from server.types import utcnow
from server.web.forms import Submitted
from server.web.officer_messages import officer_messages
from server.web.pages import pages_blueprint

bp = pages_blueprint("queue", __name__, url_prefix="/staff")

DESK = ("staff", "leader")
PAGE_SIZE = 50
MAX_SEARCH = 100
#: Far beyond any ward (50,000 dossiers are 1,000 pages); refuses offsets that would only make the database work.
MAX_PAGE = 100_000

#: Every dossier the desk still has to act on: submitted online, open (clock running or paused), or resolved and
#: waiting to be handed over. The default tab.
ACTIVE_STATES = frozenset({State.ONLINE_SUBMITTED, *OPEN_STATES, State.RESOLVED})
#: The DOMAIN.md §10 overlay: "overdue = now > due and the state is neither resolved nor terminal".
CLOCK_STATES = OPEN_STATES
#: The states shown as tabs, in the order a dossier goes through them (drafts live only on phones).
STATE_TABS = (State.ONLINE_SUBMITTED, State.RECEIVED, State.IN_PROCESS, State.AWAITING_SUPPLEMENT,
              State.AWAITING_PAYMENT, State.PENDING_APPROVAL, State.APPROVED, State.RESOLVED, State.RETURNED,
              State.REFUSED, State.GUIDED_INCOMPLETE, State.STOPPED, State.WITHDRAWN)
SORTS = ("due", "due_desc", "received_desc")
DEADLINES = ("overdue", "due_soon")
#: Which units' dossiers (server/interagency/units.py); none chosen: what the unit received or holds now.
UNIT_VIEWS = ("held", "elsewhere", "incoming")



def queue_labels() -> dict:
    """Labels of tabs, channels, reception modes, deadlines and sorts, translated."""
    states = officer_messages()
    return {
        "tabs": {"active": _("Cần xử lý"), **{s.value: states[f"state_{s.value}"] for s in STATE_TABS},
                 "all": _("Tất cả")},
        "channels": {"direct": _("Trực tiếp"), "online": _("Trực tuyến"), "postal": _("Bưu chính công ích")},
        "modes": {"counter": _("Tại quầy"), "home_visit": _("Tại nhà"), "online_assisted": _("Trực tuyến có hỗ trợ"),
                  "online": _("Trực tuyến"), "post": _("Qua bưu điện")},
        "deadlines": {"overdue": _("Quá hạn"), "due_soon": _("Sắp đến hạn (trong %(n)s ngày làm việc)",
                                                               n=current_app.config["QUEUE_DUE_SOON_WORKING_DAYS"])},
        "sorts": {"due": _("Hạn trả gần nhất trước"), "due_desc": _("Hạn trả xa nhất trước"),
                  "received_desc": _("Mới tiếp nhận trước")},
        "units": {"held": _("Đang ở đơn vị mình"),
                  "elsewhere": _("Đơn vị mình tiếp nhận, đang ở hoặc thuộc thẩm quyền đơn vị khác"),
                  "incoming": _("Đơn vị khác tiếp nhận, chuyển đến hoặc thuộc thẩm quyền đơn vị mình")},
    }


@dataclass
class QueueFilters:
    """What the desk asked for, checked."""

    tab: str = "active"
    procedure_id: int | None = None
    field: str | None = None
    channel: Channel | None = None
    reception_mode: ReceptionMode | None = None
    deadline: str | None = None
    q: str = ""
    sort: str = "due"
    page: int = 1
    unit: str | None = None



def _choice(values: dict, errors: dict, name: str, allowed, message: str):
    """The typed value if it is one of ``allowed`` (empty → None), else an error for ``name``."""
    value = values[name]
    if not value:
        return None
    if value not in allowed:
        errors[name] = message
        return None
    return value


def read_filters(args: MultiDict, procedures: list[Procedure]) -> tuple[QueueFilters | None, Submitted]:
    """Check the query string against what the page offers."""
    names = ("tab", "procedure", "field", "channel", "mode", "deadline", "q", "sort", "page", "unit")
    values = {name: " ".join((args.get(name) or "").split()) for name in names}
    submitted = Submitted(values)
    errors = submitted.errors
    tabs = {"active", "all", *(s.value for s in STATE_TABS)}
    tab = _choice(values, errors, "tab", tabs, _("Không có nhóm hồ sơ này.")) or "active"
    by_id = {str(p.id): p for p in procedures}
    procedure = _choice(values, errors, "procedure", by_id, _("Vui lòng chọn một thủ tục trong danh sách."))
    field = _choice(values, errors, "field", {p.field for p in procedures},
                    _("Vui lòng chọn một lĩnh vực trong danh sách."))
    channel = _choice(values, errors, "channel", {c.value for c in Channel},
                      _("Vui lòng chọn một kênh nộp trong danh sách."))
    mode = _choice(values, errors, "mode", {m.value for m in ReceptionMode},
                   _("Vui lòng chọn một hình thức tiếp nhận trong danh sách."))
    deadline = _choice(values, errors, "deadline", DEADLINES, _("Vui lòng chọn quá hạn hoặc sắp đến hạn."))
    unit = _choice(values, errors, "unit", UNIT_VIEWS, _("Vui lòng chọn một nhóm đơn vị trong danh sách."))
    sort = _choice(values, errors, "sort", SORTS, _("Vui lòng chọn một cách sắp xếp trong danh sách.")) or "due"
    if len(values["q"]) > MAX_SEARCH:
        errors["q"] = _("Từ khóa tìm kiếm dài tối đa %(n)s ký tự.", n=MAX_SEARCH)
    page = 1
    if values["page"]:
        if not values["page"].isdigit() or not 1 <= int(values["page"]) <= MAX_PAGE:
            errors["page"] = _("Số trang phải là số nguyên dương.")
        else:
            page = int(values["page"])
    if errors:
        return None, submitted
    return QueueFilters(
        tab=tab, procedure_id=int(procedure) if procedure else None, field=field,
        channel=Channel(channel) if channel else None, reception_mode=ReceptionMode(mode) if mode else None,
        deadline=deadline, q=values["q"], sort=sort, page=page, unit=unit,
    ), submitted


def tab_states(tab: str) -> frozenset[State] | None:
    """The states of a tab; None for every state."""
    if tab == "all":
        return None
    if tab == "active":
        return ACTIVE_STATES
    return frozenset({State(tab)})


def due_soon_limit(now: datetime, working_days: int) -> datetime:
    """The end of the working day ``working_days`` working days after today (Viet Nam): a dossier due before this
    instant, and not yet overdue, is due soon. Today counts as day 0, so 2 means today, and the next two working
    days."""
    today = to_local(now).date()
    work_calendar = calendar.load_calendar(today.year, today.year + 1)
    last_day = work_calendar.add_working_days(today, working_days)
    return datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=VN_TZ)


def ward_conditions(agency_id: int, filters: QueueFilters, procedures: list[Procedure], now: datetime) -> list:
    """The WHERE clauses of every filter except the tab (the tabs are counted with them)."""
    conditions = [unit_condition(agency_id, filters.unit)]
    if filters.procedure_id is not None or filters.field is not None:
        chosen = [p for p in procedures if filters.procedure_id in (None, p.id) and filters.field in (None, p.field)]
        # Version ids are few (the catalogue), and a list of them keeps the query on the dossier table alone.
        version_ids = select(ProcedureVersion.id).where(ProcedureVersion.procedure_id.in_([p.id for p in chosen]))
        conditions.append(Dossier.procedure_version_id.in_(list(db.session.scalars(version_ids))))
    if filters.channel is not None:
        conditions.append(Dossier.channel == filters.channel)
    if filters.reception_mode is not None:
        conditions.append(Dossier.reception_mode == filters.reception_mode)
    if filters.deadline == "overdue":
        conditions += [Dossier.state.in_(CLOCK_STATES), Dossier.due_at < now]
    elif filters.deadline == "due_soon":
        limit = due_soon_limit(now, current_app.config["QUEUE_DUE_SOON_WORKING_DAYS"])
        conditions += [Dossier.state.in_(CLOCK_STATES), Dossier.due_at >= now, Dossier.due_at < limit]
    needle = search_needle(filters.q) if filters.q else ""
    if needle:
        conditions.append(Dossier.search_text.contains(needle, autoescape=True))
    return conditions


def unit_condition(agency_id: int, view: str | None):
    """Whose dossiers the queue lists: by default those the unit received or holds now (a unit sees in its queue
    what was handed over to it: server/interagency/units.py); "held" only those it holds, "elsewhere" those it
    received that another unit holds or decides, "incoming" those another unit received for it. Never more than
    its users may open (an account attached to a unit outside the system sees only what that unit received)."""
    if view == "held":
        chosen = units.held_by(agency_id)
    elif view == "elsewhere":
        chosen = units.elsewhere_condition(agency_id)
    elif view == "incoming":
        chosen = units.incoming_condition(agency_id)
    else:
        chosen = or_(Dossier.agency_id == agency_id, units.held_by(agency_id))
    return and_(chosen, units.viewable_by(db.session.get(Agency, agency_id)))


def tab_counts(conditions: list) -> dict[str, int]:
    """How many dossiers each tab holds under the other filters: one GROUP BY over the ward."""
    by_state = dict(db.session.execute(select(Dossier.state, func.count()).where(*conditions)
                                       .group_by(Dossier.state)).all())
    counts = {"active": sum(n for s, n in by_state.items() if s in ACTIVE_STATES)}
    counts.update({s.value: by_state.get(s, 0) for s in STATE_TABS})
    counts["all"] = sum(by_state.values())
    return counts


def page_of(conditions: list, filters: QueueFilters) -> list[Dossier]:
    """The dossiers of the requested page, with what the rows show loaded in two more queries."""
    states = tab_states(filters.tab)
    query = select(Dossier).where(*conditions)
    if states is not None:
        query = query.where(Dossier.state.in_(states))
    if filters.sort == "received_desc":
        order = (Dossier.device_received_at.desc().nulls_last(), Dossier.id.desc())
    elif filters.sort == "due_desc":
        order = (Dossier.due_at.desc().nulls_last(), Dossier.id.desc())
    else:
        order = (Dossier.due_at.asc().nulls_last(), Dossier.id)
    query = (query.order_by(*order).limit(PAGE_SIZE).offset((filters.page - 1) * PAGE_SIZE)
             .options(selectinload(Dossier.owner), selectinload(Dossier.agency),
                      selectinload(Dossier.competent_agency), selectinload(Dossier.holder_agency),
                      selectinload(Dossier.procedure_version).selectinload(ProcedureVersion.procedure)))
    return list(db.session.scalars(query))


def ward_procedures() -> list[Procedure]:
    """The catalogue's procedures, by name (what the procedure and field filters offer)."""
    return list(db.session.scalars(select(Procedure).order_by(Procedure.name_vi)))


@bp.get("/queue")
@roles_required(*DESK)
def queue():
    """The ward's dossiers: tabs with counts, filters, search, sorted and paged (422 for a value not offered)."""
    procedures = ward_procedures()
    filters, submitted = read_filters(request.args, procedures)
    labels = queue_labels()
    fields = sorted({p.field for p in procedures}, key=lambda f: field_labels().get(f, f))
    page_context = {"submitted": submitted, "procedures": procedures, "fields": fields,
                    "field_labels": field_labels(), "labels": labels, "tab_order": list(labels["tabs"])}
    if filters is None:
        return render_template("backoffice/queue.html", rows=[], counts=None, filters=None, **page_context), 422
    now = utcnow()
    conditions = ward_conditions(current_user.agency_id, filters, procedures, now)
    counts = tab_counts(conditions)
    total = counts[filters.tab]
    rows = page_of(conditions, filters)
    soon = due_soon_limit(now, current_app.config["QUEUE_DUE_SOON_WORKING_DAYS"])
    return render_template(
        "backoffice/queue.html", rows=rows, counts=counts, filters=filters, total=total,
        data_requests=due_data_requests(current_user.agency_id, soon),
        pages=max(1, math.ceil(total / PAGE_SIZE)), now=now, soon=soon, clock_states=CLOCK_STATES,
        state_labels=officer_messages(), to_local=to_local, link_args=_link_args(submitted.values), **page_context)


def _link_args(values: dict) -> dict:
    """The query string of the current view without empty values (for tab and page links)."""
    return {name: value for name, value in values.items() if value and name != "page"}
