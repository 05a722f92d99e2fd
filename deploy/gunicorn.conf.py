"""gunicorn, the production server: `gunicorn -c deploy/gunicorn.conf.py` on each app host, behind the reverse proxy.

(`./dev run` stays on waitress, one process, with the embedded push worker: that is the two-command start.)

The web processes only serve requests. The push worker runs as processes of its own (`flask push worker`, one or
more per province): production refuses PUSH_EMBEDDED_WORKER, which would start one in every gunicorn worker.

Environment read here (the app's own settings, MOTCUA_*, DATABASE_URL, SECRET_KEY, are read by the app):
  GUNICORN_BIND     where to listen (default 127.0.0.1:8000: only the proxy on this host reaches it)
  WEB_CONCURRENCY   worker processes (default: one per CPU core; threads make each take several requests)
  GUNICORN_THREADS  threads per worker (default 4; DB_POOL_SIZE should be at least this)
"""

from __future__ import annotations

import os
from pathlib import Path

from server.ops import metrics
from server.ops.logs import gunicorn_logconfig

# The app factory, imported from the repository's root.
wsgi_app = "server:create_app()"
chdir = str(Path(__file__).resolve().parent.parent)

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",")
# Threads rather than one request per process: the app waits on PostgreSQL, Redis and the object store most of the
# time, and a thread costs far less memory than a process. Processes still give each core its own interpreter.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 1)
threads = int(os.environ.get("GUNICORN_THREADS") or 4)
# The app's production check counts processes from WEB_CONCURRENCY (memory:// rate limits are refused unless it
# is 1): give it the number actually used, workers inherit this environment.
os.environ["WEB_CONCURRENCY"] = str(workers)

# No preload: each worker imports and builds the app after the fork, so no database or Redis connection made at
# start-up is shared by several processes (a pooled socket used by two processes mixes their conversations). It
# costs a second or two of start-up per worker. New code is deployed by restarting gunicorn (host after host),
# never by `kill -HUP`: this file imports the app's logging and metrics hooks (server.ops) into the master, and
# workers forked after a HUP would mix those old modules with new ones.
preload_app = False

# A worker silent for this long (its main loop, not a request: requests run in its threads) is killed and
# replaced. The proxy buffers request bodies, so even a 10 MB photo from a 3G phone reaches us at loopback speed.
timeout = 60
# SIGTERM (a deploy, a restart): requests in flight get this long to finish before the workers are killed. Below
# systemd's default stop timeout (90 s), so that systemd does not SIGKILL a shutdown still going gracefully.
graceful_timeout = 30
# Keep-alive with the proxy: a little longer is pointless, connections from one proxy are few.
keepalive = 5

# Request limits before the app sees anything: the longest legitimate URL (the desk's queue with its filters and
# a search) is a few hundred bytes; headers are few (50 is twice what a browser sends), a field at most 8 KB (the
# session cookie is well under). Bodies are bounded by the app (MAX_CONTENT_LENGTH) and by the proxy.
limit_request_line = 2048
limit_request_fields = 50
limit_request_field_size = 8190

# Forwarded headers are the app's business, in one place: TRUSTED_PROXY_HOPS (werkzeug's ProxyFix) decides which
# X-Forwarded-For and X-Forwarded-Proto entries count. gunicorn itself trusts none, so that with
# TRUSTED_PROXY_HOPS=0 a forged X-Forwarded-Proto changes nothing, whoever the peer is.
forwarded_allow_ips = ""
secure_scheme_headers: dict[str, str] = {}

# The heartbeat file on tmpfs: a worker writing it on a slow or full disk would be taken for a hung one.
if Path("/dev/shm").is_dir():
    worker_tmp_dir = "/dev/shm"

proc_name = "motcua-web"
# No control socket (gunicorn 25+): changing the number of workers at run time would leave WEB_CONCURRENCY, which
# the app's production check reads, saying something else; and several instances on one host would share its path.
control_socket_disable = True


# Logs: every line as JSON on standard error (server/ops/logs.py), gunicorn's own (a worker booting, a timeout) and
# the app's. No gunicorn access log: its lines hold paths and query strings (link tokens, a follow link's check
# digits, searches); the app writes one line per request by endpoint name instead, with its request id, status and
# duration, and the proxy's own log has the client's address when an investigation needs it.
logconfig_dict = gunicorn_logconfig()
accesslog = None
loglevel = "info"


# Metrics (server/ops/metrics.py): each worker counts in files of PROMETHEUS_MULTIPROC_DIR, which must be set in
# the environment before gunicorn starts; the master empties it at start and marks each dead worker's files.
def on_starting(server):
    metrics.gunicorn_on_starting(server)


def child_exit(server, worker):
    metrics.gunicorn_child_exit(server, worker)
