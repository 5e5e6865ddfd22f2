set -eu
backup=${BACKUP:-}
if [ -z "$backup" ]; then
  backup=$(ls -1d "$BACKUP_DIR"/*/COMPLETE | sed 's#/COMPLETE$##' | sort | tail -n 1 | xargs -r basename)
fi
dir="$BACKUP_DIR/$backup"
[ -n "$backup" ] && [ -f "$dir/COMPLETE" ] || { echo "no complete backup $backup in $BACKUP_DIR"; exit 1; }
for dump in "$dir"/*.dump; do
  db=$(basename "$dump" .dump)
  load_dump "$db" <"$dump" || { echo "loading $dump failed: $db may be partly restored; run the restore again"; exit 1; }
  echo "restored $db"
done
echo "restored backup $backup"
