# Restores the data folder from the object store while the server is stopped, with
# pgBackRest: to TARGET_TIME (RFC 3339), to the end of one backup set (BACKUP, a label
# such as 20261203-031700F), or, with neither, to the end of the archived WAL. The server
# replays the archive on its next start and is promoted when it reaches the target.
# SOURCE_PATH, when set, is another stack's folder in the bucket to restore from (a new
# stack bootstrapping from the bucket alone): given on the command line, it is also in the
# restore_command pgBackRest writes, so the replay reads that stack's WAL while this
# server archives to its own folder.
set -eu
if [ -n "${SOURCE_PATH:-}" ]; then
  set -- --repo1-path="$SOURCE_PATH"
fi
target_time=${TARGET_TIME:-}
backup=${BACKUP:-}
if [ -n "$target_time" ] && [ -n "$backup" ]; then
  echo "restore: TIME and BACKUP are both set; name one: a time restores to that instant from the backup before it" >&2
  exit 2
fi
if [ -n "$target_time" ]; then
  target=$(date -u -d "$target_time" +%s 2>/dev/null) ||
    { echo "restore: TIME $target_time is not a time such as 2026-12-03T14:05:00Z" >&2; exit 2; }
  # The first instant the store can restore to is the end of its oldest base backup.
  info=$(pgbackrest "$@" info --output=json)
  first=$(printf '%s' "$info" | grep -o '"stop":[0-9][0-9]*' | cut -d: -f2 | sort -n | head -1 || true)
  if [ -z "$first" ]; then
    echo "restore: the object store has no base backup yet; the first one runs on the backup schedule (or start one: kubectl create job --from=cronjob/backstage-base-backup)" >&2
    exit 2
  fi
  if [ "$target" -lt "$first" ]; then
    echo "restore: TIME $target_time is before the end of the first base backup ($(date -u -d "@$first" +%Y-%m-%dT%H:%M:%SZ)), the earliest time this store can restore to" >&2
    exit 2
  fi
  pgbackrest "$@" restore --delta --type=time --target="$(date -u -d "@$target" '+%Y-%m-%d %H:%M:%S+00')" --target-action=promote
  echo "restored to $target_time"
elif [ -n "$backup" ]; then
  pgbackrest "$@" restore --delta --set="$backup" --type=immediate --target-action=promote
  echo "restored backup $backup"
else
  pgbackrest "$@" restore --delta
  echo "restored to the end of the archive"
fi
