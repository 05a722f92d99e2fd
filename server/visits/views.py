"""Home-visit pages: a citizen's request form and list, and the ward's queue where staff assign an officer.

Server-rendered forms that work without JavaScript (post, then redirect). A refused form is shown again with what
was typed and one message per field (422). Staff and leaders see and act on their own ward's visits only: another
ward's visit is answered 404, as if it did not exist.
"""

from __future__ import annotations

from datetime import date

from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user

from server.auth.access import roles_required
from server.extensions import db
from server.visits import forms
from server.visits import services
from server.web.formats import day_text
from server.web.formats import phone_text
from server.web.pages import pages_blueprint

bp = pages_blueprint("visits", __name__)

STAFF_ROLES = ("staff", "leader")


@bp.context_processor
def _helpers() -> dict:
    return {"labels": visit_labels(), "visit_day": visit_day}


def visit_labels() -> dict:
    """Vietnamese labels (translated) of reasons and statuses, and weekday names, for the visit templates."""
    return {
        "reasons": {
            "meritorious": _("Người có công với cách mạng, gia đình chính sách"),
            "elderly": _("Người cao tuổi"),
            "disabled": _("Người khuyết tật"),
            "force_majeure": _("Ốm đau, thiên tai hoặc lý do bất khả kháng khác"),
            "other": _("Lý do khác"),
        },
        "statuses": {
            "requested": _("Đang chờ phân công cán bộ"),
            "scheduled": _("Đã có lịch hẹn"),
            "done": _("Cán bộ đã đến"),
            "cancelled": _("Đã hủy"),
        },
        "weekdays": [_("Thứ Hai"), _("Thứ Ba"), _("Thứ Tư"), _("Thứ Năm"), _("Thứ Sáu"), _("Thứ Bảy"), _("Chủ nhật")],
    }


def visit_day(value) -> str:
    """"Thứ Hai, 14/12/2026" from a date or an ISO date string."""
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return f"{visit_labels()['weekdays'][day.weekday()]}, {day_text(day)}"


# --- the citizen --------------------------------------------------------------------------------------------------

def _request_page(submitted: forms.Submitted, status: int = 200):
    return render_template(
        "visits/new.html", form=submitted, wards=services.wards(), procedures=services.home_procedures(),
        days=services.offered_days(), reasons=list(visit_labels()["reasons"].items()),
    ), status


@bp.get("/my/visits/new")
@roles_required("citizen")
def new_request():
    """The request form: ward, procedure, reason, whom to visit, phone, address, preferred days, note."""
    person = current_user.person
    wards = services.wards()
    values = {"for_whom": "self", "days": [], "phone": "", "address": ""}
    if person is not None:
        values["phone"] = phone_text(person.phone_e164)
        values["address"] = person.address or ""
    if len(wards) == 1:
        values["ward"] = wards[0].agency_code
    return _request_page(forms.Submitted(values))


@bp.post("/my/visits/new")
@roles_required("citizen")
def create_request():
    """Put the request in the ward's queue, or show the form again with what to fix (422)."""
    checked, submitted = forms.read_request(request.form, wards=services.wards(),
                                            procedures=services.home_procedures(), days=services.offered_days())
    if checked is None:
        return _request_page(submitted, 422)
    services.create_request(current_user, checked)
    db.session.commit()
    flash(_("Đã gửi yêu cầu. Bộ phận Một cửa sẽ phân công cán bộ và báo lịch hẹn cho bạn."))
    return redirect(url_for("visits.my_visits"))


@bp.get("/my/visits")
@roles_required("citizen")
def my_visits():
    """My requests and their state; when scheduled, the day, the time and who will come."""
    return render_template("visits/mine.html", visits=services.visits_of_account(current_user))


# --- the ward's one-stop staff ------------------------------------------------------------------------------------

def _queue_page(failed: dict | None = None, status: int = 200):
    """The ward's queue; ``failed`` = {"visit_id", "form": "schedule"|"cancel", "submitted"} re-shows a refused
    form with its errors."""
    agency = current_user.agency
    visits = services.ward_queue(agency.id)
    today = services.today()
    slots = [t.strftime("%H:%M") for t in services.time_slots(agency)]
    forms_by_visit = {}
    for visit in visits:
        if failed and failed["visit_id"] == visit.id and failed["form"] == "schedule":
            forms_by_visit[visit.id] = failed["submitted"]
            continue
        forms_by_visit[visit.id] = forms.Submitted({
            "officer": str(visit.officer_id or ""),
            "day": (visit.planned_for or _default_day(visit, today)).isoformat(),
            "time": visit.planned_time.strftime("%H:%M") if visit.planned_time else "",
        })
    cancel_forms = {}
    if failed and failed["form"] == "cancel":
        cancel_forms[failed["visit_id"]] = failed["submitted"]
    return render_template(
        "visits/staff.html", agency=agency, visits=visits, officers=services.ward_officers(agency.id),
        slots=slots, schedule_forms=forms_by_visit, cancel_forms=cancel_forms, failed=failed, today=today,
    ), status


def _default_day(visit, today: date) -> date:
    """The first preferred day still to come, else the next working day."""
    for value in sorted(visit.preferred_days or []):
        day = date.fromisoformat(value)
        if day >= today:
            return day
    return services.offered_days(today)[0]


def _ward_visit(visit_id: int):
    visit = services.open_visit_of_ward(visit_id, current_user.agency_id, lock=True)
    if visit is None:
        abort(404)
    return visit


@bp.get("/staff/visits")
@roles_required(*STAFF_ROLES)
def staff_visits():
    """The ward's requests waiting for an officer, then the scheduled visits, each with its assignment form."""
    return _queue_page()


@bp.post("/staff/visits/<int:visit_id>/schedule")
@roles_required(*STAFF_ROLES)
def schedule(visit_id: int):
    """Assign an officer, a day and a time (again to re-schedule); the citizen is told in the same transaction."""
    visit = _ward_visit(visit_id)
    checked, submitted = forms.read_schedule(request.form, officers=services.ward_officers(visit.agency_id),
                                             today=services.today(), is_working_day=services.is_working_day)
    if checked is None:
        db.session.rollback()
        return _queue_page({"visit_id": visit_id, "form": "schedule", "submitted": submitted}, 422)
    try:
        services.schedule_visit(visit, checked.officer, checked.day, checked.at, current_user)
    except services.VisitClosed:
        db.session.rollback()
        abort(409)
    db.session.commit()
    flash(_("Đã lên lịch: %(officer)s đến nhà %(person)s lúc %(time)s, %(day)s. Người dân đã được thông báo.",
            officer=checked.officer.display_name, person=visit.person.full_name, time=checked.at.strftime("%H:%M"),
            day=visit_day(checked.day)))
    return redirect(url_for("visits.staff_visits"))


@bp.post("/staff/visits/<int:visit_id>/cancel")
@roles_required(*STAFF_ROLES)
def cancel(visit_id: int):
    """Cancel an open visit, with a reason (kept in the audit trail)."""
    visit = _ward_visit(visit_id)
    reason, submitted = forms.read_cancel_reason(request.form)
    if reason is None:
        db.session.rollback()
        return _queue_page({"visit_id": visit_id, "form": "cancel", "submitted": submitted}, 422)
    try:
        services.cancel_visit(visit, current_user, reason)
    except services.VisitClosed:
        db.session.rollback()
        abort(409)
    db.session.commit()
    flash(_("Đã hủy yêu cầu đến nhà của %(person)s.", person=visit.person.full_name))
    return redirect(url_for("visits.staff_visits"))
