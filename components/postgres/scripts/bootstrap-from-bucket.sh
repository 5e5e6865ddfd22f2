# The init container of a new stack's server that starts from another stack's backups
# (backup.objectStore.restoreFrom). On an empty volume only: it restores the end of that
# stack's archive (PITR_RESTORE, with SOURCE_PATH), replays it on a server only this
# container can reach (its socket in /tmp, peer authentication for the postgres user),
# and gives the bootstrap superuser and the app role this stack's passwords, which the
# source's data does not know. A volume that holds a database is left alone: the
# restore runs once, on the first start.
set -eu
if [ -s "$PGDATA/PG_VERSION" ]; then
  echo "bootstrap: $PGDATA holds a database already; nothing restored"
  exit 0
fi
mkdir -p "$PGDATA"
chmod 700 "$PGDATA"
SOURCE_PATH=$RESTORE_FROM TARGET_TIME='' BACKUP='' sh -c "$PITR_RESTORE"
hba=/tmp/bootstrap-hba.conf
echo "local all $POSTGRES_USER peer" > "$hba"
pg_ctl -D "$PGDATA" -w -t 86400 -l /tmp/bootstrap.log start \
  -o "-c hba_file=$hba -c listen_addresses='' -c unix_socket_directories=/tmp -c archive_mode=off" ||
  { cat /tmp/bootstrap.log >&2; exit 1; }
until [ "$(psql -h /tmp -U "$POSTGRES_USER" -d postgres -Atc 'SELECT pg_is_in_recovery()')" = f ]; do
  sleep 1
done
psql -h /tmp -U "$POSTGRES_USER" -d postgres -v ON_ERROR_STOP=1 -q \
  -v superuser="$POSTGRES_USER" -v superuser_password="$POSTGRES_PASSWORD" \
  -v app="$APP_USER" -v app_password="$APP_PASSWORD" <<'SQL'
ALTER ROLE :"superuser" PASSWORD :'superuser_password';
ALTER ROLE :"app" PASSWORD :'app_password';
SQL
pg_ctl -D "$PGDATA" -m fast -w stop
echo "bootstrap: restored from $RESTORE_FROM, with this stack's passwords"
