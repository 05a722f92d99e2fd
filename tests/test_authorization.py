"""Deny by default: every route answered for every role, against a matrix written here.

A new route fails ``test_every_route_is_in_the_matrix`` until someone decides who may call it.
"""

from __future__ import annotations

import re

import pytest

from server.auth.models import Role
from server.dossiers.models import DossierFollower
from server.dossiers.models import FollowRole
from server.dossiers.workflow import State
from server.extensions import db
from tests.helpers import demo_user
from tests.helpers import make_dossier
from tests.helpers import make_user
from tests.helpers import sign_in

ANONYMOUS = "anonymous"
ROLES = [ANONYMOUS] + [r.value for r in Role]
EVERYONE = set(ROLES)
SIGNED_IN = EVERYONE - {ANONYMOUS}
WARD = {"officer", "staff", "leader"}

#: endpoint → roles that get past the access check. Everyone else gets 401 (anonymous) or 403.
MATRIX: dict[str, set[str]] = {
    "web.index": EVERYONE,
    "web.choose_language": EVERYONE,
    "web.healthz": EVERYONE,
    "ops.metrics": EVERYONE,  # no session rule: its own bearer token (METRICS_TOKEN; unset here, so 404)
    "channel_hooks.zns_event": EVERYONE,  # the provider's signature instead (not configured here, so 404)
    "channel_hooks.sms_report": EVERYONE,  # the URL's secret token instead (not configured here, so 404)
    "pwa.pwa_file": EVERYONE,
    "pwa.versioned_pwa_file": EVERYONE,
    "pwa.static_file": EVERYONE,
    "pwa.versioned_static_file": EVERYONE,
    "pwa.service_worker": EVERYONE,
    "pwa.manifest": EVERYONE,
    "pwa.offline": EVERYONE,
    "pwa.app_shell": EVERYONE,
    "pwa.pwa_data": EVERYONE,
    "openapi.openapi_json": EVERYONE,
    "calendar_api.published_calendar": EVERYONE,
    "calendar_api.due": EVERYONE,
    "auth_api.csrf_token": EVERYONE,
    "auth_api.session_info": SIGNED_IN,
    "auth_api.logout": EVERYONE,
    "auth_api.logout_everywhere": SIGNED_IN,
    "auth_api.register_options": EVERYONE,
    "auth_api.register_verify": EVERYONE,
    "auth_api.login_options": EVERYONE,
    "auth_api.login_verify": EVERYONE,
    "auth_api.invitation_info": EVERYONE,
    "auth_api.recovery_info": EVERYONE,
    "auth_api.my_passkeys": SIGNED_IN,
    "auth_api.rename_passkey": SIGNED_IN,
    "auth_api.revoke_my_passkey": SIGNED_IN,
    "auth_api.my_devices": SIGNED_IN,
    "admin_api.list_users": {"admin"},
    "admin_api.change_user": {"admin"},
    "admin_api.list_invitations": {"admin"},
    "admin_api.invite": {"admin"},
    "admin_api.revoke_invitation": {"admin"},
    "admin_api.list_devices": {"admin"},
    "admin_api.revoke_device": {"admin"},
    "admin_api.recovery_link": {"staff", "leader", "admin"},
    "dossiers_api.get_dossier": WARD | {"citizen"},
    "dossiers_api.take_action": WARD,
    "sync_api.put_attachment": WARD,
    "sync_api.put_dossier": WARD,
    "sync_api.reserve_code_blocks": {"officer"},
    "sync_api.officer_day": {"officer"},
    "sealing_api.sealing_key": WARD,
    "sync_api.changes": {"officer"},
    # Web Push (server/push/api.py).
    "push_api.public_key": EVERYONE,
    "push_api.save_subscription": SIGNED_IN,
    "push_api.delete_subscription": SIGNED_IN,
    "push_api.inbox": SIGNED_IN,
    "push_api.mark_read": SIGNED_IN,
    "push_api.dossier_notifications": {"staff", "leader"},
    "push_api.receipt": EVERYONE,  # no session rule: the push payload's own token (server/push/receipts.py)
    "auth_pages.inbox": SIGNED_IN,
    # Following a dossier from the receipt's QR code (server/web/follow.py): public, rate-limited.
    "follow.follow": EVERYONE,
    "follow.follow_lookup": EVERYONE,
    "follow.claim": {"citizen"},
    # The citizen's own pages (server/citizen/views.py); each dossier is further checked per account (404).
    "citizen.dossiers": {"citizen"},
    "citizen.claim_with_code": {"citizen"},
    "citizen.dossier": {"citizen"},
    "citizen.invite": {"citizen"},
    "citizen.remove_follower": {"citizen"},
    "citizen.rate": {"citizen"},
    "results.citizen_copy": {"citizen"},
    # The desk's pages (server/backoffice/views.py).
    "backoffice.dashboard": {"staff", "leader"},
    "backoffice.dossier": {"staff", "leader"},
    "queue.queue": {"staff", "leader"},
    # Statistics and the leaders' summary (server/stats/views.py): the ward's own figures only.
    "stats.stats_page": {"staff", "leader"},
    "stats.export_csv": {"staff", "leader"},
    "stats.export_xlsx": {"staff", "leader"},
    "stats.leader": {"staff", "leader"},
    # Statutory forms of a dossier (server/forms/views.py): the ward's desk only.
    "forms.index": {"staff", "leader"},
    "forms.show": {"staff", "leader"},
    "forms.pdf": {"staff", "leader"},
    "access_log.access_log": {"leader", "admin"},
    "backoffice.take_action": {"staff", "leader"},
    "backoffice.resolve_flag": {"staff", "leader"},
    "portal.problems": {"staff", "leader"},
    "portal.retry": {"staff", "leader"},
    "backoffice.link_owner_account": {"staff", "leader"},
    "backoffice.person_consent": {"staff", "leader"},
    "backoffice.attachment": {"staff", "leader"},
    "interagency.acknowledge": {"staff", "leader"},
    "interagency.record": {"staff", "leader"},
    "results.attach": {"staff", "leader"},
    "results.desk_copy": {"staff", "leader"},
    # Account pages (server/auth/views.py).
    "auth_pages.sign_in": EVERYONE,
    "auth_pages.register": EVERYONE,
    "auth_pages.invitation": EVERYONE,
    "auth_pages.recovery": EVERYONE,
    "auth_pages.my_passkeys": SIGNED_IN,
    "auth_pages.my_devices": SIGNED_IN,
    "auth_pages.admin_people": {"admin"},
    "auth_pages.admin_devices": {"admin"},
    # Administration pages (server/admin/views.py): procedures and versions, the working calendar, wards.
    "admin.procedures": {"admin"},
    "admin.create_procedure": {"admin"},
    "admin.procedure": {"admin"},
    "admin.add_version": {"admin"},
    "admin.change_retention": {"admin"},
    "admin.calendar": {"admin"},
    "admin.add_override": {"admin"},
    "admin.remove_override": {"admin"},
    "admin.wards": {"admin"},
    "admin.create_ward": {"admin"},
    "admin.ward": {"admin"},
    "admin.change_ward": {"admin"},
    "admin.user": {"admin"},
    "admin.change_user": {"admin"},
    # Home-visit requests (server/visits/views.py): citizens ask, the ward's one-stop staff and leaders schedule.
    "visits.new_request": {"citizen"},
    "visits.create_request": {"citizen"},
    "visits.my_visits": {"citizen"},
    "visits.staff_visits": {"staff", "leader"},
    "visits.schedule": {"staff", "leader"},
    "visits.cancel": {"staff", "leader"},
    # Data subjects' requests (server/privacy/): citizens ask about their own data, the ward's desk handles them.
    "privacy_api.citizen_create": {"citizen"},
    "privacy_api.citizen_list": {"citizen"},
    "privacy_api.citizen_one": {"citizen"},
    "privacy_api.export_json": {"citizen", "staff", "leader"},
    "privacy_api.export_pdf": {"citizen", "staff", "leader"},
    "privacy_api.desk_create": {"staff", "leader"},
    "privacy_api.desk_list": {"staff", "leader"},
    "privacy_api.desk_one": {"staff", "leader"},
    "privacy_api.desk_acknowledge": {"staff", "leader"},
    "privacy_api.desk_extend": {"staff", "leader"},
    "privacy_api.desk_answer": {"staff", "leader"},
    "privacy.desk_requests": {"staff", "leader"},
    "privacy.desk_take": {"staff", "leader"},
    "privacy.desk_step": {"staff", "leader"},
    "privacy.my_data": {"citizen"},
    "privacy.my_data_ask": {"citizen"},

    # A revoked phone's breach report (server/breach): administrators only, JSON and printable page.
    "breach_api.report": {"admin"},
    "breach.report_page": {"admin"},
    # Consents per purpose and channel (server/consent): each account its own.
    "consent_api.my_consents": SIGNED_IN,
    "consent_api.give": SIGNED_IN,
    "consent_api.withdraw": SIGNED_IN,
    "consent.my_consents": SIGNED_IN,
    "channels.my_channels": SIGNED_IN,
    "channels.send_test": SIGNED_IN,
}

_ARGUMENT_VALUES = {"int": "999999", "default": "x" * 43}
_NAMED_VALUES = {"filename": "README.md", "code": "vi", "action_name": "transfer",
                 "client_uuid": "00000000-0000-0000-0000-000000000001",
                 "device_id": "00000000-0000-0000-0000-000000000000", "form_key": "receipt"}
#: Bodies that reach the access decision of routes whose empty body has a meaning of its own.
_BODIES = {"auth_api.register_options": {"invitation_token": "x" * 43}}
_ARGUMENT = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")  # also <any(a, b):name>


def _url(rule) -> str:
    def value(match):
        converter, name = match.group(1) or "default", match.group(2)
        return _NAMED_VALUES.get(name) or _ARGUMENT_VALUES.get(converter, "x" * 43)

    return _ARGUMENT.sub(value, rule.rule)


def _rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint != "static"]


def test_every_route_is_in_the_matrix(app):
    unknown = sorted({r.endpoint for r in _rules(app)} - set(MATRIX))
    assert unknown == [], f"routes without an authorization decision in this test: {unknown}"


@pytest.mark.parametrize("role", ROLES)
def test_every_route_for_every_role(app, role):
    app.config["AUTH_RATE_LIMIT"] = app.config["LOOKUP_RATE_LIMIT"] = "10000 per minute"
    user = None if role == ANONYMOUS else demo_user(Role(role))
    checked = 0
    for rule in _rules(app):
        if rule.endpoint not in MATRIX:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            client = app.test_client()
            headers = {}
            if user is not None:
                headers["X-CSRFToken"] = sign_in(client, user)
            elif method != "GET":
                headers["X-CSRFToken"] = client.get("/api/v1/csrf-token").get_json()["csrf_token"]
            payload = _BODIES.get(rule.endpoint, {}) if method != "GET" else None
            with client.open(_url(rule), method=method, json=payload, headers=headers) as response:
                status = response.status_code
                location = response.headers.get("Location", "")
            allowed = role in MATRIX[rule.endpoint]
            where = f"{method} {rule.rule} as {role}: {status}"
            assert status != 500, where
            if allowed:
                assert status not in (401, 403), where
            elif role == ANONYMOUS and not rule.rule.startswith("/api/") and status == 302:
                assert location.startswith("/sign-in"), where  # pages send visitors to sign in
            else:
                assert status == (401 if role == ANONYMOUS else 403), where
            checked += 1
    assert checked >= len(_rules(app))


def test_ward_scope_and_citizen_visibility(app, client):
    from server.reference.models import Agency

    dossier = make_dossier(State.RECEIVED)
    other_ward = Agency(agency_code="000.20.27.H26", name_vi="Phường khác", name_en="Other ward")
    db.session.add(other_ward)
    db.session.commit()
    stranger_staff = make_user(Role.STAFF, other_ward, "Công chức phường khác")
    citizen = demo_user(Role.CITIZEN)
    relative = make_user(Role.CITIZEN, None, "Con gái")

    def status(user):
        sign_in(client, user)
        return client.get(f"/api/v1/dossiers/{dossier.id}").status_code

    assert status(demo_user(Role.STAFF)) == 200
    assert status(stranger_staff) == 403
    assert status(citizen) == 404  # not theirs: existence not revealed
    dossier.owner_id = citizen.person_id  # the same person record links nothing: only proof does
    db.session.commit()
    assert status(citizen) == 404
    db.session.add(DossierFollower(dossier_id=dossier.id, user_id=citizen.id, role=FollowRole.OWNER))
    db.session.commit()
    assert status(citizen) == 200
    assert status(relative) == 404
    db.session.add(DossierFollower(dossier_id=dossier.id, user_id=relative.id, granted_by_id=citizen.id))
    db.session.commit()
    assert status(relative) == 200
    assert status(demo_user(Role.ADMIN)) == 403
