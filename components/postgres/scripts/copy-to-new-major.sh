set -eu
export PGPASSWORD="$BOOTSTRAP_PASSWORD"
old() { psql -X -v ON_ERROR_STOP=1 -h "$FROM_HOST" -p "$FROM_PORT" -U "$BOOTSTRAP_USER" -d postgres -v app="$APP_USER" "$@"; }
new() { psql -X -v ON_ERROR_STOP=1 -h "$TO_HOST" -p "$TO_PORT" -U "$BOOTSTRAP_USER" -d postgres -v app="$APP_USER" "$@"; }
marker="copied from PostgreSQL $FROM_MAJOR"
new -qc 'SELECT 1' >/dev/null
if [ "$(new -Atc "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = 'postgres'")" = "$marker" ]; then
  echo "the data was already $marker"
  exit 0
fi
old <<'SQL'
ALTER ROLE :"app" NOLOGIN;
SELECT count(pg_terminate_backend(pid)) AS "app sessions ended" FROM pg_stat_activity WHERE usename = :'app';
SQL
trap 'echo "ALTER ROLE :\"app\" LOGIN;" | old -q' EXIT
log=/tmp/load.log
{ pg_dumpall -h "$FROM_HOST" -p "$FROM_PORT" -U "$BOOTSTRAP_USER" --no-role-passwords || echo "pg_dumpall failed: $?" >/tmp/dump.failed; } |
  psql -X -q -h "$TO_HOST" -p "$TO_PORT" -U "$BOOTSTRAP_USER" -d postgres >/dev/null 2>"$log" || true
if [ -e /tmp/dump.failed ]; then cat /tmp/dump.failed "$log" >&2; exit 1; fi
unexpected=$(grep 'ERROR:' "$log" | grep -v -e "role \"$BOOTSTRAP_USER\" already exists" -e "role \"$APP_USER\" already exists" \
  -e "database \"$PGDATABASE\" already exists" || true)
if [ -n "$unexpected" ]; then echo "$unexpected" >&2; exit 1; fi
listed() { "$@" -Atc "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database WHERE NOT datistemplate"; }
if [ "$(listed old)" != "$(listed new)" ]; then
  echo "databases differ: $(listed old) on PostgreSQL $FROM_MAJOR, $(listed new) on the new server" >&2
  exit 1
fi
new -v marker="$marker" <<'SQL'
ALTER ROLE :"app" LOGIN;
COMMENT ON DATABASE postgres IS :'marker';
SQL
echo "$marker: $(listed new)"
