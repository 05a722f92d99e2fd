"""The words of each notification kind, in the reader's language (the inbox; the service worker keeps its own
copy in pwa/sw/push.js because it must show a notification with no server at hand)."""

from __future__ import annotations

from flask_babel import gettext as _


def of(kind: str, data: dict) -> tuple[str, str]:
    code = data.get("code") or ""
    texts = {
        "received": (_("Hồ sơ đã được tiếp nhận"), _("Hồ sơ %(code)s đã được tiếp nhận.", code=code)),
        "supplement_requested": (_("Cần bổ sung hồ sơ"), _("Hồ sơ %(code)s cần bổ sung giấy tờ.", code=code)),
        "extended": (_("Hồ sơ được gia hạn"),
                     _("Hồ sơ %(code)s được gia hạn. Xin lỗi vì sự chậm trễ.", code=code)),
        "result_ready": (_("Đã có kết quả"), _("Hồ sơ %(code)s đã có kết quả.", code=code)),
        "returned": (_("Đã trả kết quả"), _("Kết quả của hồ sơ %(code)s đã được trả.", code=code)),
        "refused": (_("Hồ sơ không được tiếp nhận"), _("Hồ sơ %(code)s không được tiếp nhận.", code=code)),
        "stopped": (_("Hồ sơ dừng giải quyết"), _("Hồ sơ %(code)s dừng giải quyết.", code=code)),
        "visit_scheduled": (_("Lịch tiếp nhận tại nhà"), _("Cán bộ sẽ đến nhà để tiếp nhận hồ sơ.")),
    }
    return texts.get(kind, (_("Một Cửa Tại Nhà"), _("Hồ sơ %(code)s có thông tin mới.", code=code)))
