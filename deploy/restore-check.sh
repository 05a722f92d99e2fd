#!/usr/bin/env bash
# A tested restore: restore a pg_dump (custom format) into a scratch database and check what came back.
#
#   deploy/restore-check.sh DUMP_FILE SCRATCH_DATABASE_URL
#   deploy/restore-check.sh /backups/motcua-2026-12-03.dump postgresql://postgres@db:5432/motcua_restore_check
#
# 1. The scratch database is dropped and created again (its name must end in "_restore_check": this script never
#    drops anything else), then the dump is restored into it with pg_restore, stopping at the first error.
# 2. The schema is at the migrations' head (`flask db current` says "(head)"): a dump from before an upgrade is
#    restored with that release's code, then upgraded (docs/deploy.md, "Upgrades").
# 3. Row counts of every table are printed; the tables a working ward cannot be without (its agency, procedures,
#    accounts, the audit chains' heads) must not be empty.
# 4. The audit trail's and the access log's hash chains verify (`flask audit verify`): no row changed or lost.
# Exit 0 and a last line "RESTORE OK" when everything holds; otherwise the failing step's message and exit 1.
#
# Needs psql, pg_restore (Debian's postgresql-client, the server's major version or newer) and the app's
# virtual environment (FLASK, default .venv/bin/flask next to this script's parent). Nothing is sent: the
# embedded push worker is forced off, so a restored outbox is not delivered twice.
set -euo pipefail

if [ $# -ne 2 ]; then
  sed -n '2,6p' "$0" >&2
  exit 2
fi
dump=$1
scratch=$2
here=$(cd "$(dirname "$0")/.." && pwd)
FLASK=${FLASK:-$here/.venv/bin/flask}

fail() { echo "RESTORE FAILED: $*" >&2; exit 1; }

name=${scratch##*/}
name=${name%%\?*}
case "$name" in
  *_restore_check) ;;
  *) fail "the scratch database's name must end in _restore_check (got '$name'): it is dropped first" ;;
esac
[ -r "$dump" ] || fail "cannot read $dump"
server=${scratch%/*}/postgres  # the same server's maintenance database, to drop and create the scratch one

echo "==> recreating $name"
psql -X -q -v ON_ERROR_STOP=1 "$server" -c "DROP DATABASE IF EXISTS \"$name\"" -c "CREATE DATABASE \"$name\"" \
  || fail "cannot recreate $name"

echo "==> restoring $dump"
# --no-owner / --no-privileges: the scratch copy belongs to whoever checks it, whatever roles production has.
pg_restore --no-owner --no-privileges --exit-on-error --dbname "$scratch" "$dump" || fail "pg_restore stopped"

export FLASK_APP=server DATABASE_URL=$scratch MOTCUA_PUSH_EMBEDDED_WORKER=false
# Whatever this host's environment says, the check is not a production start (no VAPID key needed, no sending).
export APP_ENV=development
MOTCUA_INSTANCE_PATH=$(mktemp -d)
export MOTCUA_INSTANCE_PATH
trap 'rm -rf "$MOTCUA_INSTANCE_PATH"' EXIT

echo "==> migrations"
current=$("$FLASK" db current 2>/dev/null) || fail "flask db current failed"
echo "    $current"
case "$current" in
  *"(head)"*) ;;
  *) fail "the restored schema is not at this code's migration head (upgrade it with this release's flask db upgrade)" ;;
esac

echo "==> row counts"
psql -X -q -At -v ON_ERROR_STOP=1 "$scratch" -c "
  SELECT format('%s %s', t.table_name,
                (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I', t.table_name),
                                                       false, true, '')))[1]::text)
  FROM information_schema.tables t
  WHERE t.table_schema = 'public' AND t.table_type = 'BASE TABLE'
  ORDER BY t.table_name" | sed 's/^/    /' | tee "$MOTCUA_INSTANCE_PATH/counts"
for table in alembic_version agency procedure user_account log_chain; do
  count=$(awk -v t="$table" '$1 == t {print $2}' "$MOTCUA_INSTANCE_PATH/counts")
  [ "${count:-0}" -gt 0 ] || fail "table $table is empty or missing"
done

echo "==> audit chains"
"$FLASK" audit verify | sed 's/^/    /' || fail "the audit trail or the access log does not verify"


echo "RESTORE OK"
