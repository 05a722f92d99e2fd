"""Language selection: Vietnamese first, English second, the user's choice remembered in a cookie."""

from __future__ import annotations

import re

from flask import current_app
from flask import request
from markupsafe import Markup
from markupsafe import escape

#: A bracketed run with a letter only Vietnamese has (ă â đ ê ô ơ ư, or a tone mark): "(căn cước / CCCD)".
_BRACKETED_VIETNAMESE = re.compile(r"\(([^()]*[ăâđêôơưĂÂĐÊÔƠƯ\u1EA0-\u1EF9][^()]*)\)")


def select_locale() -> str:
    """The locale of this request: the remembered choice, else Vietnamese.

    Pages ignore the browser's Accept-Language on purpose: officers' and elders' phones are often set to English by
    the shop that sold them, and the product is Vietnamese first. API clients without the cookie may still ask for
    English with Accept-Language.
    """
    languages = current_app.config["LANGUAGES"]
    chosen = request.cookies.get(current_app.config["LANGUAGE_COOKIE"])
    if chosen in languages:
        return chosen
    if request.path.startswith("/api/"):
        return request.accept_languages.best_match(languages, default=languages[0])
    return languages[0]


def configure_i18n(app) -> None:
    """Expose the current language code to templates (for ``<html lang>`` and the language switch)."""
    from server.errors import locale_code
    from server.web import formats

    formats.register(app)  # the |day, |moment and |phone filters: one way of writing each (server/web/formats.py)

    @app.context_processor
    def _language():
        return {"current_locale": locale_code()}

    @app.template_filter("vi")
    def _vietnamese(text):
        """Data that is Vietnamese whatever the page's language (a person's name, an address, a procedure's
        official name), marked ``lang="vi"`` on an English page so that a screen reader reads it with a
        Vietnamese voice (WCAG 3.1.2). On a Vietnamese page it is left as it is."""
        if text is None or text == "" or locale_code() == "vi":
            return text
        return Markup('<span lang="vi">%s</span>') % escape(text)

    @app.template_filter("vi_terms")
    def _english_with_vietnamese_terms(text):
        """An English name that quotes the Vietnamese term in brackets, as the catalogue's English names do
        ("Identity card (căn cước / CCCD)"): the bracketed Vietnamese is marked ``lang="vi"``, the rest is left."""
        if not text or locale_code() == "vi":
            return text
        parts = _BRACKETED_VIETNAMESE.split(str(text))
        # split() with one group: even items are the English around, odd items the bracketed Vietnamese.
        return Markup("").join(escape(part) if index % 2 == 0 else Markup('(<span lang="vi">%s</span>)') % part
                               for index, part in enumerate(parts))
