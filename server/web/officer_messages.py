"""Texts of the officer's offline app (pwa/app/officer.js and its modules), translated on the server.

The app shell is cached by the service worker and runs with no network, so its texts travel inside the page as a
JSON data block (``#page-messages``), in the language the shell was fetched in. ``{name}`` placeholders are filled
on the phone.
"""

from __future__ import annotations

from flask_babel import gettext as _

from server.forms.content import NATIONAL_MOTTO


def next_steps() -> dict[str, str]:
    """``next_<state>``: what the citizen has to do next while the dossier is in that state."""
    waiting = _("Bạn không cần làm gì thêm. Khi có kết quả, bạn sẽ được báo và kết quả được trả theo hẹn.")
    ended = _("Hồ sơ đã kết thúc. Nếu cần hỏi thêm, hãy liên hệ Bộ phận Một cửa.")
    return {
        "next_draft": waiting,
        "next_online_submitted": waiting,
        "next_received": waiting,
        "next_in_process": waiting,
        "next_pending_approval": waiting,
        "next_approved": waiting,
        "next_awaiting_supplement": _("Cần bổ sung giấy tờ theo đề nghị của Bộ phận Một cửa. Cán bộ sẽ liên hệ "
                                      "hoặc đến nhà để nhận giấy tờ bổ sung."),
        "next_awaiting_payment": _("Cần nộp phí, lệ phí theo đề nghị của Bộ phận Một cửa."),
        "next_resolved": _("Đã có kết quả. Kết quả sẽ được trả cho bạn theo hẹn."),
        "next_returned": _("Đã trả kết quả. Bạn có thể đánh giá mức độ hài lòng."),
        "next_guided_incomplete": _("Hồ sơ chưa đủ: hãy bổ sung theo hướng dẫn rồi nộp lại."),
        "next_refused": ended,
        "next_stopped": ended,
        "next_withdrawn": ended,
    }


def read_aloud_text(code: str | None, state: str, due_at) -> str:
    """What "Đọc to" says on the citizen's pages: the status, the due date and the next step, in the page's
    language (the phone's receipt says the same, built by pwa/app/read-aloud.js from the same texts)."""
    from server.errors import locale_code
    from server.forms.content import time_and_date
    from server.web.formats import moment_text

    labels = officer_messages()
    due = (time_and_date(due_at) if locale_code() == "vi" else moment_text(due_at)) if due_at else "—"
    values = {"code": code or "", "state": labels.get(f"state_{state}", state), "due": due,
              "next": labels.get(f"next_{state}", "")}
    return _fill(labels["read_aloud_summary"], values)


def _fill(text: str, values: dict[str, str]) -> str:
    """``{name}`` placeholders filled as pwa/app/i18n.js t() fills them."""
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text


def officer_messages() -> dict[str, str]:
    return {
        # the vault (issue 12 point 2): pwa/app/vault-screens.js
        "vault_prf_unavailable": _("Khóa truy cập trên điện thoại này không hỗ trợ mở khóa dữ liệu. Hãy đặt mã PIN."),
        "vault_passkey_cancelled": _("Chưa xác nhận bằng khóa truy cập. Hãy thử lại."),
        "vault_pin_too_short": _("Mã PIN phải có ít nhất 6 chữ số, chỉ gồm chữ số."),
        "vault_pin_mismatch": _("Hai lần nhập mã PIN không giống nhau."),
        "vault_working": _("Đang mở khóa…"),
        "vault_pin_wrong": _("Mã PIN không đúng. Còn {n} lần thử; sau đó hồ sơ nháp và hồ sơ bị trả lại trên "
                             "điện thoại sẽ bị xóa."),
        "vault_erased": _("Nhập sai mã PIN quá số lần cho phép: hồ sơ nháp, hồ sơ bị trả lại và khóa dữ liệu trên "
                          "điện thoại đã bị xóa. Hồ sơ đã hoàn tất vẫn được gửi. Hãy đặt lại cách mở khóa."),
        "vault_locked_idle": _("Ứng dụng đã tự khóa vì không dùng một lúc."),
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
        # the connection line of the status bar (pwa/app/connection.js): three states told apart by their words
        "connection_checking": _("Đang kiểm tra kết nối…"),
        "connection_online": _("Có mạng."),
        "connection_offline": _("Không có mạng. Hồ sơ được lưu trên điện thoại và sẽ tự gửi khi có mạng."),
        "connection_signed_out": _("Đã đăng xuất. Hãy đăng nhập lại để gửi hồ sơ."),
        # quarantine and lists
        "fix_and_resend": _("Sửa và gửi lại"),
        "quarantine_server_errors": _("Máy chủ báo lỗi {count} lần liên tiếp (HTTP {status}) với hồ sơ này, nên "
                                      "hồ sơ không tự gửi lại nữa và vẫn được giữ trên điện thoại. Hãy báo quản trị "
                                      "viên, rồi bấm “Sửa và gửi lại”."),
        "discard": _("Bỏ hồ sơ"),
        "confirm_discard": _("Bỏ hẳn hồ sơ {label}? Hồ sơ và ảnh sẽ bị xóa khỏi điện thoại và không được gửi."),
        "confirm_discard_draft": _("Xóa bản nháp này cùng các ảnh đã chụp?"),
        "status_draft": _("Đang nhập"),
        "status_queued": _("Chờ gửi"),
        "status_sending": _("Đang gửi"),
        "status_synced": _("Đã gửi"),
        "status_quarantined": _("Bị từ chối"),
        "server_state": _("Trạng thái trên máy chủ: {state}"),
        # dossier states on the server (server/dossiers/workflow.py State)
        "state_draft": _("Bản nháp"),
        "state_online_submitted": _("Đã nộp trực tuyến"),
        "state_guided_incomplete": _("Đã hướng dẫn bổ sung"),
        "state_refused": _("Từ chối tiếp nhận"),
        "state_received": _("Đã tiếp nhận"),
        "state_in_process": _("Đang giải quyết"),
        "state_awaiting_supplement": _("Chờ bổ sung hồ sơ"),
        "state_awaiting_payment": _("Chờ thực hiện nghĩa vụ tài chính"),
        "state_pending_approval": _("Chờ phê duyệt"),
        "state_approved": _("Đã phê duyệt, chờ chuyển kết quả"),
        "state_resolved": _("Đã có kết quả"),
        "state_returned": _("Đã trả kết quả"),
        "state_stopped": _("Dừng giải quyết"),
        "state_withdrawn": _("Đã rút hồ sơ"),
        # What the citizen does next, by state: read aloud with the status and the due date (issue 11 point 10).
        **next_steps(),
        "read_aloud": _("Đọc to"),
        "read_aloud_summary": _("Hồ sơ {code}. Tình trạng: {state}. Hẹn trả kết quả: {due}. {next}"),
        "untitled_draft": _("Bản nháp chưa có tên"),
        "continue_draft": _("Tiếp tục nhập"),
        "show_receipt": _("Xem giấy hẹn"),
        # the day
        "day_fresh": _("Dữ liệu tải lúc {when} ({age})."),
        "day_missing": _("Chưa tải dữ liệu trong ngày. Hãy tải khi còn mạng, trước khi đi."),
        "day_downloading": _("Đang tải dữ liệu trong ngày…"),
        "day_downloaded": _("Đã tải xong: có thể làm việc không cần mạng."),
        "no_visits": _("Không có lịch thăm nào."),
        "visit_when": _("Hẹn lúc: {when}"),
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
        "take_photo": _("Chụp ảnh giấy tờ"),
        "remove_photo": _("Xóa ảnh"),
        "photo_short": _("Ảnh {sha}"),
        "photo_preparing": _("Đang xử lý ảnh…"),
        "photo_unreadable": _("Không đọc được ảnh này. Hãy chụp lại."),
        # photos refused or to be taken again, thumbnails (issue 11.5)
        "photo_not_an_image": _("“{name}” không phải là ảnh (ví dụ tệp PDF) nên chưa được lưu. "
                                "Hãy chụp ảnh giấy tờ."),
        "photo_unreadable_named": _("Không đọc được ảnh “{name}” nên ảnh chưa được lưu. Hãy chụp lại."),
        "photo_blurred": _("Ảnh bị mờ: hãy chụp lại, giữ yên máy."),
        "photo_dark": _("Ảnh quá tối: hãy chụp lại ở chỗ sáng hơn."),
        "photo_alt": _("Ảnh {n} của {name}"),
        # the review before the code is issued (issue 11.7)
        "review_edit": _("Sửa"),
        "review_received": _("đã nhận"),
        "review_not_received": _("chưa nhận"),
        "review_same_submitter": _("Chính là chủ hồ sơ."),
        "review_delivery": _("Trả kết quả"),
        "review_competent_ward": _("Hồ sơ thuộc thẩm quyền của"),
        "review_receipt_requested": _("Công dân yêu cầu giấy tiếp nhận"),
        "yes": _("Có"),
        "no": _("Không"),
        "draft_saved": _("Đã lưu."),
        "draft_not_saved": _("Chưa lưu được: {error}"),
        "error_summary": _("Hồ sơ chưa hoàn tất:"),
        "error_procedure": _("Hãy chọn thủ tục."),
        "error_full_name": _("Hãy nhập họ và tên."),
        "error_document": _("Thiếu giấy tờ bắt buộc: {name}."),
        "error_no_calendar": _("Điện thoại chưa có lịch làm việc cho ngày này: hãy tải dữ liệu trong ngày."),
        "error_no_sealing_key": _("Điện thoại chưa có khóa niêm phong của máy chủ: hãy kết nối mạng và tải dữ liệu "
                                  "trong ngày."),
        # receipt
        "receipt_title": _("Giấy tiếp nhận hồ sơ và hẹn trả kết quả"),
        "receipt_recorded_title": _("Hồ sơ đã được ghi nhận"),
        "receipt_same_day_note": _("Thủ tục trả kết quả ngay: không cần giấy tiếp nhận, trừ khi công dân yêu cầu."),
        "receipt_provisional": _("Điện thoại đã hết mã hồ sơ dự trữ: đây là mã tạm. Mã chính thức sẽ được gửi sau."),
        "receipt_synced": _("Máy chủ đã nhận hồ sơ này."),
        # The receipt's labels are those of Mẫu 01 (server/forms/content.py receipt), so that the screen, its
        # print and the PDF agree field by field (tests/browser/pwa/test_receipt_agrees.py).
        "dossier_code": _("Mã hồ sơ"),
        "provisional_code": _("Mã tạm"),
        "received_from": _("{agency} tiếp nhận hồ sơ của:"),
        "procedure": _("Nội dung yêu cầu giải quyết"),
        "applicant": _("Ông/bà"),
        "owner": _("Chủ hồ sơ"),
        "address": _("Địa chỉ"),
        "phone": _("Số điện thoại"),
        "documents_received": _("1. Thành phần hồ sơ nộp gồm:"),
        "doc_number": _("TT"),
        "doc_name": _("Tên loại giấy tờ"),
        "doc_form": _("Hình thức (bản chính, bản sao, bản chụp)"),
        "doc_quantity": _("Số lượng"),
        "form_photographed_sighted": _("Bản chụp, đã đối chiếu bản chính"),
        "form_photographed": _("Bản chụp"),
        "form_sighted_only": _("Bản chính (đã đối chiếu)"),
        "copy_type_original": _("Bản chính"),
        "copy_type_certified_copy": _("Bản sao có chứng thực"),
        "copy_type_copy_with_original": _("Bản sao kèm bản chính để đối chiếu"),
        "copy_type_electronic": _("Bản điện tử"),
        "dossier_sets": _("2. Số lượng hồ sơ"),
        "dossier_sets_one": _("01 (bộ)"),
        "statutory_time": _("3. Thời gian giải quyết hồ sơ theo quy định là"),
        "time_working_days": _("{n} ngày làm việc"),
        "time_calendar_days": _("{n} ngày"),
        "time_same_day": _("trong ngày"),
        "received_at": _("4. Thời gian nhận hồ sơ"),
        "due_at": _("5. Thời gian trả kết quả giải quyết hồ sơ"),
        "return_place": _("6. Đăng ký nhận kết quả tại"),
        "return_at_home": _("Tại nhà"),
        "return_at_home_address": _("Tại nhà: {address}"),
        "photos_count": _("{n} ảnh"),
        "qr_label": _("Mã QR để theo dõi hồ sơ"),
        "qr_caption": _("Quét mã để theo dõi hồ sơ:"),
        "signature_submitter": _("NGƯỜI NỘP HỒ SƠ"),
        "signature_officer": _("NGƯỜI TIẾP NHẬN HỒ SƠ"),
        "sign_note": _("(Ký và ghi rõ họ tên)"),
        # The receipt's number is given when the server issues it: "Số: …/TNHS" until then (as on a blank form).
        "receipt_number": _("Số: {number}"),
        "legal_date": _("ngày {day} tháng {month} năm {year}"),
        # The national motto is the same words in every language (as on the statutory forms): not translated.
        "motto_country": NATIONAL_MOTTO[0],
        "motto_words": NATIONAL_MOTTO[1],
    }
