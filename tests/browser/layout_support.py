"""Walking every page of the app, as each role sees it, at the two sizes where layouts break (issue 11).

The two settings:

* ``narrow``: a 320 CSS px wide screen at the default text size (WCAG 1.4.10 Reflow).
* ``large-text``: a 390 CSS px phone with the text size at 200 %. Android Chrome's text-size setting scales the
  text of the page, not the layout viewport; a page written in ``rem``/``em`` (ours: the root is ``112.5%``)
  sees it as a doubled default font size. We set exactly that through CDP ``Page.setFontSizes`` (standard font
  16 → 32 px): 1 rem becomes 36 px, ``em`` media queries follow (they are measured against the default font
  size), pixel sizes stay. Injecting ``html{font-size:200%}`` with ``page.add_style_tag`` is refused by our CSP
  (``style-src 'self'``: an inline ``<style>``), and would not move the ``em`` media queries, so it would be a
  weaker test than the real setting.

Sign-in: the officer enrols with a passkey on the page (the app needs its device and the day's data); the desk,
the citizen and the administrator get the session cookie the test client obtained (``tests.helpers.sign_in``), so
that walking a role costs one cookie, not one passkey ceremony.
"""

from __future__ import annotations

from dataclasses import dataclass

from playwright.sync_api import expect

from server.auth.models import User
from tests.helpers import sign_in


@dataclass(frozen=True)
class Setting:
    name: str
    width: int
    standard_font_px: int  # the browser's default font size (Chrome's default: 16)


NARROW = Setting("narrow", 320, 16)
LARGE_TEXT = Setting("large-text", 390, 32)
SETTINGS = (NARROW, LARGE_TEXT)
HEIGHT = 800


def apply_setting(page, setting: Setting) -> None:
    """Resize the page's viewport and set its default font size (kept by the page across navigations)."""
    page.set_viewport_size({"width": setting.width, "height": HEIGHT})
    cdp = getattr(page, "_layout_cdp", None)
    if cdp is None:
        cdp = page.context.new_cdp_session(page)
        page._layout_cdp = cdp  # the setting lives as long as the session: keep it with the page
    cdp.send("Page.setFontSizes", {"fontSizes": {"standard": setting.standard_font_px,
                                                 "fixed": round(setting.standard_font_px * 13 / 16)}})


def signed_in_page(new_page, app, live_server, user: User, locale: str = "vi-VN"):
    """A page whose context holds ``user``'s session cookie (obtained by the test client)."""
    client = app.test_client()
    sign_in(client, user)
    cookie = client.get_cookie("session")
    page = new_page(locale)
    page.context.add_cookies([{"name": "session", "value": cookie.value, "url": live_server}])
    return page


#: Problems of the page as laid out now: horizontal overflow of the document or of any element, and label/value
#: lists whose value column is narrower than four characters of its own font. Elements inside a box that scrolls
#: or clips horizontally (a wide table in its scroller) are judged by that box, not by themselves.
LAYOUT_PROBLEMS_JS = """() => {
    const problems = [];
    const root = document.documentElement;
    const width = root.clientWidth;
    const name = (node) => node.tagName.toLowerCase() + (node.id ? "#" + node.id : "")
        + (node.classList.length ? "." + [...node.classList].join(".") : "")
        + " «" + (node.textContent || "").trim().replace(/\\s+/g, " ").slice(0, 40) + "»";
    if (root.scrollWidth > width) problems.push(`the page scrolls sideways: ${root.scrollWidth} > ${width} px`);
    const clips = (node) => {
        for (let up = node.parentElement; up && up !== document.body; up = up.parentElement) {
            if (getComputedStyle(up).overflowX !== "visible") return true;
        }
        return false;
    };
    const past = new Set(); // only the outermost element of each overflowing branch is reported
    for (const node of document.body.querySelectorAll("*")) {
        const box = node.getBoundingClientRect();
        // Empty boxes, and the 1 px boxes of text kept for screen readers only (.visually-hidden), show nothing.
        if (box.width <= 1 || box.height <= 1) continue;
        // Its box, or text running out of its box (a long code that does not wrap): both need sideways scrolling.
        // (Form controls and boxes that clip, such as .visually-hidden, keep their text inside: only their box counts.)
        const spills = getComputedStyle(node).overflowX === "visible" && !node.matches("input, select, textarea");
        const right = spills ? Math.max(box.right, box.left + node.scrollWidth) : box.right;
        if (right > width + 0.5 && !clips(node)) {
            if (!past.has(node.parentElement)) {
                problems.push(`${name(node)} ends at ${Math.round(right)} px, past ${width}`);
            }
            past.add(node);
        }
    }
    for (const value of document.querySelectorAll("dd")) {
        if (!value.getClientRects().length) continue;
        const probe = document.createElement("span");
        probe.style.display = "inline-block";
        probe.style.width = "4ch";
        value.append(probe);
        const fourCh = probe.getBoundingClientRect().width;
        probe.remove();
        const box = value.getBoundingClientRect();
        if (box.width < fourCh) problems.push(`${name(value)} is ${Math.round(box.width)} px wide, under 4ch`);
    }
    return problems;
}"""

#: Elements that carry ``hidden`` (or sit inside one) and are still rendered (have a box) or can take focus.
SHOWN_HIDDEN_JS = """() => {
    const found = [];
    const focusable = "a[href], button, input, select, textarea, [tabindex], summary";
    const name = (node) => node.tagName.toLowerCase() + (node.id ? "#" + node.id : "")
        + (node.classList.length ? "." + [...node.classList].join(".") : "");
    const before = document.activeElement;
    for (const hidden of document.querySelectorAll("body [hidden]")) {
        for (const node of [hidden, ...hidden.querySelectorAll("*")]) {
            if (node.getClientRects().length) {
                found.push(`${name(node)} (hidden by ${name(hidden)}) is rendered`);
                break;
            }
            if (node.matches(focusable)) {
                node.focus({preventScroll: true});
                if (document.activeElement === node) {
                    found.push(`${name(node)} (hidden by ${name(hidden)}) takes focus`);
                    break;
                }
            }
        }
    }
    if (before && before.focus) before.focus({preventScroll: true});
    return found;
}"""


def layout_problems(page) -> list[str]:
    return page.evaluate(LAYOUT_PROBLEMS_JS)


def shown_hidden(page) -> list[str]:
    return page.evaluate(SHOWN_HIDDEN_JS)


@dataclass
class Walk:
    """What one walk found, by page state and setting."""

    layout: dict[str, list[str]]
    hidden: dict[str, list[str]]

    def __init__(self) -> None:
        self.layout, self.hidden = {}, {}

    def check(self, page, label: str, setting: Setting) -> None:
        key = f"{label} [{setting.name}]"
        if problems := layout_problems(page):
            self.layout[key] = problems
        if problems := shown_hidden(page):
            self.hidden[key] = problems


def walk_paths(page, paths: list[str], walk: Walk, settings=SETTINGS) -> None:
    """Open each path at each setting and record what is wrong."""
    for setting in settings:
        apply_setting(page, setting)
        for path in paths:
            response = page.goto(path)
            assert response is not None and response.ok, (path, response and response.status)
            page.wait_for_load_state("load")
            expect(page.locator("h1:visible").first).to_be_visible()
            walk.check(page, path, setting)


def walk_here(page, label: str, walk: Walk, settings=SETTINGS) -> None:
    """Check the page as it stands (a view of the app reached by clicking) at each setting."""
    for setting in settings:
        apply_setting(page, setting)
        walk.check(page, label, setting)
    apply_setting(page, NARROW)
