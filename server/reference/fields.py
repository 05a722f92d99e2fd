"""The fields (lĩnh vực) of the procedure catalogue (``Procedure.field``) and their names, shared by the desk's
queue, the statistics and the administration pages. A field added later without a name here shows its key."""

from __future__ import annotations

from flask_babel import gettext as _


def field_labels() -> dict[str, str]:
    """Field key -> its Vietnamese name (translated)."""
    return {
        "bao_tro_xa_hoi": _("Bảo trợ xã hội"),
        "chung_thuc": _("Chứng thực"),
        "giam_ngheo": _("Giảm nghèo"),
        "nguoi_co_cong": _("Người có công"),
        "nguoi_khuyet_tat": _("Người khuyết tật"),
        "tre_em": _("Trẻ em"),
        "viec_lam": _("Việc làm"),
    }
