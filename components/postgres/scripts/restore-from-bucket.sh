set -eu
# Loads one complete run from the bucket (BACKUP, a folder name; the newest when empty)
# into the running server, streamed from rclone into pg_restore.
export PATH="$TOOLS:$PATH"
if [ -n "${ENCRYPTION_PASSPHRASE:-}" ]; then
  RCLONE_CONFIG_SEALED_PASSWORD=$(rclone obscure "$ENCRYPTION_PASSPHRASE")
  export RCLONE_CONFIG_SEALED_PASSWORD
fi
backup=${BACKUP:-}
if [ -z "$backup" ]; then
  backup=$(rclone lsf -R --files-only --include '*/COMPLETE' "$DUMPS" | sed 's#/COMPLETE$##' | sort | tail -n 1)
fi
[ -n "$backup" ] && rclone lsf --files-only "$DUMPS/$backup" | grep -qx COMPLETE ||
  { echo "no complete backup ${backup:-at all} in $DUMPS"; exit 1; }
failed=/tmp/fetch-failed
for file in $(rclone lsf --files-only --include '*.dump' "$DUMPS/$backup"); do
  db=${file%.dump}
  exists=$(psql -X -At -d "$PGDATABASE" -c "SELECT 1 FROM pg_database WHERE datname = '$db'")
  [ "$exists" = 1 ] || createdb "$db"
  rm -f "$failed"
  # pg_restore writes the SQL and psql runs it (see restore.sh); sh has no pipefail, so
  # a failed read or pg_restore leaves a mark.
  { rclone cat "$DUMPS/$backup/$file" || touch "$failed"; } |
    { pg_restore --clean --if-exists --no-owner --file=- || touch "$failed"; } |
    sed '/^SET transaction_timeout = /d' | psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null
  [ ! -e "$failed" ] || { echo "reading $file from the bucket failed: $db may be partly restored; run the restore again"; exit 1; }
  echo "restored $db"
done
echo "restored backup $backup from the bucket"
