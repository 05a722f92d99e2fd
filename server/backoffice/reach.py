"""The desk's side of "what reaches whom" on a dossier page: the followers no channel reaches (the desk calls them:
DOMAIN.md §11 case 22), and the consent to Zalo or SMS the desk records on paper for a person without an account
(the elderly owner with a basic phone, the relative who never installed the app).

Followers are the accounts following the dossier, and its owner and submitter when no account is theirs (they
are told by Zalo or SMS alone, with a consent recorded here). A follower is reached when a channel beyond the inbox
works for dossier news (server/channels/reach.py): the inbox reaches only whoever opens the app.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from server.auth.models import ConsentRecord
from server.auth.models import User
from server.channels import reach
from server.consent import services as consent
from server.consent.purposes import PURPOSES
from server.consent.purposes import Channel
from server.dossiers.models import Dossier
from server.dossiers.models import DossierFollower
from server.extensions import db
from server.people.identity import check_phone
from server.people.models import Person
from server.web.formats import phone_text

#: The purpose the desk records a consent to: news about the dossier (and home visits).
DESK_PURPOSE = "dossier_updates"
DESK_METHOD = "desk_paper"
ROLE_WORDS = {"owner": _l("Chủ hồ sơ"), "submitter": _l("Người nộp hồ sơ"), "follower": _l("Tài khoản theo dõi")}


@dataclass
class Unreached:
    """A follower no channel reaches: who, in which role, and the number to call (None when none is known)."""

    name: str
    role: str
    phone: str | None
    has_account: bool


def _people(dossier: Dossier) -> list[tuple[str, Person]]:
    """The owner and the submitter (once when they are the same person)."""
    people = [("owner", dossier.owner)]
    if dossier.submitter is not None and dossier.submitter_id != dossier.owner_id:
        people.append(("submitter", dossier.submitter))
    return [(role, person) for role, person in people if person is not None]


def _accounts_of(person_ids: set[int]) -> set[int]:
    """Which of these people have an active account of their own."""
    if not person_ids:
        return set()
    return set(db.session.scalars(select(User.person_id).where(User.person_id.in_(person_ids),
                                                               User.active.is_(True))))


def people_without_account(dossier: Dossier) -> list[tuple[str, Person]]:
    """The owner and submitter who have no account: the people the desk may record a consent for."""
    people = _people(dossier)
    with_account = _accounts_of({person.id for _role, person in people})
    return [(role, person) for role, person in people if person.id not in with_account]


def unreached(dossier: Dossier) -> list[Unreached]:
    """Followers of the dossier with no working channel for its news, with their phone so the desk can call."""
    found = []
    followers = list(db.session.scalars(select(DossierFollower).where(DossierFollower.dossier_id == dossier.id)
                                        .order_by(DossierFollower.id)))
    for follower in followers:
        user = follower.user
        mine = reach.of_user(user, DESK_PURPOSE)
        if not user.active or mine.working:
            continue
        phone = (user.person.phone_e164 if user.person else None) or next((p.address for p in mine.phones), None)
        found.append(Unreached(user.display_name, follower.role.value if follower.role.value in ROLE_WORDS
                               else "follower", phone, True))
    for role, person in people_without_account(dossier):
        mine = reach.of_person(person.id, DESK_PURPOSE)
        if mine.working or person.anonymised_at is not None:
            continue
        found.append(Unreached(person.full_name, role, person.phone_e164 or next((p.address for p in mine.phones),
                                                                                 None), False))
    return found


def recorded_consents(dossier: Dossier) -> list[tuple[str, Person, ConsentRecord]]:
    """The Zalo and SMS consents in force of the people without an account (to show, and withdraw)."""
    rows = []
    for role, person in people_without_account(dossier):
        for channel in consent.PERSON_CHANNELS:
            record = consent.person_in_force(person.id, DESK_PURPOSE, channel)
            if record is not None:
                rows.append((role, person, record))
    return rows


def mobile_of(person: Person) -> str:
    """The person's number as the consent form offers it: only a mobile (a landline receives no Zalo or SMS)."""
    checked = check_phone(person.phone_e164) if person.phone_e164 else None
    return phone_text(checked.e164) if checked is not None and checked.sms_capable else ""


def page_facts(dossier: Dossier) -> dict:
    return {"unreached": unreached(dossier), "people": people_without_account(dossier), "mobile_of": mobile_of,
            "consents": recorded_consents(dossier), "role_words": ROLE_WORDS,
            "text_version": PURPOSES[DESK_PURPOSE].text_version}


def _channel(value: str | None) -> Channel | None:
    return next((c for c in consent.PERSON_CHANNELS if c.value == value), None)


def _person(dossier: Dossier, role: str | None) -> Person | None:
    return dict(people_without_account(dossier)).get(role or "")


def record_consent(dossier: Dossier, form, by_user: User, locale: str) -> tuple[str | None, dict[str, str]]:
    """The desk's consent form: give (``action`` "give": person, channel, phone, the signed paper) or withdraw
    (``action`` "withdraw": person, channel). Returns (what was done, {}) or (None, one message per field). Adds to
    the session; the caller commits."""
    errors: dict[str, str] = {}
    person = _person(dossier, form.get("person"))
    if person is None:
        errors["person"] = _("Chọn chủ hồ sơ hoặc người nộp hồ sơ chưa có tài khoản.")
    channel = _channel(form.get("channel"))
    if channel is None:
        errors["channel"] = _("Chọn Zalo hoặc tin nhắn SMS.")
    if form.get("action") == "withdraw":
        if errors:
            return None, errors
        if consent.withdraw_for_person(person, DESK_PURPOSE, channel, by_user) is None:
            return None, {"channel": _("Người này không có sự đồng ý nào đang có hiệu lực qua kênh này.")}
        return "withdrawn", {}
    checked = check_phone(form.get("phone"))
    if not checked.ok:
        errors["phone"] = checked.errors[0].message(locale)
    elif not checked.sms_capable:
        errors["phone"] = _("Cần số di động Việt Nam (số này không nhận được tin nhắn).")
    if form.get("paper_signed") != "yes":
        errors["paper_signed"] = _("Người dân cần ký vào giấy thông báo trước khi ghi nhận sự đồng ý.")
    if errors:
        return None, errors
    _record, created = consent.give_for_person(person, DESK_PURPOSE, channel, checked.e164,
                                               PURPOSES[DESK_PURPOSE].text_version, by_user, method=DESK_METHOD)
    return ("given" if created else "unchanged"), {}
