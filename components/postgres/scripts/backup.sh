set -eu
dir="$BACKUP_DIR/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$dir"
dbs=$(backstage_databases)
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
