"""The rating a citizen gives a returned dossier: the overall answer of the national portal and the criteria
provinces ask about (DOMAIN.md §7.1, after Thừa Thiên Huế's 12 criteria)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from server.dossiers.models import RatingLevel

LEVELS = {
    RatingLevel.VERY_SATISFIED: _l("Rất hài lòng"),
    RatingLevel.SATISFIED: _l("Hài lòng"),
    RatingLevel.NOT_SATISFIED: _l("Không hài lòng"),
}

#: key -> the question, in the order of the provinces' forms. Every answer is optional.
CRITERIA = {
    "overall_service": _l("Chất lượng phục vụ nói chung"),
    "convenience": _l("Sự thuận tiện khi làm thủ tục"),
    "timeliness": _l("Giải quyết và trả kết quả đúng hẹn"),
    "attitude": _l("Thái độ của cán bộ"),
    "total_time": _l("Tổng thời gian so với quy định"),
    "time_at_agency": _l("Thời gian tại cơ quan so với quy định"),
    "contacts": _l("Số lần phải liên hệ để hoàn thành hồ sơ"),
    "agencies": _l("Số cơ quan phải liên hệ"),
    "one_stop": _l("Tiếp nhận và trả kết quả tại Bộ phận Một cửa (hoặc tại nhà)"),
    "transparency": _l("Công khai, minh bạch thủ tục"),
    "feedback": _l("Tiếp nhận và xử lý phản ánh, kiến nghị"),
    "online": _l("Tiến độ và chất lượng dịch vụ trực tuyến"),
}

COMMENT_MAX = 2000
