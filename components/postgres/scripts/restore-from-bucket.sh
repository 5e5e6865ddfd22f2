set -eu
# Loads one complete run from the bucket (BACKUP, a folder name; the newest when empty)
# into the running server, streamed from rclone into pg_restore.
rclone_setup
backup=${BACKUP:-}
if [ -z "$backup" ]; then
  backup=$(rclone lsf -R --files-only --include '*/COMPLETE' "$DUMPS" | sed 's#/COMPLETE$##' | sort | tail -n 1)
fi
[ -n "$backup" ] && rclone lsf --files-only "$DUMPS/$backup" | grep -qx COMPLETE ||
  { echo "no complete backup ${backup:-at all} in $DUMPS"; exit 1; }
failed=/tmp/fetch-failed
for file in $(rclone lsf --files-only --include '*.dump' "$DUMPS/$backup"); do
  db=${file%.dump}
  rm -f "$failed"
  # sh has no pipefail: a failed read leaves a mark.
  { rclone cat "$DUMPS/$backup/$file" || touch "$failed"; } | load_dump "$db" && [ ! -e "$failed" ] ||
    { echo "loading $file from the bucket failed: $db may be partly restored; run the restore again"; exit 1; }
  echo "restored $db"
done
echo "restored backup $backup from the bucket"
