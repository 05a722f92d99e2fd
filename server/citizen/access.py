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
