"""Texts of the officer's offline app (pwa/app/officer.js and its modules), translated on the server.

The app shell is cached by the service worker and runs with no network, so its texts travel inside the page as a
JSON data block (``#page-messages``), in the language the shell was fetched in. ``{name}`` placeholders are filled
on the phone.
"""

from __future__ import annotations

from flask_babel import gettext as _


def officer_messages() -> dict[str, str]:
    return {
        # status bar and flush
        "waiting_summary": _("Chờ gửi: {n} hồ sơ ({mb} MB), lâu nhất {age}."),
        "nothing_waiting": _("Không có hồ sơ chờ gửi."),
        "last_sync": _("Đồng bộ thành công lần cuối: {when}."),
        "never_synced": _("Chưa đồng bộ thành công lần nào trên điện thoại này."),
        "age_minutes": _("{n} phút trước"),
        "age_hours": _("{n} giờ trước"),
        "syncing": _("Đang đồng bộ…"),
        "result_done": _("Đã gửi xong các hồ sơ chờ."),
        "result_nothing": _("Không có gì cần gửi. Máy chủ đã được kiểm tra."),
        "result_offline": _("Chưa kết nối được máy chủ. Hồ sơ vẫn được giữ an toàn và sẽ tự gửi khi có mạng."),
        "result_signed_out": _("Cần đăng nhập lại để gửi hồ sơ."),
        "result_retry_later": _("Máy chủ đang bận. Ứng dụng sẽ tự thử lại."),
        "result_wiped": _("Thiết bị đã bị thu hồi."),
        "result_busy": _("Đang đồng bộ ở một cửa sổ khác."),
        "device_wiped": _("Thiết bị này đã bị thu hồi: dữ liệu trên điện thoại đã được xóa. "
                          "Hãy liên hệ quản trị viên."),
        "db_blocked": _("Một cửa sổ cũ của ứng dụng đang mở. Hãy đóng nó để tiếp tục."),
        "sign_in_first": _("Hãy đăng nhập trước."),
        # quarantine and lists
        "fix_and_resend": _("Sửa và gửi lại"),
        "discard": _("Bỏ hồ sơ"),
        "confirm_discard": _("Bỏ hẳn hồ sơ {label}? Hồ sơ và ảnh sẽ bị xóa khỏi điện thoại và không được gửi."),
        "confirm_discard_draft": _("Xóa bản nháp này cùng các ảnh đã chụp?"),
        "status_draft": _("Đang nhập"),
        "status_queued": _("Chờ gửi"),
        "status_sending": _("Đang gửi"),
        "status_synced": _("Đã gửi"),
        "status_quarantined": _("Bị từ chối"),
        "server_state": _("Trạng thái trên máy chủ: {state}"),
        "untitled_draft": _("Bản nháp chưa có tên"),
        "continue_draft": _("Tiếp tục nhập"),
        "show_receipt": _("Xem giấy hẹn"),
        # the day
        "day_fresh": _("Dữ liệu tải lúc {when} ({age})."),
        "day_missing": _("Chưa tải dữ liệu trong ngày. Hãy tải khi còn mạng, trước khi đi."),
        "day_downloading": _("Đang tải dữ liệu trong ngày…"),
        "day_downloaded": _("Đã tải xong: có thể làm việc không cần mạng."),
        "no_visits": _("Không có lịch thăm nào."),
        "capture_for_visit": _("Nhập hồ sơ cho người này"),
        # capture
        "required": _("bắt buộc"),
        "field_full_name": _("Họ và tên"),
        "field_personal_id": _("Số định danh cá nhân"),
        "field_date_of_birth": _("Ngày sinh"),
        "field_gender": _("Giới tính"),
        "field_phone": _("Số điện thoại"),
        "field_address": _("Địa chỉ"),
        "gender_male": _("Nam"),
        "gender_female": _("Nữ"),
        "no_catalogue": _("Chưa có danh mục thủ tục trên điện thoại: hãy tải dữ liệu trong ngày."),
        "procedure_chosen": _("Đã chọn: {name}"),
        "choose_procedure_first": _("Hãy chọn thủ tục để thấy danh sách giấy tờ."),
        "sighted_original": _("Đã đối chiếu bản chính"),
        "copy": _("bản sao"),
        "take_photo": _("Chụp ảnh giấy tờ"),
        "remove_photo": _("Xóa ảnh"),
        "photo_short": _("Ảnh {sha}"),
        "photo_preparing": _("Đang xử lý ảnh…"),
        "photo_unreadable": _("Không đọc được ảnh này. Hãy chụp lại."),
        "draft_saved": _("Đã lưu."),
        "draft_not_saved": _("Chưa lưu được: {error}"),
        "error_summary": _("Hồ sơ chưa hoàn tất:"),
        "error_procedure": _("Hãy chọn thủ tục."),
        "error_full_name": _("Hãy nhập họ và tên."),
        "error_document": _("Thiếu giấy tờ bắt buộc: {name}."),
        "error_no_calendar": _("Điện thoại chưa có lịch làm việc cho ngày này: hãy tải dữ liệu trong ngày."),
        # receipt
        "receipt_title": _("Giấy tiếp nhận hồ sơ và hẹn trả kết quả"),
        "receipt_recorded_title": _("Hồ sơ đã được ghi nhận"),
        "receipt_same_day_note": _("Thủ tục trả kết quả ngay: không cần giấy tiếp nhận, trừ khi công dân yêu cầu."),
        "receipt_provisional": _("Điện thoại đã hết mã hồ sơ dự trữ: đây là mã tạm. Mã chính thức sẽ được gửi sau."),
        "receipt_synced": _("Máy chủ đã nhận hồ sơ này."),
        "dossier_code": _("Mã hồ sơ"),
        "provisional_code": _("Mã tạm"),
        "procedure": _("Thủ tục"),
        "applicant": _("Người nộp"),
        "owner": _("Chủ hồ sơ"),
        "address": _("Địa chỉ"),
        "phone": _("Điện thoại"),
        "statutory_time": _("Thời gian giải quyết theo quy định"),
        "time_working_days": _("{n} ngày làm việc"),
        "time_calendar_days": _("{n} ngày"),
        "time_same_day": _("trong ngày"),
        "received_at": _("Thời điểm tiếp nhận"),
        "due_at": _("Hẹn trả kết quả"),
        "return_place": _("Nơi trả kết quả"),
        "return_at_home": _("Tại nhà"),
        "received_by": _("Cán bộ tiếp nhận"),
        "documents_received": _("Giấy tờ đã nhận"),
        "photos_count": _("{n} ảnh"),
        "qr_label": _("Mã QR để theo dõi hồ sơ"),
        "qr_caption": _("Quét mã để theo dõi hồ sơ:"),
        "signatures": _("Người nộp hồ sơ (ký, ghi rõ họ tên) — Người tiếp nhận hồ sơ (ký, ghi rõ họ tên)"),
    }
