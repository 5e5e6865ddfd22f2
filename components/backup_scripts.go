package components

// The backup and restore scripts the CronJobs run with the postgres image's tools.
// libpq reads the connection from the environment (PGHOST, PGPORT, PGUSER, PGPASSWORD,
// PGSSLMODE, PGSSLROOTCERT); BACKUP_DIR is the backup claim's mount.

// backupScript dumps every database Backstage made (backstage_plugin_*) that the role
// may read, in pg_dump's custom format, into a folder per run, marks the folder
// complete only when every dump succeeded, then keeps the newest RETENTION complete runs.
const backupScript = `set -eu
dir="$BACKUP_DIR/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$dir"
dbs=$(psql -X -At -d "$PGDATABASE" -c "SELECT datname FROM pg_database WHERE datname LIKE 'backstage\_plugin\_%' AND has_database_privilege(datname, 'CONNECT') ORDER BY 1")
[ -n "$dbs" ] || { echo "no Backstage database to back up"; exit 1; }
for db in $dbs; do
  pg_dump --format=custom --file="$dir/$db.dump" "$db"
  echo "dumped $db ($(wc -c < "$dir/$db.dump") bytes)"
done
touch "$dir/COMPLETE"
ls -1d "$BACKUP_DIR"/*/COMPLETE | sed 's#/COMPLETE$##' | sort | head -n "-$RETENTION" | while read -r old; do
  rm -rf "$old"
  echo "removed $old (keeping $RETENTION)"
done
echo "backup $dir complete"
`

// restoreScript loads one complete backup (BACKUP, a folder name; the newest when
// empty) into the running server: each database is created if missing and its objects
// replaced. Backstage must be stopped (backstage:maintenance) while it runs.
const restoreScript = `set -eu
backup=${BACKUP:-}
if [ -z "$backup" ]; then
  backup=$(ls -1d "$BACKUP_DIR"/*/COMPLETE | sed 's#/COMPLETE$##' | sort | tail -n 1 | xargs -r basename)
fi
dir="$BACKUP_DIR/$backup"
[ -n "$backup" ] && [ -f "$dir/COMPLETE" ] || { echo "no complete backup $backup in $BACKUP_DIR"; exit 1; }
for dump in "$dir"/*.dump; do
  db=$(basename "$dump" .dump)
  exists=$(psql -X -At -d "$PGDATABASE" -c "SELECT 1 FROM pg_database WHERE datname = '$db'")
  [ "$exists" = 1 ] || createdb "$db"
  pg_restore --clean --if-exists --no-owner --exit-on-error --dbname="$db" "$dump"
  echo "restored $db"
done
echo "restored backup $backup"
`
