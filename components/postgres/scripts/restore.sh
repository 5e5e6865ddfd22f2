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
  pg_restore --clean --if-exists --no-owner --exit-on-error --dbname="$db" "$dump"
  echo "restored $db"
done
echo "restored backup $backup"
