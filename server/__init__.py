"""Một Cửa Tại Nhà: the Flask application.

:func:`create_app` is the table of contents of the server: each ``_configure_*`` / ``_register_*`` helper wires one
concern, and the feature packages (``reference``, ``people``, ``calendar``, ``dossiers``, ``auth``, ``web``) hold the
code.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask
from werkzeug.exceptions import NotFound
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from server.config import ConfigError
from server.config import load_config
from server.extensions import babel
from server.extensions import csrf
from server.extensions import db
from server.extensions import limiter
from server.extensions import login_manager
from server.extensions import migrate

ROOT = Path(__file__).resolve().parent.parent


class _DatabaseInt(IntegerConverter):
    """``<int:...>`` path ids within the database's integer range: a larger one is no row (404), not a 500."""

    #: PostgreSQL's integer; SQLite's is wider, but an id above this is never issued.
    LARGEST = 2**31 - 1

    def to_python(self, value: str) -> int:
        # Not the converter's own ``max``: a rule refused that way lets Werkzeug answer 405 when the same path has
        # a rule for another method (PATCH and DELETE /me/passkeys/<id>). Beyond the range, no such row: 404.
        number = super().to_python(value)
        if number > self.LARGEST:
            raise NotFound()
        return number


def create_app(config_override: dict | None = None) -> Flask:
    """Build the application.

    :param config_override: settings applied last, over defaults and the environment (tests pass a dict).
    """
    app = Flask(
        __name__,
        instance_path=_instance_path(config_override),
        template_folder=str(ROOT / "templates"),
        # /static is served by server/pwa_routes.py (compressed, and at versioned URLs): not by Flask's own route.
        static_folder=None,
    )
    load_config(app, config_override)
    _trust_proxies(app)
    _configure_logging(app)
    _configure_extensions(app)
    _register_models()
    _connect_listeners()
    app.url_map.converters["int"] = _DatabaseInt
    _register_blueprints(app)
    _register_metrics(app)
    _register_error_handlers(app)
    _register_security_headers(app)
    _register_cli(app)
    if app.config["PUSH_EMBEDDED_WORKER"]:
        from server.push.cli import start_embedded_worker

        start_embedded_worker(app)
    return app


def _instance_path(config_override: dict | None) -> str:
    """Where the secret key and the embedded database live: ``INSTANCE_PATH`` if given, else ``./instance``."""
    given = (config_override or {}).get("INSTANCE_PATH") or os.environ.get("MOTCUA_INSTANCE_PATH")
    return str(Path(given).resolve()) if given else str(ROOT / "instance")


def _trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXY_HOPS reverse proxies, the client's address and scheme are the ones they forwarded.

    Everything that reads ``request.remote_addr`` (the rate limits' key, the audit trail, the access log) then sees
    the client, not the proxy. Only X-Forwarded-For and X-Forwarded-Proto are trusted (config.py says why not Host).
    """
    hops = int(app.config["TRUSTED_PROXY_HOPS"])
    if hops < 0:
        raise ConfigError(f"TRUSTED_PROXY_HOPS must be 0 or more, not {hops}")
    if hops:
        # X-Forwarded-For is appended to at every hop, so the client is the hops-th entry from the right; the
        # proxies set X-Forwarded-Proto (nginx's proxy_set_header, HAProxy's set-header): one value, the one the
        # proxy nearest the app passes on, whatever the number of hops. Trusting `hops` values of it would find
        # too few with two hops and leave the scheme http (links handed out as http://).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=1, x_host=0, x_port=0, x_prefix=0)


def _configure_logging(app: Flask) -> None:
    from server.ops.logs import configure_logging

    configure_logging(app)


def _configure_extensions(app: Flask) -> None:
    from server.auth.access import configure_access
    from server.web.i18n import configure_i18n
    from server.web.i18n import select_locale

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), compare_type=True, render_as_batch=True)
    babel.init_app(app, locale_selector=select_locale, default_translation_directories="translations")
    configure_i18n(app)
    login_manager.init_app(app)
    # Access before CSRF: an anonymous write is answered 401 (sign in), not a confusing token error.
    configure_access(app)
    csrf.init_app(app)
    limiter.init_app(app)


def _connect_listeners() -> None:
    # Importing a listener module connects its receivers to the dossier core's signals (server/dossiers/signals.py):
    # the notifications and the statutory forms hear of every step. Once per process (modules are cached).
    import server.forms.listeners  # noqa: F401
    import server.interagency.listeners  # noqa: F401
    import server.portal.listeners  # noqa: F401  (after the forms: a sync names the receipt they issue)
    import server.push.listeners  # noqa: F401


def _register_models() -> None:
    # Importing the model modules registers their tables on the shared metadata (for migrations and queries).
    import server.access_log.models  # noqa: F401
    import server.auth.models  # noqa: F401
    import server.breach.models  # noqa: F401
    import server.calendar.models  # noqa: F401
    import server.channels.models  # noqa: F401
    import server.dossiers.models  # noqa: F401
    import server.forms.models  # noqa: F401
    import server.interagency.models  # noqa: F401
    import server.people.models  # noqa: F401
    import server.portal.models  # noqa: F401
    import server.privacy.models  # noqa: F401
    import server.push.models  # noqa: F401
    import server.reference.models  # noqa: F401
    import server.results.models  # noqa: F401
    import server.sealing.models  # noqa: F401


def _register_blueprints(app: Flask) -> None:
    from server.access_log.views import bp as access_log
    from server.admin.views import bp as admin_pages
    from server.api.openapi import bp as openapi
    from server.auth.admin_api import bp as admin_api
    from server.auth.api import bp as auth_api
    from server.auth.views import bp as auth_pages
    from server.backoffice.queue import bp as backoffice_queue
    from server.backoffice.views import bp as backoffice
    from server.breach.api import bp as breach_api
    from server.breach.views import bp as breach_pages
    from server.calendar.api import bp as calendar_api
    from server.channels.hooks import bp as channel_hooks
    from server.citizen.channels import bp as citizen_channels
    from server.citizen.views import bp as citizen
    from server.consent.api import bp as consent_api
    from server.consent.views import bp as consent_pages
    from server.dossiers.api import bp as dossiers_api
    from server.dossiers.sync_api import bp as sync_api
    from server.forms.views import bp as forms
    from server.interagency.views import bp as interagency
    from server.portal.views import bp as portal_pages
    from server.privacy.api import bp as privacy_api
    from server.privacy.views import bp as privacy_pages
    from server.push.api import bp as push_api
    from server.pwa_routes import bp as pwa
    from server.results.views import bp as results
    from server.sealing.api import bp as sealing_api
    from server.stats.views import bp as stats
    from server.visits.views import bp as visits
    from server.web.follow import bp as follow
    from server.web.views import bp as web

    app.register_blueprint(web)
    app.register_blueprint(pwa)
    app.register_blueprint(auth_api)
    app.register_blueprint(admin_api)
    app.register_blueprint(openapi)
    app.register_blueprint(auth_pages)
    app.register_blueprint(calendar_api)
    app.register_blueprint(dossiers_api)
    app.register_blueprint(sync_api)
    app.register_blueprint(sealing_api)
    app.register_blueprint(follow)
    app.register_blueprint(push_api)
    app.register_blueprint(privacy_api)
    app.register_blueprint(privacy_pages)
    app.register_blueprint(visits)
    app.register_blueprint(citizen)
    app.register_blueprint(backoffice)
    app.register_blueprint(admin_pages)
    app.register_blueprint(backoffice_queue)
    app.register_blueprint(stats)
    app.register_blueprint(forms)
    app.register_blueprint(interagency)
    app.register_blueprint(access_log)
    app.register_blueprint(breach_api)
    app.register_blueprint(breach_pages)
    app.register_blueprint(consent_api)
    app.register_blueprint(consent_pages)
    app.register_blueprint(results)
    app.register_blueprint(channel_hooks)
    app.register_blueprint(citizen_channels)
    app.register_blueprint(portal_pages)


def _register_metrics(app: Flask) -> None:
    from server.ops.metrics import configure_metrics

    configure_metrics(app)


def _register_error_handlers(app: Flask) -> None:
    from server.errors import register_error_handlers

    register_error_handlers(app)


def _register_security_headers(app: Flask) -> None:
    from server.security import configure_security_headers

    configure_security_headers(app)


def _register_cli(app: Flask) -> None:
    from server.cli import register_cli

    register_cli(app)
