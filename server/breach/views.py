"""The breach report of a revoked phone as a printable page, for the administrator (audited like the JSON)."""

from __future__ import annotations

from flask import render_template

from server.auth.access import roles_required
from server.auth.services import user_agent_words
from server.breach.api import revoked_device
from server.breach.api import viewed
from server.breach.services import breach_report
from server.types import utcnow
from server.web.pages import pages_blueprint

bp = pages_blueprint("breach", __name__)


@bp.get("/admin/devices/<device_id>/breach-report")
@roles_required("admin")
def report_page(device_id: str):
    """What may have been on the phone, the deadline to notify the authority, and whom to tell."""
    report = breach_report(revoked_device(device_id))
    viewed(report, "html")
    left = report.deadline - utcnow()
    return render_template("admin/breach_report.html", report=report,
                           browser=user_agent_words(report.device.user_agent),
                           hours_left=max(0, int(left.total_seconds() // 3600)), overdue=left.total_seconds() <= 0)
