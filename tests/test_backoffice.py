"""The desk's dashboard (SMS cost avoided) and a dossier's notifications with each delivery's state."""

from __future__ import annotations

from sqlalchemy import select

from server.auth.models import Role
from server.auth.models import User
from server.dossiers.models import DossierFollower
from server.dossiers.models import FollowRole
from server.dossiers.workflow import State
from server.extensions import db
from server.push.models import DeliveryStatus
from server.push.models import PushDelivery
from server.push.models import PushSubscription
from server.push.notify import notify_dossier
from server.push.sender import PushSender
from server.reference.models import Agency
from tests.helpers import consent_to_push
from tests.helpers import demo_user
from tests.helpers import make_dossier
from tests.helpers import make_user
from tests.helpers import sign_in


def _followed_dossier(push, code: str, phones: int):
    """A dossier followed by a citizen with ``phones`` subscriptions to the local push service."""
    dossier = make_dossier(State.RECEIVED, code=code)
    lan = User(role=Role.CITIZEN, display_name="Nguyễn Thị Lan")
    db.session.add(lan)
    db.session.flush()
    db.session.add(DossierFollower(dossier_id=dossier.id, user_id=lan.id, role=FollowRole.OWNER))
    for _ in range(phones):
        minted = push.subscribe()
        db.session.add(PushSubscription(user_id=lan.id, endpoint=minted["endpoint"], p256dh=minted["keys"]["p256dh"],
                                        auth=minted["keys"]["auth"]))
    db.session.commit()
    consent_to_push(lan)
    return dossier, lan


def test_the_dossier_page_shows_every_delivery_state_and_the_dashboard_the_sms_cost_avoided(app, client, push):
    dossier, _lan = _followed_dossier(push, "000.20.26.H26-261127-0101", phones=2)
    # The first message reaches both phones. Then one phone unsubscribes (410 for the second message), and the
    # push service refuses the third (413): three messages, two delivered.
    notify_dossier(dossier, "received")
    db.session.commit()
    PushSender().drain()
    push.gone.add("s2")
    notify_dossier(dossier, "supplement_requested")
    db.session.commit()
    PushSender().drain()
    push.scripted.append((413, {}))
    notify_dossier(dossier, "extended", due_at="2026-12-20T17:00:00+07:00")
    db.session.commit()
    PushSender().drain()
    db.session.expire_all()
    statuses = sorted(d.status.value for d in db.session.scalars(select(PushDelivery)))
    assert statuses == ["expired", "failed", "sent", "sent", "sent"]

    sign_in(client, demo_user(Role.STAFF))
    page = client.get(f"/staff/dossiers/{dossier.id}").get_data(as_text=True)
    assert page.count('data-status="sent"') == 3
    assert 'data-status="expired"' in page and 'data-status="failed"' in page
    assert "413" in page  # the reason a delivery failed
    assert "Nguyễn Thị Lan" in page and "Cần bổ sung hồ sơ" in page

    dashboard = client.get("/staff").get_data(as_text=True)
    # Three messages that SMS alone would have carried, one segment of 800 VND each, and nothing spent on ZNS or
    # SMS: 2.400 đ avoided (each message counts, delivered or not: SMS would have cost the same for it).
    assert 'id="figure-messages">3<' in dashboard and 'id="figure-spent">0 đ<' in dashboard
    assert 'id="figure-sms-cost">2.400 đ<' in dashboard
    push_row = dashboard.split('id="dashboard-push-')[1].split("</tr>")[0]
    assert 'data-status="sent">3<' in push_row and 'data-status="expired">1<' in push_row
    assert 'data-status="failed">1<' in push_row
    app.config["SMS_PRICE_VND"] = 1200
    assert 'id="figure-sms-cost">3.600 đ<' in client.get("/staff").get_data(as_text=True)


def test_another_ward_sees_nothing(app, client, push):
    dossier, _lan = _followed_dossier(push, "000.20.26.H26-261127-0102", phones=1)
    notify_dossier(dossier, "received")
    db.session.commit()
    other_ward = Agency(agency_code="000.20.27.H26", name_vi="Phường khác", name_en="Other ward")
    db.session.add(other_ward)
    db.session.commit()
    stranger = make_user(Role.STAFF, other_ward, "Cán bộ phường khác")
    sign_in(client, stranger)
    assert client.get(f"/staff/dossiers/{dossier.id}").status_code == 404
    assert 'id="figure-messages">0<' in client.get("/staff").get_data(as_text=True)
    sign_in(client, demo_user(Role.OFFICER))
    assert client.get(f"/staff/dossiers/{dossier.id}").status_code == 403


def test_a_message_without_a_phone_says_inbox_only(app, client, push):
    dossier, lan = _followed_dossier(push, "000.20.26.H26-261127-0103", phones=0)
    notify_dossier(dossier, "result_ready")
    db.session.commit()
    assert db.session.scalar(select(PushDelivery.id)) is None
    sign_in(client, demo_user(Role.LEADER))
    page = client.get(f"/staff/dossiers/{dossier.id}").get_data(as_text=True)
    assert 'data-status="inbox-only"' in page and DeliveryStatus.SENT.value not in page.split('id="notifications"')[1]
