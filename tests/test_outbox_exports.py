"""Issue 16 point 6: the outbox libraries are classic scripts (the service worker loads them with importScripts) with
an ES module wrapper for the pages, which lists their exports again by hand. A name added to one and not the other
would be undefined on one side only: checked here, under Node, for both libraries."""

from __future__ import annotations

import pytest

from server import ROOT
from tests.js_bridge import evaluate
from tests.js_bridge import requires_node

pytestmark = requires_node


@pytest.mark.parametrize(("module", "scope_name"), [("lib/outbox-db.js", "MotCuaOutboxDb"),
                                                   ("lib/outbox-flush.js", "MotCuaOutboxFlush")])
def test_the_module_exports_what_the_classic_script_defines(module, scope_name):
    found = evaluate("""async ({module, scopeName}) => {
        const exported = await import(pwa(module));
        return {module: Object.keys(exported).sort(), classic: Object.keys(globalThis[scopeName]).sort()};
    }""", {"module": module, "scopeName": scope_name})
    assert found["classic"], f"{scope_name} defined nothing"
    assert found["module"] == found["classic"]


def test_the_worker_and_the_page_share_one_background_sync_tag():
    """The tag is defined once (outbox-flush.classic.js): the page registers it and the worker answers it by name."""
    tag = evaluate("""async () => (await import(pwa("lib/outbox-flush.js"))).SYNC_TAG""")
    assert tag
    for user, name in (("app/officer.js", "SYNC_TAG"), ("sw/background-sync.js", "MotCuaOutboxFlush.SYNC_TAG")):
        source = (ROOT / "pwa" / user).read_text(encoding="utf-8")
        assert name in source and f'"{tag}"' not in source, user
