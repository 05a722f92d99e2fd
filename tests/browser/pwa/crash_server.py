"""The test's app in a process of its own, which can die on cue: the server side of the crash test.

    python -m tests.browser.pwa.crash_server '<config as JSON>' <port> [<crash after this many stored dossiers>]

With a crash count, the process kills itself (``os._exit``: no clean-up, no response) right after the N-th dossier
PUT committed, the worst moment for a phone: the dossier is stored and the phone never hears so.
"""

from __future__ import annotations

import json
import os
import sys

from flask import request
from waitress import serve

from server import create_app


def main() -> None:
    config = json.loads(sys.argv[1])
    port = int(sys.argv[2])
    crash_after = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    app = create_app(config)
    stored = 0

    if crash_after:
        @app.after_request
        def _die_after_commit(response):
            nonlocal stored
            if request.method == "PUT" and request.path.startswith("/api/v1/dossiers/") and response.status_code == 201:
                stored += 1
                if stored == crash_after:
                    os._exit(17)
            return response

    serve(app, listen=f"127.0.0.1:{port}", threads=4)


if __name__ == "__main__":
    main()
