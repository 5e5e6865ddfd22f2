# A full base backup of the in-cluster server into the object store, with pgBackRest.
# pgBackRest reads its settings from PGBACKREST_* (the stanza, the bucket, the data
# folder, which this pod mounts beside the server's) and reaches the server through
# libpq's PGHOST, PGUSER and PGPASSWORD. stanza-create is idempotent: the first run makes
# the stanza, later runs check it still matches this server. The backup expires what the
# time retention no longer needs, base backups and WAL alike.
set -eu
pgbackrest stanza-create
pgbackrest --type=full backup
pgbackrest info
echo "base backup done"
