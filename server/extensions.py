"""Flask extensions, created unbound here and bound to the app in :func:`server.create_app`."""

import ipaddress

from flask import request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

#: Constraint names must be deterministic: SQLite batch migrations cannot drop or alter an unnamed constraint,
#: and PostgreSQL and SQLite must end up with the same names so that one migration history serves both.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base shared by every model; carries the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
babel = Babel()
login_manager = LoginManager()
#: Abuse limits on sign-in ceremonies, link redemption and public look-ups (in memory unless RATELIMIT_STORAGE_URI
#: names Redis), per client address: behind a reverse proxy, TRUSTED_PROXY_HOPS makes it the client's, not the
#: proxy's (server/__init__.py, _trust_proxies).
def client_key() -> str:
    """The rate limits' key: the client's IPv4 address, or the /64 network of an IPv6 one.

    A phone or a home line is given a whole IPv6 /64 and may change its address within it at will (privacy
    addresses do it by themselves): keyed by the address, every request of a guesser would get a fresh bucket.
    """
    address = request.remote_addr or "unknown"
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 4:
        return address
    if parsed.ipv4_mapped is not None:  # ::ffff:203.0.113.7 is the IPv4 client 203.0.113.7
        return str(parsed.ipv4_mapped)
    return str(ipaddress.ip_network(f"{parsed}/64", strict=False))


limiter = Limiter(key_func=client_key)
