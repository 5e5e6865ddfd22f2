package postgres

import _ "embed"

// The backup and restore scripts the CronJobs run with the postgres image's tools.
// libpq reads the connection from the environment (PGHOST, PGPORT, PGUSER, PGPASSWORD,
// PGSSLMODE, PGSSLROOTCERT); BACKUP_DIR is the backup claim's mount.

// dumpsLib is what the dump and restore scripts share (backstage_databases, load_dump,
// rclone_setup): each of them runs with it before.
//
//go:embed scripts/dumps-lib.sh
var dumpsLib string

// backupScript dumps every database Backstage made (backstage_plugin_*) that the role
// may read, in pg_dump's custom format, into a folder per run, marks the folder
// complete only when every dump succeeded, then keeps the newest RETENTION complete runs.
var backupScript = dumpsLib + backupScriptBody

//go:embed scripts/backup.sh
var backupScriptBody string

// restoreScript loads one complete backup (BACKUP, a folder name; the newest when
// empty) into the running server: each database is created if missing and its objects
// replaced. Backstage must be stopped (backstage:maintenance) while it runs.
var restoreScript = dumpsLib + restoreScriptBody

//go:embed scripts/restore.sh
var restoreScriptBody string

// baseBackupScript takes a full base backup into the object store with pgBackRest
// (creating the stanza on the first run); pgBackRest expires what retention no longer needs.
//
//go:embed scripts/base-backup.sh
var baseBackupScript string

// pitrRestoreScript restores the stopped server's data folder from the object store: to
// TARGET_TIME, to the end of backup set BACKUP, or to the end of the archive. It refuses a
// time before the end of the first base backup, the earliest the store can restore to.
//
//go:embed scripts/pitr-restore.sh
var pitrRestoreScript string

// bootstrapScript is the init container of a server that starts from another stack's
// backups: on an empty volume, the end of that stack's archive with this stack's passwords.
//
//go:embed scripts/bootstrap-from-bucket.sh
var bootstrapScript string

// dumpToBucketScript streams each dump of an external database to the bucket with the
// rclone the init container copied to TOOLS, marks the run COMPLETE last, then removes
// what is older than RETENTION_DAYS.
var dumpToBucketScript = dumpsLib + dumpToBucketScriptBody

//go:embed scripts/dump-to-bucket.sh
var dumpToBucketScriptBody string

// restoreFromBucketScript streams one complete run from the bucket (BACKUP; the newest
// when empty) into the running server.
var restoreFromBucketScript = dumpsLib + restoreFromBucketScriptBody

//go:embed scripts/restore-from-bucket.sh
var restoreFromBucketScriptBody string
