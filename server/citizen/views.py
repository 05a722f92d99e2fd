"""The citizen's pages: my dossiers, one dossier (timeline, due date, what is asked, the receipt), followers,
rating. Server-rendered and never cached by the service worker (they show names and dossiers).

Every dossier page checks :func:`server.citizen.access.relation` and answers 404 when the account has none, so
that a guessed id tells nothing.
"""

from __future__ import annotations

from flask import abort
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from server.access_log.record import record_view
from server.auth.access import roles_required
from server.auth.audit import audit
from server.auth.models import User
from server.calendar.workdays import to_local
from server.citizen import claims
from server.citizen.access import Relation
from server.citizen.access import relation
from server.citizen.access import visible_dossiers
from server.citizen.rating import COMMENT_MAX
from server.citizen.rating import CRITERIA
from server.citizen.rating import LEVELS
from server.dossiers.models import Dossier
from server.dossiers.models import DossierFollower
from server.dossiers.models import DossierRating
from server.dossiers.models import RatingLevel
from server.dossiers.workflow import Action
from server.dossiers.workflow import State
from server.extensions import db
from server.forms.issue import receipt_for_citizens
from server.push.models import DeliveryStatus
from server.push.models import InboxMessage
from server.push.models import PushDelivery
from server.results.desk import citizen_rows as citizen_results
from server.web.officer_messages import officer_messages
from server.web.officer_messages import read_aloud_text
from server.web.pages import pages_blueprint

bp = pages_blueprint("citizen", __name__)

#: The steps a citizen is shown (internal hand-overs between staff are left out).
_SHOWN_ACTIONS = {a.value for a in (Action.RECEIVE, Action.REFUSE, Action.REQUEST_SUPPLEMENT,
                                    Action.RECORD_SUPPLEMENT, Action.REQUEST_PAYMENT, Action.RECORD_PAYMENT,
                                    Action.EXTEND, Action.STOP, Action.WITHDRAW, Action.MARK_RESULT_READY,
                                    Action.RETURN_RESULT)}
_ASKING_STATES = {State.AWAITING_SUPPLEMENT, State.AWAITING_PAYMENT}


def _dossier_for(dossier_id: int) -> tuple[Dossier, Relation]:
    dossier = db.session.get(Dossier, dossier_id)
    found = relation(current_user, dossier) if dossier is not None else None
    if found is None:
        abort(404)
    return dossier, found


def _timeline(dossier: Dossier) -> list[dict]:
    labels = officer_messages()
    steps = []
    for event in dossier.events:
        if event.action not in _SHOWN_ACTIONS and event.seq != 1:
            continue
        data = event.data or {}
        steps.append({"at": to_local(event.occurred_at), "label": labels.get(f"state_{event.to_state}",
                                                                             event.to_state),
                      "action": event.action, "reason": event.reason, "items": data.get("items") or [],
                      "due_at": data.get("due_at")})
    return steps


def _asked(dossier: Dossier) -> dict | None:
    """What the desk is waiting for from the citizen: the last request's items and reason, while it is open."""
    if dossier.state not in _ASKING_STATES:
        return None
    wanted = {Action.REQUEST_SUPPLEMENT.value, Action.REQUEST_PAYMENT.value}
    for event in reversed(dossier.events):
        if event.action in wanted:
            data = event.data or {}
            return {"items": data.get("items") or [], "reason": event.reason, "amount_vnd": data.get("amount_vnd"),
                    "at": to_local(event.occurred_at)}
    return None


def _followers(dossier: Dossier) -> list[DossierFollower]:
    return list(db.session.scalars(select(DossierFollower).where(DossierFollower.dossier_id == dossier.id)
                                   .order_by(DossierFollower.id)))


def _record_followers_seen(dossier: Dossier, followers: list[DossierFollower]) -> None:
    """The owner sees who else follows their dossier (names of relatives' accounts): one access row each."""
    for follower in followers:
        if follower.user_id != current_user.id:
            record_view("follower_list", object_type="DossierFollower", object_id=follower.id,
                        person_ids=(follower.user.person_id,), dossier_id=dossier.id, agency_id=dossier.agency_id)


def _page(dossier: Dossier, found: Relation, invitation: str | None = None, status: int = 200):
    followers = _followers(dossier) if found is Relation.OWNER else []
    _record_followers_seen(dossier, followers)
    rating = db.session.scalar(select(DossierRating).where(DossierRating.dossier_id == dossier.id))
    return render_template(
        "citizen/dossier.html", dossier=dossier, relation=found.value,
        state_label=officer_messages().get(f"state_{dossier.state.value}", dossier.state.value),
        steps=_timeline(dossier), asked=_asked(dossier), to_local=to_local,
        speech=read_aloud_text(dossier.code or dossier.provisional_code, dossier.state.value, dossier.due_at),
        followers=followers,
        invitation=invitation, invitation_code=claims.group(invitation) if invitation else None,
        rating=rating, can_rate=dossier.state is State.RETURNED and rating is None,
        levels=LEVELS, claimed=request.args.get("claimed") == "1", receipt=receipt_for_citizens(dossier),
        results=citizen_results(dossier),
    ), status


@bp.get("/my/dossiers")
@roles_required("citizen")
def dossiers():
    rows = list(db.session.scalars(visible_dossiers(current_user).limit(200)))
    labels = officer_messages()
    unread = dict(db.session.execute(
        select(InboxMessage.dossier_id, db.func.count()).where(InboxMessage.user_id == current_user.id,
                                                               InboxMessage.read_at.is_(None))
        .group_by(InboxMessage.dossier_id)).all())
    return render_template("citizen/dossiers.html", dossiers=rows, labels=labels, unread=unread, to_local=to_local,
                           claim_error=None)


@bp.post("/my/claim")
@roles_required("citizen")
def claim_with_code():
    """A relative types the invitation code the owner's account showed them."""
    try:
        follower = claims.redeem(request.form.get("code", ""), current_user)
    except claims.ClaimError as error:
        db.session.rollback()
        rows = list(db.session.scalars(visible_dossiers(current_user).limit(200)))
        return render_template("citizen/dossiers.html", dossiers=rows, labels=officer_messages(), unread={},
                               to_local=to_local, claim_error=error), 422
    db.session.commit()
    return redirect(url_for("citizen.dossier", dossier_id=follower.dossier_id, claimed=1))


@bp.get("/my/dossiers/<int:dossier_id>")
@roles_required("citizen")
def dossier(dossier_id: int):
    found_dossier, found = _dossier_for(dossier_id)
    # Opening the dossier reads its notifications: the inbox's unread count and the app badge go down.
    db.session.execute(InboxMessage.__table__.update().where(
        InboxMessage.user_id == current_user.id, InboxMessage.dossier_id == dossier_id,
        InboxMessage.read_at.is_(None)).values(read_at=db.func.now()))
    db.session.commit()
    return _page(found_dossier, found)


@bp.post("/my/dossiers/<int:dossier_id>/followers")
@roles_required("citizen")
def invite(dossier_id: int):
    found_dossier, found = _dossier_for(dossier_id)
    if found is not Relation.OWNER:
        abort(403)
    _claim, token = claims.invite_follower(found_dossier, current_user)
    db.session.commit()
    return _page(found_dossier, found, invitation=token, status=201)


@bp.post("/my/dossiers/<int:dossier_id>/followers/<int:follower_id>/remove")
@roles_required("citizen")
def remove_follower(dossier_id: int, follower_id: int):
    found_dossier, found = _dossier_for(dossier_id)
    if found is not Relation.OWNER:
        abort(403)
    follower = db.session.get(DossierFollower, follower_id)
    if follower is None or follower.dossier_id != dossier_id or follower.user_id == current_user.id:
        abort(404)
    removed = db.session.get(User, follower.user_id)
    # The relative's unread news about this dossier goes with them; messages already sent stay sent.
    pending = select(InboxMessage.id).where(InboxMessage.user_id == follower.user_id,
                                            InboxMessage.dossier_id == dossier_id)
    db.session.execute(PushDelivery.__table__.delete().where(PushDelivery.message_id.in_(pending),
                                                             PushDelivery.status == DeliveryStatus.QUEUED))
    db.session.delete(follower)
    audit("follower_removed", current_user, found_dossier, follower_user_id=removed.id if removed else None)
    db.session.commit()
    return redirect(url_for("citizen.dossier", dossier_id=dossier_id, _anchor="followers"))


@bp.route("/my/dossiers/<int:dossier_id>/rating", methods=["GET", "POST"])
@roles_required("citizen")
def rate(dossier_id: int):
    found_dossier, _found = _dossier_for(dossier_id)
    existing = db.session.scalar(select(DossierRating).where(DossierRating.dossier_id == dossier_id))
    if found_dossier.state is not State.RETURNED or existing is not None:
        return redirect(url_for("citizen.dossier", dossier_id=dossier_id))
    errors: dict[str, str] = {}
    form = request.form
    if request.method == "POST":
        level = form.get("level", "")
        if level not in {item.value for item in RatingLevel}:
            errors["level"] = "required"
        criteria = {}
        for key in CRITERIA:
            answer = form.get(f"criterion_{key}", "")
            if answer in ("yes", "no"):
                criteria[key] = answer == "yes"
        comment = form.get("comment", "").strip()
        if len(comment) > COMMENT_MAX:
            errors["comment"] = "too_long"
        if not errors:
            rating = DossierRating(dossier_id=dossier_id, user_id=current_user.id, level=RatingLevel(level),
                                   criteria=criteria, comment=comment or None)
            db.session.add(rating)
            audit("dossier_rated", current_user, found_dossier, level=level)
            try:
                db.session.commit()
            except IntegrityError:  # a second tap, or a relative rating at the same moment: the first one stands
                db.session.rollback()
            return redirect(url_for("citizen.dossier", dossier_id=dossier_id, rated=1, _anchor="rating"))
    return render_template("citizen/rating.html", dossier=found_dossier, levels=LEVELS, criteria=CRITERIA,
                           errors=errors, form=form, comment_max=COMMENT_MAX), 422 if errors else 200
