set -eu
# An external database's dumps, streamed to the bucket: pg_dump's output goes straight
# to rclone (nothing is staged in the pod), one folder per run, COMPLETE written last.
rclone_setup
run=$(date -u +%Y%m%dT%H%M%SZ)
dbs=$(backstage_databases)
[ -n "$dbs" ] || { echo "no Backstage database to back up"; exit 1; }
failed=/tmp/dump-failed
for db in $dbs; do
  rm -f "$failed"
  # sh has no pipefail: a failed pg_dump leaves a mark, and the run stops before COMPLETE.
  { pg_dump --format=custom "$db" || touch "$failed"; } | rclone rcat "$DUMPS/$run/$db.dump"
  [ ! -e "$failed" ] || { echo "pg_dump of $db failed: $run stays incomplete"; exit 1; }
  echo "uploaded $db ($(rclone lsf --format s "$DUMPS/$run/$db.dump") bytes)"
done
rclone touch "$DUMPS/$run/COMPLETE"
echo "backup $run complete in the bucket"
# Retention in the bucket, by the runs' names (UTC times, which sort as text): a run
# older than RETENTION_DAYS goes, complete or not; this run never.
cutoff=$(date -u -d "@$(($(date +%s) - RETENTION_DAYS * 86400))" +%Y%m%dT%H%M%SZ)
rclone lsf --dirs-only "$DUMPS" | sed 's#/$##' | awk -v cutoff="$cutoff" '$0 < cutoff' | while read -r old; do
  rclone purge "$DUMPS/$old"
  echo "removed $old (older than $RETENTION_DAYS days)"
done
