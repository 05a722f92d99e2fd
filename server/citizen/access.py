"""Which dossiers a citizen's account may see, and what it may do with them (deny by default).

Only DossierFollower rows give access, and they come only from proof: the receipt's claim token, the owner's
invitation, or the desk's check of the ID card (server/backoffice/identity.py). The personal ID an account declared
links it to nothing.
"""

from __future__ import annotations

import enum

from sqlalchemy import select

from server.auth.models import Role
from server.auth.models import User
from server.dossiers.models import Dossier
from server.dossiers.models import DossierFollower
from server.dossiers.models import FollowRole
from server.extensions import db


class Relation(enum.Enum):
    OWNER = "owner"  #: the account that claimed the receipt or that the desk linked after an ID check: may invite
    FOLLOWER = "follower"  #: a relative the owner's account invited: reads and is notified


def visible_dossiers(user: User):
    """A query of the dossiers ``user`` follows, newest first."""
    if user.role is not Role.CITIZEN:
        return select(Dossier).where(Dossier.id.is_(None))
    followed = select(DossierFollower.dossier_id).where(DossierFollower.user_id == user.id)
    return select(Dossier).where(Dossier.id.in_(followed)).order_by(Dossier.created_at.desc(), Dossier.id.desc())


def relation(user: User, dossier: Dossier) -> Relation | None:
    if user.role is not Role.CITIZEN:
        return None
    role = db.session.scalar(select(DossierFollower.role).where(DossierFollower.dossier_id == dossier.id,
                                                                DossierFollower.user_id == user.id))
    if role is None:
        return None
    return Relation.OWNER if role is FollowRole.OWNER else Relation.FOLLOWER


def _same_person(user: User, person) -> bool:
    """Whether ``user``'s own person record is ``person``: the same row, or the same personal ID."""
    mine = user.person
    if mine is None or person is None:
        return False
    return mine.id == person.id or bool(mine.personal_id and mine.personal_id == person.personal_id)


def follower_role_label(follower: DossierFollower, dossier: Dossier) -> str:
    """Who a follower really is to the dossier, for the desk (issue 11 point 8): holding the receipt's QR code
    makes an account manage the following, not the dossier's owner; only its person says whose dossier it is."""
    from flask_babel import gettext as _

    how = (_("nhận bằng mã trên giấy hẹn") if follower.role is FollowRole.OWNER
           else _("được chủ tài khoản theo dõi mời"))
    if _same_person(follower.user, dossier.owner):
        who = _("chủ hồ sơ")
    elif dossier.submitter_id != dossier.owner_id and _same_person(follower.user, dossier.submitter):
        who = _("người nộp hồ sơ (người thân hoặc người đại diện)")
    else:
        who = _("người thân hoặc người đại diện")
    return f"{who} — {how}"
