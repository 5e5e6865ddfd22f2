set -eu
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
  # pg_restore writes the SQL and psql runs it, stopping at the first error: a newer
  # pg_restore (an external server's is the newest major's) sets transaction_timeout,
  # which a server before 17 does not know, so that line goes. sh has no pipefail: a
  # failed pg_restore leaves a mark.
  rm -f /tmp/restore-failed
  { pg_restore --clean --if-exists --no-owner --file=- "$dump" || touch /tmp/restore-failed; } |
    sed '/^SET transaction_timeout = /d' | psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null
  [ ! -e /tmp/restore-failed ] || { echo "pg_restore of $dump failed: $db may be partly restored; run the restore again"; exit 1; }
  echo "restored $db"
done
echo "restored backup $backup"
