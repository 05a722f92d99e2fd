"""Administration pages: procedures and versions, the working calendar, wards. Administrators only.

Server-rendered forms that work without JavaScript (post, then redirect). A refused form is shown again with what
was typed and one message per field (422). Each page lists the recent audit rows of its objects.
"""

from __future__ import annotations

from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user

from server.access_log.record import record_view
from server.admin import audit_log
from server.admin import forms
from server.admin import people
from server.admin import procedures as procedure_services
from server.admin import wards as ward_services
from server.admin import year_calendar
from server.auth.access import roles_required
from server.auth.models import User
from server.calendar.models import OverrideKind
from server.extensions import db
from server.privacy import retention
from server.reference.models import Agency
from server.reference.models import CopyType
from server.reference.models import HomeReception
from server.reference.models import Procedure
from server.reference.models import SupplementClock
from server.reference.models import TimeUnit
from server.web.formats import day_text
from server.web.pages import pages_blueprint

bp = pages_blueprint("admin", __name__, url_prefix="/admin")


@bp.context_processor
def _labels() -> dict:
    return {"labels": labels()}


def labels() -> dict:
    """Vietnamese labels (translated) of the reference enums, for the templates."""
    return {
        "time_units": {
            TimeUnit.WORKING_DAYS: _("ngày làm việc"),
            TimeUnit.CALENDAR_DAYS: _("ngày"),
            TimeUnit.SAME_DAY: _("trong ngày"),
        },
        "supplement_clocks": {
            SupplementClock.RESTART: _("Tính lại từ đầu khi nhận đủ hồ sơ bổ sung"),
            SupplementClock.PAUSE: _("Tạm dừng, tính tiếp thời gian còn lại"),
        },
        "home_receptions": {
            HomeReception.YES: _("Có"),
            HomeReception.PARTIAL: _("Một phần (tùy trường hợp)"),
            HomeReception.NO: _("Không"),
        },
        "copy_types": {
            CopyType.ORIGINAL: _("Bản chính"),
            CopyType.CERTIFIED_COPY: _("Bản sao có chứng thực"),
            CopyType.COPY_WITH_ORIGINAL: _("Bản sao kèm bản chính để đối chiếu"),
            CopyType.ELECTRONIC: _("Bản điện tử"),
        },
        "override_kinds": {
            OverrideKind.DAY_OFF: _("Ngày nghỉ"),
            OverrideKind.WORKING_DAY: _("Ngày làm việc"),
        },
        "months": [_("Tháng %(n)s", n=n) for n in range(1, 13)],
        "weekdays_short": [_("T2"), _("T3"), _("T4"), _("T5"), _("T6"), _("T7"), _("CN")],
        "weekdays": [_("Thứ Hai"), _("Thứ Ba"), _("Thứ Tư"), _("Thứ Năm"), _("Thứ Sáu"), _("Thứ Bảy"), _("Chủ nhật")],
    }


# --- procedures -----------------------------------------------------------------------------------------------------

def _procedures_page(submitted: forms.Submitted | None = None, status: int = 200):
    return render_template(
        "admin/procedures.html", procedures=procedure_services.all_procedures(),
        fields=procedure_services.field_labels(), form=submitted or forms.Submitted({}),
        audit_lines=audit_log.recent("Procedure"), today=procedure_services.today(),
    ), status


@bp.get("/procedures")
@roles_required("admin")
def procedures():
    """The catalogue: every procedure with the version in force today; the form to add a procedure."""
    return _procedures_page()


@bp.post("/procedures")
@roles_required("admin")
def create_procedure():
    """Add a procedure, then go to its page to publish its first version."""
    checked, submitted = forms.read_procedure(request.form, fields=procedure_services.field_labels(),
                                              taken_keys=procedure_services.taken_keys())
    if checked is None:
        return _procedures_page(submitted, 422)
    procedure = procedure_services.create_procedure(checked, current_user)
    db.session.commit()
    flash(_("Đã tạo thủ tục. Hãy thêm phiên bản đầu tiên (thời hạn, giấy tờ) để có thể tiếp nhận hồ sơ."))
    return redirect(url_for("admin.procedure", procedure_id=procedure.id))


def _get_procedure(procedure_id: int) -> Procedure:
    procedure = db.session.get(Procedure, procedure_id)
    if procedure is None:
        abort(404)
    return procedure


def _version_form_values(procedure: Procedure) -> dict:
    """The new-version form, filled from the latest version (a new version usually changes one or two things)."""
    latest = procedure.versions[-1] if procedure.versions else None
    earliest = procedure_services.earliest_new_version(procedure)
    rows = [{"code": d.code, "name_vi": d.name_vi, "name_en": d.name_en, "copy_type": d.copy_type.value,
             "quantity": str(d.quantity), "mandatory": d.mandatory, "form_ref": d.form_ref or ""}
            for d in (latest.required_documents if latest else [])]
    rows += [{"code": "", "name_vi": "", "name_en": "", "copy_type": CopyType.ORIGINAL.value, "quantity": "1",
              "mandatory": True, "form_ref": ""} for _row in range(forms.EMPTY_DOCUMENT_ROWS)]
    if latest is None:
        return {"effective_from": earliest.isoformat(), "time_unit": TimeUnit.WORKING_DAYS.value,
                "supplement_clock": SupplementClock.RESTART.value, "home_reception": HomeReception.YES.value,
                "documents": rows}
    return {
        "effective_from": earliest.isoformat(),
        "time_value": str(latest.time_value),
        "time_unit": latest.time_unit.value,
        "time_confirmed": latest.time_confirmed,
        "time_note": latest.time_note or "",
        "same_day_cutoff": latest.same_day_cutoff.strftime("%H:%M") if latest.same_day_cutoff else "",
        "supplement_clock": latest.supplement_clock.value,
        "home_reception": latest.home_reception.value,
        "fee_vnd": str(latest.fee_vnd) if latest.fee_vnd is not None else "",
        "documents": rows,
    }


def _procedure_page(procedure: Procedure, submitted: forms.Submitted | None = None, status: int = 200,
                    retention_form: forms.Submitted | None = None):
    today = procedure_services.today()
    return render_template(
        "admin/procedure.html", procedure=procedure, fields=procedure_services.field_labels(),
        in_force=procedure.version_at(today), today=today,
        earliest=procedure_services.earliest_new_version(procedure),
        form=submitted or forms.Submitted(_version_form_values(procedure)),
        retention_form=retention_form or forms.Submitted(
            {name: "" if getattr(procedure, name) is None else str(getattr(procedure, name))
             for name in retention.RETENTION_FIELDS}),
        audit_lines=audit_log.recent("Procedure", procedure.id),
    ), status


@bp.post("/procedures/<int:procedure_id>/retention")
@roles_required("admin")
def change_retention(procedure_id: int):
    """How long closed dossiers' photos and personal data are kept (server/privacy/retention.py)."""
    procedure = _get_procedure(procedure_id)
    values, errors = retention.read_retention(request.form)
    if values is None:
        return _procedure_page(procedure, status=422, retention_form=forms.Submitted(dict(request.form), errors))
    retention.set_retention(procedure, values, current_user)
    db.session.commit()
    flash(_("Đã lưu thời hạn lưu giữ. Lần xóa định kỳ tiếp theo sẽ áp dụng cho cả hồ sơ đã kết thúc trước đây."))
    return redirect(url_for("admin.procedure", procedure_id=procedure.id))


@bp.get("/procedures/<int:procedure_id>")
@roles_required("admin")
def procedure(procedure_id: int):
    """A procedure's versions (read-only: dossiers refer to them) and the form to publish a new one."""
    return _procedure_page(_get_procedure(procedure_id))


@bp.post("/procedures/<int:procedure_id>/versions")
@roles_required("admin")
def add_version(procedure_id: int):
    """Publish a new version effective from a later day; the version it replaces ends the day before."""
    procedure = _get_procedure(procedure_id)
    checked, submitted = forms.read_version(request.form,
                                            earliest=procedure_services.earliest_new_version(procedure))
    if checked is None:
        return _procedure_page(procedure, submitted, 422)
    version = procedure_services.add_version(procedure, checked, current_user)
    db.session.commit()
    flash(_("Đã thêm phiên bản có hiệu lực từ ngày %(day)s. Hồ sơ đã tiếp nhận vẫn theo phiên bản cũ.",
            day=day_text(version.effective_from)))
    return redirect(url_for("admin.procedure", procedure_id=procedure.id))


# --- the working calendar -------------------------------------------------------------------------------------------

def _calendar_page(year: int, submitted: forms.Submitted | None = None, removal: dict | None = None,
                   status: int = 200, year_error: str | None = None):
    """``removal`` = {"day": iso, "form": Submitted} re-shows a refused removal with its error."""
    return render_template(
        "admin/calendar.html", year=year, months=year_calendar.year_grid(year),
        kinds=year_calendar.day_kind_labels(), overrides=year_calendar.overrides_of_year(year),
        form=submitted or forms.Submitted({"day": "", "kind": OverrideKind.DAY_OFF.value}), removal=removal or {},
        audit_lines=audit_log.recent("CalendarOverride"), first_year=year_calendar.FIRST_YEAR,
        last_year=year_calendar.LAST_YEAR, year_error=year_error,
    ), status


@bp.get("/calendar")
@roles_required("admin")
def calendar():
    """The year's calendar as twelve month grids, its overrides, and the forms to add or remove one."""
    today_year = procedure_services.today().year
    given = request.args.get("year", "")
    if not given:
        return _calendar_page(today_year)
    year = int(given) if given.isascii() and given.isdigit() else 0
    if not year_calendar.FIRST_YEAR <= year <= year_calendar.LAST_YEAR:
        return _calendar_page(today_year, status=422, year_error=_(
            "Năm phải từ %(first)s đến %(last)s.", first=year_calendar.FIRST_YEAR, last=year_calendar.LAST_YEAR))
    return _calendar_page(year)


@bp.post("/calendar/overrides")
@roles_required("admin")
def add_override():
    """Make a day a day off or a working day, with a reason; due dates computed afterwards follow it."""
    checked, submitted = forms.read_override(request.form)
    year = checked.day.year if checked else procedure_services.today().year
    if checked is not None:
        try:
            year_calendar.add_override(checked, current_user)
        except year_calendar.OverrideRefused as refusal:
            submitted.errors[refusal.field] = refusal.message
    if submitted.errors:
        if checked is None:
            day = forms.parse_date(submitted.values.get("day", ""))
            year = day.year if day and year_calendar.FIRST_YEAR <= day.year <= year_calendar.LAST_YEAR else year
        return _calendar_page(year, submitted, status=422)
    db.session.commit()
    flash(_("Đã lưu điều chỉnh ngày %(day)s.", day=day_text(checked.day)))
    return redirect(url_for("admin.calendar", year=year))


@bp.post("/calendar/overrides/<day>/delete")
@roles_required("admin")
def remove_override(day: str):
    """Remove an override (a reason is required); the day goes back to what the law and the package say."""
    parsed = forms.parse_date(day)
    row = year_calendar.override_on(parsed) if parsed else None
    if row is None:
        abort(404)
    reason, submitted = forms.read_removal_reason(request.form)
    if reason is None:
        return _calendar_page(row.day.year, removal={"day": row.day.isoformat(), "form": submitted}, status=422)
    year_calendar.remove_override(row, reason, current_user)
    db.session.commit()
    flash(_("Đã xóa điều chỉnh ngày %(day)s.", day=day_text(parsed)))
    return redirect(url_for("admin.calendar", year=parsed.year))


# --- wards ----------------------------------------------------------------------------------------------------------

def _wards_page(submitted: forms.Submitted | None = None, status: int = 200):
    return render_template(
        "admin/wards.html", agencies=ward_services.all_agencies(),
        form=submitted or forms.Submitted(_agency_values(None)), audit_lines=audit_log.recent("Agency"),
    ), status


def _agency_values(agency: Agency | None) -> dict:
    """The ward form's values: the agency's, or a new one-stop desk with the default office hours."""
    if agency is None:
        return {"agency_code": "", "name_vi": "", "name_en": "", "is_one_stop": True, "am_open": "07:00",
                "am_close": "11:30", "pm_open": "13:30", "pm_close": "17:00"}
    values = {name: getattr(agency, name) for name in ("agency_code", "name_vi", "name_en", "is_one_stop")}
    values.update({name: getattr(agency, name).strftime("%H:%M") for name in forms.HOUR_FIELDS})
    return values


@bp.get("/wards")
@roles_required("admin")
def wards():
    """Every agency with its code; the form to add a ward."""
    return _wards_page()


@bp.post("/wards")
@roles_required("admin")
def create_ward():
    """Add a ward (its one-stop desk) with its agency code and office hours."""
    checked, submitted = forms.read_agency(request.form, code_taken=ward_services.code_taken)
    if checked is None:
        return _wards_page(submitted, 422)
    agency = ward_services.create_agency(checked, current_user)
    db.session.commit()
    flash(_("Đã tạo phường %(name)s.", name=agency.name_vi))
    return redirect(url_for("admin.wards"))


def _get_agency(agency_id: int) -> Agency:
    agency = db.session.get(Agency, agency_id)
    if agency is None:
        abort(404)
    return agency


def _ward_page(agency: Agency, submitted: forms.Submitted | None = None, status: int = 200):
    return render_template(
        "admin/ward.html", agency=agency, code_editable=not ward_services.code_in_use(agency),
        form=submitted or forms.Submitted(_agency_values(agency)), audit_lines=audit_log.recent("Agency", agency.id),
    ), status


@bp.get("/wards/<int:agency_id>")
@roles_required("admin")
def ward(agency_id: int):
    """A ward's form; its code is read-only once dossier codes were issued or reserved with it."""
    return _ward_page(_get_agency(agency_id))


@bp.post("/wards/<int:agency_id>")
@roles_required("admin")
def change_ward(agency_id: int):
    """Save a ward's names, office hours and (while unused) code."""
    agency = _get_agency(agency_id)
    code_editable = not ward_services.code_in_use(agency)
    checked, submitted = forms.read_agency(
        request.form, code_taken=lambda code: ward_services.code_taken(code, other_than=agency),
        code_editable=code_editable)
    if checked is None:
        if not code_editable:
            submitted.values["agency_code"] = agency.agency_code
        return _ward_page(agency, submitted, 422)
    changes = ward_services.change_agency(agency, checked, current_user, code_editable)
    db.session.commit()
    flash(_("Đã lưu thay đổi.") if changes else _("Không có gì thay đổi."))
    return redirect(url_for("admin.ward", agency_id=agency.id))


# --- a person's position, role and activation --------------------------------------------------------------------

def _get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


def _user_page(user: User, submitted: forms.Submitted | None = None, status: int = 200):
    record_view("account_page", object_type="User", object_id=user.id, person_ids=(user.person_id,),
                agency_id=user.agency_id)
    values = {"position": user.position or "", "role": user.role.value, "active": user.active}
    return render_template(
        "admin/user.html", user=user, roles=people.STAFF_ROLES, form=submitted or forms.Submitted(values),
        audit_lines=audit_log.recent("User", user.id),
    ), status


@bp.get("/users/<int:user_id>")
@roles_required("admin")
def user(user_id: int):
    """A person's position (chức vụ), role and activation, with the audit rows about their account."""
    return _user_page(_get_user(user_id))


@bp.post("/users/<int:user_id>")
@roles_required("admin")
def change_user(user_id: int):
    """Save a person's position, role and activation (a new role or a lock ends their sessions)."""
    user = _get_user(user_id)
    checked, submitted = people.read_user_form(request.form, user, current_user)
    if checked is None:
        return _user_page(user, submitted, 422)
    changed = people.change_user(user, checked, current_user)
    db.session.commit()
    flash(_("Đã lưu thay đổi.") if changed else _("Không có gì thay đổi."))
    return redirect(url_for("admin.user", user_id=user.id))
