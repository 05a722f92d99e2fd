"""What the desk's dossier page shows, read from the stored dossier and its append-only history.

Nothing here changes data. The control sheet (Mẫu 06, DOMAIN.md §1.4 H) is derived from the events: each
hand-over is one event, so the sheet can never disagree with the history it summarises.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from datetime import time

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from server.auth.models import User
from server.backoffice.action_forms import ACTION_FIELDS
from server.calendar import service as calendar
from server.calendar.workdays import classify_timeliness
from server.calendar.workdays import to_local
from server.citizen.access import follower_role_label
from server.dossiers.models import Channel
from server.dossiers.models import Dossier
from server.dossiers.models import DossierEvent
from server.dossiers.models import DossierFollower
from server.dossiers.models import DossierRating
from server.dossiers.workflow import ACTION_ROLES
from server.dossiers.workflow import Action
from server.dossiers.workflow import allowed_actions
from server.extensions import db
from server.interagency import services as interagency
from server.interagency.units import may_act
from server.portal import desk as portal_desk
from server.results.desk import panel as results_panel
from server.web.formats import moment_text

#: Paper dossiers received after this hour go to the processing unit at the start of the next working day
#: (Decree 61/2018 Art. 17 [M]); before it, on the same working day.
TRANSFER_CUTOFF = time(15, 0)

ONE_STOP = _l("Bộ phận Một cửa")
PROCESSING = _l("Công chức giải quyết")
LEADER = _l("Lãnh đạo phê duyệt")
CITIZEN = _l("Người dân")

#: Who hands the dossier to whom at each step (the columns "bên giao" / "bên nhận" of Mẫu 06).
HAND_OVERS = {
    "receive": (CITIZEN, ONE_STOP),
    "transfer": (ONE_STOP, PROCESSING),
    "resolve_on_spot": (ONE_STOP, ONE_STOP),
    "request_supplement": (PROCESSING, CITIZEN),
    "record_supplement": (CITIZEN, PROCESSING),
    "request_payment": (PROCESSING, CITIZEN),
    "record_payment": (CITIZEN, PROCESSING),
    "submit_for_approval": (PROCESSING, LEADER),
    "reject": (LEADER, PROCESSING),
    "approve": (LEADER, PROCESSING),
    "mark_result_ready": (PROCESSING, ONE_STOP),
    "return_result": (ONE_STOP, CITIZEN),
    "refuse": (ONE_STOP, CITIZEN),
    "stop": (PROCESSING, CITIZEN),
    "expire_supplement": (PROCESSING, CITIZEN),
    "withdraw": (ONE_STOP, CITIZEN),
}

#: Steps the agency takes against the clock; the citizen's own steps (receipt, supplement, payment) are not judged.
_JUDGED_STEPS = frozenset({"request_supplement", "request_payment", "submit_for_approval", "reject", "approve",
                           "mark_result_ready", "resolve_on_spot", "return_result"})

#: What happened at each step, as the history says it (past tense; the buttons say it as an order).
EVENT_LABELS = {
    "receive": _l("Tiếp nhận hồ sơ"),
    "refuse": _l("Từ chối tiếp nhận"),
    "guide_supplement": _l("Hướng dẫn bổ sung"),
    "transfer": _l("Chuyển hồ sơ đến công chức giải quyết"),
    "resolve_on_spot": _l("Có kết quả ngay"),
    "request_supplement": _l("Yêu cầu bổ sung hồ sơ"),
    "record_supplement": _l("Nhận hồ sơ bổ sung"),
    "expire_supplement": _l("Dừng vì quá hạn bổ sung"),
    "request_payment": _l("Yêu cầu thực hiện nghĩa vụ tài chính"),
    "record_payment": _l("Đã thực hiện nghĩa vụ tài chính"),
    "submit_for_approval": _l("Trình phê duyệt"),
    "reject": _l("Trả lại để xử lý tiếp"),
    "approve": _l("Phê duyệt kết quả"),
    "mark_result_ready": _l("Chuyển kết quả đến Bộ phận Một cửa"),
    "extend": _l("Gia hạn, gửi văn bản xin lỗi"),
    "stop": _l("Dừng giải quyết"),
    "withdraw": _l("Rút hồ sơ theo đề nghị của công dân"),
    "return_result": _l("Trả kết quả"),
}

TIMELINESS_LABELS = {"early": _l("Trước hạn"), "on_time": _l("Đúng hạn"), "late": _l("Quá hạn")}
ROLE_LABELS = {"officer": _l("Cán bộ tiếp nhận tại nhà"), "staff": _l("Công chức Một cửa"),
               "leader": _l("Lãnh đạo"), "citizen": _l("Người dân"), "admin": _l("Quản trị")}


@dataclass
class SheetRow:
    """One row of the control sheet: a step, when, who, and how it stood against its deadline."""

    event: DossierEvent
    label: str
    giver: str
    receiver: str
    actor: User | None
    timeliness: str | None  #: "early", "on_time", "late", or None when the step is not judged
    deadline: datetime | None  #: the deadline the step was judged against
    note: str


def _parse(moment: str | None) -> datetime | None:
    return datetime.fromisoformat(moment) if moment else None


def dues_before_events(dossier: Dossier, events: list[DossierEvent]) -> list[datetime | None]:
    """The due date in force just before each event, found by walking the history back from today's due date.

    Only record_supplement (recomputes) and extend (re-appoints) move the due date, and both keep the previous one
    in their event data.
    """
    current = dossier.due_at
    before: list[datetime | None] = [None] * len(events)
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if event.action in ("record_supplement", "extend") and event.data and "previous_due_at" in event.data:
            current = _parse(event.data["previous_due_at"])
        elif event.action == "receive":
            current = None  # before receipt there was no deadline
        before[index] = current
    return before


def transfer_deadline(received_at: datetime) -> datetime:
    """The last moment a paper dossier may reach the processing unit: the end of the day of receipt, or of the
    next working day when it was received after the cut-off or on a day off (Decree 61/2018 Art. 17)."""
    local = to_local(received_at)
    cal = calendar.load_calendar(local.year, local.year + 1)
    day = local.date()
    if not (cal.is_working_day(day) and local.time() < TRANSFER_CUTOFF):
        day = cal.next_working_day(day)
    return datetime.combine(day, time(23, 59), tzinfo=local.tzinfo)


def control_sheet(dossier: Dossier, events: list[DossierEvent], users: dict[int, User]) -> list[SheetRow]:
    """Mẫu 06 rows: every step that moved the dossier from one hand to another.

    Agency steps are judged against the due date in force then, without the extension (an extension does not
    launder lateness, DOMAIN.md §11 case 11); the return is judged against the appointment the citizen was given,
    the extended one if any; the transfer against the transfer rule. The citizen's own steps are not judged.
    """
    granularity = current_app.config["TIMELINESS_GRANULARITY"]
    dues = dues_before_events(dossier, events)
    original_due = None  # the due date in force, extensions left out
    rows = []
    for index, (event, due_before) in enumerate(zip(events, dues, strict=True)):
        data = event.data or {}
        deadline = timeliness = None
        note = event.reason or ""
        if event.action == "receive":
            after = dues[index + 1] if index + 1 < len(events) else dossier.due_at
            original_due = after
            note = _("Hẹn trả: %(due)s", due=_when(after)) if after else note
        elif event.action == "record_supplement":
            original_due = _parse(data.get("due_at")) or original_due
            note = _("Ngày hẹn trả mới: %(due)s", due=_when(original_due)) if original_due else note
        elif event.action == "extend":
            note = _("Hẹn lại: %(due)s. %(reason)s", due=_when(_parse(data.get("new_due_at"))),
                     reason=event.reason or "")
            if data.get("apology_late"):
                note += " " + _("Văn bản xin lỗi gửi muộn (sau hạn một ngày làm việc trước ngày hẹn).")
        elif event.action == "transfer" and dossier.channel is not Channel.ONLINE and dossier.device_received_at:
            deadline = transfer_deadline(dossier.device_received_at)
            timeliness = "on_time" if event.occurred_at <= deadline else "late"
        elif event.action == "return_result":
            deadline = due_before
            labels = _delivery_labels()
            note = _("Hình thức: %(mode)s; người ký nhận: %(name)s",
                     mode=labels.get(data.get("delivery_mode"), data.get("delivery_mode") or "—"),
                     name=data.get("recipient_name") or "—")
            if data.get("acknowledged"):
                note += ". " + _("Người nhận đã xác nhận đã nhận kết quả.")
        elif event.action in _JUDGED_STEPS:
            deadline = original_due
        if event.action == "request_supplement" and data.get("items"):
            note = "; ".join(data["items"]) + (f". {event.reason}" if event.reason else "")
        if event.action == "request_payment" and data.get("amount_vnd") is not None:
            note = _("Số tiền: %(amount)s đồng", amount=f"{data['amount_vnd']:,}".replace(",", "."))
        if deadline is not None and timeliness is None:
            timeliness = classify_timeliness(event.occurred_at, deadline, granularity)
        giver, receiver = HAND_OVERS.get(event.action, (ONE_STOP, ONE_STOP))
        rows.append(SheetRow(event, str(EVENT_LABELS.get(event.action, event.action)), str(giver), str(receiver),
                             users.get(event.actor_id), timeliness, deadline, note))
    return rows


def _when(moment: datetime | None) -> str:
    return moment_text(moment)


def _delivery_labels() -> dict[str, str]:
    from server.backoffice.action_forms import delivery_mode_labels

    return delivery_mode_labels()


def desk_actions(dossier: Dossier, user: User) -> list[Action]:
    """The actions this user may take on this dossier now: legal in its state, open to the user's role and to the
    user's unit (the holder's, or the receiving desk's for receipt and return: server/interagency/units.py).

    "Result at once" is offered only for a same-day procedure (issue 11 point 8): its guard would refuse it for
    any other, and a button that can only fail is no choice (server/dossiers/services.py facts_of says which).
    """
    from server.dossiers.services import facts_of

    same_day = facts_of(dossier).same_day_procedure
    return [action for action in allowed_actions(dossier.state)
            if user.role.value in ACTION_ROLES[action] and action in ACTION_FIELDS
            and (action is not Action.RESOLVE_ON_SPOT or same_day) and may_act(user, dossier, action)]


def extension_would_be_late(dossier: Dossier, now: datetime) -> bool:
    """Whether an extension asked now would come later than one working day before the due date (it is still
    allowed, but the apology is flagged late: DOMAIN.md §1.4 E)."""
    if dossier.due_at is None:
        return False
    due_day = to_local(dossier.due_at).date()
    cal = calendar.load_calendar(due_day.year - 1, due_day.year)
    return to_local(now).date() > cal.previous_working_day(due_day)


def page_facts(dossier: Dossier) -> dict:
    """Everything the dossier page needs besides the notifications: people, history, flags, rating."""
    events = list(db.session.scalars(select(DossierEvent).where(DossierEvent.dossier_id == dossier.id)
                                     .order_by(DossierEvent.seq)))
    followers = list(db.session.scalars(select(DossierFollower).where(DossierFollower.dossier_id == dossier.id)
                                        .order_by(DossierFollower.id)))
    flag_resolvers = {f.resolved_by_id for f in dossier.flags if f.resolved_by_id}
    user_ids = ({e.actor_id for e in events} | {f.granted_by_id for f in followers} | flag_resolvers
                | {dossier.received_by_id, dossier.handler_id}) - {None}
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))}
    rating = db.session.scalar(select(DossierRating).where(DossierRating.dossier_id == dossier.id))
    return {
        "events": events,
        "sheet": control_sheet(dossier, events, users),
        "followers": followers,
        "follower_roles": {f.id: follower_role_label(f, dossier) for f in followers},
        "users": users,
        "rating": rating,
        "open_flags": [f for f in dossier.flags if f.resolved_at is None],
        "handovers": interagency.desk_facts(dossier),
        "portal": portal_desk.dossier_messages(dossier.id),
        "results": results_panel(dossier),
    }
