"""The access log page: who was shown whose data, newest first, with filters by person, by user and by kind.

Leaders read the rows about their own ward's data, administrators every row; reading the log is itself recorded.
A filter value the page does not offer (not a number, out of range, an unknown kind) is answered with a 422 problem
document naming the field, never a 500.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import render_template
from flask import request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from server.access_log.models import AccessEvent
from server.access_log.record import KINDS
from server.access_log.record import record_view
from server.auth.access import roles_required
from server.auth.models import User
from server.dossiers.models import Dossier
from server.errors import ApiProblem
from server.errors import field_error
from server.extensions import db
from server.web.pages import pages_blueprint

bp = pages_blueprint("access_log", __name__)

PAGE_SIZE = 50
MAX_PAGE = 10_000
#: ids are 32-bit integers in the database: a larger number cannot match anything (and would overflow PostgreSQL)
MAX_ID = 2**31 - 1

KIND_LABELS = {
    "dossier_page": _l("Trang hồ sơ"),
    "photo": _l("Ảnh giấy tờ"),
    "pdf": _l("Tệp PDF"),
    "form_list": _l("Danh sách biểu mẫu"),
    "form_page": _l("Biểu mẫu"),
    "export": _l("Xuất dữ liệu cá nhân"),
    "follower_list": _l("Danh sách người theo dõi"),
    "account_page": _l("Trang tài khoản"),
    "account_list": _l("Danh sách tài khoản"),
    "access_log": _l("Nhật ký truy cập"),
    "result": _l("Kết quả giải quyết"),
}


@dataclass(frozen=True)
class Filters:
    person_id: int | None = None
    user_id: int | None = None
    kind: str | None = None
    page: int = 1


def _number(args: MultiDict, name: str, high: int, errors: list, vi: str, en: str) -> int | None:
    value = (args.get(name) or "").strip()
    if not value:
        return None
    # isascii: "１２" is a digit string to Python; the length first: int() of 5000 digits is refused (and slow)
    if not (value.isascii() and value.isdigit()) or len(value) > len(str(high)) or not 1 <= int(value) <= high:
        errors.append(field_error(name, "invalid", vi, en))
        return None
    return int(value)


def read_filters(args: MultiDict) -> Filters:
    """The filters of the query string, or a 422 problem listing every refused one."""
    errors: list[dict] = []
    person_id = _number(args, "person", MAX_ID, errors, "Mã người được xem phải là một số nguyên dương.",
                        "The person's id must be a positive whole number.")
    user_id = _number(args, "user", MAX_ID, errors, "Mã người dùng phải là một số nguyên dương.",
                      "The user's id must be a positive whole number.")
    page = _number(args, "page", MAX_PAGE, errors, f"Số trang phải từ 1 đến {MAX_PAGE}.",
                   f"The page must be between 1 and {MAX_PAGE}.")
    kind = (args.get("kind") or "").strip() or None
    if kind is not None and kind not in KINDS:
        errors.append(field_error("kind", "invalid", "Không có loại truy cập này.", "No such kind of view."))
    if errors:
        raise ApiProblem(422, "invalid-filter", ("Bộ lọc không hợp lệ", "Invalid filter"),
                         ("Vui lòng sửa các bộ lọc được nêu.", "Please correct the filters listed."), errors=errors)
    return Filters(person_id=person_id, user_id=user_id, kind=kind, page=page or 1)


def _query(filters: Filters):
    query = select(AccessEvent)
    if current_user.role.value != "admin":
        query = query.where(AccessEvent.agency_id == current_user.agency_id)
    if filters.person_id is not None:
        query = query.where(AccessEvent.person_id == filters.person_id)
    if filters.user_id is not None:
        query = query.where(AccessEvent.user_id == filters.user_id)
    if filters.kind is not None:
        query = query.where(AccessEvent.kind == filters.kind)
    return query


@bp.get("/access-log")
@roles_required("leader", "admin")
def access_log():
    """The access log of the leader's ward (every ward for an administrator)."""
    filters = read_filters(request.args)
    ward = None if current_user.role.value == "admin" else current_user.agency_id
    record_view("access_log", object_type="User" if filters.user_id else None, object_id=filters.user_id,
                person_ids=(filters.person_id,), agency_id=ward)
    query = _query(filters)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = list(db.session.scalars(query.order_by(AccessEvent.id.desc())
                                   .offset((filters.page - 1) * PAGE_SIZE).limit(PAGE_SIZE)))
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_({r.user_id for r in rows})))}
    codes = dict(db.session.execute(select(Dossier.id, func.coalesce(Dossier.code, Dossier.provisional_code))
                                    .where(Dossier.id.in_({r.dossier_id for r in rows}))).all())
    link_args = {name: value for name, value in
                 (("person", filters.person_id), ("user", filters.user_id), ("kind", filters.kind)) if value}
    return render_template("access_log.html", rows=rows, users=users, codes=codes, filters=filters, total=total,
                           pages=max(1, -(-total // PAGE_SIZE)), kind_labels=KIND_LABELS, link_args=link_args)
