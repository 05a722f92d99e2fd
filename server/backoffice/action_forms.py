"""The desk's action forms: which fields each legal step asks for, and reading them into an ``ActionRequest``.

One small server-rendered form per action (DOMAIN.md §1.4, §10). This module checks only what a browser can get
wrong (a number that is not a number, a date that is not a date, a text too long, the acknowledgement left
unticked); the legal conditions (a reason, the items, the approver is not the handler, one extension only) stay
in the workflow's guards, so that the JSON API and these pages refuse exactly the same things.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from server.auth.models import User
from server.calendar.workdays import to_local
from server.dossiers.workflow import Action
from server.dossiers.workflow import ActionRequest
from server.types import utcnow

MAX_TEXT = 4000
MAX_NAME = 200
MAX_ITEMS = 50
#: Far above any fee of the catalogue, low enough to fit every database's integer.
MAX_AMOUNT_VND = 2_000_000_000
#: Not a legal limit: a new due date further than this is taken for a typing mistake in the year.
MAX_EXTENSION_DAYS = 366

#: The fields of each action's form, in the order they are shown.
ACTION_FIELDS: dict[Action, tuple[str, ...]] = {
    Action.RECEIVE: (),
    Action.REFUSE: ("reason",),
    Action.GUIDE_SUPPLEMENT: ("items", "reason"),
    Action.TRANSFER: (),
    Action.RESOLVE_ON_SPOT: (),
    Action.REQUEST_SUPPLEMENT: ("items", "reason"),
    Action.RECORD_SUPPLEMENT: (),
    Action.EXPIRE_SUPPLEMENT: (),
    Action.REQUEST_PAYMENT: ("amount_vnd",),
    Action.RECORD_PAYMENT: (),
    Action.SUBMIT_FOR_APPROVAL: (),
    Action.REJECT: ("reason",),
    Action.APPROVE: (),
    Action.MARK_RESULT_READY: (),
    Action.EXTEND: ("reason", "new_due_date"),
    Action.STOP: ("reason",),
    Action.WITHDRAW: ("citizen_request",),
    Action.RETURN_RESULT: ("delivery_mode", "recipient_name", "acknowledged", "result_numbers"),
}

#: The button of each action, which is also the title of its form.
ACTION_LABELS = {
    Action.RECEIVE: _l("Tiếp nhận hồ sơ"),
    Action.REFUSE: _l("Từ chối tiếp nhận"),
    Action.GUIDE_SUPPLEMENT: _l("Hướng dẫn bổ sung (chưa tiếp nhận)"),
    Action.TRANSFER: _l("Chuyển hồ sơ cho công chức giải quyết"),
    Action.RESOLVE_ON_SPOT: _l("Có kết quả ngay (thủ tục giải quyết trong ngày)"),
    Action.REQUEST_SUPPLEMENT: _l("Yêu cầu bổ sung hồ sơ"),
    Action.RECORD_SUPPLEMENT: _l("Đã nhận đủ hồ sơ bổ sung"),
    Action.EXPIRE_SUPPLEMENT: _l("Dừng vì quá hạn bổ sung"),
    Action.REQUEST_PAYMENT: _l("Yêu cầu thực hiện nghĩa vụ tài chính"),
    Action.RECORD_PAYMENT: _l("Đã nộp phí, lệ phí"),
    Action.SUBMIT_FOR_APPROVAL: _l("Trình lãnh đạo phê duyệt"),
    Action.REJECT: _l("Trả lại để xử lý tiếp"),
    Action.APPROVE: _l("Phê duyệt kết quả"),
    Action.MARK_RESULT_READY: _l("Chuyển kết quả đến Bộ phận Một cửa"),
    Action.EXTEND: _l("Gia hạn và gửi văn bản xin lỗi"),
    Action.STOP: _l("Dừng giải quyết"),
    Action.WITHDRAW: _l("Rút hồ sơ theo đề nghị của công dân"),
    Action.RETURN_RESULT: _l("Trả kết quả"),
}

#: What an action does, said once above its button (the consequences a clerk must know before pressing it).
ACTION_HINTS = {
    Action.TRANSFER: _l("Hồ sơ giấy phải chuyển trong ngày, hoặc đầu ngày làm việc tiếp theo nếu nhận sau 15 giờ."),
    Action.REQUEST_SUPPLEMENT: _l("Ghi đủ các giấy tờ cần bổ sung trong một lần. Thời hạn giải quyết sẽ được tính "
                                  "lại hoặc tạm dừng theo quy định của thủ tục."),
    Action.RECORD_SUPPLEMENT: _l("Ngày hẹn trả sẽ được tính lại theo quy định của thủ tục: từ đầu, hoặc cộng "
                                 "thời gian còn lại khi yêu cầu bổ sung."),
    Action.APPROVE: _l("Người phê duyệt không được là người thụ lý hồ sơ. Sau khi phê duyệt, kết quả còn phải "
                       "được chuyển đến Bộ phận Một cửa."),
    Action.MARK_RESULT_READY: _l("Kết quả đã ký được chuyển đến Bộ phận Một cửa để trả cho người dân: thời điểm "
                                 "này là thời điểm có kết quả, dùng để tính trước hạn, đúng hạn hay quá hạn. Người "
                                 "dân được thông báo đã có kết quả."),
    Action.EXTEND: _l("Chỉ được gia hạn một lần; văn bản xin lỗi phải gửi chậm nhất một ngày làm việc trước ngày "
                      "hẹn trả."),
    Action.WITHDRAW: _l("Cần có văn bản đề nghị rút hồ sơ của công dân."),
    Action.RETURN_RESULT: _l("Người nhận phải ký nhận kết quả."),
}

#: The legal steps that end a dossier or cannot be undone: shown as dangerous buttons.
FINAL_ACTIONS = frozenset({Action.REFUSE, Action.STOP, Action.EXPIRE_SUPPLEMENT, Action.WITHDRAW})


def _ascii_digits(text: str) -> bool:
    """0-9 only: ``str.isdigit`` also accepts "²" or "٣", which ``int`` then refuses (a 500 instead of a message)."""
    return text.isascii() and text.isdigit()


def delivery_mode_labels() -> dict[str, str]:
    """How a result can reach the citizen (workflow.DELIVERY_MODES), in the page's language."""
    return {
        "counter": _("Tại Bộ phận Một cửa"),
        "home": _("Tại nhà người dân"),
        "post": _("Qua dịch vụ bưu chính"),
        "online": _("Trực tuyến (bản điện tử)"),
    }


@dataclass
class Submitted:
    """An action form as typed (``values``) and one message per field name (``errors``)."""

    action: Action
    values: dict = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def _text(form: MultiDict, name: str) -> str:
    return (form.get(name) or "").strip()


def read_action(action: Action, form: MultiDict, actor: User) -> tuple[ActionRequest, Submitted]:
    """Read the form of ``action`` into the ``ActionRequest`` to give the workflow, and the form's own errors.

    Empty required fields are left to the workflow's guards (they own those messages); this only refuses what
    cannot be understood at all. A value that could not be read is passed on as missing, so that the caller can
    still ask the guards about the other fields and show every message at once.
    """
    wanted = ACTION_FIELDS[action]
    submitted = Submitted(action, {name: _text(form, name) for name in wanted})
    values, errors = submitted.values, submitted.errors
    for name in ("reason", "citizen_request"):
        if name in wanted and len(values[name]) > MAX_TEXT:
            errors[name] = _("Nội dung dài quá %(n)s ký tự.", n=MAX_TEXT)
    items: tuple[str, ...] = ()
    if "items" in wanted:
        items = tuple(line.strip() for line in values["items"].splitlines() if line.strip())
        if len(items) > MAX_ITEMS:
            errors["items"] = _("Tối đa %(n)s giấy tờ, mỗi dòng một giấy tờ.", n=MAX_ITEMS)
        elif any(len(item) > MAX_NAME for item in items):
            errors["items"] = _("Mỗi dòng (một giấy tờ) dài tối đa %(n)s ký tự.", n=MAX_NAME)
    amount = None
    if "amount_vnd" in wanted and values["amount_vnd"]:
        # Clerks type amounts as they are printed: "50.000" or "50 000" are fifty thousand đồng.
        digits = values["amount_vnd"].replace(".", "").replace(" ", "").replace(",", "")
        if not _ascii_digits(digits):
            errors["amount_vnd"] = _("Số tiền chỉ gồm chữ số (đồng), ví dụ 50000.")
        elif int(digits) > MAX_AMOUNT_VND:
            errors["amount_vnd"] = _("Số tiền quá lớn.")
        else:
            amount = int(digits)
    new_due = None
    if "new_due_date" in wanted and values["new_due_date"]:
        try:
            new_due = date.fromisoformat(values["new_due_date"])
        except ValueError:
            errors["new_due_date"] = _("Ngày hẹn mới không hợp lệ (ngày/tháng/năm).")
        else:
            if new_due > to_local(utcnow()).date() + timedelta(days=MAX_EXTENSION_DAYS):
                errors["new_due_date"] = _("Ngày hẹn mới quá xa (hơn một năm): vui lòng kiểm tra lại năm.")
    if "recipient_name" in wanted and len(values["recipient_name"]) > MAX_NAME:
        errors["recipient_name"] = _("Họ và tên dài quá %(n)s ký tự.", n=MAX_NAME)
    if "acknowledged" in wanted:
        values["acknowledged"] = form.get("acknowledged") == "yes"
        if not values["acknowledged"]:
            errors["acknowledged"] = _("Người nhận phải xác nhận đã nhận kết quả (đánh dấu ô xác nhận).")
    numbers: tuple[int, ...] = ()
    if "result_numbers" in wanted:
        # Ticked boxes, one per attached result (server/results/): their numbers; anything else is refused here
        # and a number the dossier lacks by the workflow's guard.
        values["result_numbers"] = ticked = [value.strip() for value in form.getlist("result_numbers")][:MAX_ITEMS]
        if all(_ascii_digits(value) and 0 < int(value) < 2**31 for value in ticked):
            numbers = tuple(sorted({int(value) for value in ticked}))
        else:
            errors["result_numbers"] = _("Số thứ tự kết quả không hợp lệ.")
    return ActionRequest(
        actor_id=actor.id,
        actor_role=actor.role.value,
        reason=values.get("reason") or None,
        items=items,
        citizen_request=values.get("citizen_request") or None,
        new_due_date=new_due,
        delivery_mode=values.get("delivery_mode") or None,
        recipient_name=values.get("recipient_name") or None,
        acknowledged=values.get("acknowledged") is True,
        amount_vnd=amount,
        result_numbers=numbers,
    ), submitted
