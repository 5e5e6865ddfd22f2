# What the dump and restore scripts share (backup_scripts.go puts it before each): the
# databases to dump, a dump's load, and rclone's setup. The functions return their
# failure: a caller's `||` turns off set -e inside them.

# backstage_databases prints the databases Backstage made (backstage_plugin_*) that the
# role may read, one a line.
backstage_databases() {
  psql -X -At -d "$PGDATABASE" -c "SELECT datname FROM pg_database WHERE datname LIKE 'backstage\_plugin\_%' AND has_database_privilege(datname, 'CONNECT') ORDER BY 1"
}

# load_dump DB loads the pg_dump archive on standard input into DB, made if missing, its
# objects replaced. pg_restore writes the SQL and psql runs it, stopping at the first
# error: a newer pg_restore (an external server's is the newest major's) sets
# transaction_timeout, which a server before 17 does not know, so that line goes. sh has
# no pipefail: a failed pg_restore leaves a mark.
load_dump() {
  exists=$(psql -X -At -d "$PGDATABASE" -c "SELECT 1 FROM pg_database WHERE datname = '$1'") || return 1
  [ "$exists" = 1 ] || createdb "$1" || return 1
  rm -f /tmp/load-failed
  { pg_restore --clean --if-exists --no-owner --file=- || touch /tmp/load-failed; } |
    sed '/^SET transaction_timeout = /d' | psql -X -q -v ON_ERROR_STOP=1 -d "$1" >/dev/null || return 1
  [ ! -e /tmp/load-failed ]
}

# rclone_setup puts the rclone the init container copied to TOOLS on PATH and, with
# ENCRYPTION_PASSPHRASE, gives the crypt remote its password, obscured as rclone wants it.
rclone_setup() {
  export PATH="$TOOLS:$PATH"
  if [ -n "${ENCRYPTION_PASSPHRASE:-}" ]; then
    RCLONE_CONFIG_SEALED_PASSWORD=$(rclone obscure "$ENCRYPTION_PASSPHRASE") || return 1
    export RCLONE_CONFIG_SEALED_PASSWORD
  fi
}
