"""/account/channels: which channels will reach me, and "Gửi thử thông báo" on each that works.

Server-rendered: the page says, for the signed-in account, that the inbox always gets every message; each phone
or browser subscribed to push (what it is, when the app last re-checked it, "không hoạt động" and why when it was
retired, server/push/health.py); Zalo and SMS with the number consented to; what is missing and how to fix it. A
test goes out at once on the chosen channel (server/channels/reach.py ``send_test``) and its state shows after a
reload.
"""

from __future__ import annotations

from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from server.auth.access import roles_required
from server.channels import reach
from server.consent.purposes import Channel
from server.consent.purposes import channel_words
from server.extensions import db
from server.extensions import limiter
from server.push.health import NOT_SEEN
from server.push.health import NOT_SHOWN
from server.types import utcnow
from server.web.pages import pages_blueprint

bp = pages_blueprint("channels", __name__)

#: The state of a test delivery, in the citizen's words.
STATUS_WORDS = {
    "queued": _l("đang chờ gửi"), "sending": _l("đang gửi"), "sent": _l("đã gửi đi, chưa thấy hiện lên máy"),
    "shown": _l("đã hiện trên máy"), "opened": _l("bạn đã mở"), "failed": _l("không gửi được"),
    "expired": _l("máy đã hủy nhận thông báo"), "withheld": _l("không gửi: chưa đồng ý nhận qua kênh này"),
    "skipped": _l("không cần gửi"),
}


def retired_words(subscription) -> str:
    """Why a device no longer gets notifications."""
    if subscription.retired_reason == NOT_SEEN:
        return _("ứng dụng không được mở trên máy này quá %(days)s ngày",
                 days=current_app.config["PUSH_SUBSCRIPTION_STALE_DAYS"])
    if subscription.retired_reason == NOT_SHOWN:
        return _("%(n)s thông báo gần nhất không hiện lên máy", n=current_app.config["PUSH_UNSHOWN_LIMIT"])
    return subscription.retired_reason or ""


def _page(status: int = 200, problem: str | None = None):
    mine = reach.of_user(current_user)
    return render_template(
        "citizen/channels.html", reach=mine, tests=reach.last_tests(current_user), status_words=STATUS_WORDS,
        channel_names=channel_words(), device_summary=reach.device_summary, retired_words=retired_words,
        problem=problem, Channel=Channel), status


@bp.get("/account/channels")
@roles_required("authenticated")
def my_channels():
    return _page()


def _test_limit() -> str:
    return current_app.config["CHANNEL_TEST_RATE_LIMIT"]


@bp.post("/account/channels/<channel>/test")
@limiter.limit(_test_limit)
@roles_required("authenticated")
def send_test(channel: str):
    """Send a test message on one of my working channels now (rate-limited; PRG)."""
    chosen = next((c for c in Channel if c.value == channel), None)
    if chosen is None:
        return _page(404, _("Không có kênh này."))
    try:
        reach.send_test(current_user, chosen, utcnow())
    except reach.TestRefused as refused:
        db.session.rollback()
        if refused.reason == "rate_limited":
            return _page(429, _("Bạn đã gửi thử %(n)s lần trong một giờ qua. Vui lòng thử lại sau.",
                                n=reach.tests_in_last_hour(current_user, utcnow())))
        return _page(422, _("Kênh «%(channel)s» chưa báo được cho bạn, nên không gửi thử được.",
                            channel=channel_words()[chosen.value]))
    db.session.commit()
    flash(_("Đã gửi thử qua «%(channel)s». Tải lại trang để xem tin đã đến chưa.",
            channel=channel_words()[chosen.value]))
    return redirect(url_for("channels.my_channels", _anchor=f"channel-{chosen.value}"))
