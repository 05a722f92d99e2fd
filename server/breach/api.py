"""The breach report of a revoked phone, as JSON for the notification to the authority (administrators only;
every view is audited, since the report itself lists people)."""

from __future__ import annotations

import uuid

from flask import Blueprint
from flask import jsonify
from flask import request
from flask_login import current_user

from server.api.openapi import operation
from server.api.openapi import schema
from server.auth.access import roles_required
from server.auth.audit import audit
from server.auth.models import Device
from server.auth.services import user_agent_words
from server.breach.services import VISIT_DATA
from server.breach.services import BreachReport
from server.breach.services import breach_report
from server.errors import ApiProblem
from server.extensions import db

bp = Blueprint("breach_api", __name__, url_prefix="/api/v1/admin")
TAGS = ["Administration"]

REPORT = schema("BreachReport", {
    "type": "object",
    "required": ["device", "revoked_at", "notification_due_at", "notification_hours", "unsynced_codes", "visits"],
    "properties": {
        "device": {"type": "object"}, "revoked_at": {"type": "string", "format": "date-time"},
        "notification_due_at": {"type": "string", "format": "date-time",
                                "description": "revocation + BREACH_NOTIFICATION_HOURS (PDPL 91/2025 Art. 23)"},
        "notification_hours": {"type": "integer"},
        "unsynced_codes": {"type": "object", "required": ["count", "ranges"], "properties": {
            "count": {"type": "integer"}, "ranges": {"type": "array", "items": {"type": "object"}}}},
        "visits": {"type": "array", "items": {"type": "object"}},
        "people_count": {"type": "integer"}, "photos_without_dossier": {"type": "integer"},
        "visit_data": {"type": "array", "items": {"type": "string"}},
    },
})


def iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def revoked_device(device_id: str) -> Device:
    """The device, if it exists and was revoked: only a revoked phone has a breach report (404 otherwise)."""
    try:
        device = db.session.get(Device, uuid.UUID(device_id))
    except ValueError:
        device = None
    if device is None:
        raise ApiProblem(404, "not-found", ("Không tìm thấy", "Not found"),
                         ("Không có thiết bị này.", "No such device."))
    if device.revoked_at is None:
        raise ApiProblem(409, "device-not-revoked", ("Thiết bị chưa bị thu hồi", "Device not revoked"),
                         ("Chỉ lập báo cáo sự cố cho thiết bị đã thu hồi.",
                          "A breach report is made for a revoked device only."))
    return device


def viewed(report: BreachReport, how: str) -> None:
    """Audit who looked at the list of people (the report is personal data too), then commit."""
    audit("breach_report_viewed", current_user, report.device, format=how, people=report.people_count,
          unsynced_codes=report.unsynced_code_count)
    db.session.commit()


def report_json(report: BreachReport) -> dict:
    device = report.device
    return {
        "device": {"id": str(device.id), "name": device.name, "user_agent": device.user_agent,
                   "browser": user_agent_words(device.user_agent),
                   "owner": {"id": report.owner.id, "name": report.owner.display_name},
                   "registered_at": iso(device.registered_at), "last_seen_at": iso(device.last_seen_at),
                   "revoked_by": {"id": report.revoked_by.id, "name": report.revoked_by.display_name}
                   if report.revoked_by else None},
        "revoked_at": iso(device.revoked_at),
        "notification_due_at": iso(report.deadline),
        "notification_hours": report.hours,
        "unsynced_codes": {"count": report.unsynced_code_count, "ranges": [
            {"day": r.day.isoformat(), "first": r.first, "last": r.last, "count": r.count,
             "first_code": r.first_code, "last_code": r.last_code, "issued": r.issued,
             "after_revocation": r.after_revocation} for r in report.code_ranges]},
        "visits": [{"visit_id": v.home_visit_id, "status": v.visit.status.value,
                    "planned_for": v.visit.planned_for.isoformat() if v.visit.planned_for else None,
                    "person": {"id": v.person.id, "full_name": v.person.full_name,
                               "phone": v.person.phone_e164 or v.visit.phone_e164, "address": v.visit.address},
                    "first_sent_at": iso(v.first_sent_at), "last_sent_at": iso(v.last_sent_at),
                    "drop_sent_at": iso(v.drop_sent_at)} for v in report.visits],
        "people_count": report.people_count,
        "photos_without_dossier": report.photos_without_dossier,
        "visit_data": list(VISIT_DATA),
    }


@bp.get("/devices/<device_id>/breach-report")
@roles_required("admin")
@operation("What may have been on a revoked phone: its reserved codes no dossier carries, the visits (people) it "
           "downloaded, and the deadline to notify the authority; ?download=1 as a file. Audited.", tags=TAGS,
           responses={200: REPORT},
           parameters=[{"name": "download", "in": "query", "required": False, "schema": {"enum": ["1"]}}])
def report(device_id: str):
    found = breach_report(revoked_device(device_id))
    data = report_json(found)
    viewed(found, "json")
    response = jsonify(data)  # dynamic: "private, no-store" (server/security.py), as it lists people
    if request.args.get("download") == "1":
        response.headers["Content-Disposition"] = f'attachment; filename="breach-report-{found.device.id}.json"'
    return response

