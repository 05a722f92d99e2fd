"""The page where a citizen sees, gives and withdraws their consents (a thin shell: pwa/app/consents.js fetches
the data from server/consent/api.py)."""

from __future__ import annotations

from flask import render_template
from flask_babel import gettext as _

from server.auth.access import roles_required
from server.web.pages import pages_blueprint

bp = pages_blueprint("consent", __name__)


def statutory_notice() -> str:
    """Why the dossier itself needs no consent (shown above the consents, never as a choice)."""
    return _("Hồ sơ thủ tục hành chính của bạn (tiếp nhận, giải quyết, trả kết quả, lưu trữ) được xử lý theo quy "
             "định của pháp luật, là nghĩa vụ của cơ quan nhà nước: việc này không cần sự đồng ý của bạn và không "
             "phụ thuộc vào các lựa chọn dưới đây (Luật Bảo vệ dữ liệu cá nhân số 91/2025/QH15, Nghị định "
             "356/2025/NĐ-CP).")


def account_notice_title() -> str:
    """The notice accepted when the account was created (purpose "data_processing")."""
    return _("Thông báo xử lý dữ liệu khi tạo tài khoản")


@bp.get("/account/consents")
@roles_required("authenticated")
def my_consents():
    """My consents per purpose and channel, with their history."""
    return render_template("consent/consents.html", statutory=statutory_notice())
