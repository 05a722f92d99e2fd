"""Run the phone's pure JavaScript modules (pwa/lib/) under Node, from the fast tests.

The parity tests compare each JavaScript mirror with the Python rule it copies. In Chromium (tests/browser/) that
takes a browser and a server; the rules themselves need neither, so the fast tier runs them under Node too: one
``node`` process per call evaluates a whole batch of cases, in well under a second.

``evaluate(FUNCTION, arg)`` works like Playwright's ``page.evaluate``: FUNCTION is the text of a JavaScript function
(it may be async) called with ``arg``, passed and returned as JSON. Inside it, ``pwa("lib/calendar.js")`` is the
file URL of a module of pwa/, for ``await import(...)``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest

from server import ROOT

NODE = shutil.which("node")

#: For the fast parity tests: they need Node, which ./dev test installs from Debian when run as root.
requires_node = pytest.mark.skipif(
    NODE is None,
    reason="Node.js is not installed: the JavaScript parity checks need it (apt-get install nodejs; "
    "./dev test installs it when run as root)",
)

# The program node runs: the argument from standard input, the function's result as JSON on standard output.
# `undefined` has no JSON form: it comes back as None, as it does from Playwright.
_PROGRAM = """import { readFileSync } from "node:fs";
const pwa = (path) => new URL(path, %(pwa_root)s).href;
const arg = JSON.parse(readFileSync(0, "utf8"));
const result = await (%(function)s)(arg);
process.stdout.write(JSON.stringify(result === undefined ? null : result));
"""


class JavaScriptError(AssertionError):
    """The function threw, or Node could not run it: Node's own message and stack."""


def evaluate(function: str, arg: Any = None, *, timeout: float = 60) -> Any:
    """The JSON result of the JavaScript ``function`` called with ``arg`` (see the module's docstring)."""
    if NODE is None:
        pytest.skip("Node.js is not installed")
    program = _PROGRAM % {"pwa_root": json.dumps((ROOT / "pwa").as_uri() + "/"), "function": function}
    run = subprocess.run(
        [NODE, "--input-type=module", "--eval", program],
        input=json.dumps(arg), capture_output=True, text=True, timeout=timeout, check=False,
    )
    if run.returncode != 0:
        raise JavaScriptError(run.stderr.strip() or f"node exited with {run.returncode}")
    return json.loads(run.stdout)
