"""Flask extensions, created unbound here and bound to the app in :func:`server.create_app`."""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
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
limiter = Limiter(key_func=get_remote_address)
