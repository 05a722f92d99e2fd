"""JSON API of dossiers: one POST per lifecycle action."""

from __future__ import annotations

from datetime import date

from flask import Blueprint
from flask_login import current_user
from sqlalchemy import select

from server.api.openapi import body
from server.api.openapi import operation
from server.api.openapi import schema
from server.auth.access import forbidden
from server.auth.access import require_same_ward
from server.auth.access import roles_required
from server.calendar.workdays import to_local
from server.dossiers.models import Dossier
from server.dossiers.models import DossierFollower
from server.dossiers.services import apply_action
from server.dossiers.workflow import DELIVERY_MODES
from server.dossiers.workflow import Action
from server.dossiers.workflow import ActionNotPermitted
from server.dossiers.workflow import ActionRequest
from server.dossiers.workflow import GuardFailed
from server.dossiers.workflow import InvalidTransition
from server.dossiers.workflow import State
from server.dossiers.workflow import allowed_actions
from server.errors import ApiProblem
from server.errors import field_error
from server.extensions import db
from server.interagency import units
from server.interagency.units import units_json

bp = Blueprint("dossiers_api", __name__, url_prefix="/api/v1/dossiers")

TAGS = ["Dossiers"]

_MAX_TEXT = 4000


def _iso(moment):
    return to_local(moment).isoformat() if moment else None


def dossier_json(dossier: Dossier) -> dict:
    """The API representation of a dossier (staff view)."""
    return {
        "id": dossier.id,
        "client_uuid": str(dossier.client_uuid),
        "code": dossier.code,
        "state": dossier.state.value,
        "national_status": dossier.national_status,
        "channel": dossier.channel.value,
        "reception_mode": dossier.reception_mode.value,
        "received_at": _iso(dossier.device_received_at),
        "due_at": _iso(dossier.due_at),
        "original_due_at": _iso(dossier.original_due_at),
        "extended_due_at": _iso(dossier.extended_due_at),
        "extension_count": dossier.extension_count,
        "apology_late": dossier.apology_late,
        "processing_finished_at": _iso(dossier.processing_finished_at),
        "returned_at": _iso(dossier.returned_at),
        "timeliness": dossier.timeliness.value if dossier.timeliness else None,
        "allowed_actions": [a.value for a in allowed_actions(dossier.state)],
        "units": units_json(dossier),
    }


ACTION_BODY = schema("ActionRequest", {
    "type": "object", "additionalProperties": False,
    "description": "What an action needs; fields an action does not use are ignored.",
    "properties": {
        "reason": {"type": "string", "maxLength": _MAX_TEXT},
        "items": {"type": "array", "items": {"type": "string", "maxLength": _MAX_TEXT}, "maxItems": 50},
        "citizen_request": {"type": "string", "maxLength": _MAX_TEXT},
        "new_due_date": {"type": "string", "format": "date"},
        "delivery_mode": {"type": "string", "enum": sorted(DELIVERY_MODES)},
        "recipient_name": {"type": "string", "maxLength": 200},
        "acknowledged": {"type": "boolean", "description": "return_result: the recipient signed for the result"},
        "amount_vnd": {"type": "integer", "minimum": 0},
        "result_numbers": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                           "maxItems": 50, "uniqueItems": True,
                           "description": "return_result: the results handed over (the n of <code>-KQ<n>)"},
    },
})
DOSSIER = schema("Dossier", {
    "type": "object",
    "required": ["id", "client_uuid", "code", "state", "national_status", "due_at", "allowed_actions"],
    "properties": {
        "id": {"type": "integer"}, "client_uuid": {"type": "string", "format": "uuid"},
        "code": {"type": ["string", "null"]}, "state": {"enum": [s.value for s in State]},
        "national_status": {"type": ["integer", "null"], "minimum": 1, "maximum": 10},
        "channel": {"type": "string"}, "reception_mode": {"type": "string"},
        "received_at": {"type": ["string", "null"]}, "due_at": {"type": ["string", "null"]},
        "original_due_at": {"type": ["string", "null"]}, "extended_due_at": {"type": ["string", "null"]},
        "extension_count": {"type": "integer"}, "apology_late": {"type": "boolean"},
        "processing_finished_at": {"type": ["string", "null"]}, "returned_at": {"type": ["string", "null"]},
        "timeliness": {"enum": ["early", "on_time", "late", None]},
        "allowed_actions": {"type": "array", "items": {"enum": [a.value for a in Action]}},
        "units": {"type": "object", "description": "agency codes of the receiving unit, the competent unit and the "
                                                   "unit holding the dossier now",
                  "properties": {"receiving": {"type": "string"}, "competent": {"type": "string"},
                                 "holder": {"type": "string"}}},
    },
})


def _action_request(data: dict) -> ActionRequest:
    new_due = data.get("new_due_date")
    return ActionRequest(
        actor_id=current_user.id,
        actor_role=current_user.role.value,
        reason=data.get("reason"),
        items=tuple(data.get("items", ())),
        citizen_request=data.get("citizen_request"),
        new_due_date=date.fromisoformat(new_due) if new_due else None,
        delivery_mode=data.get("delivery_mode"),
        recipient_name=data.get("recipient_name"),
        acknowledged=data.get("acknowledged") is True,
        amount_vnd=data.get("amount_vnd"),
        result_numbers=tuple(data.get("result_numbers", ())),
    )


@bp.post("/<int:dossier_id>/actions/<action_name>")
@roles_required("officer", "staff", "leader")
@operation("Take one lifecycle action: 409 when illegal in the current state, 422 when a guard fails",
           tags=TAGS, request_body=ACTION_BODY, responses={200: DOSSIER},
           parameters=[{"name": "action_name", "in": "path", "required": True,
                        "schema": {"enum": [a.value for a in Action]}}])
def take_action(dossier_id: int, action_name: str):
    """Apply one lifecycle action; 409 if illegal in the current state, 422 if a guard fails."""
    try:
        action = Action(action_name)
    except ValueError:
        raise ApiProblem(404, "unknown-action", ("Không có thao tác này", "No such action"),
                         (f"Thao tác không tồn tại: {action_name}", f"Unknown action: {action_name}")) from None
    action_request = _action_request(body())
    # Lock the row (PostgreSQL) so that two clerks acting at once are serialised, not both accepted.
    dossier = db.session.scalar(select(Dossier).where(Dossier.id == dossier_id).with_for_update())
    if dossier is None:
        raise ApiProblem(404, "not-found", ("Không tìm thấy", "Not found"),
                         ("Không tìm thấy hồ sơ.", "No such dossier."))
    if current_user.role.ward_scoped and not units.may_act(current_user, dossier, action):
        if not units.may_view(current_user, dossier):
            require_same_ward(dossier.agency_id)  # a dossier of no unit of the user's: refused as it always was
        # The unit sees the dossier, but another holds it: the step is the holder's (server/interagency/units.py).
        raise forbidden("Hồ sơ đang do đơn vị khác giữ: đơn vị của bạn không thực hiện được bước này.",
                        "Another unit holds this dossier: your unit cannot take this step.")
    try:
        apply_action(dossier, action, current_user, action_request)
    except InvalidTransition as error:
        raise ApiProblem(
            409, "invalid-transition", ("Thao tác không hợp lệ ở trạng thái hiện tại", "Action not allowed now"),
            (f"Không thể '{action.value}' khi hồ sơ ở trạng thái '{error.state.value}'.",
             f"Cannot {action.value} a dossier in state {error.state.value}."),
            state=error.state.value, action=action.value,
            allowed_actions=[a.value for a in allowed_actions(error.state)],
        ) from None
    except ActionNotPermitted:
        raise forbidden("Vai trò của bạn không được thực hiện thao tác này.",
                        "Your role may not take this action.") from None
    except GuardFailed as error:
        raise ApiProblem(
            422, "guard-failed", ("Chưa đủ điều kiện thực hiện", "Conditions not met"),
            ("; ".join(f.vi for f in error.failures), "; ".join(f.en for f in error.failures)),
            errors=[field_error(f.field or "", f.code, f.vi, f.en) for f in error.failures],
        ) from None
    db.session.commit()
    return dossier_json(dossier)


@bp.get("/<int:dossier_id>")
@roles_required("citizen", "officer", "staff", "leader")
@operation("One dossier: ward roles see their ward's; a citizen sees those they own, submitted or follow",
           tags=TAGS, responses={200: DOSSIER})
def get_dossier(dossier_id: int):
    """One dossier, or 404 when it does not exist or is not visible to the caller (its existence is not revealed
    to citizens)."""
    dossier = db.session.get(Dossier, dossier_id)
    if dossier is not None and current_user.role.ward_scoped:
        if not units.may_view(current_user, dossier):
            require_same_ward(dossier.agency_id)
    elif dossier is not None and not citizen_can_see(current_user, dossier):
        dossier = None
    if dossier is None:
        raise ApiProblem(404, "not-found", ("Không tìm thấy", "Not found"),
                         ("Không tìm thấy hồ sơ.", "No such dossier."))
    return dossier_json(dossier)


def citizen_can_see(user, dossier: Dossier) -> bool:
    """An account linked to the dossier by proof (claim, invitation, desk ID check): see server/citizen/access.py."""
    return db.session.scalar(select(DossierFollower.id).where(
        DossierFollower.dossier_id == dossier.id, DossierFollower.user_id == user.id)) is not None
