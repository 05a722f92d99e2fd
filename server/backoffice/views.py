"""The desk's pages: a dashboard with what reaching the followers cost and saved, and the dossier page (everything
about one dossier, its notifications and deliveries, and one small form per legal step it may take next).

Ward-scoped: a dossier (or a photo) of another ward is answered 404, as if it did not exist. The action forms post,
then redirect (PRG); a refused form is shown again on the page with one message per field (422), an action no longer
possible in the dossier's state with a clear message (409).
"""

from __future__ import annotations

from datetime import datetime
from datetime import time
from datetime import timedelta
from types import SimpleNamespace

from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import send_file
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from server.access_log.record import record_dossier_view
from server.auth.access import roles_required
from server.auth.audit import audit
from server.backoffice import deliveries
from server.backoffice import dossier_page
from server.backoffice import identity
from server.backoffice import reach as desk_reach
from server.backoffice.action_forms import ACTION_FIELDS
from server.backoffice.action_forms import ACTION_HINTS
from server.backoffice.action_forms import ACTION_LABELS
from server.backoffice.action_forms import FINAL_ACTIONS
from server.backoffice.action_forms import Submitted
from server.backoffice.action_forms import delivery_mode_labels
from server.backoffice.action_forms import read_action
from server.calendar.workdays import VN_TZ
from server.calendar.workdays import to_local
from server.channels import costs
from server.citizen.rating import CRITERIA
from server.citizen.rating import LEVELS
from server.dossiers.models import Attachment
from server.dossiers.models import Dossier
from server.dossiers.models import DossierDocument
from server.dossiers.models import DossierFlag
from server.dossiers.services import apply_action
from server.dossiers.services import facts_of
from server.dossiers.workflow import Action
from server.dossiers.workflow import ActionNotPermitted
from server.dossiers.workflow import GuardFailed
from server.dossiers.workflow import InvalidTransition
from server.dossiers.workflow import decide
from server.errors import locale_code
from server.extensions import db
from server.interagency import units
from server.push.models import InboxMessage
from server.storage import NotStored
from server.storage import backend
from server.types import utcnow
from server.web.officer_messages import officer_messages
from server.web.pages import pages_blueprint

bp = pages_blueprint("backoffice", __name__, url_prefix="/staff")

DESK = ("staff", "leader")
#: How many of the ward's latest notifications /staff lists with their deliveries (older ones: the dossier page).
RECENT_NOTIFICATIONS = 30


def month_start(now: datetime) -> datetime:
    """00:00 on the first day of this month in Viet Nam, as an aware datetime."""
    local = to_local(now)
    return datetime.combine(local.date().replace(day=1), time(0), tzinfo=VN_TZ)


@bp.get("")
@roles_required(*DESK)
def dashboard():
    now = utcnow()
    since = month_start(now)
    recent = list(db.session.scalars(select(Dossier).where(Dossier.agency_id == current_user.agency_id)
                                     .order_by(Dossier.updated_at.desc(), Dossier.id.desc()).limit(20)))
    # Last month too: in a month's first days this month's figures say little.
    today = to_local(now).date()
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    lines = costs.monthly(last_month, today, [current_user.agency_id])
    # The ward's latest notifications, per follower, with what became of each delivery on each channel.
    latest = list(db.session.scalars(
        select(InboxMessage).join(Dossier, Dossier.id == InboxMessage.dossier_id)
        .where(Dossier.agency_id == current_user.agency_id)
        .order_by(InboxMessage.id.desc()).limit(RECENT_NOTIFICATIONS)))[::-1]
    codes = dict(db.session.execute(select(Dossier.id, Dossier.code).where(
        Dossier.id.in_({m.dossier_id for m in latest}))).all()) if latest else {}
    return render_template("backoffice/dashboard.html", cost_lines=lines, this_month=lines[-1],
                           since=to_local(since), recent=recent, labels=officer_messages(), to_local=to_local,
                           followers=deliveries.follower_rows(latest), codes=codes)


def _ward_dossier(dossier_id: int, lock: bool = False) -> Dossier:
    """The dossier if the user's unit received, decides or holds it, else 404 (another unit's is not revealed:
    server/interagency/units.py says the rule). ``lock`` serialises two clerks acting on it at once (PostgreSQL
    row lock)."""
    query = select(Dossier).where(Dossier.id == dossier_id)
    found = db.session.scalar(query.with_for_update() if lock else query)
    if found is None or not units.may_view(current_user, found):
        abort(404)
    return found


def _desk_records_of(dossier_id: int, lock: bool = False) -> Dossier:
    """The dossier whose desk records (flags, owner account, paper consents) the user's unit keeps: the receiving
    desk's or the holder's; a unit that only decides it reads them (403)."""
    found = _ward_dossier(dossier_id, lock)
    if not units.may_keep_records(current_user, found):
        abort(403)
    return found


def _dossier_page(found: Dossier, failed: Submitted | None = None, problem: str | None = None, status: int = 200,
                  identity_form: dict | None = None, consent_form: dict | None = None):
    """The dossier page; ``failed`` is a refused action form to show again with its messages, ``problem`` a
    message about the whole page (an action no longer possible). Every showing is recorded in the access log."""
    record_dossier_view("dossier_page", found)
    labels = officer_messages()
    actions = dossier_page.desk_actions(found, current_user)
    forms = {action: Submitted(action) for action in actions}
    if failed is not None:
        forms[failed.action] = failed
        if failed.action not in actions:  # not offered (result at once, other procedure): its refusal still shows
            actions.append(failed.action)
    return render_template(
        "backoffice/dossier.html", dossier=found, followers=deliveries.dossier_followers(found.id), to_local=to_local,
        state_label=labels.get(f"state_{found.state.value}", found.state.value), state_labels=labels,
        facts=dossier_page.page_facts(found), actions=actions, forms=forms, failed=failed, problem=problem,
        action_fields=ACTION_FIELDS, action_labels=ACTION_LABELS, action_hints=ACTION_HINTS,
        final_actions=FINAL_ACTIONS, delivery_modes=delivery_mode_labels(),
        event_labels=dossier_page.EVENT_LABELS, timeliness_labels=dossier_page.TIMELINESS_LABELS,
        role_labels=dossier_page.ROLE_LABELS, rating_levels=LEVELS, rating_criteria=CRITERIA,
        extension_late=dossier_page.extension_would_be_late(found, utcnow()),
        identity_form=SimpleNamespace(**(identity_form or {"values": {}, "errors": {}})),
        id_methods=identity.method_labels(),
        reach=desk_reach.page_facts(found),
        consent_form=SimpleNamespace(**(consent_form or {"values": {}, "errors": {}})),
        units=units.units_of(found),
    ), status


@bp.get("/dossiers/<int:dossier_id>")
@roles_required(*DESK)
def dossier(dossier_id: int):
    """Everything about one dossier of the ward, and the steps the user may take next."""
    return _dossier_page(_ward_dossier(dossier_id))


@bp.post("/dossiers/<int:dossier_id>/actions/<action_name>")
@roles_required(*DESK)
def take_action(dossier_id: int, action_name: str):
    """Take one legal step on a dossier through its form; the event and the citizen's notification are stored
    with it in one commit."""
    try:
        action = Action(action_name)
    except ValueError:
        abort(404)
    found = _ward_dossier(dossier_id, lock=True)
    if not units.may_act(current_user, found, action):
        return _dossier_page(found, problem=_("Hồ sơ đang do đơn vị khác giữ: đơn vị của bạn không thực hiện được "
                                              "thao tác «%(action)s».", action=ACTION_LABELS[action]), status=403)
    action_request, submitted = read_action(action, request.form, current_user)
    fields = ACTION_FIELDS[action]
    try:
        if submitted.errors:
            # Ask the guards too, without changing anything, so that every message is shown at once.
            decide(facts_of(found), action, action_request)
        else:
            apply_action(found, action, current_user, action_request)
    except InvalidTransition as error:
        db.session.rollback()
        state = officer_messages().get(f"state_{error.state.value}", error.state.value)
        return _dossier_page(found, problem=_(
            "Không thể «%(action)s» khi hồ sơ đang ở trạng thái «%(state)s» (có thể người khác vừa xử lý). "
            "Các thao tác còn thực hiện được ở bên dưới.", action=ACTION_LABELS[action], state=state), status=409)
    except ActionNotPermitted:
        db.session.rollback()
        return _dossier_page(found, problem=_("Vai trò của bạn không được thực hiện thao tác «%(action)s».",
                                              action=ACTION_LABELS[action]), status=403)
    except GuardFailed as error:
        for failure in error.failures:
            name = failure.field if failure.field in fields else "form"
            submitted.errors.setdefault(name, failure.message(locale_code()))
    if submitted.errors:
        db.session.rollback()
        return _dossier_page(found, failed=submitted, status=422)
    db.session.commit()
    flash(_("Đã thực hiện: %(action)s.", action=ACTION_LABELS[action]))
    return redirect(url_for("backoffice.dossier", dossier_id=found.id, _anchor="actions"))


@bp.post("/dossiers/<int:dossier_id>/flags/<int:flag_id>/resolve")
@roles_required(*DESK)
def resolve_flag(dossier_id: int, flag_id: int):
    """Mark a point raised at sync as looked at (once; the flag itself is kept, with who resolved it and when)."""
    found = _desk_records_of(dossier_id)
    flag = db.session.get(DossierFlag, flag_id)
    if flag is None or flag.dossier_id != found.id:
        abort(404)
    if flag.resolved_at is None:
        flag.resolved_at = utcnow()
        flag.resolved_by_id = current_user.id
        audit("dossier_flag_resolved", current_user, flag, dossier_id=found.id, kind=flag.kind.value)
        db.session.commit()
    flash(_("Đã đánh dấu là đã xem xét."))
    return redirect(url_for("backoffice.dossier", dossier_id=found.id, _anchor="flags"))


@bp.post("/dossiers/<int:dossier_id>/owner-account")
@roles_required(*DESK)
def link_owner_account(dossier_id: int):
    """Link a citizen's account as the dossier's owner after checking their ID card at the desk (recorded: who,
    when, how). A personal ID the account declared links nothing by itself (server/citizen/access.py)."""
    found = _desk_records_of(dossier_id, lock=True)
    account, errors = identity.link_owner_after_id_check(found, request.form, current_user)
    if errors:
        db.session.rollback()
        return _dossier_page(found, status=422, identity_form={"values": request.form, "errors": errors})
    db.session.commit()
    flash(_("Đã liên kết tài khoản %(name)s làm chủ hồ sơ sau khi kiểm tra thẻ căn cước.",
            name=account.display_name))
    return redirect(url_for("backoffice.dossier", dossier_id=found.id, _anchor="people"))


@bp.post("/dossiers/<int:dossier_id>/person-consent")
@roles_required(*DESK)
def person_consent(dossier_id: int):
    """Record (or withdraw) the Zalo or SMS consent of the dossier's owner or submitter who has no account, as they
    signed it on paper at the desk (server/backoffice/reach.py)."""
    found = _desk_records_of(dossier_id, lock=True)
    done, errors = desk_reach.record_consent(found, request.form, current_user, locale_code())
    if errors:
        db.session.rollback()
        return _dossier_page(found, status=422, consent_form={"values": request.form, "errors": errors})
    db.session.commit()
    flash({"given": _("Đã ghi nhận sự đồng ý nhận tin về hồ sơ."),
           "unchanged": _("Sự đồng ý này đã được ghi nhận trước đó."),
           "withdrawn": _("Đã rút lại sự đồng ý: không gửi gì nữa qua kênh này.")}[done])
    return redirect(url_for("backoffice.dossier", dossier_id=found.id, _anchor="reach"))


@bp.get("/attachments/<sha256>")
@roles_required(*DESK)
def attachment(sha256: str):
    """The bytes of a stored photo or PDF, for the desk of a ward that has a dossier using it; 404 otherwise.

    Personal papers: ``private, no-store`` keeps them out of shared caches (and off the disk of a shared
    computer at the desk).
    """
    ward_dossiers = list(db.session.scalars(
        select(Dossier).join(DossierDocument, Dossier.id == DossierDocument.dossier_id)
        .where(DossierDocument.sha256 == sha256, units.viewable_by(current_user.agency))
        .distinct().order_by(Dossier.id).limit(20)))
    stored = db.session.get(Attachment, sha256) if ward_dossiers else None
    if stored is None:
        abort(404)
    files = backend()
    seconds = int(current_app.config["S3_PRESIGN_SECONDS"])
    presigned = content = None
    if seconds and files.has(sha256):
        presigned = files.presigned_url(sha256, seconds, stored.media_type)  # None from the local folder
    if presigned is None:
        try:
            content = files.open(sha256)
        except NotStored:
            abort(404)
    kind = "pdf" if stored.media_type == "application/pdf" else "photo"
    for using in ward_dossiers:  # the same photo may serve several dossiers of the ward: each is about its people
        record_dossier_view(kind, using, object_type="Attachment", object_id=sha256)
    if presigned:
        # After the same access check and access log as a streamed file: the bucket serves it for S3_PRESIGN_SECONDS
        # (config.py says when to choose this). 303: the browser follows with a GET, whatever it asked with.
        response = redirect(presigned, 303)
    else:
        response = send_file(content, mimetype=stored.media_type, etag=False, conditional=False)
    response.headers["Cache-Control"] = "private, no-store"
    return response
